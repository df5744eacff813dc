// Package alertrec packs the JSON of alerts for the read model smaller
// than wire.Compact alone does. Most of an alert's compacted JSON repeats
// from alert to alert: the title, description, category and detector of
// its detection, the evidence properties that are null, a process's file
// name and path. Pack cuts the records of wire.Compact's form into runs:
// a literal run of the records whose values are unique (times, numbers,
// hashes, ids: see unique), and between them a shared run of the others,
// which a dictionary keeps once and the packed form names by number. A
// packed form is a list of chunks, each
//
//	uvarint code: code>>1 is the length of a literal run that follows
//	(code&1 == 0) or the number of a dictionary entry (code&1 == 1)
//
// and Unpack expands each chunk with wire.Expand. The dictionary is the
// caller's (the read model keeps its entries in its arena).
package alertrec

import (
	"encoding/binary"

	"github.com/openatp/openatp/wire"
)

// Dict finds or adds a run of compacted records; ok is false when the
// dictionary will not take it (full, or another run has its hash), and
// the run is then kept literal.
type Dict interface {
	Intern(run []byte) (id uint32, ok bool)
}

// Pack appends to dst the packed form of compact, a form wire.Compact
// made, and returns it. A compact form it cannot read is kept literal.
func Pack(dst, compact []byte, d Dict) []byte {
	lit, shared := 0, -1 // where the open literal run starts; the open shared run (-1: none)
	flushLit := func(end int) {
		if end > lit {
			dst = binary.AppendUvarint(dst, uint64(end-lit)<<1)
			dst = append(dst, compact[lit:end]...)
		}
	}
	closeShared := func(end int) {
		if shared < 0 {
			return
		}
		if id, ok := d.Intern(compact[shared:end]); ok {
			flushLit(shared)
			dst = binary.AppendUvarint(dst, uint64(id)<<1|1)
			lit = end
		}
		shared = -1 // a run the dictionary refused stays in the literal run
	}
	for i := 0; i < len(compact); {
		n, k := binary.Uvarint(compact[i+1:])
		if i+1 >= len(compact) || k <= 0 || uint64(len(compact)-i-1-k) < n {
			closeShared(i)
			flushLit(len(compact)) // not a compact form: keep the rest as it is
			return dst
		}
		end := i + 1 + k + int(n)
		if unique(compact[i+1+k : end]) {
			closeShared(i)
		} else if shared < 0 {
			shared = i
		}
		i = end
	}
	closeShared(len(compact))
	flushLit(len(compact))
	return dst
}

// Entries reads a dictionary's entries.
type Entries interface {
	Entry(id uint32) []byte
}

// Unpack appends to dst the JSON of packed, reading the dictionary's
// entries from d.
func Unpack(dst, packed []byte, d Entries) []byte {
	for len(packed) > 0 {
		code, k := binary.Uvarint(packed)
		if k <= 0 {
			return dst
		}
		packed = packed[k:]
		if code&1 == 1 {
			dst = wire.Expand(dst, d.Entry(uint32(code>>1)))
			continue
		}
		n := code >> 1
		if uint64(len(packed)) < n {
			return dst
		}
		dst = wire.Expand(dst, packed[:n])
		packed = packed[n:]
	}
	return dst
}

// unique reports whether a record's segment (a property's value, with the
// punctuation up to the next property name) is likely unique to its
// alert, so not worth a dictionary entry: a number, a time or an IP
// address (a digit first), or a string of 16 hex digits or more (machine
// ids, file hashes, alert ids).
func unique(seg []byte) bool {
	if len(seg) > 0 && seg[0] == '"' {
		seg = seg[1:]
	}
	if len(seg) == 0 {
		return false
	}
	if c := seg[0]; '0' <= c && c <= '9' || c == '-' {
		return true
	}
	n := 0
	for n < len(seg) && n < 16 && isHex(seg[n]) {
		n++
	}
	return n == 16
}

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }
