package huntapi

import (
	"strconv"
	"strings"
	"time"

	"github.com/openatp/openatp"
)

// parseTimespan reads Graph's Timespan, an ISO 8601 time interval, into
// the data window [from, to) (to zero: up to now and after): "start/end",
// "duration/end", "start/duration", a duration alone (back from now), or
// a start alone (up to now).
func parseTimespan(s string, now time.Time) (from, to time.Time, err error) {
	bad := func() (time.Time, time.Time, error) {
		return time.Time{}, time.Time{}, openatp.CodedErrorf(openatp.Invalid, "BadRequest",
			"The Timespan %q is not an ISO 8601 interval (start/end, duration/end, start/duration, duration or start).", openatp.Clip(s, 100))
	}
	a, b, two := strings.Cut(strings.TrimSpace(s), "/")
	if !two {
		if d, ok := isoDuration(a); ok {
			return now.Add(-d), time.Time{}, nil
		}
		t, ok := isoTime(a)
		if !ok {
			return bad()
		}
		return t, time.Time{}, nil
	}
	ta, aok := isoTime(a)
	tb, bok := isoTime(b)
	switch {
	case aok && bok:
		from, to = ta, tb
	case bok:
		d, ok := isoDuration(a)
		if !ok {
			return bad()
		}
		from, to = tb.Add(-d), tb
	case aok:
		d, ok := isoDuration(b)
		if !ok {
			return bad()
		}
		from, to = ta, ta.Add(d)
	default:
		return bad()
	}
	if !to.After(from) {
		return bad()
	}
	return from, to, nil
}

// isoTime reads a date and time (RFC 3339) or a date.
func isoTime(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// isoDuration reads an ISO 8601 duration of weeks, days, hours, minutes
// and seconds: PnW, PnDTnHnMnS (no years or months, whose length varies).
func isoDuration(s string) (time.Duration, bool) {
	if len(s) < 3 || (s[0] != 'P' && s[0] != 'p') {
		return 0, false
	}
	var d time.Duration
	inTime, some := false, false
	num := ""
	for _, c := range strings.ToUpper(s[1:]) {
		switch {
		case c >= '0' && c <= '9' || c == '.':
			num += string(c)
		case c == 'T':
			if inTime || num != "" {
				return 0, false
			}
			inTime = true
		default:
			n, err := strconv.ParseFloat(num, 64)
			if err != nil || n < 0 || n > 1e6 {
				return 0, false
			}
			unit := map[bool]map[rune]time.Duration{
				false: {'W': 7 * 24 * time.Hour, 'D': 24 * time.Hour},
				true:  {'H': time.Hour, 'M': time.Minute, 'S': time.Second},
			}[inTime][c]
			if unit == 0 {
				return 0, false
			}
			d += time.Duration(n * float64(unit))
			num, some = "", true
		}
	}
	return d, some && num == "" && d > 0
}
