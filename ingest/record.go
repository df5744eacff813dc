package ingest

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/jsonlex"
	"github.com/openatp/openatp/wire"
)

// fieldErr is an invalid property of a record.
func fieldErr(field, reason string) *openatp.FieldError {
	return &openatp.FieldError{Field: field, Reason: reason}
}

// fromNormalize returns the *openatp.FieldError of an error of
// Machine.Normalize or Logon.Normalize.
func fromNormalize(err error) error {
	var fe *openatp.FieldError
	if errors.As(err, &fe) {
		return fe
	}
	msg := err.Error()
	var e *openatp.Error
	if errors.As(err, &e) {
		msg = e.Message
	}
	return fieldErr("", msg)
}

// The properties of the Machine entity, in the documented order
// (wire.MachineProperties); the index is the bit of a property in a
// record's set of seen properties.
var machineProps = wire.MachineProperties

// The properties of a logon record.
var logonProps = []string{"machineId", "accountName", "accountDomain", "accountSid", "logonType", "timestamp"}

// IPAddress properties.
var ipProps = wire.IPAddressProperties

func index(props []string) map[string]int {
	m := make(map[string]int, len(props))
	for i, p := range props {
		m[p] = i
	}
	return m
}

func foldIndex(props []string) map[string]string {
	m := make(map[string]string, len(props))
	for _, p := range props {
		m[strings.ToLower(p)] = p
	}
	return m
}

var (
	machineIndex = index(machineProps)
	logonIndex   = index(logonProps)
	ipIndex      = index(ipProps)
	machineFold  = foldIndex(machineProps)
	logonFold    = foldIndex(logonProps)
	ipFold       = foldIndex(ipProps)
)

// unknownProp handles a property that is not one of props: a different
// spelling of one of them is an error (it would otherwise be dropped
// silently); anything else is skipped and counted as ignored.
func (d *decoder) unknownProp(prefix string, key []byte, fold map[string]string) error {
	if p, ok := fold[strings.ToLower(string(key))]; ok {
		return fieldErr(prefix+string(key), "unknown property; did you mean "+strconv.Quote(p)+"? (names are case-sensitive)")
	}
	d.ignored.add(prefix, key)
	return d.lex.Skip(0)
}

// decoder decodes records from their JSON bytes.
type decoder struct {
	lex      jsonlex.Lexer
	ignored  *counter
	interned map[string]string // of values that repeat (domains, logon types)
}

// maxInterned bounds decoder.interned.
const maxInterned = 1024

// intern reads a string or null like optStr, sharing the strings of
// values seen before: a file of millions of logon events names a handful
// of domains and logon types.
func (d *decoder) intern(field string) (string, error) {
	if d.lex.Null() {
		return "", nil
	}
	if d.lex.Peek() != '"' {
		_, err := d.optStr(field)
		return "", err
	}
	b, err := d.lex.StringBytes()
	if err == jsonlex.ErrUTF8 {
		return "", fieldErr(field, "is not valid UTF-8")
	}
	if err != nil {
		return "", err
	}
	if s, ok := d.interned[string(b)]; ok {
		return s, nil
	}
	s := string(b)
	if d.interned == nil {
		d.interned = map[string]string{}
	}
	if len(d.interned) < maxInterned {
		d.interned[s] = s
	}
	return s, nil
}

func (d *decoder) reset(b []byte) { d.lex.Reset(b) }

// str reads a string property; null is an error.
func (d *decoder) str(field string) (string, error) {
	if d.lex.Null() {
		return "", fieldErr(field, "must not be null")
	}
	if d.lex.Peek() != '"' {
		if err := d.lex.Skip(0); err != nil {
			return "", err
		}
		return "", fieldErr(field, "must be a string")
	}
	b, err := d.lex.StringBytes()
	if err == jsonlex.ErrUTF8 {
		return "", fieldErr(field, "is not valid UTF-8")
	}
	return string(b), err
}

// optStr reads a string or null.
func (d *decoder) optStr(field string) (*string, error) {
	if d.lex.Null() {
		return nil, nil
	}
	if d.lex.Peek() != '"' {
		if err := d.lex.Skip(0); err != nil {
			return nil, err
		}
		return nil, fieldErr(field, "must be a string or null")
	}
	b, err := d.lex.StringBytes()
	if err == jsonlex.ErrUTF8 {
		return nil, fieldErr(field, "is not valid UTF-8")
	}
	if err != nil {
		return nil, err
	}
	s := string(b)
	return &s, nil
}

// optTime reads an RFC 3339 timestamp or null.
func (d *decoder) optTime(field string) (*time.Time, error) {
	s, err := d.optStr(field)
	if err != nil || s == nil {
		return nil, err
	}
	t, err := parseTime(field, *s)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// parseTime reads an RFC 3339 timestamp: date, 'T', time, optional
// fraction, and 'Z' or a numeric offset. Other forms time.Parse would take
// (a comma before the fraction, a missing offset) are refused.
func parseTime(field, s string) (time.Time, error) {
	if len(s) >= 20 && s[4] == '-' && s[7] == '-' && s[10] == 'T' && s[13] == ':' && s[16] == ':' &&
		!strings.ContainsAny(s, ", ") {
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fieldErr(field, strconv.Quote(clip(s))+" is not an RFC 3339 timestamp (such as 2018-08-02T14:55:03.7791856Z)")
}

// machine decodes one Machine record into m and normalizes it.
func (d *decoder) machine(b []byte, m *openatp.Machine) error {
	*m = openatp.Machine{}
	d.reset(b)
	var seen uint32
	err := d.lex.Object(func(key []byte) error {
		p, ok := machineIndex[string(key)]
		if !ok {
			return d.unknownProp("", key, machineFold)
		}
		name := machineProps[p]
		if seen&(1<<p) != 0 {
			return fieldErr(name, "appears twice in the record")
		}
		seen |= 1 << p
		if wire.DerivedMachineProperty(name) {
			d.ignored.add("", key)
			return d.lex.Skip(0)
		}
		var err error
		if f := wire.MachineStringField(m, name); f != nil {
			*f, err = d.optStr(name)
			return err
		}
		switch name {
		case "id":
			m.ID, err = d.str(name)
		case "firstSeen":
			m.FirstSeen, err = d.optTime(name)
		case "lastSeen":
			m.LastSeen, err = d.optTime(name)
		case "osBuild":
			m.OSBuild, err = d.optInt(name)
		case "isAadJoined":
			m.IsAADJoined, err = d.optBool(name)
		case "machineTags":
			m.MachineTags, err = d.tags(name)
		case "ipAddresses":
			m.IPAddresses, err = d.ipAddresses(name)
		}
		return err
	})
	if err == nil {
		err = d.lex.End()
	}
	if err != nil {
		return err
	}
	if seen&1 == 0 {
		return fieldErr("id", "is required")
	}
	if err := m.Normalize(); err != nil {
		return fromNormalize(err)
	}
	return nil
}

func (d *decoder) optInt(field string) (*int64, error) {
	if d.lex.Null() {
		return nil, nil
	}
	c := d.lex.Peek()
	if c != '-' && (c < '0' || c > '9') {
		if err := d.lex.Skip(0); err != nil {
			return nil, err
		}
		return nil, fieldErr(field, "must be an integer or null")
	}
	num, err := d.lex.Number()
	if err != nil {
		return nil, err
	}
	n, err := strconv.ParseInt(string(num), 10, 64)
	if err != nil {
		return nil, fieldErr(field, "must be an integer or null, got "+string(num))
	}
	return &n, nil
}

func (d *decoder) optBool(field string) (*bool, error) {
	switch {
	case d.lex.Null():
		return nil, nil
	case d.lex.Peek() == 't' && d.lex.Literal("true"):
		return openatp.Ptr(true), nil
	case d.lex.Peek() == 'f' && d.lex.Literal("false"):
		return openatp.Ptr(false), nil
	}
	if err := d.lex.Skip(0); err != nil {
		return nil, err
	}
	return nil, fieldErr(field, "must be true, false or null")
}

// tags reads an array of strings or null.
func (d *decoder) tags(field string) ([]string, error) {
	if d.lex.Null() {
		return nil, nil
	}
	if !d.lex.Consume('[') {
		if err := d.lex.Skip(0); err != nil {
			return nil, err
		}
		return nil, fieldErr(field, "must be an array of strings or null")
	}
	tags := []string{}
	if d.lex.Consume(']') {
		return tags, nil
	}
	for {
		s, err := d.str(field)
		if err != nil {
			return nil, err
		}
		tags = append(tags, s)
		if d.lex.Consume(']') {
			return tags, nil
		}
		if !d.lex.Consume(',') {
			return nil, d.lex.Errorf("expected ',' or ']'")
		}
	}
}

// ipAddresses reads an array of IpAddress objects or null.
func (d *decoder) ipAddresses(field string) ([]openatp.IPAddress, error) {
	if d.lex.Null() {
		return nil, nil
	}
	if !d.lex.Consume('[') {
		if err := d.lex.Skip(0); err != nil {
			return nil, err
		}
		return nil, fieldErr(field, "must be an array of objects or null")
	}
	ips := []openatp.IPAddress{}
	if d.lex.Consume(']') {
		return ips, nil
	}
	for {
		if d.lex.Peek() != '{' {
			return nil, fieldErr(field, "must be an array of objects")
		}
		var a openatp.IPAddress
		var seen uint8
		err := d.lex.Object(func(key []byte) error {
			p, ok := ipIndex[string(key)]
			if !ok {
				return d.unknownProp(field+".", key, ipFold)
			}
			name := field + "." + ipProps[p]
			if seen&(1<<p) != 0 {
				return fieldErr(name, "appears twice in the object")
			}
			seen |= 1 << p
			var err error
			switch p {
			case 0:
				a.IPAddress, err = d.str(name)
			case 1:
				a.MACAddress, err = d.optStr(name)
			case 2:
				a.Type, err = d.optStr(name)
			case 3:
				a.OperationalStatus, err = d.optStr(name)
			}
			return err
		})
		if err != nil {
			return nil, err
		}
		if seen&1 == 0 {
			return nil, fieldErr(field+".ipAddress", "is required")
		}
		ips = append(ips, a)
		if d.lex.Consume(']') {
			return ips, nil
		}
		if !d.lex.Consume(',') {
			return nil, d.lex.Errorf("expected ',' or ']'")
		}
	}
}

// logon decodes one logon record into l and normalizes it.
func (d *decoder) logon(b []byte, l *openatp.Logon) error {
	*l = openatp.Logon{}
	d.reset(b)
	var seen uint8
	err := d.lex.Object(func(key []byte) error {
		p, ok := logonIndex[string(key)]
		if !ok {
			return d.unknownProp("", key, logonFold)
		}
		name := logonProps[p]
		if seen&(1<<p) != 0 {
			return fieldErr(name, "appears twice in the record")
		}
		seen |= 1 << p
		var err error
		var s *string
		switch p {
		case 0:
			l.MachineID, err = d.str(name)
		case 1:
			l.AccountName, err = d.str(name)
		case 2:
			if d.lex.Null() {
				err = fieldErr(name, "must not be null")
			} else {
				l.AccountDomain, err = d.intern(name)
			}
		case 3:
			if s, err = d.optStr(name); s != nil {
				l.AccountSID = *s
			}
		case 4:
			l.LogonType, err = d.intern(name)
		case 5:
			var t *time.Time
			if t, err = d.optTime(name); err == nil && t != nil {
				l.Timestamp = *t
			}
		}
		return err
	})
	if err == nil {
		err = d.lex.End()
	}
	if err != nil {
		return err
	}
	for i, p := range []string{"machineId", "accountName", "accountDomain"} {
		if seen&(1<<i) == 0 {
			return fieldErr(p, "is required")
		}
	}
	if err := l.Normalize(); err != nil {
		return fromNormalize(err)
	}
	return nil
}

// sniff tells the kind of a record from its properties: requestor makes
// a machine action, id and machineId an alert, id alone a machine,
// machineId alone a logon event.
func (d *decoder) sniff(b []byte) (Kind, error) {
	d.reset(b)
	var id, machineID, requestor, deviceID, remote bool
	err := d.lex.Object(func(key []byte) error {
		switch string(key) {
		case "id":
			id = true
		case "machineId":
			machineID = true
		case "requestor":
			requestor = true
		case "DeviceId":
			deviceID = true
		case "RemoteIP", "RemoteUrl", "RemotePort", "LocalIP", "LocalPort", "Protocol":
			remote = true
		}
		return d.lex.Skip(0)
	})
	if err != nil {
		return Unknown, err
	}
	kind := Unknown
	switch {
	case requestor:
		kind = Actions
	case deviceID && remote:
		kind = NetworkEvents
	case deviceID:
		kind = FileEvents
	case id && machineID:
		kind = Alerts
	case id:
		kind = Machines
	case machineID:
		kind = Logons
	}
	if kind == Unknown {
		return Unknown, fieldErr("", "cannot tell machines from logon events: the record has neither \"id\" nor \"machineId\" (give the kind)")
	}
	return kind, nil
}

// clip shortens s for an error message.
func clip(s string) string {
	if len(s) <= 64 {
		return s
	}
	cut := 64
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}
