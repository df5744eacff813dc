package huntables

import (
	"strconv"
	"time"

	"github.com/openatp/openatp/internal/alertlists"
	"github.com/openatp/openatp/internal/jsonlex"
)

// decodeMachine reads the machine JSON b (wire's Machine entity, as the
// read model writes it) into m with the hand-written lexer: a table scan
// decodes every machine of the tenant, and encoding/json's reflection
// cost more than the rest of the scan. Properties the tables do not read
// are skipped.
func decodeMachine(l *jsonlex.Lexer, b []byte, m *machineJSON) error {
	l.Reset(b)
	err := l.Object(func(key []byte) error {
		switch string(key) {
		case "id":
			s, err := str(l)
			if s != nil {
				m.ID = *s
			}
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
			return strTo(l, &m.OSPlatform)
		case "osVersion":
			return strTo(l, &m.OSVersion)
		case "lastExternalIpAddress":
			return strTo(l, &m.LastExternalIPAddress)
		case "agentVersion":
			return strTo(l, &m.AgentVersion)
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
			return strTo(l, &m.HealthStatus)
		case "onboardingStatus":
			return strTo(l, &m.OnboardingStatus)
		case "rbacGroupName":
			return strTo(l, &m.RBACGroupName)
		case "exposureLevel":
			return strTo(l, &m.ExposureLevel)
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
			return strTo(l, &m.DeviceValue)
		case "osArchitecture":
			return strTo(l, &m.OSArchitecture)
		case "machineTags":
			return array(l, func() error {
				s, err := str(l)
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
						return strTo(l, &ip.Type)
					case "operationalStatus":
						return strTo(l, &ip.OperationalStatus)
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
