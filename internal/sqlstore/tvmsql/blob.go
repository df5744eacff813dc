package tvmsql

import (
	"encoding/binary"
	"errors"
	"slices"
	"strings"
)

// A machine's installed software is one blob (tvm_inventory.software):
// a format byte, the number of entries, then each entry, ordered by
// product number then version:
//
//	uvarint product, string version,
//	uvarint n, n strings (disk paths), uvarint n, n strings (registry paths),
//	varint firstSeen, lastSeen, added, changed, removed (Unix nanoseconds;
//	removed 0 while installed)
//
// a string being a uvarint length and its bytes. A removed entry is kept
// (a tombstone) for the delta, for tombstoneAge.

// blobFormat is the first byte of a blob.
const blobFormat = 1

// entry is one installed (or removed) version of a product on a machine.
type entry struct {
	product int64
	version string
	disk    []string
	reg     []string
	first   int64 // when first seen (reported, else written)
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

// appendBlob writes es (sorted by cmpEntry) as a blob.
func appendBlob(b []byte, es []entry) []byte {
	b = append(b, blobFormat)
	b = binary.AppendUvarint(b, uint64(len(es)))
	for i := range es {
		e := &es[i]
		b = binary.AppendUvarint(b, uint64(e.product))
		b = appendString(b, e.version)
		b = binary.AppendUvarint(b, uint64(len(e.disk)))
		for _, s := range e.disk {
			b = appendString(b, s)
		}
		b = binary.AppendUvarint(b, uint64(len(e.reg)))
		for _, s := range e.reg {
			b = appendString(b, s)
		}
		for _, t := range [...]int64{e.first, e.last, e.added, e.changed, e.removed} {
			b = binary.AppendVarint(b, t)
		}
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

var errBlob = errors.New("tvmsql: malformed software inventory blob")

// decoder reads a blob entry by entry. Its entry is reused.
type decoder struct {
	b []byte
	n int // entries left
	e entry
	// paths, when false, skips the paths (the counts do not need them).
	paths bool
}

// reset starts reading blob b.
func (d *decoder) reset(b []byte, paths bool) error {
	d.paths = paths
	d.n = 0
	if len(b) == 0 {
		d.b = nil
		return nil
	}
	if b[0] != blobFormat {
		return errBlob
	}
	n, k := binary.Uvarint(b[1:])
	if k <= 0 {
		return errBlob
	}
	d.b, d.n = b[1+k:], int(n)
	return nil
}

// next reads the next entry into d.e; false at the end.
func (d *decoder) next() (bool, error) {
	if d.n == 0 {
		return false, nil
	}
	d.n--
	p, err := d.uvarint()
	if err != nil {
		return false, err
	}
	d.e.product = int64(p)
	v, err := d.bytes()
	if err != nil {
		return false, err
	}
	d.e.version = string(v)
	if d.e.disk, err = d.list(d.e.disk[:0]); err != nil {
		return false, err
	}
	if d.e.reg, err = d.list(d.e.reg[:0]); err != nil {
		return false, err
	}
	for _, t := range [...]*int64{&d.e.first, &d.e.last, &d.e.added, &d.e.changed, &d.e.removed} {
		v, k := binary.Varint(d.b)
		if k <= 0 {
			return false, errBlob
		}
		*t, d.b = v, d.b[k:]
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

func (d *decoder) bytes() ([]byte, error) {
	n, err := d.uvarint()
	if err != nil || n > uint64(len(d.b)) {
		return nil, errBlob
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v, nil
}

func (d *decoder) list(into []string) ([]string, error) {
	n, err := d.uvarint()
	if err != nil || n > uint64(len(d.b)) {
		return nil, errBlob
	}
	for range n {
		v, err := d.bytes()
		if err != nil {
			return nil, err
		}
		if d.paths {
			into = append(into, string(v))
		}
	}
	return into, nil
}

// decodeAll reads every entry of a blob, paths included.
func decodeAll(b []byte) ([]entry, error) {
	var d decoder
	if err := d.reset(b, true); err != nil {
		return nil, err
	}
	out := make([]entry, 0, d.n)
	for {
		ok, err := d.next()
		if err != nil || !ok {
			return out, err
		}
		e := d.e
		e.disk, e.reg = slices.Clone(d.e.disk), slices.Clone(d.e.reg)
		out = append(out, e)
	}
}

// splitKBs reads the kbs column.
func splitKBs(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}
