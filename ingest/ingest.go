// Package ingest reads machines, logon events and alerts from the formats openatp
// imports — JSON Lines, a JSON array, the OData envelope of an MDE
// response ({"@odata.context": ..., "value": [...]}) and CSV — one record
// at a time, with the line each record starts on. The CLI (`openatp
// import`) and the admin API share it.
//
// A machine record is the Machine entity as the MDE API writes it (and
// api writes it): the properties openatp models are checked strictly
// (types, enumerations, ids, IP and MAC addresses, RFC 3339 timestamps,
// lengths: Machine.Normalize), and properties it does not model — the
// undocumented ones live exports carry, such as mergedIntoMachineId,
// isPotentialDuplication, defenderAvStatus or vmMetadata, and the derived
// rbacGroupId and rbacGroupName — are skipped and counted by name. A logon
// record is {"machineId", "accountName", "accountDomain", "accountSid",
// "logonType", "timestamp"}. An alert record is the Alert entity (see
// alert.go); a machine action record the MachineAction entity (see
// action.go); alerts and machine actions are read from JSON and JSON
// Lines only. A file or network event record is a row of the advanced
// hunting table DeviceFileEvents or DeviceNetworkEvents (see event.go).
//
// Memory does not grow with the input: a Reader holds one record (at most
// Options.MaxRecord bytes) at a time.
package ingest

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/jsonlex"
)

// Kind is what the records of an input are.
type Kind uint8

// The kinds of records.
const (
	Unknown       Kind = iota // not known yet: told from the first record
	Machines                  // Machine entities
	Logons                    // logon events
	Alerts                    // Alert entities
	Actions                   // MachineAction entities
	FileEvents                // DeviceFileEvents rows (see event.go)
	NetworkEvents             // DeviceNetworkEvents rows
	// Raw records are read, not decoded: Raw and Cells give them to a
	// package with its own kinds (ingest/vulnimport).
	Raw
)

func (k Kind) String() string {
	switch k {
	case Machines:
		return "machines"
	case Logons:
		return "logons"
	case Alerts:
		return "alerts"
	case Actions:
		return "actions"
	case FileEvents:
		return "fileevents"
	case NetworkEvents:
		return "networkevents"
	case Raw:
		return "records"
	}
	return "unknown"
}

// ParseKind reads "machines", "logons", "alerts", "actions" (or
// "machineactions"), "fileevents" or "networkevents"; "" is Unknown.
func ParseKind(s string) (Kind, error) {
	switch strings.ToLower(s) {
	case "":
		return Unknown, nil
	case "machines", "machine":
		return Machines, nil
	case "logons", "logon":
		return Logons, nil
	case "alerts", "alert":
		return Alerts, nil
	case "actions", "action", "machineactions", "machineaction":
		return Actions, nil
	case "fileevents", "fileevent":
		return FileEvents, nil
	case "networkevents", "networkevent":
		return NetworkEvents, nil
	}
	return Unknown, fmt.Errorf("kind %q: use machines, logons, alerts, actions, fileevents or networkevents", s)
}

// Format is the syntax of an input.
type Format uint8

// The formats.
const (
	// Auto chooses by the file name's extension (.jsonl, .ndjson, .json,
	// .csv), else by the first byte: '[' or '{' JSON, anything else CSV.
	Auto Format = iota
	// JSONL is one JSON object per line (JSON Lines, NDJSON); blank lines
	// are skipped. An input whose first line is an OData envelope is read
	// as JSON.
	JSONL
	// JSON is a JSON array of records, an OData envelope whose "value" is
	// that array, a single record, or several of these one after another.
	JSON
	// CSV has a header row naming the properties; see the package doc.
	CSV
)

// ParseFormat reads "jsonl" (or "ndjson"), "json" or "csv"; "" is Auto.
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(s) {
	case "", "auto":
		return Auto, nil
	case "jsonl", "ndjson", "jsonlines":
		return JSONL, nil
	case "json":
		return JSON, nil
	case "csv":
		return CSV, nil
	}
	return Auto, fmt.Errorf("format %q: use jsonl, json or csv", s)
}

func (f Format) String() string {
	return [...]string{"auto", "jsonl", "json", "csv"}[f]
}

// DefaultMaxRecord is the default bound on the size of one record (for
// JSON Lines and CSV, of one line).
const DefaultMaxRecord = 1 << 20

// Options say how to read an input.
type Options struct {
	Format Format
	Kind   Kind   // Unknown: told from the first record
	Name   string // the file name, shown in errors and used by Auto
	// MaxRecord bounds one record in bytes (default DefaultMaxRecord).
	MaxRecord int

	// formatNote says how Format was chosen (see BodyOptions); it is added
	// to an error of the input's start.
	formatNote string
}

// Error is an input that cannot be imported. Its message names the file,
// the line and the property, as in
// `fleet.jsonl: line 3: healthStatus: "Fine" is not one of Active, ...`.
type Error struct {
	File   string // "" when the input has no name (a request body)
	Line   int64  // the line the record starts on; 0 when not about a line
	Field  string // the property; "" when not about one
	Reason string
	// Syntax is set when the input is not well-formed (JSON, CSV, UTF-8)
	// rather than well-formed with an invalid record.
	Syntax bool
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(": ")
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Reason)
	return b.String()
}

// As makes e an error of kind openatp.Invalid, with its code and its text
// as message, for errors.As (so openatp.KindOf): the HTTP API answers it
// as any other Invalid error.
func (e *Error) As(target any) bool {
	if t, ok := target.(**openatp.Error); ok {
		*t = &openatp.Error{Kind: openatp.Invalid, Code: e.Code(), Message: e.Error()}
		return true
	}
	return false
}

// Code is the MDE error code of e: InvalidRequestBody for a malformed
// input, InvalidInput for an invalid record.
func (e *Error) Code() string {
	if e.Syntax {
		return "InvalidRequestBody"
	}
	return "InvalidInput"
}

// Reader reads the records of one input.
type Reader struct {
	opts    Options
	br      *bufio.Reader
	src     source // JSON Lines or JSON
	csv     *csvSource
	dec     decoder
	ignored counter
	kind    Kind
	started bool
	records int64
	line    int64
	machine openatp.Machine
	logon   openatp.Logon
	alert   openatp.Alert
	action  openatp.MachineAction
	// fileEvent and networkEvent are the last event read (event.go).
	fileEvent    openatp.FileEvent
	networkEvent openatp.NetworkEvent
	// raw is the last record of kind Raw: its JSON, or (CSV) its cells.
	raw   []byte
	cells []string
	// actionIDs are the lines of the action ids read so far: an input
	// names an action once.
	actionIDs map[string]int64
	err       error
}

// source yields the bytes of one JSON record at a time and the line it
// starts on; the bytes are valid until the next call.
type source interface {
	next() ([]byte, int64, error)
	// empty reports whether the input held nothing but white space.
	empty() bool
}

// NewReader returns a Reader of r.
func NewReader(r io.Reader, o Options) *Reader {
	if o.MaxRecord <= 0 {
		o.MaxRecord = DefaultMaxRecord
	}
	rd := &Reader{opts: o, kind: o.Kind, br: bufio.NewReaderSize(r, 64<<10)}
	rd.dec.ignored = &rd.ignored
	return rd
}

// Kind is the kind of the records: Options.Kind, or once Next has read a
// record, the kind told from it.
func (r *Reader) Kind() Kind { return r.kind }

// Records is the number of records read so far.
func (r *Reader) Records() int64 { return r.records }

// Line is the line the last record read starts on.
func (r *Reader) Line() int64 { return r.line }

// Machine is the last record read, when Kind is Machines. It is
// normalized, and the Reader keeps no reference to it.
func (r *Reader) Machine() openatp.Machine { return r.machine }

// Logon is the last record read, when Kind is Logons; normalized.
func (r *Reader) Logon() openatp.Logon { return r.logon }

// Raw is the JSON of the last record read, when Kind is Raw: valid until
// the next call of Next.
func (r *Reader) Raw() []byte { return r.raw }

// Cells are the column names and the cells of the last record read, when
// Kind is Raw and the input CSV: valid until the next call of Next.
func (r *Reader) Cells() (names, cells []string) {
	if r.csv == nil {
		return nil, nil
	}
	return r.csv.names, r.cells
}

// Alert is the last record read, when Kind is Alerts; normalized.
func (r *Reader) Alert() openatp.Alert { return r.alert }

// Action is the last record read, when Kind is Actions; normalized and
// checked.
func (r *Reader) Action() openatp.MachineAction { return r.action }

// Ignored returns how many times each ignored property was seen, by name
// (properties of ipAddresses items as "ipAddresses.name").
func (r *Reader) Ignored() map[string]int64 { return r.ignored.snapshot() }

// Next reads the next record. It returns io.EOF after the last one, and an
// *Error for an input that cannot be imported (an empty input is one);
// after an error every call returns it again.
func (r *Reader) Next() error {
	if r.err != nil {
		return r.err
	}
	if err := r.next(); err != nil {
		r.err = r.noteFormat(err)
		return r.err
	}
	r.records++
	return nil
}

func (r *Reader) next() error {
	if !r.started {
		r.started = true
		if err := r.start(); err != nil {
			return err
		}
	}
	if r.csv != nil {
		line, err := r.csv.next(r)
		r.line = line
		return err
	}
	b, line, err := r.src.next()
	r.line = line
	if err == io.EOF {
		if r.records == 0 && r.src.empty() {
			return r.errorf(0, "", true, "the input is empty: no records")
		}
		return io.EOF
	}
	if err != nil {
		return r.wrap(err, line)
	}
	if r.kind == Unknown {
		if r.kind, err = r.dec.sniff(b); err != nil {
			return r.wrap(err, line)
		}
	}
	switch r.kind {
	case Machines:
		err = r.dec.machine(b, &r.machine)
	case Alerts:
		err = r.dec.alert(b, &r.alert)
	case Actions:
		if err = r.dec.action(b, &r.action); err == nil {
			err = r.repeatedAction(line)
		}
	case FileEvents:
		if err = r.dec.event(b, fileEventTable, r.eventFields()); err == nil {
			err = r.normalizeEvent()
		}
	case NetworkEvents:
		if err = r.dec.event(b, networkEventTable, r.eventFields()); err == nil {
			err = r.normalizeEvent()
		}
	case Raw:
		r.raw = b
	default:
		err = r.dec.logon(b, &r.logon)
	}
	if err != nil {
		return r.wrap(err, line)
	}
	return nil
}

// repeatedAction is the error of an action whose id an earlier record of
// the input has.
func (r *Reader) repeatedAction(line int64) error {
	if first, ok := r.actionIDs[r.action.ID]; ok {
		return r.errorf(line, "id", false, "the action of line %d has this id already", first)
	}
	if r.actionIDs == nil {
		r.actionIDs = map[string]int64{}
	}
	r.actionIDs[r.action.ID] = line
	return nil
}

// start skips a byte order mark and chooses the format.
func (r *Reader) start() error {
	if b, err := r.br.Peek(3); err == nil && string(b) == "\xef\xbb\xbf" {
		_, _ = r.br.Discard(3)
	}
	f := r.opts.Format
	if f == Auto {
		switch strings.ToLower(filepath.Ext(r.opts.Name)) {
		case ".jsonl", ".ndjson", ".jsonlines":
			f = JSONL
		case ".json":
			f = JSON
		case ".csv":
			f = CSV
		default:
			f = r.sniffFormat()
		}
	}
	switch f {
	case JSONL:
		r.src = r.newJSONL()
	case JSON:
		r.src = newStream(r.br, r.opts.MaxRecord, 1)
	case CSV:
		c, err := newCSV(r)
		if err != nil {
			return err
		}
		r.csv = c
	}
	return nil
}

// sniffFormat looks at the first byte that is not white space.
func (r *Reader) sniffFormat() Format {
	for n := 1; n <= 4096; n++ {
		b, err := r.br.Peek(n)
		if len(b) < n {
			_ = err
			return JSONL // empty: any JSON source reports it
		}
		switch b[n-1] {
		case ' ', '\t', '\r', '\n':
			continue
		case '{':
			return JSONL
		case '[':
			return JSON
		}
		return CSV
	}
	return JSONL
}

// noteFormat adds how the format was chosen to an error of the input's
// start: malformed before any record, or a CSV header that names no
// property (a body of another format read as CSV).
func (r *Reader) noteFormat(err error) error {
	var e *Error
	if r.opts.formatNote == "" || r.records > 0 || !errors.As(err, &e) {
		return err
	}
	if e.Line == 0 || !e.Syntax && !(r.opts.Format == CSV && e.Line == 1) {
		return err
	}
	noted := *e
	noted.Reason += " (the body is " + r.opts.formatNote + ")"
	return &noted
}

// errorf returns an *Error of the input.
func (r *Reader) errorf(line int64, field string, syntax bool, format string, args ...any) *Error {
	return &Error{File: r.opts.Name, Line: line, Field: field, Reason: fmt.Sprintf(format, args...), Syntax: syntax}
}

// wrap turns an error of a source or the decoder into an *Error.
func (r *Reader) wrap(err error, line int64) error {
	var fe *openatp.FieldError
	var se *jsonlex.SyntaxError
	var ie *Error
	var pe *csv.ParseError
	switch {
	case errors.As(err, &ie):
		if ie.File == "" && r.opts.Name != "" {
			named := *ie
			named.File = r.opts.Name
			return &named
		}
		return ie
	case errors.As(err, &fe):
		return &Error{File: r.opts.Name, Line: line, Field: fe.Field, Reason: fe.Reason}
	case errors.As(err, &se):
		return &Error{File: r.opts.Name, Line: line, Reason: se.Error(), Syntax: true}
	case errors.As(err, &pe):
		l := pe.Line
		if pe.StartLine > 0 {
			l = pe.StartLine
		}
		return &Error{File: r.opts.Name, Line: int64(l), Reason: "invalid CSV: " + pe.Err.Error(), Syntax: true}
	}
	// An I/O error of the input (a body larger than allowed, a read
	// failure): not an *Error, so that callers tell it apart.
	return err
}

// counter counts ignored properties by name. It keeps at most maxIgnored
// names; further ones are counted under "(other)".
type counter struct {
	m map[string]*int64
}

const maxIgnored = 200

func (c *counter) add(prefix string, key []byte) {
	if c.m == nil {
		c.m = map[string]*int64{}
	}
	if prefix == "" {
		if p := c.m[string(key)]; p != nil {
			*p++
			return
		}
	}
	name := prefix + clip(string(bytes.ToValidUTF8(key, []byte("\uFFFD"))))
	if p := c.m[name]; p != nil {
		*p++
		return
	}
	if len(c.m) >= maxIgnored {
		name = "(other)"
		if p := c.m[name]; p != nil {
			*p++
			return
		}
	}
	n := int64(1)
	c.m[name] = &n
}

func (c *counter) snapshot() map[string]int64 {
	out := make(map[string]int64, len(c.m))
	for k, v := range c.m {
		out[k] = *v
	}
	return out
}

// MergeIgnored adds the counts of src to dst.
func MergeIgnored(dst, src map[string]int64) {
	for k, v := range src {
		dst[k] += v
	}
}

// SortedNames returns the keys of m in order (for stable reports).
func SortedNames(m map[string]int64) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
