// Package values holds the values of KQL's scalar types as package kql
// computes with them: conversion, comparison, grouping keys, formatting
// for the JSON of a result, and the case-insensitive string matching of
// has, contains, startswith and endswith.
package values

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/openatp/openatp/kql/syntax"
)

// IsNumeric reports whether t is a number type: long, int or real.
func IsNumeric(t syntax.Type) bool { return t == syntax.Long || t == syntax.Int || t == syntax.Real }

// ToFloat returns v as a float64 when it is a number.
func ToFloat(v any) (float64, bool) {
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

// ToInt returns v as an int64 when it is a number (a real truncated).
func ToInt(v any) (int64, bool) {
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

// FormatTime prints a datetime as the service does: UTC, seconds, and the
// fraction of a second only when there is one (trailing zeros dropped).
func FormatTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.9999999Z")
}

// FormatSpan prints a timespan as .NET does: [-][d.]hh:mm:ss[.fffffff].
func FormatSpan(d time.Duration) string {
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

// FormatReal prints a real the way tostring does.
func FormatReal(f float64) string {
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

// ToString converts any value to its string form, as tostring does; null
// is the empty string.
func ToString(v any) string {
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
		return FormatReal(x)
	case bool:
		return strconv.FormatBool(x)
	case time.Time:
		return FormatTime(x)
	case time.Duration:
		return FormatSpan(x)
	}
	b, err := json.Marshal(JSONValue(v))
	if err != nil {
		return ""
	}
	return string(b)
}

// JSONValue returns v as a value encoding/json prints as the service does.
func JSONValue(v any) any {
	switch x := v.(type) {
	case time.Time:
		return FormatTime(x)
	case time.Duration:
		return FormatSpan(x)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return FormatReal(x)
		}
		return x
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = JSONValue(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = JSONValue(e)
		}
		return out
	}
	return v
}

// TypeRank orders values of different kinds in a sort.
func TypeRank(v any) int {
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

// Compare orders two values: numbers by value, strings ordinally, nulls
// first. Values of different kinds order by kind.
func Compare(a, b any) int {
	ra, rb := TypeRank(a), TypeRank(b)
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
		fa, _ := ToFloat(a)
		fb, _ := ToFloat(b)
		return cmpOrdered(fa, fb)
	}
	return strings.Compare(ToString(a), ToString(b))
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

// Equal reports whether two non-null values are equal: numbers by value
// across long, int and real, strings exactly, dynamic values by content.
func Equal(a, b any) bool {
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
		return ToString(a) == ToString(b)
	}
	if TypeRank(a) != TypeRank(b) {
		return false
	}
	return Compare(a, b) == 0
}

// AppendKey appends an encoding of v to b that two values share exactly
// when they are equal (numbers by value).
func AppendKey(b []byte, v any) []byte {
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
	s := ToString(v)
	b = append(b, 'j')
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, ':')
	return append(b, s...)
}

// Fits reports whether a value given by a Table is already in the
// representation of its column's type, as it mostly is: normalize would
// box it again.
func Fits(v any, t syntax.Type) bool {
	switch x := v.(type) {
	case string:
		return t == syntax.String || t == syntax.Guid
	case int64:
		return t == syntax.Long
	case float64:
		return t == syntax.Real
	case bool:
		return t == syntax.Bool
	case time.Time:
		return t == syntax.DateTime && x.Location() == time.UTC && x.Nanosecond()%100 == 0
	case time.Duration:
		return t == syntax.TimeSpan
	case int32:
		return t == syntax.Int
	}
	return false
}

// Normalize converts a value given by a Table to the representation of
// its column's type, or reports that it cannot.
func Normalize(v any, t syntax.Type) (any, bool) {
	if v == nil {
		if t == syntax.String || t == syntax.Guid {
			return "", true
		}
		return nil, true
	}
	switch t {
	case syntax.String, syntax.Guid:
		s, ok := v.(string)
		return s, ok
	case syntax.Long:
		switch x := v.(type) {
		case int64:
			return x, true
		case int32:
			return int64(x), true
		case int:
			return int64(x), true
		}
	case syntax.Int:
		switch x := v.(type) {
		case int32:
			return x, true
		case int:
			return int32(x), true
		}
	case syntax.Real:
		f, ok := ToFloat(v)
		return f, ok
	case syntax.Bool:
		b, ok := v.(bool)
		return b, ok
	case syntax.DateTime:
		tm, ok := v.(time.Time)
		return tm.UTC().Truncate(100), ok
	case syntax.TimeSpan:
		d, ok := v.(time.Duration)
		return d, ok
	case syntax.Dynamic:
		return DynamicOf(v), true
	}
	return nil, false
}

// DynamicOf converts a Go value to a dynamic value: JSON numbers become
// int64 or float64, arrays []any and objects map[string]any.
func DynamicOf(v any) any {
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
		return FormatTime(x)
	case time.Duration:
		return FormatSpan(x)
	case []string:
		out := make([]any, len(x))
		for i, s := range x {
			out[i] = s
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = DynamicOf(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = DynamicOf(e)
		}
		return out
	}
	return ToString(v)
}

// ParseJSON parses a string into a dynamic value, as parse_json does: an
// empty string is null, and a string that is not JSON a dynamic string.
func ParseJSON(s string) any {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil || d.More() {
		return s
	}
	return DynamicOf(v)
}

// SortedKeys returns the keys of a bag in order.
func SortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// isAlnum reports whether r is part of a term, as has reads terms: a
// term is a run of ASCII letters and digits.
func isAlnum(r rune) bool { return r < 128 && (isASCIILetter(byte(r)) || r >= '0' && r <= '9') }

func isASCIILetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// HasTerm reports whether needle occurs in s as a whole term: case
// insensitive, not bordered by letters or digits where the needle itself
// starts or ends with one.
func HasTerm(s, needle string) bool {
	if needle == "" {
		return true
	}
	first, _ := utf8.DecodeRuneInString(needle)
	last, _ := utf8.DecodeLastRuneInString(needle)
	for off := 0; off <= len(s); {
		i := IndexFold(s[off:], needle)
		if i < 0 {
			return false
		}
		start := off + i
		end := start + matchLen(s[start:], needle)
		before, _ := utf8.DecodeLastRuneInString(s[:start])
		after, _ := utf8.DecodeRuneInString(s[end:])
		okStart := start == 0 || !isAlnum(first) || !isAlnum(before)
		okEnd := end == len(s) || !isAlnum(last) || !isAlnum(after)
		if okStart && okEnd {
			return true
		}
		_, w := utf8.DecodeRuneInString(s[start:])
		off = start + w
	}
	return false
}

// IndexFold is strings.Index ignoring case.
func IndexFold(s, sub string) int {
	if sub == "" {
		return 0
	}
	for i := 0; i < len(s); {
		if HasPrefixFold(s[i:], sub) {
			return i
		}
		_, w := utf8.DecodeRuneInString(s[i:])
		i += w
	}
	return -1
}

// matchLen returns how many bytes of s match prefix ignoring case.
func matchLen(s, prefix string) int {
	n := 0
	for _, r := range prefix {
		_, w := utf8.DecodeRuneInString(s[n:])
		_ = r
		n += w
	}
	return n
}

func HasPrefixFold(s, prefix string) bool {
	n := 0
	for _, r := range prefix {
		if n >= len(s) {
			return false
		}
		c, w := utf8.DecodeRuneInString(s[n:])
		if c != r && !foldEq(c, r) {
			return false
		}
		n += w
	}
	return true
}

func HasSuffixFold(s, suffix string) bool {
	ns, nf := utf8.RuneCountInString(s), utf8.RuneCountInString(suffix)
	if nf > ns {
		return false
	}
	i := 0
	for k := 0; k < ns-nf; k++ {
		_, w := utf8.DecodeRuneInString(s[i:])
		i += w
	}
	return HasPrefixFold(s[i:], suffix)
}

func foldEq(a, b rune) bool {
	return unicode.ToLower(a) == unicode.ToLower(b) || unicode.ToUpper(a) == unicode.ToUpper(b)
}
