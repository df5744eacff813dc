// Package alertrec packs the JSON of alerts for the read model smaller
// than wire.Compact alone does. Most of an alert's compacted JSON repeats
// from alert to alert: the title, description, category and detector of
// its detection, the evidence properties that are null, a process's file
// name and path. Pack cuts the records of wire.Compact's form into runs:
// a literal run of the records whose values are unique (times, numbers,
// hashes, ids: see unique), and between them a shared run of the others,
// which a dictionary keeps once and the packed form names by number; a
// record whose value is a string of hex digits (a hash, a machine id)
// keeps the digits' bytes, half as long. A packed form is a list of
// chunks, each a uvarint code and what it says (codeLiteral, codeEntry,
// codeHex), and Unpack expands each chunk with wire.Expand. The dictionary is the
// caller's (the read model keeps its entries in its arena).
package alertrec

import (
	"encoding/binary"
	"encoding/hex"

	"github.com/openatp/openatp/wire"
)

// Dict finds or adds a run of compacted records, which Entries gives back
// expanded (wire.Expand: a reference is then written by one copy); ok is
// false when the dictionary will not take it (full, or another run has its
// hash), and the run is then kept literal.
type Dict interface {
	Intern(run []byte) (id uint32, ok bool)
}

// Pack appends to dst the packed form of compact, a form wire.Compact
// made, and returns it. A compact form it cannot read is kept literal.
func Pack(dst, compact []byte, d Dict) []byte {
	lit := 0                 // where the literal records not yet written start
	shared, records := -1, 0 // the open shared run (-1: none) and its records
	flushLit := func(end int) {
		if end > lit {
			dst = binary.AppendUvarint(dst, uint64(end-lit)<<2|codeLiteral)
			dst = append(dst, compact[lit:end]...)
		}
		lit = end
	}
	closeShared := func(end int) {
		if shared < 0 {
			return
		}
		if id, ok := d.Intern(compact[shared:end]); ok {
			flushLit(shared)
			dst = binary.AppendUvarint(dst, uint64(id)<<2|codeEntry)
			lit = end
		}
		shared = -1 // a run the dictionary refused stays with the literal records
	}
	for i := 0; i < len(compact); {
		n, k := binary.Uvarint(compact[i+1:])
		if k <= 0 || uint64(len(compact)-i-1-k) < n {
			break // not a compact form: the rest is kept as it is
		}
		end := i + 1 + k + int(n)
		seg := compact[i+1+k : end]
		u := unique(seg)
		if u || records == maxRun {
			closeShared(i)
		}
		switch {
		case !u:
			if shared < 0 {
				shared, records = i, 0
			}
			records++
		case isHexString(seg):
			flushLit(i)
			h := len(seg)/2 - 1
			dst = binary.AppendUvarint(dst, uint64(h)<<2|codeHex)
			dst = append(dst, compact[i])
			dst, _ = hex.AppendDecode(dst, seg[1:len(seg)-1])
			lit = end
		}
		i = end
	}
	closeShared(len(compact))
	flushLit(len(compact))
	return dst
}

// The kinds of chunk, in a code's low bits.
const (
	codeLiteral = 0 // records as wire.Compact wrote them
	codeEntry   = 1 // a dictionary entry's number (the entry is JSON)
	codeHex     = 2 // a record whose value is a string of hex digits: its token, then the digits' bytes
)

// isHexString reports whether a segment is exactly a string of 16 to 124
// lower-case hex digits, of an even number: a codeHex chunk's.
func isHexString(seg []byte) bool {
	n := len(seg) - 2
	if n < 16 || n > 124 || n%2 == 1 || seg[0] != '"' || seg[len(seg)-1] != '"' {
		return false
	}
	for _, c := range seg[1 : len(seg)-1] {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// Entries reads a dictionary's entries: the JSON of the runs Dict took.
type Entries interface {
	Entry(id uint32) []byte
}

// Unpack appends to dst the JSON of packed, reading the dictionary's
// entries from d.
func Unpack(dst, packed []byte, d Entries) []byte {
	for len(packed) > 0 {
		code, k := uint64(packed[0]), 1 // most codes are one byte
		if code >= 0x80 {
			if code, k = binary.Uvarint(packed); k <= 0 {
				return dst
			}
		}
		packed = packed[k:]
		n := code >> 2
		switch code & 3 {
		case codeEntry:
			dst = append(dst, d.Entry(uint32(n))...)
			continue
		case codeHex:
			if n > 62 || uint64(len(packed)) < n+1 {
				return dst
			}
			var rec [128]byte // the record: token, length, the string
			rec[0], rec[1], rec[2] = packed[0], byte(2*n+2), '"'
			hex.Encode(rec[3:], packed[1:1+n])
			rec[3+2*n] = '"'
			dst = wire.Expand(dst, rec[:4+2*n])
			packed = packed[1+n:]
			continue
		}
		if uint64(len(packed)) < n {
			return dst
		}
		dst = wire.Expand(dst, packed[:n])
		packed = packed[n:]
	}
	return dst
}

// maxRun is the most records of a shared run: a value unique to an alert
// (a user's name in a path) that unique does not see spoils one short run,
// not all its neighbours'.
const maxRun = 4

// unique reports whether a record's segment (a property's value, with the
// punctuation up to the next property name) is likely unique to its
// alert, so not worth a dictionary entry: a number, a time or an IP
// address (digits, then anything but a letter), or a string of 16 hex
// digits or more (machine ids, file hashes, alert ids).
func unique(seg []byte) bool {
	if len(seg) > 0 && seg[0] == '"' {
		seg = seg[1:]
	}
	n := 0
	for n < len(seg) && (n == 0 && seg[n] == '-' || '0' <= seg[n] && seg[n] <= '9') {
		n++
	}
	if n > 0 && (n == len(seg) || !isHex(seg[n]) && !('a' <= seg[n]|0x20 && seg[n]|0x20 <= 'z')) {
		return true
	}
	n = 0
	for n < len(seg) && n < 16 && isHex(seg[n]) {
		n++
	}
	return n == 16
}

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }
