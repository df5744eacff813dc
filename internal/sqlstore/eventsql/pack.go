package eventsql

import (
	"encoding/binary"
	"errors"
	"time"
)

// The columns of an event that are not columns of its table are packed in
// its rest column, in the order of the event's Fields: a text as its
// length (uvarint) and bytes, a long that may be null as 0 (null) or 1 and
// the value (varint). The driver's cost is per column: one column for
// twenty costs a twentieth of the binding (migration 0015's comment).

// packRest appends to b the fields of an event but those at the indexes
// skip names, with name as its DeviceName (field 2) if that is empty.
func packRest(b []byte, fields []any, skip []bool, name string) []byte {
	for i, f := range fields {
		if skip[i] {
			continue
		}
		switch v := f.(type) {
		case *string:
			s := *v
			if i == 2 && s == "" {
				s = name
			}
			b = binary.AppendUvarint(b, uint64(len(s)))
			b = append(b, s...)
		case **int64:
			if *v == nil {
				b = append(b, 0)
			} else {
				b = binary.AppendVarint(append(b, 1), **v)
			}
		}
	}
	return b
}

var errPacked = errors.New("a packed event is malformed")

// unpackRest sets the fields of an event but those skip names from b, as
// packRest wrote them.
func unpackRest(b []byte, fields []any, skip []bool) error {
	for i, f := range fields {
		if skip[i] {
			continue
		}
		switch v := f.(type) {
		case *string:
			n, k := binary.Uvarint(b)
			if k <= 0 || uint64(len(b)-k) < n {
				return errPacked
			}
			*v, b = string(b[k:k+int(n)]), b[k+int(n):]
		case **int64:
			if len(b) == 0 {
				return errPacked
			}
			if b[0] == 0 {
				*v, b = nil, b[1:]
				continue
			}
			x, k := binary.Varint(b[1:])
			if k <= 0 {
				return errPacked
			}
			*v, b = &x, b[1+k:]
		case *time.Time, *int64:
			return errPacked // identity columns are never packed
		}
	}
	if len(b) != 0 {
		return errPacked
	}
	return nil
}
