package observable

import (
	"encoding/binary"
	"time"
)

// ReportID derives an identity from the values of a record, fields (a
// *time.Time, a *string, or a **int64 that may be nil, each; any other
// is left out): the first 63 bits of an FNV-1a hash of every field,
// never zero. Two records that differ in any field have two; the same
// record always has the same one. The domain derives the ReportId of an
// event given without one from it.
func ReportID(fields []any) int64 {
	h := fnv64{}
	var buf [8]byte
	for _, f := range fields {
		switch v := f.(type) {
		case *time.Time:
			binary.LittleEndian.PutUint64(buf[:], uint64(v.UnixNano()))
			h.Write(buf[:])
		case *string:
			h.Write([]byte(*v))
			h.Write([]byte{0})
		case **int64:
			if *v == nil {
				h.Write([]byte{0})
			} else {
				binary.LittleEndian.PutUint64(buf[:], uint64(**v))
				h.Write([]byte{1})
				h.Write(buf[:])
			}
		}
	}
	return max(int64(h.sum>>1), 1)
}

// fnv64 is FNV-1a, 64 bits (hash/fnv's, which CORE leaves out), started
// by its offset basis.
type fnv64 struct{ sum uint64 }

func (h *fnv64) Write(b []byte) {
	if h.sum == 0 {
		h.sum = 14695981039346656037
	}
	for _, c := range b {
		h.sum = (h.sum ^ uint64(c)) * 1099511628211
	}
}
