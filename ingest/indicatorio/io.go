package indicatorio

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/ingest"
	"github.com/openatp/openatp/internal/timatch"
)

// MaxInput bounds the input of Read, in bytes (a tenant's 15,000 active
// indicators take a few megabytes).
const MaxInput = 64 << 20

// Record is an indicator read from an input, and the input's name and
// the line the record starts on.
type Record struct {
	File      string
	Line      int64
	Indicator openatp.Indicator
}

// Read reads the indicators of an input named name (shown in errors; its
// extension chooses the format when format is ingest.Auto): JSON (an
// array of indicators, a GET /api/indicators page {"value": […]} or an
// import body {"Indicators": […]}), JSON Lines (one indicator a line) or
// CSV (a header of property names, then one indicator a row;
// rbacGroupNames comma-separated). Each record is an indicator as the
// API takes it (ParseSubmission), with the creator's properties
// (createdBy, createdBySource, createdByDisplayName, source, sourceType,
// lastUpdatedBy) kept when given; its id, rbacGroupIds and times are
// the store's and ignored. A record that cannot be read is an
// *ingest.Error naming the line and the property.
func Read(r io.Reader, name string, format ingest.Format) ([]Record, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxInput+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxInput {
		return nil, &ingest.Error{File: name, Reason: fmt.Sprintf("the input is larger than %d bytes", MaxInput), Syntax: true}
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if format == ingest.Auto {
		switch strings.ToLower(filepath.Ext(name)) {
		case ".jsonl", ".ndjson", ".jsonlines":
			format = ingest.JSONL
		case ".json":
			format = ingest.JSON
		case ".csv":
			format = ingest.CSV
		default:
			format = sniff(data)
		}
	}
	rd := reader{name: name, data: data}
	switch format {
	case ingest.CSV:
		err = rd.csv()
	case ingest.JSONL:
		err = rd.lines()
	default:
		err = rd.json()
	}
	if err == nil && len(rd.out) == 0 {
		err = &ingest.Error{File: name, Reason: "the input is empty: no indicators", Syntax: true}
	}
	return rd.out, err
}

// sniff chooses JSON for an input that starts with '[' or with an object
// holding an array ("value", "Indicators"), else JSON Lines.
func sniff(data []byte) ingest.Format {
	t := bytes.TrimLeft(data, " \t\r\n")
	switch {
	case len(t) > 0 && t[0] == '[':
		return ingest.JSON
	case len(t) > 0 && t[0] == '{':
		var m map[string]json.RawMessage
		if json.NewDecoder(bytes.NewReader(t)).Decode(&m) == nil {
			if _, ok := envelope(m); ok {
				return ingest.JSON
			}
		}
		return ingest.JSONL
	}
	return ingest.CSV
}

// envelope returns the array of indicators of an object that holds one.
func envelope(m map[string]json.RawMessage) (json.RawMessage, bool) {
	for k, v := range m {
		if strings.EqualFold(k, "value") || strings.EqualFold(k, "Indicators") {
			return v, true
		}
	}
	return nil, false
}

// reader is the state of Read.
type reader struct {
	name string
	data []byte
	out  []Record
}

func (rd *reader) errorf(line int64, field string, syntax bool, format string, args ...any) error {
	return &ingest.Error{File: rd.name, Line: line, Field: field, Reason: fmt.Sprintf(format, args...), Syntax: syntax}
}

// lineAt is the line of byte offset off.
func (rd *reader) lineAt(off int64) int64 { return int64(bytes.Count(rd.data[:off], []byte("\n"))) + 1 }

// record reads one indicator's JSON, starting on line.
func (rd *reader) record(raw []byte, line int64) error {
	in, err := parseRecord(raw)
	if err != nil {
		var fe *openatp.FieldError
		var e *openatp.Error
		switch {
		case errors.As(err, &fe):
			return rd.errorf(line, fe.Field, false, "%s", fe.Reason)
		case errors.As(err, &e):
			return rd.errorf(line, "", true, "%s", e.Message)
		}
		return rd.errorf(line, "", true, "%v", err)
	}
	rd.out = append(rd.out, Record{File: rd.name, Line: line, Indicator: in})
	return nil
}

// lines reads JSON Lines.
func (rd *reader) lines() error {
	off := 0
	for n := int64(1); off < len(rd.data); n++ {
		end := bytes.IndexByte(rd.data[off:], '\n')
		if end < 0 {
			end = len(rd.data) - off
		}
		line := bytes.TrimSpace(rd.data[off : off+end])
		off += end + 1
		if len(line) == 0 {
			continue
		}
		if err := rd.record(line, n); err != nil {
			return err
		}
	}
	return nil
}

// json reads a JSON array, or the array of an object's "value" or
// "Indicators".
func (rd *reader) json() error {
	data := rd.data
	base := int64(0)
	t := bytes.TrimLeft(data, " \t\r\n")
	if len(t) > 0 && t[0] == '{' {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(data, &m); err != nil {
			return rd.syntax(err)
		}
		arr, ok := envelope(m)
		if !ok {
			return rd.errorf(1, "", true, `the object holds no array of indicators ("value" or "Indicators")`)
		}
		// The array's place in the input, for the lines.
		base = int64(bytes.Index(data, arr))
		data = arr
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return rd.syntax(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return rd.errorf(1, "", true, "the input is not a JSON array of indicators")
	}
	for dec.More() {
		start := dec.InputOffset()
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return rd.syntax(err)
		}
		// The value starts after the separator and white space.
		at := start + int64(len(data[start:])-len(bytes.TrimLeft(data[start:], " \t\r\n,")))
		if err := rd.record(raw, rd.lineAt(base+at)); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return rd.syntax(err)
	}
	return nil
}

// syntax is the error of malformed JSON, at its line when known.
func (rd *reader) syntax(err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return rd.errorf(rd.lineAt(min(se.Offset, int64(len(rd.data)))), "", true, "malformed JSON: %v", err)
	}
	return rd.errorf(0, "", true, "malformed JSON: %v", err)
}

// csvColumns are the properties a CSV header may name (in any case), and
// whether a cell is written as a JSON string.
var csvBools = []string{"generateAlert"}

// csv reads CSV with a header of property names.
func (rd *reader) csv() error {
	cr := csv.NewReader(bytes.NewReader(rd.data))
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err != nil {
		return rd.errorf(1, "", true, "malformed CSV: %v", err)
	}
	for {
		row, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			return rd.errorf(int64(line), "", true, "malformed CSV: %v", err)
		}
		if len(row) != len(head) {
			return rd.errorf(int64(line), "", true, "%d cells, and the header names %d columns", len(row), len(head))
		}
		obj := map[string]any{}
		for i, cell := range row {
			if cell == "" {
				continue
			}
			name := strings.TrimSpace(head[i])
			if slices.ContainsFunc(csvBools, func(b string) bool { return strings.EqualFold(b, name) }) {
				obj[name] = json.RawMessage(`"` + strings.ReplaceAll(cell, `"`, "") + `"`)
			} else {
				obj[name] = cell
			}
		}
		raw, _ := json.Marshal(obj)
		if err := rd.record(raw, int64(line)); err != nil {
			return err
		}
	}
}

// creatorFields are the properties of a record that say who created and
// last updated it (the API sets them from the caller).
type creatorFields struct {
	CreatedBy            *string `json:"createdBy"`
	CreatedBySource      *string `json:"createdBySource"`
	CreatedByDisplayName *string `json:"createdByDisplayName"`
	Source               *string `json:"source"`
	SourceType           *string `json:"sourceType"`
	LastUpdatedBy        *string `json:"lastUpdatedBy"`
}

// importer is the creator of a record that names none.
const importer = "openatp import"

// parseRecord reads one record: the API's submission, then the
// creator's properties (importer when absent); the id is ignored.
func parseRecord(raw []byte) (openatp.Indicator, error) {
	in, err := ParseSubmission(raw)
	if err != nil {
		return in, err
	}
	var c creatorFields
	if err := json.Unmarshal(raw, &c); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return in, openatp.InvalidField(te.Field, "must be a string")
		}
		return in, BadBody("a JSON object")
	}
	or := func(p *string, def string) string {
		if p == nil || strings.TrimSpace(*p) == "" {
			return def
		}
		return *p
	}
	in.ID = ""
	in.CreatedBy = or(c.CreatedBy, importer)
	in.CreatedBySource = or(c.CreatedBySource, in.CreatedBy)
	in.CreatedByDisplayName = or(c.CreatedByDisplayName, in.CreatedBySource)
	in.Source = or(c.Source, in.CreatedBySource)
	in.LastUpdatedBy = or(c.LastUpdatedBy, in.CreatedBy)
	in.SourceType = or(c.SourceType, openatp.IndicatorSourceUser)
	if !slices.Contains(openatp.IndicatorSourceTypes, in.SourceType) {
		return in, openatp.InvalidField("sourceType", "%q is not one of %s", openatp.Clip(in.SourceType, 64), strings.Join(openatp.IndicatorSourceTypes, ", "))
	}
	return in, nil
}

// Store is what Import reads and writes: openatp.Store has it.
type Store interface {
	timatch.Store
	Groups(ctx context.Context, tenantID string) ([]openatp.DeviceGroup, error)
	ImportIndicators(ctx context.Context, tenantID string, ins []openatp.Indicator, now time.Time) ([]openatp.Indicator, error)
}

// Import writes the records into the tenant in one transaction, all or
// nothing: each is created, or updates the tenant's indicator of the
// same type and value (keeping its id, application and creator). A
// device group name no group has, or an item the store refuses (beyond
// the 15,000 active indicators), is an *ingest.Error naming the
// record's line, and then nothing is written. Then, as a submission
// through the API, the events already stored raise the alerts of the
// indicators with generateAlert (timatch.LookBack). It returns the
// indicators as stored.
func Import(ctx context.Context, store Store, tenantID string, recs []Record, now time.Time) ([]openatp.Indicator, error) {
	groups, err := store.Groups(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	groups = append(groups, openatp.DeviceGroup{ID: openatp.DefaultGroupID, Name: openatp.DefaultGroupName})
	ins := make([]openatp.Indicator, len(recs))
	for i, rec := range recs {
		in := rec.Indicator
		in.RBACGroupIDs = nil
		for _, n := range in.RBACGroupNames {
			at := slices.IndexFunc(groups, func(g openatp.DeviceGroup) bool { return openatp.NameKey(g.Name) == openatp.NameKey(n) })
			if at < 0 {
				return nil, &ingest.Error{File: rec.File, Line: rec.Line, Field: "rbacGroupNames", Reason: fmt.Sprintf("no device group is named %q", openatp.Clip(n, 64))}
			}
			in.RBACGroupIDs = append(in.RBACGroupIDs, groups[at].ID)
		}
		ins[i] = in
	}
	out, err := store.ImportIndicators(ctx, tenantID, ins, now)
	if i, ok := openatp.ItemIndex(err); ok && i < len(recs) {
		var e *openatp.Error
		reason := err.Error()
		if errors.As(err, &e) {
			reason = strings.TrimPrefix(e.Message, fmt.Sprintf("item %d: ", i))
		}
		field := ""
		var fe *openatp.FieldError
		if errors.As(err, &fe) {
			field, reason = fe.Field, fe.Reason
		}
		return nil, &ingest.Error{File: recs[i].File, Line: recs[i].Line, Field: field, Reason: reason}
	}
	if err != nil {
		return nil, err
	}
	return out, timatch.LookBack(ctx, store, tenantID, now, out)
}

// WriteLines writes indicators as JSON Lines, each the entity's JSON
// (AppendIndicator): what Read reads back.
func WriteLines(w io.Writer, ins []openatp.Indicator) error {
	var b []byte
	for i := range ins {
		b = append(AppendIndicator(b[:0], &ins[i]), '\n')
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// ReadFiles reads the files (with Read; "-" is stdin), each checked
// whole, in order.
func ReadFiles(stdin io.Reader, files []string, format ingest.Format) ([]Record, error) {
	var recs []Record
	for _, name := range files {
		in := stdin
		if name != "-" {
			f, err := os.Open(name)
			if err != nil {
				return nil, err
			}
			defer f.Close()
			in = f
		}
		rs, err := Read(in, name, format)
		if err != nil {
			return nil, err
		}
		recs = append(recs, rs...)
	}
	return recs, nil
}

// WriteFile writes indicators to the file path as JSON Lines
// (WriteLines).
func WriteFile(path string, ins []openatp.Indicator) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := WriteLines(f, ins); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Summary is what `openatp import --kind indicators` prints (its keys in
// the order of a map's).
type Summary struct {
	Kind    string `json:"kind"`
	Name    string `json:"name,omitempty"`
	Records int    `json:"records"`
	Tenant  string `json:"tenant,omitempty"` // not with --dry-run
}

// ImportFiles is `openatp import --kind indicators`: every file is read
// and checked (ReadFiles), then, unless dryRun, all are written in one
// transaction (Import) into the tenant open returns, in the store it
// opens (closed here); a bad record writes nothing.
func ImportFiles(ctx context.Context, stdin io.Reader, files []string, format ingest.Format, dryRun bool,
	open func() (openatp.Store, openatp.Tenant, error)) (Summary, error) {
	recs, err := ReadFiles(stdin, files, format)
	if err != nil {
		return Summary{}, fmt.Errorf("%w (nothing was imported)", err)
	}
	if dryRun {
		return Summary{Kind: "indicators", Records: len(recs)}, nil
	}
	store, t, err := open()
	if store != nil {
		defer store.Close()
	}
	if err != nil {
		return Summary{}, err
	}
	out, err := Import(ctx, store, t.ID, recs, time.Now())
	if err != nil {
		return Summary{}, fmt.Errorf("%w (nothing was imported)", err)
	}
	return Summary{Kind: "indicators", Name: t.Name, Records: len(out), Tenant: t.ID}, nil
}
