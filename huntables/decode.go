package huntables

import (
	"strconv"
	"time"

	"github.com/openatp/openatp/internal/alertlists"
	"github.com/openatp/openatp/internal/jsonlex"
)

// machineDecoder decodes machines (decodeMachine) for one scan: its
// lexer, and the values that repeat from machine to machine (platforms,
// versions, statuses, group names, tags, adapter types), kept once and
// shared by the machines that have them rather than allocated for each:
// a million-machine scan spent most of its decoding allocating strings,
// work a hunting query adds to the garbage collector, which the serving
// routes share. A machine decoded shares those strings: the tables only
// read them.
type machineDecoder struct {
	l      jsonlex.Lexer
	shared map[string]*string
}

// maxShared bounds a decoder's shared values; maxSharedLen is the
// longest value it keeps.
const (
	maxShared    = 4096
	maxSharedLen = 64
)

// sharedTo reads a string or null into *p, sharing the values seen
// before.
func (d *machineDecoder) sharedTo(p **string) error {
	if d.l.Null() {
		*p = nil
		return nil
	}
	b, err := d.l.StringBytes()
	if err != nil {
		return err
	}
	if v, ok := d.shared[string(b)]; ok {
		*p = v
		return nil
	}
	v := string(b)
	if len(b) <= maxSharedLen && len(d.shared) < maxShared {
		if d.shared == nil {
			d.shared = map[string]*string{}
		}
		d.shared[v] = &v
	}
	*p = &v
	return nil
}

// decodeMachine reads the machine JSON b (wire's Machine entity, as the
// read model writes it) into m with the hand-written lexer: a table scan
// decodes every machine of the tenant, and encoding/json's reflection
// cost more than the rest of the scan. Properties the tables do not read
// are skipped.
func decodeMachine(d *machineDecoder, b []byte, m *machineJSON) error {
	l := &d.l
	l.Reset(b)
	err := l.Object(func(key []byte) error {
		switch string(key) {
		case "id":
			if l.Null() {
				return nil
			}
			b, err := l.StringBytes()
			m.ID = string(b)
			return err
		case "computerDnsName":
			return strTo(l, &m.ComputerDNSName)
		case "lastSeen":
			s, err := str(l)
			if err != nil || s == nil {
				return err
			}
			t, err := time.Parse(time.RFC3339Nano, *s)
			if err != nil {
				return l.Errorf("lastSeen is not a time")
			}
			m.LastSeen = &t
			return nil
		case "osPlatform":
			return d.sharedTo(&m.OSPlatform)
		case "osVersion":
			return d.sharedTo(&m.OSVersion)
		case "lastExternalIpAddress":
			return strTo(l, &m.LastExternalIPAddress)
		case "agentVersion":
			return d.sharedTo(&m.AgentVersion)
		case "osBuild":
			if l.Null() {
				return nil
			}
			n, err := l.Number()
			if err != nil {
				return err
			}
			v, err := strconv.ParseInt(string(n), 10, 64)
			if err != nil {
				return l.Errorf("osBuild is not an integer")
			}
			m.OSBuild = &v
			return nil
		case "healthStatus":
			return d.sharedTo(&m.HealthStatus)
		case "onboardingStatus":
			return d.sharedTo(&m.OnboardingStatus)
		case "rbacGroupName":
			return d.sharedTo(&m.RBACGroupName)
		case "exposureLevel":
			return d.sharedTo(&m.ExposureLevel)
		case "isAadJoined":
			switch {
			case l.Null():
			case l.Literal("true"):
				m.IsAADJoined = ptr(true)
			case l.Literal("false"):
				m.IsAADJoined = ptr(false)
			default:
				return l.Errorf("isAadJoined is not a boolean")
			}
			return nil
		case "aadDeviceId":
			return strTo(l, &m.AADDeviceID)
		case "deviceValue":
			return d.sharedTo(&m.DeviceValue)
		case "osArchitecture":
			return d.sharedTo(&m.OSArchitecture)
		case "machineTags":
			return array(l, func() error {
				var s *string
				err := d.sharedTo(&s)
				if s != nil {
					m.MachineTags = append(m.MachineTags, *s)
				}
				return err
			})
		case "ipAddresses":
			return array(l, func() error {
				var ip ipAddressEntry
				err := l.Object(func(key []byte) error {
					switch string(key) {
					case "ipAddress":
						s, err := str(l)
						if s != nil {
							ip.IPAddress = *s
						}
						return err
					case "macAddress":
						return strTo(l, &ip.MACAddress)
					case "type":
						return d.sharedTo(&ip.Type)
					case "operationalStatus":
						return d.sharedTo(&ip.OperationalStatus)
					}
					return l.Skip(0)
				})
				m.IPAddresses = append(m.IPAddresses, ip)
				return err
			})
		}
		return l.Skip(0)
	})
	if err != nil {
		return err
	}
	return l.End()
}

// decodeAlert reads the alert JSON b (wire's Alert entity, as the read
// model writes it, with its evidence) into a with the alert lists' reader
// (internal/alertlists, which the SQL stores read their lists with): its
// evidence and MITRE techniques as the stores read them, and the other
// properties the tables read; the rest is skipped.
func decodeAlert(r *alertlists.Reader, b []byte, a *alertJSON) error {
	l := r.Lexer()
	l.Reset(b)
	err := l.Object(func(key []byte) error {
		switch string(key) {
		case "id":
			var s *string
			err := r.StringAt(&s)
			if s != nil {
				a.ID = *s
			}
			return err
		case "severity":
			return r.StringAt(&a.Severity)
		case "detectionSource":
			return r.StringAt(&a.DetectionSource)
		case "category":
			return r.StringAt(&a.Category)
		case "threatFamilyName":
			return r.StringAt(&a.ThreatFamilyName)
		case "title":
			return r.StringAt(&a.Title)
		case "alertCreationTime":
			return r.TimeAt(&a.AlertCreationTime)
		case "machineId":
			return r.StringAt(&a.MachineID)
		case "computerDnsName":
			return r.StringAt(&a.ComputerDNSName)
		case "mitreTechniques":
			var err error
			a.MitreTechniques, err = r.StringsAt()
			return err
		case "evidence":
			var err error
			a.Evidence, err = r.EvidenceAt()
			return err
		}
		return l.Skip(0)
	})
	if err != nil {
		return err
	}
	return l.End()
}

// str reads a string or null (nil).
func str(l *jsonlex.Lexer) (*string, error) {
	if l.Null() {
		return nil, nil
	}
	b, err := l.StringBytes()
	if err != nil {
		return nil, err
	}
	s := string(b)
	return &s, nil
}

// strTo reads a string or null into *p.
func strTo(l *jsonlex.Lexer, p **string) error {
	s, err := str(l)
	*p = s
	return err
}

// array calls elem for each element of the array (or null) at l.
func array(l *jsonlex.Lexer, elem func() error) error {
	if l.Null() {
		return nil
	}
	if !l.Consume('[') {
		return l.Errorf("expected an array")
	}
	if l.Consume(']') {
		return nil
	}
	for {
		if err := elem(); err != nil {
			return err
		}
		if l.Consume(']') {
			return nil
		}
		if !l.Consume(',') {
			return l.Errorf("expected ',' or ']'")
		}
	}
}

func ptr[T any](v T) *T { return &v }
