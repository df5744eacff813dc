package ingest

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/jsonlex"
	"github.com/openatp/openatp/wire"
)

// CSV: a header row names the properties (the Machine JSON names, or the
// logon record's); each following row is a record. An empty cell is null
// (an empty list for machineTags and ipAddresses); machineTags holds the
// tags separated by ';'; ipAddresses holds the JSON array of the Machine
// entity; isAadJoined is true or false; timestamps are RFC 3339. Columns
// that name no modeled property are ignored and counted.

type csvSource struct {
	r      *csv.Reader
	cols   []int // property index per column; -1 ignored
	names  []string
	props  []string
	lim    *lineLimiter
	header int64
}

// lineLimiter fails a read once a line grows longer than max bytes, or a
// record (a quoted field may span lines) longer than max bytes plus what
// encoding/csv reads ahead, so that encoding/csv never buffers an
// unbounded record. The reader sets recordStart after each record.
type lineLimiter struct {
	r           io.Reader
	max         int
	cur         int
	line        int64
	read        int64 // bytes handed out
	recordStart int64 // where the record being read starts (csv.Reader.InputOffset)
}

// csvReadAhead is the most encoding/csv reads beyond the end of a record
// (its bufio.Reader's size).
const csvReadAhead = 4096

// errLongLine is returned by lineLimiter; record is set when a record of
// several lines is too long.
type errLongLine struct {
	line   int64
	record bool
}

func (e *errLongLine) Error() string { return "line too long" }

func (l *lineLimiter) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	for i, c := range p[:n] {
		l.read++
		if l.read-l.recordStart > int64(l.max)+csvReadAhead {
			return i, &errLongLine{line: l.line + 1, record: true}
		}
		if c == '\n' {
			l.cur = 0
			l.line++
			continue
		}
		l.cur++
		if l.cur > l.max {
			return i, &errLongLine{line: l.line + 1}
		}
	}
	return n, err
}

func newCSV(r *Reader) (*csvSource, error) {
	lim := &lineLimiter{r: r.br, max: r.opts.MaxRecord}
	cr := csv.NewReader(lim)
	cr.ReuseRecord = true
	s := &csvSource{r: cr, lim: lim}
	header, err := cr.Read()
	if err == io.EOF {
		return nil, r.errorf(0, "", true, "the input is empty: no records (a CSV file needs a header row)")
	}
	if err != nil {
		return nil, r.csvError(err)
	}
	lim.recordStart = cr.InputOffset()
	line, _ := cr.FieldPos(0)
	s.header = int64(line)
	kind := r.kind
	seen := map[string]bool{}
	for _, h := range header {
		if !utf8.ValidString(h) {
			return nil, r.errorf(s.header, "", true, "the header is not valid UTF-8")
		}
		h = strings.TrimSpace(h)
		if h == "" {
			return nil, r.errorf(s.header, "", false, "the header has an empty column name")
		}
		if seen[h] {
			return nil, r.errorf(s.header, h, false, "the header names this column twice")
		}
		seen[h] = true
		s.names = append(s.names, h)
	}
	if kind == Unknown {
		switch {
		case seen["requestor"]:
			kind = Actions
		case seen["DeviceId"] && (seen["RemoteIP"] || seen["RemoteUrl"]):
			kind = NetworkEvents
		case seen["DeviceId"]:
			kind = FileEvents
		case seen["id"]:
			kind = Machines
		case seen["machineId"]:
			kind = Logons
		default:
			return nil, r.errorf(s.header, "", false, "cannot tell machines from logon events: the header has neither id nor machineId (give the kind)")
		}
		r.kind = kind
	}
	if kind == Raw {
		return s, nil
	}
	if kind == Alerts || kind == Actions {
		return nil, r.errorf(s.header, "", false, "%s are imported from JSON or JSON Lines, not CSV", kind)
	}
	props, idx, fold := machineProps, machineIndex, machineFold
	if kind == Logons {
		props, idx, fold = logonProps, logonIndex, logonFold
	}
	if t := eventTableOf(kind); t != nil {
		props, idx, fold = t.names, t.index, t.fold
	}
	s.props = props
	for _, h := range s.names {
		p, ok := idx[h]
		if !ok {
			if q, ok := fold[strings.ToLower(h)]; ok {
				return nil, r.errorf(s.header, h, false, "unknown column; did you mean %q? (names are case-sensitive)", q)
			}
			p = -1
		}
		if kind == Machines && p >= 0 && wire.DerivedMachineProperty(props[p]) {
			p = -1
		}
		s.cols = append(s.cols, p)
	}
	required := "id"
	switch kind {
	case Logons:
		required = "machineId"
	case FileEvents, NetworkEvents:
		required = "DeviceId"
	}
	if !seen[required] {
		return nil, r.errorf(s.header, required, false, "the header has no %s column", required)
	}
	return s, nil
}

func (r *Reader) csvError(err error) error {
	long := func(ll *errLongLine) error {
		if ll.record {
			return r.errorf(ll.line, "", true, "the record running on to this line is longer than %d bytes (the largest record accepted): a quoted field spans many lines", r.opts.MaxRecord)
		}
		return r.errorf(ll.line, "", true, "the line is longer than %d bytes (the largest record accepted)", r.opts.MaxRecord)
	}
	if ll, ok := err.(*errLongLine); ok {
		return long(ll)
	}
	if pe, ok := err.(*csv.ParseError); ok {
		if ll, ok := pe.Err.(*errLongLine); ok {
			return long(ll)
		}
		l := pe.StartLine
		if l == 0 {
			l = pe.Line
		}
		return r.errorf(int64(l), "", true, "invalid CSV: %v", pe.Err)
	}
	return err
}

// next reads one row into r.machine or r.logon.
func (s *csvSource) next(r *Reader) (int64, error) {
	for {
		rec, err := s.r.Read()
		if err == io.EOF {
			return 0, io.EOF
		}
		if err != nil {
			return 0, r.csvError(err)
		}
		s.lim.recordStart = s.r.InputOffset()
		l, _ := s.r.FieldPos(0)
		line := int64(l)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // a blank line
		}
		for i, v := range rec {
			if !utf8.ValidString(v) {
				return line, r.errorf(line, s.names[i], true, "is not valid UTF-8")
			}
		}
		if r.kind == Raw {
			r.cells = rec
		} else if r.kind == FileEvents || r.kind == NetworkEvents {
			err = s.event(r, rec)
		} else if r.kind == Machines {
			err = s.machine(r, rec, &r.machine)
		} else {
			err = s.logon(r, rec, &r.logon)
		}
		if err != nil {
			return line, r.wrap(err, line)
		}
		return line, nil
	}
}

func cellPtr(v string) *string {
	if v == "" {
		return nil
	}
	return &v
}

func (s *csvSource) machine(r *Reader, rec []string, m *openatp.Machine) error {
	*m = openatp.Machine{}
	for i, v := range rec {
		p := s.cols[i]
		if p < 0 {
			if v != "" {
				r.ignored.add("", []byte(s.names[i]))
			}
			continue
		}
		name := s.props[p]
		var err error
		if f := wire.MachineStringField(m, name); f != nil {
			*f = cellPtr(v)
			continue
		}
		switch name {
		case "id":
			m.ID = v
		case "firstSeen", "lastSeen":
			if v != "" {
				var t time.Time
				if t, err = parseTime(name, v); err == nil {
					if name == "firstSeen" {
						m.FirstSeen = &t
					} else {
						m.LastSeen = &t
					}
				}
			}
		case "osBuild":
			if v != "" {
				n, e := strconv.ParseInt(v, 10, 64)
				if e != nil {
					err = fieldErr(name, fmt.Sprintf("%q is not an integer", clip(v)))
				} else {
					m.OSBuild = &n
				}
			}
		case "isAadJoined":
			switch strings.ToLower(v) {
			case "":
			case "true":
				m.IsAADJoined = openatp.Ptr(true)
			case "false":
				m.IsAADJoined = openatp.Ptr(false)
			default:
				err = fieldErr(name, fmt.Sprintf("%q is not true or false", clip(v)))
			}
		case "machineTags":
			if v != "" {
				m.MachineTags = strings.Split(v, ";")
			}
		case "ipAddresses":
			if strings.TrimSpace(v) != "" {
				r.dec.reset([]byte(v))
				if m.IPAddresses, err = r.dec.ipAddresses(name); err == nil {
					if err = r.dec.lex.End(); err != nil {
						err = fieldErr(name, "must hold a JSON array of {ipAddress, macAddress, type, operationalStatus}")
					}
				} else if _, ok := err.(*jsonlex.SyntaxError); ok {
					err = fieldErr(name, "must hold a JSON array of {ipAddress, macAddress, type, operationalStatus}: "+err.Error())
				}
			}
		}
		if err != nil {
			return err
		}
	}
	if err := m.Normalize(); err != nil {
		return fromNormalize(err)
	}
	return nil
}

func (s *csvSource) logon(r *Reader, rec []string, l *openatp.Logon) error {
	*l = openatp.Logon{}
	for i, v := range rec {
		p := s.cols[i]
		if p < 0 {
			if v != "" {
				r.ignored.add("", []byte(s.names[i]))
			}
			continue
		}
		switch p {
		case 0:
			l.MachineID = v
		case 1:
			l.AccountName = v
		case 2:
			l.AccountDomain = v
		case 3:
			l.AccountSID = v
		case 4:
			l.LogonType = v
		case 5:
			if v != "" {
				t, err := parseTime("timestamp", v)
				if err != nil {
					return err
				}
				l.Timestamp = t
			}
		}
	}
	if err := l.Normalize(); err != nil {
		return fromNormalize(err)
	}
	return nil
}

// event reads a row into the current event of r's kind.
func (s *csvSource) event(r *Reader, rec []string) error {
	fields := r.eventFields()
	for i, v := range rec {
		p := s.cols[i]
		if p < 0 {
			if v != "" {
				r.ignored.add("", []byte(s.names[i]))
			}
			continue
		}
		if err := eventCell(s.props[p], fields[p], v); err != nil {
			return err
		}
	}
	return r.normalizeEvent()
}
