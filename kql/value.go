package kql

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

func isNumeric(t Type) bool { return t == Long || t == Int || t == Real }

// toFloat returns v as a float64 when it is a number.
func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case int32:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

// toInt returns v as an int64 when it is a number (a real truncated).
func toInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case int32:
		return int64(x), true
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) || x >= 9.2e18 || x <= -9.2e18 {
			return 0, false
		}
		return int64(x), true
	}
	return 0, false
}

// formatTime prints a datetime as the service does: UTC, seconds, and the
// fraction of a second only when there is one (trailing zeros dropped).
func formatTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.9999999Z")
}

// formatSpan prints a timespan as .NET does: [-][d.]hh:mm:ss[.fffffff].
func formatSpan(d time.Duration) string {
	var b strings.Builder
	ticks := int64(d / 100)
	if ticks < 0 {
		b.WriteByte('-')
		if ticks == math.MinInt64 {
			ticks = math.MaxInt64
		} else {
			ticks = -ticks
		}
	}
	days := ticks / 864e9
	ticks %= 864e9
	if days > 0 {
		fmt.Fprintf(&b, "%d.", days)
	}
	fmt.Fprintf(&b, "%02d:%02d:%02d", ticks/36e9, ticks/6e8%60, ticks/1e7%60)
	if f := ticks % 1e7; f != 0 {
		fmt.Fprintf(&b, ".%07d", f)
	}
	return b.String()
}

// formatReal prints a real the way tostring does.
func formatReal(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// toString converts any value to its string form, as tostring does; null
// is the empty string.
func toString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case int32:
		return strconv.FormatInt(int64(x), 10)
	case float64:
		return formatReal(x)
	case bool:
		return strconv.FormatBool(x)
	case time.Time:
		return formatTime(x)
	case time.Duration:
		return formatSpan(x)
	}
	b, err := json.Marshal(jsonValue(v))
	if err != nil {
		return ""
	}
	return string(b)
}

// jsonValue returns v as a value encoding/json prints as the service does.
func jsonValue(v any) any {
	switch x := v.(type) {
	case time.Time:
		return formatTime(x)
	case time.Duration:
		return formatSpan(x)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return formatReal(x)
		}
		return x
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonValue(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = jsonValue(e)
		}
		return out
	}
	return v
}

// typeRank orders values of different kinds in a sort.
func typeRank(v any) int {
	switch v.(type) {
	case nil:
		return 0
	case bool:
		return 1
	case int64, int32, float64:
		return 2
	case time.Time:
		return 3
	case time.Duration:
		return 4
	case string:
		return 5
	}
	return 6
}

// compare orders two values: numbers by value, strings ordinally, nulls
// first. Values of different kinds order by kind.
func compare(a, b any) int {
	ra, rb := typeRank(a), typeRank(b)
	if ra != rb {
		return ra - rb
	}
	switch x := a.(type) {
	case nil:
		return 0
	case bool:
		y := b.(bool)
		switch {
		case x == y:
			return 0
		case !x:
			return -1
		}
		return 1
	case int64:
		if y, ok := b.(int64); ok {
			return cmpOrdered(x, y)
		}
	case string:
		return strings.Compare(x, b.(string))
	case time.Time:
		return x.Compare(b.(time.Time))
	case time.Duration:
		return cmpOrdered(x, b.(time.Duration))
	}
	if ra == 2 {
		if ia, ok := a.(int32); ok {
			if ib, ok := b.(int32); ok {
				return cmpOrdered(ia, ib)
			}
		}
		fa, _ := toFloat(a)
		fb, _ := toFloat(b)
		return cmpOrdered(fa, fb)
	}
	return strings.Compare(toString(a), toString(b))
}

func cmpOrdered[T int64 | int32 | float64 | time.Duration](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// equal reports whether two non-null values are equal: numbers by value
// across long, int and real, strings exactly, dynamic values by content.
func equal(a, b any) bool {
	switch x := a.(type) {
	case string:
		if y, ok := b.(string); ok {
			return x == y
		}
		return false
	case int64:
		if y, ok := b.(int64); ok {
			return x == y
		}
	case []any, map[string]any:
		return toString(a) == toString(b)
	}
	if typeRank(a) != typeRank(b) {
		return false
	}
	return compare(a, b) == 0
}

// appendKey appends an encoding of v to b that two values share exactly
// when they are equal (numbers by value).
func appendKey(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, 0)
	case string:
		b = append(b, 's')
		b = strconv.AppendInt(b, int64(len(x)), 10)
		b = append(b, ':')
		return append(b, x...)
	case int64:
		b = append(b, 'n')
		return strconv.AppendInt(b, x, 10)
	case int32:
		b = append(b, 'n')
		return strconv.AppendInt(b, int64(x), 10)
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 9e18 {
			b = append(b, 'n')
			return strconv.AppendInt(b, int64(x), 10)
		}
		b = append(b, 'f')
		return strconv.AppendFloat(b, x, 'g', -1, 64)
	case bool:
		if x {
			return append(b, 'T')
		}
		return append(b, 'F')
	case time.Time:
		b = append(b, 't')
		return strconv.AppendInt(b, x.UnixNano(), 10)
	case time.Duration:
		b = append(b, 'd')
		return strconv.AppendInt(b, int64(x), 10)
	}
	s := toString(v)
	b = append(b, 'j')
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, ':')
	return append(b, s...)
}

// fits reports whether a value given by a Table is already in the
// representation of its column's type, as it mostly is: normalize would
// box it again.
func fits(v any, t Type) bool {
	switch x := v.(type) {
	case string:
		return t == String || t == Guid
	case int64:
		return t == Long
	case float64:
		return t == Real
	case bool:
		return t == Bool
	case time.Time:
		return t == DateTime && x.Location() == time.UTC && x.Nanosecond()%100 == 0
	case time.Duration:
		return t == TimeSpan
	case int32:
		return t == Int
	}
	return false
}

// normalize converts a value given by a Table to the representation of
// its column's type, or reports that it cannot.
func normalize(v any, t Type) (any, bool) {
	if v == nil {
		if t == String || t == Guid {
			return "", true
		}
		return nil, true
	}
	switch t {
	case String, Guid:
		s, ok := v.(string)
		return s, ok
	case Long:
		switch x := v.(type) {
		case int64:
			return x, true
		case int32:
			return int64(x), true
		case int:
			return int64(x), true
		}
	case Int:
		switch x := v.(type) {
		case int32:
			return x, true
		case int:
			return int32(x), true
		}
	case Real:
		f, ok := toFloat(v)
		return f, ok
	case Bool:
		b, ok := v.(bool)
		return b, ok
	case DateTime:
		tm, ok := v.(time.Time)
		return tm.UTC().Truncate(100), ok
	case TimeSpan:
		d, ok := v.(time.Duration)
		return d, ok
	case Dynamic:
		return dynamicOf(v), true
	}
	return nil, false
}

// dynamicOf converts a Go value to a dynamic value: JSON numbers become
// int64 or float64, arrays []any and objects map[string]any.
func dynamicOf(v any) any {
	switch x := v.(type) {
	case nil, bool, int64, float64, string:
		return x
	case int:
		return int64(x)
	case int32:
		return int64(x)
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case time.Time:
		return formatTime(x)
	case time.Duration:
		return formatSpan(x)
	case []string:
		out := make([]any, len(x))
		for i, s := range x {
			out[i] = s
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = dynamicOf(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = dynamicOf(e)
		}
		return out
	}
	return toString(v)
}

// parseJSON parses a string into a dynamic value, as parse_json does: an
// empty string is null, and a string that is not JSON a dynamic string.
func parseJSON(s string) any {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil || d.More() {
		return s
	}
	return dynamicOf(v)
}

// sortedKeys returns the keys of a bag in order.
func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
