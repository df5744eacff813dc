package ingest

import (
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/openatp/openatp"
)

// timeLayout is how records write timestamps: UTC, 7 fractional digits.
const timeLayout = "2006-01-02T15:04:05.0000000Z"

// AppendLogon appends the JSON logon record of l to b:
// {"machineId","accountName","accountDomain","accountSid","logonType","timestamp"}
// with accountSid and logonType null when empty.
func AppendLogon(b []byte, l *openatp.Logon) []byte {
	b = append(b, `{"machineId":`...)
	b = appendString(b, l.MachineID)
	b = append(b, `,"accountName":`...)
	b = appendString(b, l.AccountName)
	b = append(b, `,"accountDomain":`...)
	b = appendString(b, l.AccountDomain)
	b = append(b, `,"accountSid":`...)
	b = appendOpt(b, l.AccountSID)
	b = append(b, `,"logonType":`...)
	b = appendOpt(b, l.LogonType)
	b = append(b, `,"timestamp":"`...)
	b = l.Timestamp.UTC().AppendFormat(b, timeLayout)
	return append(b, `"}`...)
}

// RelationLogons returns logon events that, imported, recreate the
// relation r exactly (first and last seen, logon types): one event per
// logon type, the first at FirstSeen and the others at LastSeen, plus one
// at LastSeen when a single type (or none) would leave it out.
func RelationLogons(r openatp.UserMachine) []openatp.Logon {
	ev := func(typ string, t time.Time) openatp.Logon {
		return openatp.Logon{MachineID: r.MachineID, AccountName: r.AccountName, AccountDomain: r.AccountDomain, AccountSID: r.AccountSID, LogonType: typ, Timestamp: t}
	}
	types := r.LogonTypes
	if len(types) == 0 {
		types = []string{""}
	}
	ls := make([]openatp.Logon, 0, len(types)+1)
	ls = append(ls, ev(types[0], r.FirstSeen))
	for _, t := range types[1:] {
		ls = append(ls, ev(t, r.LastSeen))
	}
	if len(types) == 1 && !r.LastSeen.Equal(r.FirstSeen) {
		ls = append(ls, ev(types[0], r.LastSeen))
	}
	return ls
}

func appendOpt(b []byte, s string) []byte {
	if s == "" {
		return append(b, "null"...)
	}
	return appendString(b, s)
}

// appendString appends s as a JSON string (invalid UTF-8 as U+FFFD).
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20:
				b = append(b, `\u00`...)
				b = append(b, "0123456789abcdef"[c>>4], "0123456789abcdef"[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, `\u`...)
			b = strconv.AppendInt(b, int64(r), 16)
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
