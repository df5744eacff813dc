// Package wire is the MDE wire schema: the JSON of each entity exactly as
// the Defender for Endpoint API writes it (documented property order,
// compact, every property present, unknown values null). The API, the
// in-memory read model, import and export all write entities through it,
// so that every path gives the same bytes.
package wire

import (
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/openatp/openatp"
)

// TimeLayout is the documented timestamp form: UTC, 7 fractional digits.
const TimeLayout = "2006-01-02T15:04:05.0000000Z"

// AppendMachine appends the JSON object of m to b.
func AppendMachine(b []byte, m *openatp.Machine) []byte {
	b = AppendMachineHead(b, m)
	b = AppendGroup(b, m.RBACGroupID, m.RBACGroupName)
	return AppendMachineTail(b, m)
}

// AppendGroup appends the device group properties of a machine, which the
// in-memory index keeps apart from the rest so that a group change does not
// re-encode every machine.
func AppendGroup(b []byte, id int64, name string) []byte {
	b = append(b, `,"rbacGroupId":`...)
	b = strconv.AppendInt(b, id, 10)
	b = append(b, `,"rbacGroupName":`...)
	return AppendString(b, name)
}

// AppendMachineHead appends the properties of m before its device group.
func AppendMachineHead(b []byte, m *openatp.Machine) []byte {
	b = append(b, `{"id":`...)
	b = AppendString(b, m.ID)
	b = append(b, `,"computerDnsName":`...)
	b = AppendStringPtr(b, m.ComputerDNSName)
	b = append(b, `,"firstSeen":`...)
	b = AppendTime(b, m.FirstSeen)
	b = append(b, `,"lastSeen":`...)
	b = AppendTime(b, m.LastSeen)
	b = append(b, `,"osPlatform":`...)
	b = AppendStringPtr(b, m.OSPlatform)
	b = append(b, `,"osVersion":`...)
	b = AppendStringPtr(b, m.OSVersion)
	b = append(b, `,"osProcessor":`...)
	b = AppendStringPtr(b, m.OSProcessor)
	b = append(b, `,"version":`...)
	b = AppendStringPtr(b, m.Version)
	b = append(b, `,"lastIpAddress":`...)
	b = AppendStringPtr(b, m.LastIPAddress)
	b = append(b, `,"lastExternalIpAddress":`...)
	b = AppendStringPtr(b, m.LastExternalIPAddress)
	b = append(b, `,"agentVersion":`...)
	b = AppendStringPtr(b, m.AgentVersion)
	b = append(b, `,"osBuild":`...)
	if m.OSBuild == nil {
		b = append(b, "null"...)
	} else {
		b = strconv.AppendInt(b, *m.OSBuild, 10)
	}
	b = append(b, `,"healthStatus":`...)
	b = AppendStringPtr(b, m.HealthStatus)
	b = append(b, `,"onboardingStatus":`...)
	b = AppendStringPtr(b, m.OnboardingStatus)
	return b
}

// AppendMachineTail appends the properties of m after its device group.
func AppendMachineTail(b []byte, m *openatp.Machine) []byte {
	b = append(b, `,"riskScore":`...)
	b = AppendStringPtr(b, m.RiskScore)
	b = append(b, `,"exposureLevel":`...)
	b = AppendStringPtr(b, m.ExposureLevel)
	b = append(b, `,"isAadJoined":`...)
	switch {
	case m.IsAADJoined == nil:
		b = append(b, "null"...)
	case *m.IsAADJoined:
		b = append(b, "true"...)
	default:
		b = append(b, "false"...)
	}
	b = append(b, `,"aadDeviceId":`...)
	b = AppendStringPtr(b, m.AADDeviceID)
	b = append(b, `,"machineTags":[`...)
	for i, t := range m.MachineTags {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendString(b, t)
	}
	b = append(b, `],"deviceValue":`...)
	b = AppendStringPtr(b, m.DeviceValue)
	b = append(b, `,"ipAddresses":[`...)
	for i := range m.IPAddresses {
		a := &m.IPAddresses[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"ipAddress":`...)
		b = AppendString(b, a.IPAddress)
		b = append(b, `,"macAddress":`...)
		b = AppendStringPtr(b, a.MACAddress)
		b = append(b, `,"type":`...)
		b = AppendStringPtr(b, a.Type)
		b = append(b, `,"operationalStatus":`...)
		b = AppendStringPtr(b, a.OperationalStatus)
		b = append(b, '}')
	}
	b = append(b, `],"osArchitecture":`...)
	b = AppendStringPtr(b, m.OSArchitecture)
	return append(b, '}')
}

// AppendTime appends t in the documented timestamp form, or null.
func AppendTime(b []byte, t *time.Time) []byte {
	if t == nil {
		return append(b, "null"...)
	}
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, TimeLayout)
	return append(b, '"')
}

// AppendStringPtr appends *s as a JSON string, or null when s is nil.
func AppendStringPtr(b []byte, s *string) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	return AppendString(b, *s)
}

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string. It escapes what JSON requires
// (quote, backslash, control characters) plus U+2028 and U+2029, and writes
// invalid UTF-8 as U+FFFD.
func AppendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
