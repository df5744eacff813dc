// Package huntables holds the tables advanced hunting queries read, as
// views over what openatp keeps: nothing is copied to serve them. DeviceInfo,
// DeviceNetworkInfo, AlertInfo and AlertEvidence are read from the tenant's
// read-model view (one DeviceInfo row a machine, its state as last seen; one
// DeviceNetworkInfo row a network adapter of a machine); DeviceLogonEvents,
// DeviceFileEvents and DeviceNetworkEvents stream the events the store keeps
// (hunting.LogonEventStore, openatp.EventStore), in time order. Every table
// has the columns of Microsoft's schema reference, in its order and with its
// types (schema.go); the columns openatp has no data for are empty strings
// or null.
//
// A Source is one caller's: its tenant, its data window (Timestamp in
// [From, To)) and, for a delegated caller, its access: the rows of a
// machine outside the caller's device groups are never read out, in any
// table (an alert or an event counts as its machine's).
//
// The DeviceTvm* tables are views over the vuln store (tvm.go).
package huntables

import (
	"context"
	"encoding/json"
	"iter"
	"slices"
	"sync"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/hunting"
	"github.com/openatp/openatp/internal/alertlists"
	"github.com/openatp/openatp/observable"
	"github.com/openatp/openatp/readmodel"
	"github.com/openatp/openatp/vuln"
)

// Column is a column of a table: its name and its KQL type ("string",
// "long", "int", "bool", "datetime").
type Column struct{ Name, Type string }

// Table is a hunting table as one Source sees it.
type Table struct {
	Name    string
	Columns []Column
	// Rows calls yield with each row (the values in the order of Columns:
	// string, int64, int32, bool, time.Time, or nil for null; the row
	// belongs to yield) until yield returns an error, which Rows returns
	// as it is. ctx cancels the read.
	Rows func(ctx context.Context, yield func(row []any) error) error
	// RowsWhere is Rows reading only the rows inside w (it may yield
	// some outside it: the caller filters them); nil for a table that
	// reads them all.
	RowsWhere func(ctx context.Context, w Where, yield func(row []any) error) error
}

// Where is what a query proves of the rows it keeps of a table: From <=
// Timestamp < To (a zero time does not bound), and DeviceId one of
// DeviceIDs (nil: any; empty: none).
type Where struct {
	From, To  time.Time
	DeviceIDs []string
}

// Source is what the tables of one query read.
type Source struct {
	TenantID string
	// View is the tenant's read-model view; the caller retains it for the
	// query and releases it after.
	View *readmodel.View
	// Access is the delegated caller's access; nil: the whole tenant.
	Access *openatp.Access
	// Events reads the file and network events; Logons the logon events
	// (nil: DeviceLogonEvents has no rows).
	Events openatp.EventStore
	Logons hunting.LogonEventStore
	// Vuln reads the DeviceTvm* tables (nil: they have no rows).
	Vuln vuln.Store
	// From and To bound every row's Timestamp: From <= Timestamp < To.
	From, To time.Time

	mu      sync.Mutex
	devices map[string]device // machine id → what its events need
}

// device is what an event row needs of its machine.
type device struct {
	name    string
	visible bool
}

// Tables returns the tables of s, by name.
func Tables(s *Source) map[string]Table {
	all := func(f func(context.Context, Where, func([]any) error) error) func(context.Context, func([]any) error) error {
		return func(ctx context.Context, yield func([]any) error) error { return f(ctx, Where{}, yield) }
	}
	ts := []Table{
		{"DeviceInfo", deviceInfoColumns, all(s.deviceInfo), s.deviceInfo},
		{"DeviceNetworkInfo", deviceNetworkInfoColumns, s.deviceNetworkInfo, nil},
		{"DeviceLogonEvents", deviceLogonEventsColumns, all(s.logonEvents), s.logonEvents},
		{"AlertInfo", alertInfoColumns, s.alertInfo, nil},
		{"AlertEvidence", alertEvidenceColumns, s.alertEvidence, nil},
		{"DeviceFileEvents", deviceFileEventsColumns, all(s.fileEvents), s.fileEvents},
		{"DeviceNetworkEvents", deviceNetworkEventsColumns, all(s.networkEvents), s.networkEvents},
		{"DeviceTvmSoftwareInventory", deviceTvmSoftwareInventoryColumns, all(s.tvmInventory), s.tvmInventory},
		{"DeviceTvmSoftwareVulnerabilities", deviceTvmSoftwareVulnerabilitiesColumns, all(s.tvmVulnerabilities), s.tvmVulnerabilities},
		{"DeviceTvmSoftwareVulnerabilitiesKB", deviceTvmSoftwareVulnerabilitiesKBColumns, s.tvmKB, nil},
	}
	m := make(map[string]Table, len(ts))
	for _, t := range ts {
		m[t.Name] = t
	}
	return m
}

// in reports whether a row's time is inside the window.
func (s *Source) in(t *time.Time) bool {
	return t != nil && !t.Before(s.From) && (s.To.IsZero() || t.Before(s.To))
}

// window returns the time window of s narrowed to w's.
func (s *Source) window(w Where) (from, to time.Time) {
	from, to = s.From, s.To
	if w.From.After(from) {
		from = w.From
	}
	if !w.To.IsZero() && (to.IsZero() || w.To.Before(to)) {
		to = w.To
	}
	return from, to
}

// device reports whether w admits machine id.
func (w Where) device(id string) bool { return w.DeviceIDs == nil || slices.Contains(w.DeviceIDs, id) }

// visible reports whether the caller may see machines of device group g.
func (s *Source) visible(g int64) bool { return s.Access == nil || s.Access.CanSee(g) }

// checkEvery is how many rows a scan reads between checks of its context.
const checkEvery = 1024

// machineJSON is what the tables read of a machine's JSON (wire's Machine
// entity).
type machineJSON struct {
	ID                    string     `json:"id"`
	ComputerDNSName       *string    `json:"computerDnsName"`
	LastSeen              *time.Time `json:"lastSeen"`
	OSPlatform            *string    `json:"osPlatform"`
	OSVersion             *string    `json:"osVersion"`
	LastExternalIPAddress *string    `json:"lastExternalIpAddress"`
	AgentVersion          *string    `json:"agentVersion"`
	OSBuild               *int64     `json:"osBuild"`
	HealthStatus          *string    `json:"healthStatus"`
	OnboardingStatus      *string    `json:"onboardingStatus"`
	RBACGroupName         *string    `json:"rbacGroupName"`
	ExposureLevel         *string    `json:"exposureLevel"`
	IsAADJoined           *bool      `json:"isAadJoined"`
	AADDeviceID           *string    `json:"aadDeviceId"`
	MachineTags           []string   `json:"machineTags"`
	DeviceValue           *string    `json:"deviceValue"`
	OSArchitecture        *string    `json:"osArchitecture"`
	IPAddresses           []ipAddressEntry
}

// ipAddressEntry is an entry of a machine's ipAddresses.
type ipAddressEntry struct {
	IPAddress                           string
	MACAddress, Type, OperationalStatus *string
}

// machines calls f with each machine the caller may see whose lastSeen is
// inside the window.
func (s *Source) machines(ctx context.Context, w Where, f func(m *machineJSON) error) error {
	lex := new(machineDecoder)
	slots := s.View.MachineSlots()
	if w.DeviceIDs != nil {
		// A machine's id looks it up, in the order of the whole scan.
		var list []uint32
		for _, id := range w.DeviceIDs {
			if slot, ok := s.View.Machine(id); ok && s.View.MachineID(slot) == id {
				list = append(list, slot)
			}
		}
		slices.Sort(list)
		slots = slices.Values(slices.Compact(list))
	}
	return scanView(ctx, s, slots, s.View.GroupID, func(buf []byte, slot uint32) (*machineJSON, *time.Time, []byte, error) {
		buf = s.View.AppendMachine(buf[:0], slot)
		var m machineJSON
		if err := decodeMachine(lex, buf, &m); err != nil {
			return nil, nil, buf, openatp.Errorf(openatp.Internal, "huntables: machine %s: %v", s.View.MachineID(slot), err)
		}
		return &m, m.LastSeen, buf, nil
	}, f)
}

// scanView calls f with the row of each slot whose device group the
// caller may see (group) and whose time, as read returns it, is inside the
// window; read decodes a slot's row into the buffer it is given (and
// returns). The context is checked every checkEvery slots.
func scanView[T any](ctx context.Context, s *Source, slots iter.Seq[uint32], group func(uint32) int64,
	read func(buf []byte, slot uint32) (*T, *time.Time, []byte, error), f func(*T) error) error {
	var buf []byte
	i := 0
	for slot := range slots {
		if i++; i%checkEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if !s.visible(group(slot)) {
			continue
		}
		row, at, b, err := read(buf, slot)
		if buf = b; err != nil {
			return err
		}
		if !s.in(at) {
			continue
		}
		if err := f(row); err != nil {
			return err
		}
	}
	return nil
}

var (
	diTimestamp  = deviceInfoColumns.index("Timestamp")
	diDeviceID   = deviceInfoColumns.index("DeviceId")
	diDeviceName = deviceInfoColumns.index("DeviceName")
	diClient     = deviceInfoColumns.index("ClientVersion")
	diPublicIP   = deviceInfoColumns.index("PublicIP")
	diArch       = deviceInfoColumns.index("OSArchitecture")
	diPlatform   = deviceInfoColumns.index("OSPlatform")
	diBuild      = deviceInfoColumns.index("OSBuild")
	diAADJoined  = deviceInfoColumns.index("IsAzureADJoined")
	diAADID      = deviceInfoColumns.index("AadDeviceId")
	diOSVersion  = deviceInfoColumns.index("OSVersion")
	diGroup      = deviceInfoColumns.index("MachineGroup")
	diOnboarding = deviceInfoColumns.index("OnboardingStatus")
	diHealth     = deviceInfoColumns.index("SensorHealthState")
	diExposure   = deviceInfoColumns.index("ExposureLevel")
	diAsset      = deviceInfoColumns.index("AssetValue")
	diTags       = deviceInfoColumns.index("DeviceManualTags")
	diTemplate   = deviceInfoColumns.template()
)

// deviceInfo is a row a machine: its state as last seen.
func (s *Source) deviceInfo(ctx context.Context, w Where, yield func([]any) error) error {
	return s.machines(ctx, w, func(m *machineJSON) error {
		row := slices.Clone(diTemplate)
		row[diTimestamp], row[diDeviceID] = *m.LastSeen, m.ID
		setString(row, diDeviceName, m.ComputerDNSName)
		setString(row, diClient, m.AgentVersion)
		setString(row, diPublicIP, m.LastExternalIPAddress)
		setString(row, diArch, m.OSArchitecture)
		setString(row, diPlatform, m.OSPlatform)
		if m.OSBuild != nil {
			row[diBuild] = *m.OSBuild
		}
		if m.IsAADJoined != nil {
			row[diAADJoined] = *m.IsAADJoined
		}
		setString(row, diAADID, m.AADDeviceID)
		setString(row, diOSVersion, m.OSVersion)
		setString(row, diGroup, m.RBACGroupName)
		setString(row, diOnboarding, m.OnboardingStatus)
		setString(row, diHealth, m.HealthStatus)
		setString(row, diExposure, m.ExposureLevel)
		setString(row, diAsset, m.DeviceValue)
		if len(m.MachineTags) > 0 {
			row[diTags] = jsonText(m.MachineTags)
		}
		return yield(row)
	})
}

var (
	niTimestamp  = deviceNetworkInfoColumns.index("Timestamp")
	niDeviceID   = deviceNetworkInfoColumns.index("DeviceId")
	niDeviceName = deviceNetworkInfoColumns.index("DeviceName")
	niMAC        = deviceNetworkInfoColumns.index("MacAddress")
	niType       = deviceNetworkInfoColumns.index("NetworkAdapterType")
	niStatus     = deviceNetworkInfoColumns.index("NetworkAdapterStatus")
	niAddresses  = deviceNetworkInfoColumns.index("IPAddresses")
	niTemplate   = deviceNetworkInfoColumns.template()
)

// ipAddressJSON is an entry of DeviceNetworkInfo's IPAddresses.
type ipAddressJSON struct {
	IPAddress    string `json:"IPAddress"`
	SubnetPrefix *int   `json:"SubnetPrefix"`
	AddressType  string `json:"AddressType"`
}

// deviceNetworkInfo is a row a network adapter of a machine: the entries
// of its ipAddresses of one MAC address (and type and status), in the
// order first seen.
func (s *Source) deviceNetworkInfo(ctx context.Context, yield func([]any) error) error {
	return s.machines(ctx, Where{}, func(m *machineJSON) error {
		type adapter struct {
			mac, typ, status string
			ips              []ipAddressJSON
		}
		var as []*adapter
		for _, ip := range m.IPAddresses {
			mac, typ, status := deref(ip.MACAddress), deref(ip.Type), deref(ip.OperationalStatus)
			i := slices.IndexFunc(as, func(a *adapter) bool { return a.mac == mac && a.typ == typ && a.status == status })
			if i < 0 {
				as, i = append(as, &adapter{mac: mac, typ: typ, status: status}), len(as)
			}
			as[i].ips = append(as[i].ips, ipAddressJSON{IPAddress: ip.IPAddress, AddressType: addressType(ip.IPAddress)})
		}
		for _, a := range as {
			row := slices.Clone(niTemplate)
			row[niTimestamp], row[niDeviceID] = *m.LastSeen, m.ID
			setString(row, niDeviceName, m.ComputerDNSName)
			row[niMAC], row[niType], row[niStatus] = a.mac, a.typ, a.status
			row[niAddresses] = jsonText(a.ips)
			if err := yield(row); err != nil {
				return err
			}
		}
		return nil
	})
}

// device returns what an event row needs of machine id: its name, and
// whether the caller may see it (false too when the view does not have it).
func (s *Source) device(id string) device {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d, ok := s.devices[id]; ok {
		return d
	}
	if s.devices == nil {
		s.devices = map[string]device{}
	}
	var d device
	if slot, ok := s.View.Machine(id); ok && s.View.MachineID(slot) == id && s.visible(s.View.GroupID(slot)) {
		var m machineJSON
		if decodeMachine(new(machineDecoder), s.View.AppendMachine(nil, slot), &m) == nil {
			d = device{name: deref(m.ComputerDNSName), visible: true}
		}
	}
	s.devices[id] = d
	return d
}

var (
	leTimestamp  = deviceLogonEventsColumns.index("Timestamp")
	leDeviceID   = deviceLogonEventsColumns.index("DeviceId")
	leDeviceName = deviceLogonEventsColumns.index("DeviceName")
	leAction     = deviceLogonEventsColumns.index("ActionType")
	leLogonType  = deviceLogonEventsColumns.index("LogonType")
	leDomain     = deviceLogonEventsColumns.index("AccountDomain")
	leName       = deviceLogonEventsColumns.index("AccountName")
	leSID        = deviceLogonEventsColumns.index("AccountSid")
	leTemplate   = deviceLogonEventsColumns.template()
)

// logonEvents is a row a logon event the store keeps (a successful logon:
// openatp records no failures).
func (s *Source) logonEvents(ctx context.Context, w Where, yield func([]any) error) error {
	if s.Logons == nil {
		return nil
	}
	n := 0
	from, to := s.window(w)
	return s.Logons.LogonEvents(ctx, s.TenantID, from, to, func(l openatp.Logon) error {
		if n++; n%checkEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if !w.device(l.MachineID) {
			return nil
		}
		d := s.device(l.MachineID)
		if !d.visible {
			return nil
		}
		row := slices.Clone(leTemplate)
		row[leTimestamp], row[leDeviceID], row[leDeviceName], row[leAction] = l.Timestamp, l.MachineID, d.name, "LogonSuccess"
		row[leLogonType], row[leDomain], row[leName], row[leSID] = l.LogonType, l.AccountDomain, l.AccountName, l.AccountSID
		return yield(row)
	})
}

// alertJSON is what the tables read of an alert's JSON (wire's Alert
// entity, with its evidence; decodeAlert).
type alertJSON struct {
	ID                string
	Severity          *string
	DetectionSource   *string
	Category          *string
	ThreatFamilyName  *string
	Title             *string
	AlertCreationTime *time.Time
	MachineID         *string
	ComputerDNSName   *string
	MitreTechniques   []string
	Evidence          []openatp.Evidence
}

// serviceSource is the ServiceSource of every alert openatp keeps.
const serviceSource = "Microsoft Defender for Endpoint"

// alerts calls f with each alert the caller may see (its machine's device
// group) created inside the window.
func (s *Source) alerts(ctx context.Context, evidence bool, f func(a *alertJSON) error) error {
	var lists alertlists.Reader
	return scanView(ctx, s, s.View.AlertSlots(), s.View.AlertGroupID, func(buf []byte, slot uint32) (*alertJSON, *time.Time, []byte, error) {
		buf = s.View.AppendAlert(buf[:0], slot, evidence)
		var a alertJSON
		if err := decodeAlert(&lists, buf, &a); err != nil {
			return nil, nil, buf, openatp.Errorf(openatp.Internal, "huntables: alert %s: %v", s.View.AlertID(slot), err)
		}
		return &a, a.AlertCreationTime, buf, nil
	}, f)
}

var (
	aiTimestamp  = alertInfoColumns.index("Timestamp")
	aiID         = alertInfoColumns.index("AlertId")
	aiTitle      = alertInfoColumns.index("Title")
	aiCategory   = alertInfoColumns.index("Category")
	aiSeverity   = alertInfoColumns.index("Severity")
	aiService    = alertInfoColumns.index("ServiceSource")
	aiDetection  = alertInfoColumns.index("DetectionSource")
	aiTechniques = alertInfoColumns.index("AttackTechniques")
	aiTemplate   = alertInfoColumns.template()
)

// alertInfo is a row an alert, stamped with its creation time.
func (s *Source) alertInfo(ctx context.Context, yield func([]any) error) error {
	return s.alerts(ctx, false, func(a *alertJSON) error {
		row := slices.Clone(aiTemplate)
		row[aiTimestamp], row[aiID], row[aiService] = *a.AlertCreationTime, a.ID, serviceSource
		setString(row, aiTitle, a.Title)
		setString(row, aiCategory, a.Category)
		setString(row, aiSeverity, a.Severity)
		setString(row, aiDetection, a.DetectionSource)
		if len(a.MitreTechniques) > 0 {
			row[aiTechniques] = jsonText(a.MitreTechniques)
		}
		return yield(row)
	})
}

var (
	aeTimestamp  = alertEvidenceColumns.index("Timestamp")
	aeID         = alertEvidenceColumns.index("AlertId")
	aeTitle      = alertEvidenceColumns.index("Title")
	aeCategories = alertEvidenceColumns.index("Categories")
	aeTechniques = alertEvidenceColumns.index("AttackTechniques")
	aeService    = alertEvidenceColumns.index("ServiceSource")
	aeDetection  = alertEvidenceColumns.index("DetectionSource")
	aeEntity     = alertEvidenceColumns.index("EntityType")
	aeRole       = alertEvidenceColumns.index("EvidenceRole")
	aeFileName   = alertEvidenceColumns.index("FileName")
	aeFolder     = alertEvidenceColumns.index("FolderPath")
	aeSHA1       = alertEvidenceColumns.index("SHA1")
	aeSHA256     = alertEvidenceColumns.index("SHA256")
	aeFamily     = alertEvidenceColumns.index("ThreatFamily")
	aeRemoteIP   = alertEvidenceColumns.index("RemoteIP")
	aeRemoteURL  = alertEvidenceColumns.index("RemoteUrl")
	aeAccount    = alertEvidenceColumns.index("AccountName")
	aeDomain     = alertEvidenceColumns.index("AccountDomain")
	aeSID        = alertEvidenceColumns.index("AccountSid")
	aeObjectID   = alertEvidenceColumns.index("AccountObjectId")
	aeUPN        = alertEvidenceColumns.index("AccountUpn")
	aeDeviceID   = alertEvidenceColumns.index("DeviceId")
	aeDeviceName = alertEvidenceColumns.index("DeviceName")
	aeCommand    = alertEvidenceColumns.index("ProcessCommandLine")
	aeRegKey     = alertEvidenceColumns.index("RegistryKey")
	aeRegName    = alertEvidenceColumns.index("RegistryValueName")
	aeRegData    = alertEvidenceColumns.index("RegistryValueData")
	aeSeverity   = alertEvidenceColumns.index("Severity")
	aeTemplate   = alertEvidenceColumns.template()
)

// alertEvidence is a row for an alert's machine (EntityType "Machine",
// "Impacted") and a row an item of its evidence ("Related"), each with the
// alert's columns and stamped with the alert's creation time.
func (s *Source) alertEvidence(ctx context.Context, yield func([]any) error) error {
	return s.alerts(ctx, true, func(a *alertJSON) error {
		head := slices.Clone(aeTemplate)
		head[aeTimestamp], head[aeID], head[aeService] = *a.AlertCreationTime, a.ID, serviceSource
		setString(head, aeTitle, a.Title)
		setString(head, aeDetection, a.DetectionSource)
		setString(head, aeSeverity, a.Severity)
		if a.Category != nil {
			head[aeCategories] = jsonText([]string{*a.Category})
		}
		if len(a.MitreTechniques) > 0 {
			head[aeTechniques] = jsonText(a.MitreTechniques)
		}
		if a.MachineID != nil {
			row := slices.Clone(head)
			row[aeEntity], row[aeRole], row[aeDeviceID] = "Machine", "Impacted", *a.MachineID
			setString(row, aeDeviceName, a.ComputerDNSName)
			if err := yield(row); err != nil {
				return err
			}
		}
		for _, e := range a.Evidence {
			row := slices.Clone(head)
			row[aeRole] = "Related"
			setString(row, aeEntity, e.EntityType)
			setString(row, aeFileName, e.FileName)
			setString(row, aeFolder, e.FilePath)
			setString(row, aeSHA1, e.SHA1)
			setString(row, aeSHA256, e.SHA256)
			setString(row, aeFamily, a.ThreatFamilyName)
			setString(row, aeRemoteIP, e.IPAddress)
			setString(row, aeRemoteURL, e.URL)
			setString(row, aeAccount, e.AccountName)
			setString(row, aeDomain, e.DomainName)
			setString(row, aeSID, e.UserSID)
			setString(row, aeObjectID, e.AADUserID)
			setString(row, aeUPN, e.UserPrincipalName)
			setString(row, aeCommand, e.ProcessCommandLine)
			setString(row, aeRegKey, e.RegistryKey)
			setString(row, aeRegName, e.RegistryValueName)
			setString(row, aeRegData, e.RegistryValue)
			if err := yield(row); err != nil {
				return err
			}
		}
		return nil
	})
}

// eventMap maps the columns of an event (openatp.FileEventColumns,
// NetworkEventColumns) to those of its table: -1 for a column the table
// does not have (Signer, an extension).
func eventMap(from []openatp.EventColumn, to columns) []int {
	m := make([]int, len(from))
	for i, c := range from {
		m[i] = slices.IndexFunc(to, func(t Column) bool { return t.Name == c.Name })
	}
	return m
}

var (
	fileEventMap       = eventMap(openatp.FileEventColumns, deviceFileEventsColumns)
	networkEventMap    = eventMap(openatp.NetworkEventColumns, deviceNetworkEventsColumns)
	fileEventsTemplate = deviceFileEventsColumns.template()
	netEventsTemplate  = deviceNetworkEventsColumns.template()
)

// eventRow is the row of an event's fields (openatp.FileEvent.Fields) in
// a table of columns cols mapped by m.
func eventRow(fields []any, m []int, template []any, cols columns) []any {
	row := slices.Clone(template)
	for i, f := range fields {
		j := m[i]
		if j < 0 {
			continue
		}
		switch v := f.(type) {
		case *time.Time:
			row[j] = *v
		case *string:
			row[j] = *v
		case *int64:
			row[j] = *v
		case **int64:
			switch {
			case *v == nil:
			case cols[j].Type == "int":
				row[j] = int32(**v)
			default:
				row[j] = **v
			}
		}
	}
	return row
}

// eventPage is how many events a read of the store takes at first.
const eventPage = 4096

// pageEvents reads events in time order from the store, a page at a
// time (read returns those from a time on, ordered by time, machine and
// report id), and calls yield with each once.
func pageEvents[T any](ctx context.Context, from time.Time, read func(from time.Time, limit int) ([]T, error),
	key func(*T) (time.Time, string, int64), yield func(*T) error) error {
	limit := eventPage
	var lastTS time.Time
	var lastDev string
	var lastRep int64
	seen := false
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		es, err := read(from, limit)
		if err != nil {
			return err
		}
		progressed := false
		for i := range es {
			ts, dev, rep := key(&es[i])
			if seen && !after(ts, dev, rep, lastTS, lastDev, lastRep) {
				continue // read already, from the page before
			}
			if err := yield(&es[i]); err != nil {
				return err
			}
			lastTS, lastDev, lastRep, seen, progressed = ts, dev, rep, true, true
		}
		if len(es) < limit {
			return nil
		}
		if !progressed || lastTS.Equal(from) {
			limit *= 2 // a page of one instant: read more of it at once
			continue
		}
		from = lastTS
	}
}

// after reports whether event key a comes after b in the store's order.
func after(ats time.Time, adev string, arep int64, bts time.Time, bdev string, brep int64) bool {
	if !ats.Equal(bts) {
		return ats.After(bts)
	}
	if adev != bdev {
		return adev > bdev
	}
	return arep > brep
}

// fileEvents is a row a file event of a machine the caller may see.
func (s *Source) fileEvents(ctx context.Context, w Where, yield func([]any) error) error {
	from, to := s.window(w)
	machine := ""
	if len(w.DeviceIDs) == 1 {
		machine = w.DeviceIDs[0]
	}
	return pageEvents(ctx, from, func(from time.Time, limit int) ([]openatp.FileEvent, error) {
		return s.Events.FileEvents(ctx, s.TenantID, openatp.EventFilter{MachineID: machine, From: from, To: to, Limit: limit})
	}, func(e *openatp.FileEvent) (time.Time, string, int64) { return e.Timestamp, e.DeviceId, e.ReportId },
		func(e *openatp.FileEvent) error {
			if !w.device(e.DeviceId) || !s.device(e.DeviceId).visible {
				return nil
			}
			return yield(eventRow(e.Fields(), fileEventMap, fileEventsTemplate, deviceFileEventsColumns))
		})
}

// networkEvents is a row a network event of a machine the caller may see.
func (s *Source) networkEvents(ctx context.Context, w Where, yield func([]any) error) error {
	from, to := s.window(w)
	machine := ""
	if len(w.DeviceIDs) == 1 {
		machine = w.DeviceIDs[0]
	}
	return pageEvents(ctx, from, func(from time.Time, limit int) ([]openatp.NetworkEvent, error) {
		return s.Events.NetworkEvents(ctx, s.TenantID, openatp.EventFilter{MachineID: machine, From: from, To: to, Limit: limit})
	}, func(e *openatp.NetworkEvent) (time.Time, string, int64) { return e.Timestamp, e.DeviceId, e.ReportId },
		func(e *openatp.NetworkEvent) error {
			if !w.device(e.DeviceId) || !s.device(e.DeviceId).visible {
				return nil
			}
			return yield(eventRow(e.Fields(), networkEventMap, netEventsTemplate, deviceNetworkEventsColumns))
		})
}

// setString sets a string column from a nullable property ("" for null).
func setString(row []any, i int, v *string) {
	if v != nil {
		row[i] = *v
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// jsonText is the JSON text of v, as the tables' JSON columns hold it.
func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}

// addressType is the AddressType of an address of DeviceNetworkInfo's
// IPAddresses (observable.IPType: Public, Private, Loopback...), "" if it
// does not parse.
func addressType(ip string) string {
	a, ok := observable.Addr(ip)
	if !ok {
		return ""
	}
	return observable.IPType(a.Unmap())
}
