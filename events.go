package openatp

import (
	"context"
	"math"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/openatp/openatp/observable"
)

// Observed events: what machines report of the files they touch and the
// connections they make. Their properties are the columns of the advanced
// hunting tables DeviceFileEvents and DeviceNetworkEvents, with the same
// names and types, so that a query of those tables can read them as they
// are. An event is identified by its machine (DeviceId), its Timestamp and
// its ReportId (the service's per-machine counter, which the tables say
// identifies an event together with the machine and the time): recording
// an event of the same identity again changes nothing. An event given
// without a ReportId gets one derived from its content (observable.ReportID), so
// that the same record imported twice is still one event.

// EventColumn is a column of an event table: its name and its advanced
// hunting type (string, long, int or datetime).
type EventColumn struct{ Name, Type string }

// FileEvent is a row of DeviceFileEvents: a file created, modified,
// renamed or deleted on a machine, or executed (ProcessCreated, an
// extension: the table of executions is DeviceProcessEvents; see
// docs/compatibility.md). Signer is an extension too, the column of
// DeviceFileCertificateInfo.
type FileEvent struct {
	Timestamp                      time.Time
	DeviceId                       string
	DeviceName                     string
	ActionType                     string
	FileName                       string
	FolderPath                     string
	SHA1                           string
	SHA256                         string
	MD5                            string
	FileSize                       *int64
	Signer                         string
	PreviousFileName               string
	PreviousFolderPath             string
	FileOriginUrl                  string
	FileOriginIP                   string
	InitiatingProcessAccountDomain string
	InitiatingProcessAccountName   string
	InitiatingProcessFileName      string
	InitiatingProcessFolderPath    string
	InitiatingProcessSHA1          string
	InitiatingProcessSHA256        string
	InitiatingProcessMD5           string
	InitiatingProcessCommandLine   string
	InitiatingProcessId            *int64
	ReportId                       int64
}

// NetworkEvent is a row of DeviceNetworkEvents: a connection, or an
// attempt or an inspection of one, seen on a machine.
type NetworkEvent struct {
	Timestamp                      time.Time
	DeviceId                       string
	DeviceName                     string
	ActionType                     string
	RemoteIP                       string
	RemotePort                     *int64
	RemoteUrl                      string
	LocalIP                        string
	LocalPort                      *int64
	Protocol                       string
	LocalIPType                    string
	RemoteIPType                   string
	InitiatingProcessAccountDomain string
	InitiatingProcessAccountName   string
	InitiatingProcessFileName      string
	InitiatingProcessFolderPath    string
	InitiatingProcessSHA1          string
	InitiatingProcessSHA256        string
	InitiatingProcessMD5           string
	InitiatingProcessCommandLine   string
	InitiatingProcessId            *int64
	ReportId                       int64
}

// FileEventColumns are the columns of a FileEvent, in the order of
// FileEvent.Fields.
var FileEventColumns = []EventColumn{
	{"Timestamp", "datetime"}, {"DeviceId", "string"}, {"DeviceName", "string"}, {"ActionType", "string"},
	{"FileName", "string"}, {"FolderPath", "string"}, {"SHA1", "string"}, {"SHA256", "string"}, {"MD5", "string"},
	{"FileSize", "long"}, {"Signer", "string"}, {"PreviousFileName", "string"}, {"PreviousFolderPath", "string"},
	{"FileOriginUrl", "string"}, {"FileOriginIP", "string"},
	{"InitiatingProcessAccountDomain", "string"}, {"InitiatingProcessAccountName", "string"},
	{"InitiatingProcessFileName", "string"}, {"InitiatingProcessFolderPath", "string"},
	{"InitiatingProcessSHA1", "string"}, {"InitiatingProcessSHA256", "string"}, {"InitiatingProcessMD5", "string"},
	{"InitiatingProcessCommandLine", "string"}, {"InitiatingProcessId", "long"}, {"ReportId", "long"},
}

// NetworkEventColumns are the columns of a NetworkEvent, in the order of
// NetworkEvent.Fields.
var NetworkEventColumns = []EventColumn{
	{"Timestamp", "datetime"}, {"DeviceId", "string"}, {"DeviceName", "string"}, {"ActionType", "string"},
	{"RemoteIP", "string"}, {"RemotePort", "int"}, {"RemoteUrl", "string"}, {"LocalIP", "string"}, {"LocalPort", "int"},
	{"Protocol", "string"}, {"LocalIPType", "string"}, {"RemoteIPType", "string"},
	{"InitiatingProcessAccountDomain", "string"}, {"InitiatingProcessAccountName", "string"},
	{"InitiatingProcessFileName", "string"}, {"InitiatingProcessFolderPath", "string"},
	{"InitiatingProcessSHA1", "string"}, {"InitiatingProcessSHA256", "string"}, {"InitiatingProcessMD5", "string"},
	{"InitiatingProcessCommandLine", "string"}, {"InitiatingProcessId", "long"}, {"ReportId", "long"},
}

// Fields returns pointers to the fields of e in the order of
// FileEventColumns: *time.Time for datetime, *string for string, **int64
// for a long or int that may be null, *int64 for ReportId.
func (e *FileEvent) Fields() []any {
	return []any{&e.Timestamp, &e.DeviceId, &e.DeviceName, &e.ActionType, &e.FileName, &e.FolderPath,
		&e.SHA1, &e.SHA256, &e.MD5, &e.FileSize, &e.Signer, &e.PreviousFileName, &e.PreviousFolderPath,
		&e.FileOriginUrl, &e.FileOriginIP, &e.InitiatingProcessAccountDomain, &e.InitiatingProcessAccountName,
		&e.InitiatingProcessFileName, &e.InitiatingProcessFolderPath, &e.InitiatingProcessSHA1,
		&e.InitiatingProcessSHA256, &e.InitiatingProcessMD5, &e.InitiatingProcessCommandLine,
		&e.InitiatingProcessId, &e.ReportId}
}

// Fields returns pointers to the fields of e in the order of
// NetworkEventColumns, typed as FileEvent.Fields's.
func (e *NetworkEvent) Fields() []any {
	return []any{&e.Timestamp, &e.DeviceId, &e.DeviceName, &e.ActionType, &e.RemoteIP, &e.RemotePort,
		&e.RemoteUrl, &e.LocalIP, &e.LocalPort, &e.Protocol, &e.LocalIPType, &e.RemoteIPType,
		&e.InitiatingProcessAccountDomain, &e.InitiatingProcessAccountName, &e.InitiatingProcessFileName,
		&e.InitiatingProcessFolderPath, &e.InitiatingProcessSHA1, &e.InitiatingProcessSHA256,
		&e.InitiatingProcessMD5, &e.InitiatingProcessCommandLine, &e.InitiatingProcessId, &e.ReportId}
}

// The accepted values of the enumerated columns.
var (
	FileActionTypes    = []string{"FileCreated", "FileModified", "FileDeleted", "FileRenamed", "ProcessCreated"}
	NetworkActionTypes = []string{"ConnectionSuccess", "ConnectionFailed", "ConnectionAttempt", "ConnectionRequest",
		"ConnectionFound", "ConnectionAcknowledged", "InboundConnectionAccepted", "ListeningConnectionCreated",
		"DnsConnectionInspected", "HttpConnectionInspected", "SslConnectionInspected", "SshConnectionInspected",
		"IcmpConnectionInspected", "NetworkSignatureInspected"}
	NetworkProtocols = []string{"Tcp", "Udp", "TcpV4", "TcpV6", "UdpV4", "UdpV6", "Icmp", "IcmpV6", "Igmp"}
)

// MaxEventString bounds a text column of an event, in bytes.
const MaxEventString = 8192

// Normalize validates e and canonicalizes it: DeviceId and the hashes
// lower-cased, IP addresses in canonical form, the timestamp in UTC to
// TimePrecision, ReportId derived when zero (observable.ReportID). The error is
// of kind Invalid and names the column.
func (e *FileEvent) Normalize() error {
	if err := normalizeEvent(e.Fields(), FileEventColumns); err != nil {
		return err
	}
	if err := oneOf("ActionType", e.ActionType, FileActionTypes); err != nil {
		return err
	}
	if e.FileName == "" {
		return InvalidField("FileName", "is required")
	}
	if e.FileSize != nil && *e.FileSize < 0 {
		return InvalidField("FileSize", "must not be negative")
	}
	if e.ReportId == 0 {
		e.ReportId = observable.ReportID(e.Fields())
	}
	return nil
}

// Normalize validates e and canonicalizes it as FileEvent.Normalize does;
// RemoteIPType and LocalIPType are derived from the addresses when empty.
func (e *NetworkEvent) Normalize() error {
	if err := normalizeEvent(e.Fields(), NetworkEventColumns); err != nil {
		return err
	}
	if err := oneOf("ActionType", e.ActionType, NetworkActionTypes); err != nil {
		return err
	}
	if e.Protocol != "" {
		if err := oneOf("Protocol", e.Protocol, NetworkProtocols); err != nil {
			return err
		}
	}
	for _, f := range []struct {
		name string
		port *int64
	}{{"RemotePort", e.RemotePort}, {"LocalPort", e.LocalPort}} {
		if f.port != nil && (*f.port < 0 || *f.port > 65535) {
			return InvalidField(f.name, "must be a port number (0 to 65535), got %d", *f.port)
		}
	}
	if e.RemoteUrl != "" && observable.Host(e.RemoteUrl) == "" {
		return InvalidField("RemoteUrl", "%q names no host", clip(e.RemoteUrl))
	}
	for _, f := range []struct {
		name, ip string
		typ      *string
	}{{"RemoteIPType", e.RemoteIP, &e.RemoteIPType}, {"LocalIPType", e.LocalIP, &e.LocalIPType}} {
		if *f.typ != "" {
			if err := oneOf(f.name, *f.typ, observable.IPTypes); err != nil {
				return err
			}
		} else if f.ip != "" {
			*f.typ = observable.IPType(netip.MustParseAddr(f.ip))
		}
	}
	if e.ReportId == 0 {
		e.ReportId = observable.ReportID(e.Fields())
	}
	return nil
}

// normalizeEvent checks and canonicalizes the columns every event has
// and the columns of each type, by name.
func normalizeEvent(fields []any, cols []EventColumn) error {
	for i, c := range cols {
		switch v := fields[i].(type) {
		case *time.Time:
			if v.IsZero() {
				return InvalidField(c.Name, "is required")
			}
			if v.Year() < 1678 || v.Year() > 2261 {
				return InvalidField(c.Name, "%s is out of the supported range (years 1678 to 2261)", v.Format(time.RFC3339))
			}
			*v = v.UTC().Round(TimePrecision)
		case *string:
			if err := checkEventString(c.Name, v); err != nil {
				return err
			}
		case **int64:
			if *v != nil && c.Type == "int" && (**v < math.MinInt32 || **v > math.MaxInt32) {
				return InvalidField(c.Name, "must be a 32-bit integer, got %d", **v)
			}
		}
	}
	return nil
}

// checkEventString checks and canonicalizes a text column by its name.
func checkEventString(name string, v *string) error {
	if err := checkString(name, v); err != nil {
		return err
	}
	if len(*v) > MaxEventString {
		return InvalidField(name, "is longer than %d bytes", MaxEventString)
	}
	switch {
	case name == "DeviceId":
		*v = strings.ToLower(*v)
		if !ValidMachineID(*v) {
			return InvalidField(name, "must be 40 hexadecimal characters (a machine id), got %q", clip(*v))
		}
	case name == "ActionType":
		if *v == "" {
			return InvalidField(name, "is required")
		}
	case strings.HasSuffix(name, "SHA1"), strings.HasSuffix(name, "SHA256"), strings.HasSuffix(name, "MD5"):
		if *v == "" {
			return nil
		}
		n := [...]int{'1': observable.SHA1Len, '5': observable.MD5Len, '6': observable.SHA256Len}[name[len(name)-1]] // an array: no map made each call
		*v = strings.ToLower(*v)
		if !observable.IsHex(*v, n) {
			return InvalidField(name, "must be %d hexadecimal characters, got %q", n, clip(*v))
		}
	case strings.HasSuffix(name, "IP"):
		if *v == "" {
			return nil
		}
		a, ok := observable.Addr(*v)
		if !ok {
			return InvalidField(name, "%q is not an IP address", clip(*v))
		}
		*v = a.Unmap().String()
	}
	return nil
}

func oneOf(field, v string, allowed []string) error {
	if !slices.Contains(allowed, v) {
		return InvalidField(field, "%q is not one of %s", clip(v), strings.Join(allowed, ", "))
	}
	return nil
}

// EventFilter selects events of a tenant. Every field set must match; a
// field that does not apply to the kind of event read is Invalid.
type EventFilter struct {
	// Hash is a SHA-1, SHA-256 or MD5 (told by its length, any case) of
	// the file of a file event.
	Hash string
	// RemoteIP is the remote address of a network event.
	RemoteIP string
	// Domain is the host of a network event's RemoteUrl (observable.Host),
	// compared ignoring case.
	Domain string
	// MachineID is the machine that reported the event.
	MachineID string
	// From and To bound the events' Timestamp: From <= Timestamp < To;
	// a zero time does not bound.
	From, To time.Time
	// Limit bounds the number of events returned; 0 does not.
	Limit int
}

// EventStore keeps the file and network events of tenants' machines.
// Every call names its tenant. The reads return events ordered by
// Timestamp, then DeviceId, then ReportId, and an empty list when none
// match; NotFound if the tenant does not exist.
type EventStore interface {
	// AddFileEvents records file events, all or nothing, in one
	// transaction. Events must be normalized. Invalid (naming the index
	// of the event, an ItemError) if one names a machine the tenant does
	// not have or is not normalized. An event whose identity (DeviceId,
	// Timestamp, ReportId) is stored already is left as it is.
	AddFileEvents(ctx context.Context, tenantID string, es []FileEvent) error
	// AddNetworkEvents records network events as AddFileEvents does.
	AddNetworkEvents(ctx context.Context, tenantID string, es []NetworkEvent) error
	// FileEvents returns the tenant's file events that match f (Hash,
	// MachineID, From, To, Limit).
	FileEvents(ctx context.Context, tenantID string, f EventFilter) ([]FileEvent, error)
	// NetworkEvents returns the tenant's network events that match f
	// (RemoteIP, Domain, MachineID, From, To, Limit).
	NetworkEvents(ctx context.Context, tenantID string, f EventFilter) ([]NetworkEvent, error)
	// DeleteEventsBefore deletes, in every tenant, the events whose
	// Timestamp is before t and the rows of the machines' IP history
	// (MachinesByIP) seen before t, and returns how many rows it deleted.
	DeleteEventsBefore(ctx context.Context, t time.Time) (int64, error)
}
