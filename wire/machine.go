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
	b = appendMachineHead(b, m)
	b = AppendGroup(b, m.RBACGroupID, m.RBACGroupName)
	return appendMachineTail(b, m)
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

// appendMachineHead appends the properties of m before its device group.
func appendMachineHead(b []byte, m *openatp.Machine) []byte {
	w := writer{b: b}
	w.machineHead(m)
	return w.b
}

// appendMachineTail appends the properties of m after its device group.
func appendMachineTail(b []byte, m *openatp.Machine) []byte {
	w := writer{b: b}
	w.machineTail(m)
	return w.b
}

// CompactMachine appends to dst what Compact makes of m's head
// (appendMachineHead) followed by what it makes of m's tail
// (appendMachineTail), in one pass, without writing the JSON first. cut
// is where the tail's records start, and size the length of the JSON
// (head and tail).
func CompactMachine(dst []byte, m *openatp.Machine) (b []byte, cut, size int) {
	w := writer{b: dst, compact: true, open: -1}
	w.machineHead(m)
	w.end()
	cut = len(w.b)
	w.machineTail(m)
	w.end()
	return w.b, cut, len(w.b) - len(dst) + w.expand
}

// machineTokens are the compact tokens that start the Machine properties
// (MID…), and ipTokens those of an entry of ipAddresses.
var machineTokens, ipTokens = func() (mt [machineProps]byte, it [4]byte) {
	for p, n := range MachineProperties {
		lead := ","
		switch p {
		case MID:
			lead = "{"
		case MDeviceValue, MOSArchitecture: // after the machineTags and ipAddresses arrays
			lead = "],"
		}
		mt[p] = tokenOf(lead + `"` + n + `":`)
	}
	for p, n := range IPAddressProperties {
		lead := ","
		if p == 0 {
			lead = "{"
		}
		it[p] = tokenOf(lead + `"` + n + `":`)
	}
	return mt, it
}()

// optString writes the property of token t, a string or null.
func (w *writer) optString(t byte, s *string) {
	w.name(t)
	w.b = AppendStringPtr(w.b, s)
}

func (w *writer) machineHead(m *openatp.Machine) {
	t := &machineTokens
	w.name(t[MID])
	w.b = AppendString(w.b, m.ID)
	w.optString(t[MComputerDNSName], m.ComputerDNSName)
	w.name(t[MFirstSeen])
	w.b = AppendTime(w.b, m.FirstSeen)
	w.name(t[MLastSeen])
	w.b = AppendTime(w.b, m.LastSeen)
	w.optString(t[MOSPlatform], m.OSPlatform)
	w.optString(t[MOSVersion], m.OSVersion)
	w.optString(t[MOSProcessor], m.OSProcessor)
	w.optString(t[MVersion], m.Version)
	w.optString(t[MLastIPAddress], m.LastIPAddress)
	w.optString(t[MLastExternalIPAddress], m.LastExternalIPAddress)
	w.optString(t[MAgentVersion], m.AgentVersion)
	w.name(t[MOSBuild])
	if m.OSBuild == nil {
		w.b = append(w.b, "null"...)
	} else {
		w.b = strconv.AppendInt(w.b, *m.OSBuild, 10)
	}
	w.optString(t[MHealthStatus], m.HealthStatus)
	w.optString(t[MOnboardingStatus], m.OnboardingStatus)
}

func (w *writer) machineTail(m *openatp.Machine) {
	t := &machineTokens
	w.optString(t[MRiskScore], m.RiskScore)
	w.optString(t[MExposureLevel], m.ExposureLevel)
	w.name(t[MIsAADJoined])
	switch {
	case m.IsAADJoined == nil:
		w.b = append(w.b, "null"...)
	case *m.IsAADJoined:
		w.b = append(w.b, "true"...)
	default:
		w.b = append(w.b, "false"...)
	}
	w.optString(t[MAADDeviceID], m.AADDeviceID)
	w.name(t[MMachineTags])
	w.b = append(w.b, '[')
	for i, tag := range m.MachineTags {
		if i > 0 {
			w.b = append(w.b, ',')
		}
		w.b = AppendString(w.b, tag)
	}
	w.optString(t[MDeviceValue], m.DeviceValue) // "],…": closes the tags
	w.name(t[MIPAddresses])
	w.b = append(w.b, '[')
	for i := range m.IPAddresses {
		a := &m.IPAddresses[i]
		if i > 0 {
			w.b = append(w.b, ',')
		}
		w.name(ipTokens[0])
		w.b = AppendString(w.b, a.IPAddress)
		w.optString(ipTokens[1], a.MACAddress)
		w.optString(ipTokens[2], a.Type)
		w.optString(ipTokens[3], a.OperationalStatus)
		w.b = append(w.b, '}')
	}
	w.optString(t[MOSArchitecture], m.OSArchitecture) // "],…": closes the addresses
	w.b = append(w.b, '}')
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
