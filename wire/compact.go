package wire

import (
	"bytes"
	"encoding/binary"
	"slices"
)

// The in-memory read model keeps a million machines' JSON; a third to a
// half of each is property names, the same in every machine. Compact
// replaces each property name (with the punctuation around it) by a token
// number, and keeps the JSON between two names as a length-prefixed
// segment: the compacted form is a list of records
//
//	token number (1 byte; noToken for none), segment length (uvarint), segment
//
// so that Expand copies tokens and segments without looking at a byte of
// them.

// noToken starts a record whose segment follows no token (JSON before the
// first property name).
const noToken = 0xFF

// compactTokens are the replaced sequences; token i is record token i.
var compactTokens = func() []string {
	var ts []string
	add := func(lead byte, names ...string) {
		for _, n := range names {
			if t := string(lead) + `"` + n + `":`; !slices.Contains(ts, t) {
				ts = append(ts, t)
			}
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
	// The Alert entity (its id token is the machine's).
	add(',', AlertProperties[1:AMitreTechniques+1]...)
	ts = append(ts, `],"relatedUser":`)
	add(',', "loggedOnUsers")
	ts = append(ts, `],"comments":`, `],"evidence":`)
	add(',', "evidence")
	add('{', "userName", "domainName")
	add('{', "accountName", "domainName")
	add('{', CommentProperties...)
	add('{', EvidenceProperties...)
	if len(ts) >= noToken {
		panic("wire: too many compact tokens")
	}
	return ts
}()

// compactTokenBytes are the tokens as bytes, for comparing.
var compactTokenBytes = func() [][]byte {
	bs := make([][]byte, len(compactTokens))
	for i, t := range compactTokens {
		bs[i] = []byte(t)
	}
	return bs
}()

// compactIndex finds a token by its name, with its lead byte.
var compactIndex = func() map[string]byte {
	m := map[string]byte{}
	for i, t := range compactTokens {
		m[t] = byte(i)
	}
	return m
}()

// tokenOf returns the token of name, with its punctuation; it panics if
// there is none (a programming error, found when the package loads).
func tokenOf(name string) byte {
	t, ok := compactIndex[name]
	if !ok {
		panic("wire: no compact token " + name)
	}
	return t
}

// A writer writes an entity as JSON, or directly in the form Compact
// would make of that JSON: each property name, a token, as a record of
// its own.
type writer struct {
	b       []byte
	compact bool
	open    int // compact: the index in b of the open record's length byte; -1 for none
	// compact: what the JSON has more than the records written (its
	// names, less the records' token and length bytes)
	expand int
}

// name writes the property name of token t, with the punctuation around
// it.
func (w *writer) name(t byte) {
	if !w.compact {
		w.b = append(w.b, compactTokens[t]...)
		return
	}
	w.end()
	w.b = append(w.b, t, 0)
	w.open = len(w.b) - 1
	w.expand += len(compactTokens[t]) - 2
}

// end closes the open record, if any, writing the length of its segment:
// one byte, reserved, for the usual segment shorter than 128 bytes; a
// longer one moves to make room for its length.
func (w *writer) end() {
	if w.open < 0 {
		return
	}
	n := len(w.b) - w.open - 1
	w.open = -1
	if n < 0x80 {
		w.b[len(w.b)-n-1] = byte(n)
		return
	}
	var l [binary.MaxVarintLen64]byte
	k := binary.PutUvarint(l[:], uint64(n))
	seg := len(w.b) - n
	w.expand -= k - 1
	w.b = append(w.b, l[:k-1]...)
	copy(w.b[seg+k-1:], w.b[seg:seg+n])
	copy(w.b[seg-1:], l[:k])
}

// Compact appends to dst the JSON src (written by this package) as
// records of a token and the segment up to the next token.
func Compact(dst, src []byte) []byte {
	token, seg := byte(noToken), 0 // the open record: its token and where its segment starts
	for i := 0; i < len(src); {
		c := src[i]
		if (c == '{' || c == ',' || c == ']') && i+1 < len(src) {
			code, n := byte(0), 0
			// The properties mostly come in the order of the tokens: try
			// the one after the last first, then look the name up.
			if next := int(token) + 1; token != noToken && next < len(compactTokens) && bytes.HasPrefix(src[i:], compactTokenBytes[next]) {
				code, n = byte(next), len(compactTokenBytes[next])
			} else {
				code, n = matchToken(src[i:])
			}
			if n > 0 {
				if i > seg || token != noToken {
					dst = appendRecord(dst, token, src[seg:i])
				}
				token, seg = code, i+n
				i += n
				continue
			}
		}
		i++
	}
	if len(src) > seg || token != noToken {
		dst = appendRecord(dst, token, src[seg:])
	}
	return dst
}

func appendRecord(dst []byte, token byte, seg []byte) []byte {
	dst = append(dst, token)
	dst = binary.AppendUvarint(dst, uint64(len(seg)))
	return append(dst, seg...)
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
	for len(src) > 1 {
		token := src[0]
		n, k := uint64(src[1]), 1 // a segment shorter than 128 bytes: one length byte
		if n >= 0x80 {
			n, k = binary.Uvarint(src[1:])
		}
		if k <= 0 || uint64(len(src)-1-k) < n {
			return dst // not a compacted form: nothing more to copy
		}
		if token != noToken {
			dst = append(dst, compactTokens[token]...)
		}
		seg := src[1+k : 1+k+int(n)]
		dst = append(dst, seg...)
		src = src[1+k+int(n):]
	}
	return dst
}
