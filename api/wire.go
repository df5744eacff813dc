package api

import (
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/openatp/openatp"
)

// This file is the JSON edge: the MDE Machine entity, written by hand in the
// documented property order (clients that diff JSON care), compact, every
// property present, unknown values null.

// timeLayout is the documented timestamp form: UTC, 7 fractional digits.
const timeLayout = "2006-01-02T15:04:05.0000000Z"

// appendMachine appends the JSON object of m to b.
func appendMachine(b []byte, m *openatp.Machine) []byte {
	b = appendMachineHead(b, m)
	b = appendGroup(b, m.RBACGroupID, m.RBACGroupName)
	return appendMachineTail(b, m)
}

// appendGroup appends the device group properties of a machine, which the
// in-memory index keeps apart from the rest so that a group change does not
// re-encode every machine.
func appendGroup(b []byte, id int64, name string) []byte {
	b = append(b, `,"rbacGroupId":`...)
	b = strconv.AppendInt(b, id, 10)
	b = append(b, `,"rbacGroupName":`...)
	return appendString(b, name)
}

// appendMachineHead appends the properties of m before its device group.
func appendMachineHead(b []byte, m *openatp.Machine) []byte {
	b = append(b, `{"id":`...)
	b = appendString(b, m.ID)
	b = append(b, `,"computerDnsName":`...)
	b = appendStringPtr(b, m.ComputerDNSName)
	b = append(b, `,"firstSeen":`...)
	b = appendTime(b, m.FirstSeen)
	b = append(b, `,"lastSeen":`...)
	b = appendTime(b, m.LastSeen)
	b = append(b, `,"osPlatform":`...)
	b = appendStringPtr(b, m.OSPlatform)
	b = append(b, `,"osVersion":`...)
	b = appendStringPtr(b, m.OSVersion)
	b = append(b, `,"osProcessor":`...)
	b = appendStringPtr(b, m.OSProcessor)
	b = append(b, `,"version":`...)
	b = appendStringPtr(b, m.Version)
	b = append(b, `,"lastIpAddress":`...)
	b = appendStringPtr(b, m.LastIPAddress)
	b = append(b, `,"lastExternalIpAddress":`...)
	b = appendStringPtr(b, m.LastExternalIPAddress)
	b = append(b, `,"agentVersion":`...)
	b = appendStringPtr(b, m.AgentVersion)
	b = append(b, `,"osBuild":`...)
	if m.OSBuild == nil {
		b = append(b, "null"...)
	} else {
		b = strconv.AppendInt(b, *m.OSBuild, 10)
	}
	b = append(b, `,"healthStatus":`...)
	b = appendStringPtr(b, m.HealthStatus)
	b = append(b, `,"onboardingStatus":`...)
	b = appendStringPtr(b, m.OnboardingStatus)
	return b
}

// appendMachineTail appends the properties of m after its device group.
func appendMachineTail(b []byte, m *openatp.Machine) []byte {
	b = append(b, `,"riskScore":`...)
	b = appendStringPtr(b, m.RiskScore)
	b = append(b, `,"exposureLevel":`...)
	b = appendStringPtr(b, m.ExposureLevel)
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
	b = appendStringPtr(b, m.AADDeviceID)
	b = append(b, `,"machineTags":[`...)
	for i, t := range m.MachineTags {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, t)
	}
	b = append(b, `],"deviceValue":`...)
	b = appendStringPtr(b, m.DeviceValue)
	b = append(b, `,"ipAddresses":[`...)
	for i := range m.IPAddresses {
		a := &m.IPAddresses[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"ipAddress":`...)
		b = appendString(b, a.IPAddress)
		b = append(b, `,"macAddress":`...)
		b = appendStringPtr(b, a.MACAddress)
		b = append(b, `,"type":`...)
		b = appendStringPtr(b, a.Type)
		b = append(b, `,"operationalStatus":`...)
		b = appendStringPtr(b, a.OperationalStatus)
		b = append(b, '}')
	}
	b = append(b, `],"osArchitecture":`...)
	b = appendStringPtr(b, m.OSArchitecture)
	return append(b, '}')
}

func appendTime(b []byte, t *time.Time) []byte {
	if t == nil {
		return append(b, "null"...)
	}
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, timeLayout)
	return append(b, '"')
}

func appendStringPtr(b []byte, s *string) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	return appendString(b, *s)
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string. It escapes what JSON requires
// (quote, backslash, control characters) plus U+2028 and U+2029, and writes
// invalid UTF-8 as U+FFFD.
func appendString(b []byte, s string) []byte {
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
