package readmodel

import (
	"encoding/binary"
	"unsafe"

	"github.com/openatp/openatp"
)

// slotStrings are the strings of a machine that queries and device-group
// rules read. They are kept in the arena as one record,
//
//	name, os, version, lastIP, aadID, tag…
//
// each a uvarint length and its bytes (an absent one is empty), and read
// without copying: they are valid as long as the reader's reference to
// the arena, and must not be kept past it.
type slotStrings struct {
	name, os, version, lastIP, aadID string
	tags                             []byte // the rest of the record: the tags
}

func appendSlotStrings(b []byte, m *openatp.Machine) []byte {
	for _, p := range [...]*string{m.ComputerDNSName, m.OSPlatform, m.Version, m.LastIPAddress, m.AADDeviceID} {
		var s string
		if p != nil {
			s = *p
		}
		b = appendString(b, s)
	}
	for _, t := range m.MachineTags {
		b = appendString(b, t)
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// readSlotStrings reads a record of appendSlotStrings.
func readSlotStrings(b []byte) slotStrings {
	var ss slotStrings
	ss.name, b = nextString(b)
	ss.os, b = nextString(b)
	ss.version, b = nextString(b)
	ss.lastIP, b = nextString(b)
	ss.aadID, b = nextString(b)
	ss.tags = b
	return ss
}

// appendTags appends the tags to dst.
func (ss slotStrings) appendTags(dst []string) []string {
	for b := ss.tags; len(b) > 0; {
		var t string
		t, b = nextString(b)
		dst = append(dst, t)
	}
	return dst
}

// nextString reads one length-prefixed string of a record; a malformed
// record reads as empty.
func nextString(b []byte) (string, []byte) {
	n, k := binary.Uvarint(b)
	if k <= 0 || uint64(len(b)-k) < n {
		return "", nil
	}
	s := b[k : k+int(n)]
	return unsafe.String(unsafe.SliceData(s), len(s)), b[k+int(n):]
}
