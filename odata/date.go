package odata

import (
	"math"
	"time"
)

// maxOffset is the largest time-zone offset .NET's DateTimeOffset accepts.
const maxOffset = 14 * time.Hour

// dateReader reads the fixed-width fields of a date literal.
type dateReader struct {
	l   *lexer
	p   int // byte offset of the next unread byte
	err *Error
}

// digits reads n digits as a number; what names the field for the error.
func (d *dateReader) digits(n int, what string) int {
	if d.err != nil {
		return 0
	}
	v := 0
	for i := 0; i < n; i++ {
		if d.p+i >= len(d.l.src) || !isDigit(d.l.src[d.p+i]) {
			d.err = d.l.errorf(d.p+1, "invalid date: expected %d digits of %s", n, what)
			return 0
		}
		v = v*10 + int(d.l.src[d.p+i]-'0')
	}
	d.p += n
	return v
}

// field reads n digits of what and checks that they lie in [lo, hi].
func (d *dateReader) field(n int, what string, lo, hi int) int {
	pos := d.p + 1
	v := d.digits(n, what)
	if d.err == nil && (v < lo || v > hi) {
		d.err = d.l.errorf(pos, "invalid date: %s must be %0*d to %0*d", what, n, lo, n, hi)
	}
	return v
}

// sep reads the separator c.
func (d *dateReader) sep(c byte) {
	if d.err != nil {
		return
	}
	if d.p >= len(d.l.src) || d.l.src[d.p] != c {
		d.err = d.l.errorf(d.p+1, "invalid date: expected '%c'", c)
		return
	}
	d.p++
}

// peek reports whether the next byte is one of set.
func (d *dateReader) peek(set string) bool {
	if d.err != nil || d.p >= len(d.l.src) {
		return false
	}
	for i := 0; i < len(set); i++ {
		if d.l.src[d.p] == set[i] {
			return true
		}
	}
	return false
}

// ParseDate reads a date literal as $filter takes it (2018-08-01Z,
// 2019-11-22T00:00:00Z, up to 7 fractional digits, Z or ±hh:mm), for the
// functions that take one outside $filter (findbyip). The error is an
// *Error of option, with the position in s.
func ParseDate(option, s string) (time.Time, error) {
	l := &lexer{src: s, option: option}
	if s == "" || !isDigit(s[0]) {
		return time.Time{}, l.errorf(1, "expected a date such as 2019-11-22T00:00:00Z")
	}
	t, err := l.date()
	if err != nil {
		return time.Time{}, err
	}
	if l.off != len(s) {
		return time.Time{}, l.errorf(l.off+1, "unexpected %q after the date", s[l.off:])
	}
	return t.time, nil
}

// date reads a date literal: yyyy-mm-dd, optionally Thh:mm[:ss[.fffffff]],
// then Z or an offset ±hh:mm. l.off is at its first digit.
func (l *lexer) date() (token, error) {
	d := &dateReader{l: l, p: l.off}
	t := token{kind: tTime, pos: l.off + 1}
	year := d.field(4, "year", 1, 9999)
	d.sep('-')
	month := d.field(2, "month", 1, 12)
	d.sep('-')
	day := d.field(2, "day", 1, 31)
	if d.err == nil && day > daysIn(year, month) {
		d.err = l.errorf(d.p-1, "invalid date: day must be 01 to %d", daysIn(year, month))
	}
	var hour, minute, sec, nsec int
	if d.peek("Tt") {
		d.p++
		hour = d.field(2, "hour", 0, 23)
		d.sep(':')
		minute = d.field(2, "minute", 0, 59)
		if d.peek(":") {
			d.p++
			sec = d.field(2, "second", 0, 59)
			if d.peek(".") {
				d.p++
				nsec = d.fraction()
			}
		}
	}
	var offset time.Duration
	switch {
	case d.err != nil:
	case d.peek("Zz"):
		d.p++
	case d.peek("+-") && d.p+1 < len(l.src) && isDigit(l.src[d.p+1]):
		sign := time.Duration(1)
		if l.src[d.p] == '-' {
			sign = -1
		}
		d.p++
		pos := d.p + 1
		h := d.field(2, "offset hours", 0, 14)
		d.sep(':')
		m := d.field(2, "offset minutes", 0, 59)
		offset = sign * (time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
		if d.err == nil && offset.Abs() > maxOffset {
			d.err = l.errorf(pos, "invalid date: offset must be at most 14:00")
		}
	case d.p+2 < len(l.src) && l.src[d.p] == ' ' && isDigit(l.src[d.p+1]) && isDigit(l.src[d.p+2]):
		d.err = l.errorf(d.p+1, "invalid date: expected 'Z' or an offset such as +01:00 (send a '+' in a URL as %%2B)")
	default:
		d.err = l.errorf(d.p+1, "invalid date: expected 'Z' or an offset such as +01:00")
	}
	if d.err == nil && d.p < len(l.src) && (isIdentByte(l.src[d.p]) || d.peek(".:")) {
		d.err = l.errorf(d.p+1, "invalid date: unexpected '%c'", l.src[d.p])
	}
	if d.err != nil {
		return t, d.err
	}
	t.time = time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC).Add(-offset)
	if y := t.time.Year(); y < 1 || y > 9999 {
		return t, l.errorf(t.pos, "invalid date: out of range in UTC")
	}
	t.text = l.src[l.off:d.p]
	l.off = d.p
	return t, nil
}

// fraction reads 1 to 7 digits of fractional seconds as nanoseconds.
func (d *dateReader) fraction() int {
	ns, scale, n := 0, int(time.Second), 0
	for ; d.p < len(d.l.src) && isDigit(d.l.src[d.p]); d.p++ {
		if n == 7 {
			d.err = d.l.errorf(d.p+1, "invalid date: at most 7 digits of fractional seconds")
			return 0
		}
		scale /= 10
		ns += int(d.l.src[d.p]-'0') * scale
		n++
	}
	if n == 0 {
		d.err = d.l.errorf(d.p+1, "invalid date: expected digits of fractional seconds")
	}
	return ns
}

// daysIn returns the number of days of a month.
func daysIn(year, month int) int {
	return time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// formatTime writes t, in UTC, as the canonical date literal.
func formatTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.9999999Z")
}

// nanos returns t as Unix nanoseconds, clamped to the int64 range, and
// clamp: -1 or 1 if t lies before or after that range, else 0.
func nanos(t time.Time) (ns int64, clamp int8) {
	switch {
	case t.Before(time.Unix(0, math.MinInt64)):
		return math.MinInt64, -1
	case t.After(time.Unix(0, math.MaxInt64)):
		return math.MaxInt64, 1
	}
	return t.UnixNano(), 0
}
