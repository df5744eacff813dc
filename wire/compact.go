package wire

import "bytes"

// The in-memory read model keeps a million machines' JSON; a third to a
// half of each is property names, the same in every machine. Compact
// replaces each property name (with the punctuation around it) by two
// bytes: compactMark, which the JSON this package writes never holds raw
// (strings escape every byte below 0x20), and the token's number. Expand
// puts them back, finding the marks with bytes.IndexByte (vectorized).

// compactMark starts a replaced token in compacted JSON.
const compactMark = 0x01

// compactTokens are the replaced sequences; token i is written as
// compactMark, byte(i).
var compactTokens = func() []string {
	var ts []string
	add := func(lead byte, names ...string) {
		for _, n := range names {
			ts = append(ts, string(lead)+`"`+n+`":`)
			lead = ','
		}
	}
	add('{', "id", "computerDnsName", "firstSeen", "lastSeen", "osPlatform", "osVersion", "osProcessor", "version",
		"lastIpAddress", "lastExternalIpAddress", "agentVersion", "osBuild", "healthStatus", "onboardingStatus")
	add(',', "rbacGroupId", "rbacGroupName", "riskScore", "exposureLevel", "isAadJoined", "aadDeviceId", "machineTags")
	ts = append(ts, `],"deviceValue":`)
	add(',', "ipAddresses")
	ts = append(ts, `],"osArchitecture":`)
	add('{', "ipAddress", "macAddress", "type", "operationalStatus")
	if len(ts) > 255 {
		panic("wire: too many compact tokens")
	}
	return ts
}()

// compactIndex finds a token by its name, with its lead byte.
var compactIndex = func() map[string]byte {
	m := map[string]byte{}
	for i, t := range compactTokens {
		m[t] = byte(i)
	}
	return m
}()

// Compact appends to dst the JSON src (written by this package) with its
// property names replaced by one byte each.
func Compact(dst, src []byte) []byte {
	for i := 0; i < len(src); {
		c := src[i]
		if (c == '{' || c == ',' || c == ']') && i+1 < len(src) {
			if code, n := matchToken(src[i:]); n > 0 {
				dst = append(dst, compactMark, code)
				i += n
				continue
			}
		}
		dst = append(dst, c)
		i++
	}
	return dst
}

// matchToken returns the code and length of the token at the start of b.
func matchToken(b []byte) (byte, int) {
	start := 1
	if b[0] == ']' {
		start = 2
		if len(b) < 3 || b[1] != ',' {
			return 0, 0
		}
	}
	if b[start] != '"' {
		return 0, 0
	}
	for j := start + 1; j < len(b) && j < start+32; j++ {
		if b[j] == '"' {
			if j+1 < len(b) && b[j+1] == ':' {
				if code, ok := compactIndex[string(b[:j+2])]; ok {
					return code, j + 2
				}
			}
			return 0, 0
		}
	}
	return 0, 0
}

// Expand appends to dst the JSON that Compact made src from.
func Expand(dst, src []byte) []byte {
	for {
		i := bytes.IndexByte(src, compactMark)
		if i < 0 || i+1 >= len(src) {
			return append(dst, src...)
		}
		dst = append(dst, src[:i]...)
		dst = append(dst, compactTokens[src[i+1]]...)
		src = src[i+2:]
	}
}

// ExpandedLen returns the length of Expand's output for src.
func ExpandedLen(src []byte) int {
	n := len(src)
	for {
		i := bytes.IndexByte(src, compactMark)
		if i < 0 || i+1 >= len(src) {
			return n
		}
		n += len(compactTokens[src[i+1]]) - 2
		src = src[i+2:]
	}
}
