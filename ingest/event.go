package ingest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/openatp/openatp"
)

// A file event record is a row of the advanced hunting table
// DeviceFileEvents, a network event record one of DeviceNetworkEvents,
// with the tables' column names as property names (openatp.FileEventColumns,
// NetworkEventColumns; case-sensitive) and their types: a string (null
// or absent is empty), a long or int a JSON integer (or null), a datetime
// an RFC 3339 timestamp. Timestamp, DeviceId and ActionType are
// required, and FileName for file events. Properties of the tables
// openatp does not keep are skipped and counted by name. In CSV, the
// header names the columns and an empty cell is null.

// eventTable describes the records of one kind of event.
type eventTable struct {
	cols  []openatp.EventColumn
	names []string
	index map[string]int
	fold  map[string]string
}

func newEventTable(cols []openatp.EventColumn) *eventTable {
	t := &eventTable{cols: cols}
	for _, c := range cols {
		t.names = append(t.names, c.Name)
	}
	t.index, t.fold = index(t.names), foldIndex(t.names)
	return t
}

var (
	fileEventTable    = newEventTable(openatp.FileEventColumns)
	networkEventTable = newEventTable(openatp.NetworkEventColumns)
)

// eventTableOf returns the table of kind k, or nil.
func eventTableOf(k Kind) *eventTable {
	switch k {
	case FileEvents:
		return fileEventTable
	case NetworkEvents:
		return networkEventTable
	}
	return nil
}

// event decodes one event record of table t into fields (an event's
// Fields, zeroed); the caller normalizes it.
func (d *decoder) event(b []byte, t *eventTable, fields []any) error {
	d.reset(b)
	var seen uint64
	err := d.lex.Object(func(key []byte) error {
		p, ok := t.index[string(key)]
		if !ok {
			return d.unknownProp("", key, t.fold)
		}
		name := t.names[p]
		if seen&(1<<p) != 0 {
			return fieldErr(name, "appears twice in the record")
		}
		seen |= 1 << p
		switch v := fields[p].(type) {
		case *time.Time:
			tm, err := d.optTime(name)
			if tm != nil {
				*v = *tm
			}
			return err
		case *string:
			s, err := d.intern(name)
			*v = s
			return err
		case **int64:
			n, err := d.optInt(name)
			*v = n
			return err
		case *int64:
			n, err := d.optInt(name)
			if n != nil {
				*v = *n
			}
			return err
		}
		return nil
	})
	if err == nil {
		err = d.lex.End()
	}
	return err
}

// eventCell sets the field f of column name from a CSV cell v; an empty
// cell is null.
func eventCell(name string, f any, v string) error {
	if v == "" {
		return nil
	}
	switch f := f.(type) {
	case *time.Time:
		t, err := parseTime(name, v)
		*f = t
		return err
	case *string:
		*f = v
	case **int64, *int64:
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return fieldErr(name, fmt.Sprintf("%q is not an integer", clip(v)))
		}
		if p, ok := f.(**int64); ok {
			*p = &n
		} else {
			*f.(*int64) = n
		}
	}
	return nil
}

// normalizeEvent normalizes the current event of kind k.
func (r *Reader) normalizeEvent() error {
	var err error
	if r.kind == FileEvents {
		err = r.fileEvent.Normalize()
	} else {
		err = r.networkEvent.Normalize()
	}
	if err != nil {
		return fromNormalize(err)
	}
	return nil
}

// eventFields zeroes the current event of r's kind and returns its fields.
func (r *Reader) eventFields() []any {
	if r.kind == FileEvents {
		r.fileEvent = openatp.FileEvent{}
		return r.fileEvent.Fields()
	}
	r.networkEvent = openatp.NetworkEvent{}
	return r.networkEvent.Fields()
}

// FileEvent is the last record read, when Kind is FileEvents; normalized.
func (r *Reader) FileEvent() openatp.FileEvent { return r.fileEvent }

// NetworkEvent is the last record read, when Kind is NetworkEvents;
// normalized.
func (r *Reader) NetworkEvent() openatp.NetworkEvent { return r.networkEvent }

// EventSource is a Source that may yield events (a *Reader does; so does
// `openatp seed`'s).
type EventSource interface {
	Source
	// FileEvent is the current record when Kind is FileEvents, normalized
	// (FileEvent.Normalize): the store does not normalize it again.
	FileEvent() openatp.FileEvent
	// NetworkEvent is the current record when Kind is NetworkEvents,
	// normalized.
	NetworkEvent() openatp.NetworkEvent
}

// errMixedEvents is the error of a Source whose batch mixes events with
// other records.
var errMixedEvents = errors.New("ingest: events are written in batches of their own, not with other records")

// normalizedEventWriter is a Writer that can take events normalized
// already (the SQL stores: sqlstore.Writer), sparing a second
// normalization; other Writers get AddFileEvents or AddNetworkEvents.
type normalizedEventWriter interface {
	AddNormalizedFileEvents(ctx context.Context, tenantID string, es []openatp.FileEvent) error
	AddNormalizedNetworkEvents(ctx context.Context, tenantID string, es []openatp.NetworkEvent) error
}

// loadEvents writes the batch of events that starts with c in one
// AddFileEvents or AddNetworkEvents call (one transaction), and fills res.
func loadEvents(ctx context.Context, store Writer, tenantID string, c *chunk, full, free chan *chunk, res *BatchResult, o *ImportOptions, name string) error {
	kind := c.kind
	var fes []openatp.FileEvent
	var nes []openatp.NetworkEvent
	lines, err := wholeBatch(ctx, c, full, free, errMixedEvents, func(c *chunk) { fes, nes = append(fes, c.fes...), append(nes, c.nes...) })
	if err != nil {
		return err
	}
	nw, normalized := store.(normalizedEventWriter) // the reader has normalized them
	switch {
	case kind == FileEvents && normalized:
		err = nw.AddNormalizedFileEvents(ctx, tenantID, fes)
	case kind == FileEvents:
		err = store.AddFileEvents(ctx, tenantID, fes)
	case normalized:
		err = nw.AddNormalizedNetworkEvents(ctx, tenantID, nes)
	default:
		err = store.AddNetworkEvents(ctx, tenantID, nes)
	}
	if err != nil {
		return storeError(err, &chunk{lines: lines}, name)
	}
	n := int64(len(lines))
	res.Records, res.Events, res.LastLine = n, n, lines[len(lines)-1]
	if o.OnEvents != nil {
		return o.OnEvents(ctx, fes, nes)
	}
	return nil
}
