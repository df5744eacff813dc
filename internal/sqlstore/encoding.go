package sqlstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"time"

	"github.com/openatp/openatp"
)

// MinTime and MaxTime are the earliest and the latest times a column of
// Unix ns holds.
var (
	MinTime = time.Unix(0, math.MinInt64)
	MaxTime = time.Unix(0, math.MaxInt64)
)

// Nanos is how a time is stored: integer nanoseconds since the Unix epoch
// (exact on every engine). Invalid outside the years 1678 to 2262.
func Nanos(field string, t time.Time) (int64, error) {
	if t.Before(MinTime) || t.After(MaxTime) {
		return 0, openatp.InvalidField(field, "%s is out of the supported range (years 1678 to 2262)", t.Format(time.RFC3339))
	}
	return t.UnixNano(), nil
}

// Quote quotes s for an error message, cut to 64 bytes.
func Quote(s string) string {
	if len(s) > 64 {
		cut := 64
		for cut > 0 && s[cut]&0xc0 == 0x80 {
			cut--
		}
		s = s[:cut] + "…"
	}
	return fmt.Sprintf("%q", s)
}

// InvalidItem turns the error of item i of a batch ("machine", "logon")
// into an Invalid error naming the item, with an openatp.ItemError whose
// cause is the item's (an *openatp.FieldError when a field is at fault).
func InvalidItem(what string, i int, err error) error {
	var e *openatp.Error
	if errors.As(err, &e) {
		return &openatp.Error{Kind: openatp.Invalid, Code: e.Code, Message: fmt.Sprintf("%s %d: %s", what, i, e.Message), Err: &openatp.ItemError{Index: i, Err: e.Err}}
	}
	return &openatp.Error{Kind: openatp.Invalid, Code: "InvalidInput", Message: fmt.Sprintf("%s %d: invalid", what, i), Err: &openatp.ItemError{Index: i, Err: err}}
}

// LogonError is an Invalid error about a field of logon event i of a
// batch: an *openatp.FieldError under an openatp.ItemError.
func LogonError(i int, field, format string, args ...any) error {
	return InvalidItem("logon", i, openatp.InvalidField(field, format, args...))
}

// UnknownMachine is the error of logon event i of a batch that names a
// machine the tenant does not have.
func UnknownMachine(i int, machineID string) error {
	return LogonError(i, "machineId", "the tenant has no machine %s", Quote(machineID))
}

// LogonTypeBits maps a logon type to its bit in a relation's logon-type
// column: bit i is openatp.LogonTypes[i], so that list must only ever be
// appended to. The empty type has no bit.
var LogonTypeBits = func() map[string]int64 {
	m := map[string]int64{"": 0}
	for i, t := range openatp.LogonTypes {
		m[t] = 1 << i
	}
	return m
}()

// LogonTypes returns the names of the bits set in mask, sorted.
func LogonTypes(mask int64) []string {
	ts := make([]string, 0, bits.OnesCount64(uint64(mask)))
	for i, t := range openatp.LogonTypes {
		if mask&(1<<i) != 0 {
			ts = append(ts, t)
		}
	}
	slices.Sort(ts)
	return ts
}

// ContentVersion combines a tenant's content counter with the global one
// of the previous schema, which processes of the previous version still
// bump during an upgrade: both only grow, so the result changes when
// either does.
func ContentVersion(legacy, tenant int64) uint64 {
	return uint64(legacy)*0x9e3779b97f4a7c15 + uint64(tenant)
}

// JSONList encodes a list of strings for a JSON text column; nil as [].
func JSONList(v []string) string {
	if v == nil {
		v = []string{}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// ParseList decodes a JSONList column; null as empty.
func ParseList(s string) ([]string, error) {
	var v []string
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return nil, err
	}
	if v == nil {
		v = []string{}
	}
	return v, nil
}

// BytesOrEmpty is b, or an empty slice for nil (NOT NULL blob columns).
func BytesOrEmpty(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
