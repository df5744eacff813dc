package tvmsql

import (
	"encoding/binary"
	"errors"
	"strings"
)

// A machine's installed software is one blob (tvm_inventory.software):
// a format byte, the number of entries, a base time, then each entry,
// ordered by product number then version:
//
//	uvarint product, uvarint len + version,
//	uvarint disk paths, uvarint registry paths (numbers of path lists in
//	tvm_strings, 0 for none),
//	varint first − base, last − first, added − base, changed − added,
//	uvarint removed − base + 1 (0 while installed)
//
// times in units of openatp.TimePrecision (100 ns), so that an entry is
// about 30 bytes: the paths, the same on most machines, are kept once per
// tenant. A removed entry is kept (a tombstone) for the delta, for
// tombstoneAge.

// blobFormat is the first byte of a blob.
const blobFormat = 2

// unit is the unit of the blob's times, in nanoseconds.
const unit = 100

// entry is one installed (or removed) version of a product on a machine.
type entry struct {
	product int64
	version string
	disk    int64 // a path list of tvm_strings; 0: none
	reg     int64
	first   int64 // when first seen (reported, else written); Unix nanoseconds
	last    int64 // when last reported
	added   int64 // when this store first wrote it
	changed int64 // when this store last changed it
	removed int64 // when an import no longer listed it; 0 while installed
}

// cmpEntry orders entries by product then version.
func cmpEntry(a, b entry) int {
	if a.product != b.product {
		if a.product < b.product {
			return -1
		}
		return 1
	}
	return strings.Compare(a.version, b.version)
}

// appendBlob writes es (sorted by cmpEntry) as a blob, its times relative
// to base (Unix nanoseconds).
func appendBlob(b []byte, es []entry, base int64) []byte {
	base /= unit
	b = append(b, blobFormat)
	b = binary.AppendUvarint(b, uint64(len(es)))
	b = binary.AppendVarint(b, base)
	for i := range es {
		e := &es[i]
		b = binary.AppendUvarint(b, uint64(e.product))
		b = binary.AppendUvarint(b, uint64(len(e.version)))
		b = append(b, e.version...)
		b = binary.AppendUvarint(b, uint64(e.disk))
		b = binary.AppendUvarint(b, uint64(e.reg))
		first, last, added, changed := e.first/unit, e.last/unit, e.added/unit, e.changed/unit
		b = binary.AppendVarint(b, first-base)
		b = binary.AppendVarint(b, last-first)
		b = binary.AppendVarint(b, added-base)
		b = binary.AppendVarint(b, changed-added)
		if e.removed == 0 {
			b = append(b, 0)
		} else {
			b = binary.AppendUvarint(b, uint64(zigzag(e.removed/unit-base))+1)
		}
	}
	return b
}

func zigzag(v int64) uint64   { return uint64(v<<1) ^ uint64(v>>63) }
func unzigzag(u uint64) int64 { return int64(u>>1) ^ -int64(u&1) }

var errBlob = errors.New("tvmsql: malformed software inventory blob")

// decoder reads a blob entry by entry. Its entry is reused.
type decoder struct {
	b    []byte
	n    int // entries left
	base int64
	e    entry
}

// reset starts reading blob b.
func (d *decoder) reset(b []byte) error {
	d.n = 0
	if len(b) == 0 {
		d.b = nil
		return nil
	}
	if b[0] != blobFormat {
		return errBlob
	}
	d.b = b[1:]
	n, err := d.uvarint()
	if err != nil {
		return err
	}
	if d.base, err = d.varint(); err != nil {
		return err
	}
	d.n = int(n)
	return nil
}

// next reads the next entry into d.e; false at the end.
func (d *decoder) next() (bool, error) {
	if d.n == 0 {
		return false, nil
	}
	d.n--
	var v [5]int64
	p, err1 := d.uvarint()
	n, err2 := d.uvarint()
	if err1 != nil || err2 != nil || n > uint64(len(d.b)) {
		return false, errBlob
	}
	d.e.product = int64(p)
	if string(d.b[:n]) != d.e.version { // the same version as the last entry's: no allocation
		d.e.version = string(d.b[:n])
	}
	d.b = d.b[n:]
	disk, err1 := d.uvarint()
	reg, err2 := d.uvarint()
	if err1 != nil || err2 != nil {
		return false, errBlob
	}
	d.e.disk, d.e.reg = int64(disk), int64(reg)
	for i := range 4 {
		var err error
		if v[i], err = d.varint(); err != nil {
			return false, err
		}
	}
	r, err := d.uvarint()
	if err != nil {
		return false, err
	}
	first := d.base + v[0]
	added := d.base + v[2]
	d.e.first, d.e.last, d.e.added, d.e.changed = first*unit, (first+v[1])*unit, added*unit, (added+v[3])*unit
	d.e.removed = 0
	if r > 0 {
		d.e.removed = (d.base + unzigzag(r-1)) * unit
	}
	return true, nil
}

func (d *decoder) uvarint() (uint64, error) {
	v, k := binary.Uvarint(d.b)
	if k <= 0 {
		return 0, errBlob
	}
	d.b = d.b[k:]
	return v, nil
}

func (d *decoder) varint() (int64, error) {
	v, k := binary.Varint(d.b)
	if k <= 0 {
		return 0, errBlob
	}
	d.b = d.b[k:]
	return v, nil
}

// decodeAll reads every entry of a blob.
func decodeAll(b []byte) ([]entry, error) {
	var d decoder
	if err := d.reset(b); err != nil {
		return nil, err
	}
	out := make([]entry, 0, d.n)
	for {
		ok, err := d.next()
		if err != nil || !ok {
			return out, err
		}
		out = append(out, d.e)
	}
}

// splitKBs reads the kbs column.
func splitKBs(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// joinList is a path list as tvm_strings keeps it: its items joined by
// the unit separator, U+001F (which vuln.Installed.Normalize refuses in
// a path; PostgreSQL's text holds no NUL).
func joinList(items []string) string { return strings.Join(items, "\x1f") }

// splitList is the inverse of joinList.
func splitList(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, "\x1f")
}
