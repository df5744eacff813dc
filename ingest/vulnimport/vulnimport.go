// Package vulnimport reads vulnerability management's imports — the
// catalog (vulnerabilities with the versions they affect, security
// updates, software products) and the inventory (the software installed
// on each machine, the security updates it misses) — from the formats
// package ingest reads (JSON Lines, a JSON array, an OData envelope,
// CSV), and writes each input in one transaction of a vuln.Store: a bad
// record is named by its line and property, and then nothing is written.
// `openatp import` and the admin API share it. docs/import.md describes
// the records.
package vulnimport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/ingest"
	"github.com/openatp/openatp/internal/jsonlex"
	"github.com/openatp/openatp/vuln"
)

// Kind is what an import holds.
type Kind uint8

// The kinds of import.
const (
	Catalog   Kind = iota + 1 // vulnerabilities, security updates, products
	Inventory                 // installed software and missing updates, by machine
)

func (k Kind) String() string {
	if k == Catalog {
		return "catalog"
	}
	return "inventory"
}

// ParseKind reads "catalog" (or "vulnerabilities") and "inventory" (or
// "software"); false for anything else.
func ParseKind(s string) (Kind, bool) {
	switch strings.ToLower(s) {
	case "catalog", "vulnerabilities", "tvmcatalog":
		return Catalog, true
	case "inventory", "software", "tvminventory":
		return Inventory, true
	}
	return 0, false
}

// Result counts what an import wrote.
type Result struct {
	Kind            string `json:"kind"`
	Records         int64  `json:"records"`
	Vulnerabilities int    `json:"vulnerabilities,omitempty"`
	Updates         int    `json:"securityUpdates,omitempty"`
	Products        int    `json:"products,omitempty"`
	Installed       int64  `json:"installedSoftware,omitempty"`
	MissingKBs      int64  `json:"missingKbs,omitempty"`
	Machines        int    `json:"machines,omitempty"`
}

// Import reads one input of kind k and writes it to the tenant in one
// transaction. Errors: an *ingest.Error (Invalid) naming the line and
// property of a bad record, the store's error otherwise; nothing is
// written on any error.
func Import(ctx context.Context, s vuln.Store, tenantID string, k Kind, r io.Reader, o ingest.Options, now time.Time) (Result, error) {
	o.Kind = ingest.Raw
	rd := ingest.NewReader(r, o)
	res := Result{Kind: k.String()}
	d := &decoder{file: o.Name, intern: map[string]string{}}
	if k == Catalog {
		return res, d.catalog(ctx, s, tenantID, rd, now, &res)
	}
	// The records are read and checked on a goroutine of this call, a
	// chunk ahead of the store's writes (two cores: the reading and the
	// writing overlap); it ends before Import returns.
	p := newProducer(ctx, rd, d)
	defer p.stop()
	machines := map[string]bool{}
	last := ""
	var line int64
	next := func() (*vuln.InventoryRecord, error) {
		rec, l, err := p.next()
		if err != nil {
			return nil, err
		}
		line = l
		res.Records++
		switch {
		case rec.MissingKB != "":
			res.MissingKBs++
		case !rec.IsMachineOnly():
			res.Installed++
		}
		if rec.MachineID != last && len(machines) < 1<<20 {
			machines[rec.MachineID], last = true, rec.MachineID
		}
		return rec, nil
	}
	err := s.PutInventory(ctx, tenantID, now, next)
	res.Machines = len(machines)
	if err != nil {
		return Result{Kind: res.Kind}, d.storeError(err, line)
	}
	return res, nil
}

// chunkRecords is how many records a chunk of the producer holds.
const chunkRecords = 2048

// chunk is records read and checked, with their lines; err, if set, is
// the error after the last of them (io.EOF at the end).
type chunk struct {
	recs  []vuln.InventoryRecord
	lines []int64
	err   error
}

// producer reads an inventory's records on its own goroutine, in chunks.
type producer struct {
	full, free chan *chunk
	cancel     context.CancelFunc
	done       chan struct{}
	cur        *chunk
	i          int
	err        error
}

func newProducer(ctx context.Context, rd *ingest.Reader, d *decoder) *producer {
	ctx, cancel := context.WithCancel(ctx)
	p := &producer{full: make(chan *chunk, 2), free: make(chan *chunk, 3), cancel: cancel, done: make(chan struct{})}
	for range 3 {
		p.free <- &chunk{recs: make([]vuln.InventoryRecord, chunkRecords), lines: make([]int64, chunkRecords)}
	}
	go func() {
		defer close(p.done)
		defer close(p.full)
		for {
			var c *chunk
			select {
			case c = <-p.free:
			case <-ctx.Done():
				return
			}
			n := 0
			c.err = nil
			for n < chunkRecords {
				if err := ctx.Err(); err != nil {
					c.err = err
					break
				}
				if err := rd.Next(); err != nil {
					c.err = err
					break
				}
				d.line = rd.Line()
				if err := d.inventory(rd, &c.recs[n]); err != nil {
					c.err = err
					break
				}
				c.lines[n] = d.line
				n++
			}
			c.recs, c.lines = c.recs[:n], c.lines[:n]
			select {
			case p.full <- c:
			case <-ctx.Done():
				return
			}
			if c.err != nil {
				return
			}
		}
	}()
	return p
}

// next returns the next record and its line; io.EOF after the last.
func (p *producer) next() (*vuln.InventoryRecord, int64, error) {
	for p.cur == nil || p.i == len(p.cur.recs) {
		if p.cur != nil {
			if p.cur.err != nil {
				p.err = p.cur.err
			}
			c := p.cur
			p.cur = nil
			c.recs, c.lines = c.recs[:chunkRecords], c.lines[:chunkRecords]
			p.free <- c // never blocks: at most three chunks exist
		}
		if p.err != nil {
			return nil, 0, p.err
		}
		c, ok := <-p.full
		if !ok {
			return nil, 0, io.EOF
		}
		p.cur, p.i = c, 0
	}
	p.i++
	return &p.cur.recs[p.i-1], p.cur.lines[p.i-1], nil
}

// stop ends the goroutine and waits for it.
func (p *producer) stop() {
	p.cancel()
	<-p.done
}

// Validate reads and checks every record of one input of kind k, writing
// nothing (what a store would refuse, such as a machine it lacks, is not
// checked): the result Import would have, or the *ingest.Error of the
// first bad record.
func Validate(ctx context.Context, k Kind, r io.Reader, o ingest.Options) (Result, error) {
	o.Kind = ingest.Raw
	rd := ingest.NewReader(r, o)
	res := Result{Kind: k.String()}
	d := &decoder{file: o.Name, intern: map[string]string{}}
	if k == Catalog {
		return res, d.catalog(ctx, nil, "", rd, time.Time{}, &res)
	}
	machines := map[string]bool{}
	last := ""
	var rec vuln.InventoryRecord
	for {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		err := rd.Next()
		if errors.Is(err, io.EOF) {
			res.Machines = len(machines)
			return res, nil
		}
		if err != nil {
			return res, err
		}
		d.line = rd.Line()
		if err := d.inventory(rd, &rec); err != nil {
			return res, err
		}
		res.Records++
		switch {
		case rec.MissingKB != "":
			res.MissingKBs++
		case !rec.IsMachineOnly():
			res.Installed++
		}
		if rec.MachineID != last && len(machines) < 1<<20 {
			machines[rec.MachineID], last = true, rec.MachineID
		}
	}
}

// decoder reads records.
type decoder struct {
	file   string
	line   int64
	lex    jsonlex.Lexer
	intern map[string]string
}

// errorf is an *ingest.Error of the current line.
func (d *decoder) errorf(field, format string, args ...any) error {
	return &ingest.Error{File: d.file, Line: d.line, Field: field, Reason: fmt.Sprintf(format, args...)}
}

// fromField turns a validation error (a FieldError) into an *ingest.Error
// of line; other errors are returned as they are.
func (d *decoder) fromField(err error, line int64) error {
	var fe *openatp.FieldError
	var se *jsonlex.SyntaxError
	switch {
	case errors.As(err, &fe):
		return &ingest.Error{File: d.file, Line: line, Field: fe.Field, Reason: fe.Reason}
	case errors.As(err, &se):
		return &ingest.Error{File: d.file, Line: line, Reason: se.Error(), Syntax: true}
	case errors.Is(err, jsonlex.ErrUTF8):
		return &ingest.Error{File: d.file, Line: line, Reason: "a string is not valid UTF-8", Syntax: true}
	}
	return err
}

// storeError names the line of a record the store refused.
func (d *decoder) storeError(err error, line int64) error {
	var ie *ingest.Error
	if errors.As(err, &ie) || !openatp.IsKind(err, openatp.Invalid) {
		return err
	}
	return d.fromField(err, line)
}

// str interns a short text that repeats across records.
func (d *decoder) str(b []byte) string {
	if s, ok := d.intern[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(d.intern) < 200_000 {
		d.intern[s] = s
	}
	return s
}

// jstr reads a JSON string (null is "").
func (d *decoder) jstr(field string) (string, error) {
	if d.lex.Null() {
		return "", nil
	}
	if d.lex.Peek() != '"' {
		if err := d.lex.Skip(0); err != nil {
			return "", err
		}
		return "", openatp.InvalidField(field, "must be a string")
	}
	b, err := d.lex.StringBytes()
	if err == jsonlex.ErrUTF8 {
		return "", openatp.InvalidField(field, "is not valid UTF-8")
	}
	return d.str(b), err
}

// jlist reads a JSON array of strings (null is none).
func (d *decoder) jlist(field string, into []string) ([]string, error) {
	into = into[:0]
	if d.lex.Null() {
		return into, nil
	}
	if !d.lex.Consume('[') {
		if err := d.lex.Skip(0); err != nil {
			return nil, err
		}
		return nil, openatp.InvalidField(field, "must be an array of strings")
	}
	if d.lex.Consume(']') {
		return into, nil
	}
	for {
		s, err := d.jstr(field)
		if err != nil {
			return nil, err
		}
		into = append(into, s)
		if d.lex.Consume(']') {
			return into, nil
		}
		if !d.lex.Consume(',') {
			return nil, d.lex.Errorf("expected ',' or ']'")
		}
	}
}

// jtime reads a timestamp (null or "" is the zero time).
func (d *decoder) jtime(field string) (time.Time, error) {
	if d.lex.Peek() == '"' { // the common case, without a string made
		b, err := d.lex.StringBytes()
		if err == jsonlex.ErrUTF8 {
			return time.Time{}, openatp.InvalidField(field, "is not valid UTF-8")
		}
		if err != nil {
			return time.Time{}, err
		}
		if t, ok := fastTime(b); ok {
			return t, nil
		}
		return parseTime(field, string(b))
	}
	s, err := d.jstr(field)
	if err != nil {
		return time.Time{}, err
	}
	return parseTime(field, s)
}

// jbool reads true, false or null (false); "true" and "false" as strings too.
func (d *decoder) jbool(field string) (bool, error) {
	switch {
	case d.lex.Null(), d.lex.Literal("false"):
		return false, nil
	case d.lex.Literal("true"):
		return true, nil
	case d.lex.Peek() == '"':
		s, err := d.jstr(field)
		if err != nil {
			return false, err
		}
		return parseBool(field, s)
	}
	if err := d.lex.Skip(0); err != nil {
		return false, err
	}
	return false, openatp.InvalidField(field, "must be true or false")
}

// jnum reads a number, a number in a string, or null (nil).
func (d *decoder) jnum(field string) (*float64, error) {
	if d.lex.Null() {
		return nil, nil
	}
	var text string
	if d.lex.Peek() == '"' {
		s, err := d.jstr(field)
		if err != nil {
			return nil, err
		}
		text = s
	} else {
		b, err := d.lex.Number()
		if err != nil {
			return nil, openatp.InvalidField(field, "must be a number")
		}
		text = string(b)
	}
	return parseNum(field, text)
}

func parseNum(field, s string) (*float64, error) {
	if s = strings.TrimSpace(s); s == "" {
		return nil, nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, openatp.InvalidField(field, "%q is not a number", clip(s))
	}
	return &v, nil
}

func parseBool(field, s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "false", "0", "no":
		return false, nil
	case "true", "1", "yes":
		return true, nil
	}
	return false, openatp.InvalidField(field, "%q is neither true nor false", clip(s))
}

// The time layouts accepted: RFC 3339, the form of MDE's by-machine
// exports ("2020-12-30 14:17:26", UTC), and a date alone.
var timeLayouts = []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999", "2006-01-02"}

func parseTime(field, s string) (time.Time, error) {
	if s = strings.TrimSpace(s); s == "" {
		return time.Time{}, nil
	}
	if t, ok := fastTime(s); ok {
		return t, nil
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC().Round(openatp.TimePrecision), nil
		}
	}
	return time.Time{}, openatp.InvalidField(field, "%q is not a timestamp (such as 2024-05-06T07:08:09Z or 2024-05-06 07:08:09)", clip(s))
}

// fastTime reads "2006-01-02 15:04:05" and "2006-01-02T15:04:05Z" (UTC,
// whole seconds): the forms of exports, read without time.Parse.
func fastTime[S string | []byte](s S) (time.Time, bool) {
	if len(s) == 20 && s[19] == 'Z' && s[10] == 'T' {
		s = s[:19]
	} else if len(s) != 19 || s[10] != ' ' {
		return time.Time{}, false
	}
	if s[4] != '-' || s[7] != '-' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	var v [6]int
	for i, at := range [6][2]int{{0, 4}, {5, 7}, {8, 10}, {11, 13}, {14, 16}, {17, 19}} {
		for j := at[0]; j < at[1]; j++ {
			c := s[j]
			if c < '0' || c > '9' {
				return time.Time{}, false
			}
			v[i] = v[i]*10 + int(c-'0')
		}
	}
	if v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31 || v[3] > 23 || v[4] > 59 || v[5] > 59 {
		return time.Time{}, false // time.Parse says why
	}
	t := time.Date(v[0], time.Month(v[1]), v[2], v[3], v[4], v[5], 0, time.UTC)
	if t.Day() != v[2] {
		return time.Time{}, false // February 30th
	}
	return t, true
}

// splitList reads a CSV cell of a list: items separated by ';'.
func splitList(s string) []string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	parts := strings.Split(s, ";")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// inventory decodes the current record of rd into r and normalizes it.
func (d *decoder) inventory(rd *ingest.Reader, r *vuln.InventoryRecord) error {
	disk, reg := r.DiskPaths[:0], r.RegistryPaths[:0]
	*r = vuln.InventoryRecord{}
	var err error
	if names, cells := rd.Cells(); names != nil {
		for i, name := range names {
			if err = d.inventoryCell(r, name, cells[i]); err != nil {
				break
			}
		}
	} else {
		d.lex.Reset(rd.Raw())
		err = d.lex.Object(func(key []byte) error {
			var err error
			switch string(key) {
			case "deviceId", "machineId":
				r.MachineID, err = d.jstr(string(key))
			case "softwareVendor":
				r.Product.Vendor, err = d.jstr("softwareVendor")
			case "softwareName":
				r.Product.Name, err = d.jstr("softwareName")
			case "softwareVersion":
				r.Version, err = d.jstr("softwareVersion")
			case "diskPaths":
				disk, err = d.jlist("diskPaths", disk)
				r.DiskPaths = disk
			case "registryPaths":
				reg, err = d.jlist("registryPaths", reg)
				r.RegistryPaths = reg
			case "firstSeenTimestamp", "softwareFirstSeenTimestamp":
				r.FirstSeen, err = d.jtime(string(key))
			case "lastSeenTimestamp":
				r.LastSeen, err = d.jtime("lastSeenTimestamp")
			case "missingKbId", "kbId":
				r.MissingKB, err = d.jstr(string(key))
			default:
				err = d.lex.Skip(0) // the exports' other columns (deviceName, osPlatform, …)
			}
			return err
		})
		if err == nil {
			err = d.lex.End()
		}
	}
	if err == nil {
		err = r.Normalize()
	}
	return d.fromField(err, d.line)
}

// inventoryCell reads one CSV cell of an inventory record.
func (d *decoder) inventoryCell(r *vuln.InventoryRecord, name, v string) error {
	var err error
	switch name {
	case "deviceId", "machineId":
		r.MachineID = v
	case "softwareVendor":
		r.Product.Vendor = v
	case "softwareName":
		r.Product.Name = v
	case "softwareVersion":
		r.Version = v
	case "diskPaths":
		r.DiskPaths = splitList(v)
	case "registryPaths":
		r.RegistryPaths = splitList(v)
	case "firstSeenTimestamp", "softwareFirstSeenTimestamp":
		r.FirstSeen, err = parseTime(name, v)
	case "lastSeenTimestamp":
		r.LastSeen, err = parseTime(name, v)
	case "missingKbId", "kbId":
		r.MissingKB = v
	}
	return err
}
