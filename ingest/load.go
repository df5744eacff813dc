package ingest

import (
	"context"
	"errors"
	"io"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/lifetime"
)

// Writer is the part of openatp.Store an import writes through: machines,
// logon events and alerts in WriteBatch, machine actions in
// ImportMachineActions and events in AddFileEvents or AddNetworkEvents,
// one call a batch.
type Writer interface {
	WriteBatch(ctx context.Context, tenantID string, f func(w openatp.BatchWriter) error) error
	ImportMachineActions(ctx context.Context, tenantID string, as []openatp.MachineAction) ([]openatp.MachineAction, error)
	AddFileEvents(ctx context.Context, tenantID string, es []openatp.FileEvent) error
	AddNetworkEvents(ctx context.Context, tenantID string, es []openatp.NetworkEvent) error
}

// ImportOptions say how Import and Load write.
type ImportOptions struct {
	// BatchSize is the number of records per transaction; 0 makes the
	// whole input one batch.
	BatchSize int64
	// ChunkSize is the number of records per write inside a transaction:
	// it bounds memory, not atomicity. The default is 5,000 machines,
	// 20,000 logon events (a larger chunk merges more repeated events
	// before they reach the store) or 1,000 alerts. Machine actions are
	// written in one call a batch (ImportMachineActions): a batch of them
	// is held in memory whole.
	ChunkSize int
	// OnActions, if set, is called after each committed batch of machine
	// actions with the actions as stored (stamped): a running server tells
	// its lifecycle clock of the live ones.
	OnActions func(stored []openatp.MachineAction)
	// OnEvents, if set, is called after each committed batch of file or
	// network events with its events (normalized): a running server
	// matches them against the tenant's indicators (internal/timatch). Its
	// error is the import's, the batch staying committed (the events are
	// idempotent: importing them again calls it again).
	OnEvents func(ctx context.Context, fes []openatp.FileEvent, nes []openatp.NetworkEvent) error
	// OnBatch, if set, is called after each committed batch.
	OnBatch func(BatchResult)
	// OnRead, if set, is called with the number of records read so far
	// each time a chunk has been read, and at the end of the input. It runs in the reading goroutine,
	// which after an error may still be running when Import has returned.
	OnRead func(records int64)
}

// The default ChunkSize by kind.
const (
	machineChunk = 5000
	logonChunk   = 20000
	alertChunk   = 1000
)

// chunkSize is the number of records of kind k per chunk.
func (o *ImportOptions) chunkSize(k Kind) int {
	n := o.ChunkSize
	if n <= 0 {
		switch k {
		case Logons:
			n = logonChunk
		case Alerts, Actions:
			n = alertChunk
		case FileEvents, NetworkEvents:
			n = logonChunk
		default:
			n = machineChunk
		}
	}
	if o.BatchSize > 0 && int64(n) > o.BatchSize {
		n = int(o.BatchSize)
	}
	return n
}

// BatchResult reports a committed batch.
type BatchResult struct {
	Number    int   // from 1
	Records   int64 // in this batch
	FirstLine int64
	LastLine  int64
	Machines  int64 // of Records, how many were machines
	Logons    int64 // how many logon events
	Alerts    int64 // how many alerts
	Actions   int64 // how many machine actions
	Events    int64 // and how many file or network events
}

// Summary is what an input held.
type Summary struct {
	Kind    Kind
	Records int64
	Batches int
	Ignored map[string]int64
}

// Validate reads and checks every record of r without writing anything:
// the first pass of an import that must not start writing a file it would
// reject. The error is the Reader's.
func Validate(r *Reader) (Summary, error) {
	for {
		err := r.Next()
		if err == io.EOF {
			return Summary{Kind: r.Kind(), Records: r.Records(), Ignored: r.Ignored()}, nil
		}
		if err != nil {
			return Summary{Kind: r.Kind(), Records: r.Records(), Ignored: r.Ignored()}, err
		}
	}
}

// Source is a stream of records for Load: a *Reader, or records made
// some other way (`openatp seed` generates them). Records may change kind
// along the stream.
type Source interface {
	// Next moves to the next record; io.EOF after the last one.
	Next() error
	// Kind is the kind of the current record.
	Kind() Kind
	// Machine is the current record when Kind is Machines.
	Machine() openatp.Machine
	// Logon is the current record when Kind is Logons.
	Logon() openatp.Logon
	// Alert is the current record when Kind is Alerts.
	Alert() openatp.Alert
	// Line is where the current record starts, for errors and reports.
	Line() int64
}

// ActionSource is a Source that may yield machine actions (a *Reader
// does).
type ActionSource interface {
	Source
	// Action is the current record when Kind is Actions.
	Action() openatp.MachineAction
}

// chunk is a run of records of one kind and one batch, handed from the
// reading goroutine to the writing one.
type chunk struct {
	kind  Kind
	ms    []openatp.Machine
	ls    []openatp.Logon
	as    []openatp.Alert
	acts  []openatp.MachineAction
	fes   []openatp.FileEvent
	nes   []openatp.NetworkEvent
	lines []int64
	last  bool  // the last chunk of its batch
	err   error // the input could not be read further
}

func (c *chunk) len() int { return len(c.lines) }

// Import reads r and writes its records to the tenant, as Load does, and
// sums up the input: its kind and the properties it ignored. An error
// about a record names r's input and the record's line.
func Import(ctx context.Context, store Writer, tenantID string, r *Reader, o ImportOptions) (Summary, error) {
	sum, err := load(ctx, store, tenantID, r, r.opts.Name, o)
	if err == nil { // else r may still be in the reading goroutine's hands
		sum.Kind, sum.Ignored = r.Kind(), r.Ignored()
	}
	return sum, err
}

// Load writes the records of src to the tenant, BatchSize records per
// transaction (or all in one): each batch is stored whole or not at all,
// and batches are committed in order. Reading runs concurrently with
// writing, a few chunks ahead, in another goroutine; memory does not grow
// with the input.
//
// A record src rejects fails its batch (batches before it stay
// committed): run Validate first to refuse a bad input before any batch.
// A record the store rejects (a logon of a machine the tenant does not
// have) is reported as an *Error naming its line. Re-importing an input
// changes nothing, so an import cut short can simply be run again.
//
// After an error Load returns at once, without waiting for the reading
// goroutine: it may be blocked reading src (an idle pipe or terminal), and
// it stops at its next record. src must not be used again.
func Load(ctx context.Context, store Writer, tenantID string, src Source, o ImportOptions) (Summary, error) {
	return load(ctx, store, tenantID, src, "", o)
}

func load(ctx context.Context, store Writer, tenantID string, src Source, name string, o ImportOptions) (sum Summary, err error) {
	reading := lifetime.New(ctx)
	ctx = reading.Context()
	full := make(chan *chunk, 2)
	free := make(chan *chunk, 4)
	for range 3 {
		free <- &chunk{}
	}
	reading.Go(func(ctx context.Context) error {
		produce(ctx, src, &o, full, free) // an input error travels in a chunk
		return nil
	})
	defer func() {
		reading.Stop()
		if err == nil {
			_ = reading.Wait() // it has sent its last chunk: src is the caller's again
		}
	}()
	for {
		var c *chunk
		select {
		case c = <-full:
		case <-ctx.Done():
			return sum, ctx.Err()
		}
		if c == nil { // the input is done
			return sum, nil
		}
		if c.err != nil && c.len() == 0 {
			return sum, c.err
		}
		res := BatchResult{Number: sum.Batches + 1, FirstLine: c.lines[0]}
		if c.kind == Actions || c.kind == FileEvents || c.kind == NetworkEvents {
			if c.kind == Actions {
				err = loadActions(ctx, store, tenantID, c, full, free, &res, &o, name)
			} else {
				err = loadEvents(ctx, store, tenantID, c, full, free, &res, &o, name)
			}
			if err != nil {
				return sum, err
			}
			sum.Batches++
			sum.Records += res.Records
			if o.OnBatch != nil {
				o.OnBatch(res)
			}
			continue
		}
		var cur *chunk
		err = store.WriteBatch(ctx, tenantID, func(w openatp.BatchWriter) error {
			for {
				cur = c
				var err error
				switch {
				case len(c.ms) > 0:
					err = w.UpsertMachines(c.ms)
				case len(c.ls) > 0:
					err = w.AddLogons(c.ls)
				case len(c.as) > 0:
					err = w.UpsertAlerts(c.as)
				case len(c.acts) > 0:
					err = errMixedActions
				case len(c.fes) > 0 || len(c.nes) > 0:
					err = errMixedEvents
				}
				if err != nil {
					return err
				}
				if c.len() > 0 {
					res.Records += int64(c.len())
					res.Machines += int64(len(c.ms))
					res.Logons += int64(len(c.ls))
					res.Alerts += int64(len(c.as))
					res.LastLine = c.lines[c.len()-1]
				}
				if c.err != nil {
					return c.err
				}
				last := c.last
				recycle(c, free)
				if last {
					return nil
				}
				select {
				case c = <-full:
				case <-ctx.Done():
					return ctx.Err()
				}
				if c == nil {
					return errors.New("ingest: the input ended inside a batch")
				}
				if c.err != nil && c.len() == 0 {
					return c.err
				}
			}
		})
		if err != nil {
			return sum, storeError(err, cur, name)
		}
		sum.Batches++
		sum.Records += res.Records
		if o.OnBatch != nil {
			o.OnBatch(res)
		}
	}
}

// wholeBatch reads the chunks of the batch that starts with c, all of
// c's kind (another kind in it: mixed), handing each to take and
// recycling it, and returns the line numbers of its records in order: a
// batch of records that one store call writes whole.
func wholeBatch(ctx context.Context, c *chunk, full, free chan *chunk, mixed error, take func(c *chunk)) ([]int64, error) {
	kind := c.kind
	var lines []int64
	for {
		if c.kind != kind && c.len() > 0 {
			return nil, mixed
		}
		take(c)
		lines = append(lines, c.lines...)
		if c.err != nil {
			return nil, c.err
		}
		last := c.last
		recycle(c, free)
		if last {
			return lines, nil
		}
		select {
		case c = <-full:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if c == nil {
			return nil, errors.New("ingest: the input ended inside a batch")
		}
	}
}

// errMixedActions is the error of a Source whose batch mixes machine
// actions with other records.
var errMixedActions = errors.New("ingest: machine actions are written in batches of their own, not with other records")

// loadActions writes the batch of machine actions that starts with c in
// one ImportMachineActions call, and fills res.
func loadActions(ctx context.Context, store Writer, tenantID string, c *chunk, full, free chan *chunk, res *BatchResult, o *ImportOptions, name string) error {
	var acts []openatp.MachineAction
	lines, err := wholeBatch(ctx, c, full, free, errMixedActions, func(c *chunk) { acts = append(acts, c.acts...) })
	if err != nil {
		return err
	}
	stored, err := store.ImportMachineActions(ctx, tenantID, acts)
	if err != nil {
		return storeError(err, &chunk{lines: lines}, name)
	}
	res.Records, res.Actions, res.LastLine = int64(len(acts)), int64(len(acts)), lines[len(lines)-1]
	if o.OnActions != nil {
		o.OnActions(stored)
	}
	return nil
}

func recycle(c *chunk, free chan *chunk) {
	clear(c.as) // alerts and actions hold lists: let them go
	clear(c.acts)
	c.kind, c.ms, c.ls, c.as, c.acts, c.lines, c.last, c.err = Unknown, c.ms[:0], c.ls[:0], c.as[:0], c.acts[:0], c.lines[:0], false, nil
	c.fes, c.nes = c.fes[:0], c.nes[:0]
	select {
	case free <- c:
	default:
	}
}

// produce reads src into chunks and sends them on full, then nil.
func produce(ctx context.Context, src Source, o *ImportOptions, full, free chan *chunk) {
	var c *chunk
	get := func() bool {
		select {
		case c = <-free:
			return true
		case <-ctx.Done():
			return false
		}
	}
	send := func() bool {
		select {
		case full <- c:
			c = nil
			return true
		case <-ctx.Done():
			return false
		}
	}
	if !get() {
		return
	}
	var inBatch, read int64
	for {
		err := src.Next()
		if err == io.EOF {
			if o.OnRead != nil {
				o.OnRead(read)
			}
			if inBatch > 0 { // close the open batch, even with an empty chunk
				c.last = true
				if !send() {
					return
				}
			}
			select {
			case full <- nil:
			case <-ctx.Done():
			}
			return
		}
		if err != nil {
			c.err = err
			send()
			return
		}
		kind := src.Kind()
		if c.len() > 0 && kind != c.kind { // a chunk holds one kind
			if !send() || !get() {
				return
			}
		}
		c.kind = kind
		switch kind {
		case Machines:
			c.ms = append(c.ms, src.Machine())
		case Alerts:
			c.as = append(c.as, src.Alert())
		case Actions:
			as, ok := src.(ActionSource)
			if !ok {
				c.err = errors.New("ingest: a Source of machine actions must have an Action method (ActionSource)")
				send()
				return
			}
			c.acts = append(c.acts, as.Action())
		case FileEvents, NetworkEvents:
			es, ok := src.(EventSource)
			if !ok {
				c.err = errors.New("ingest: a Source of events must have FileEvent and NetworkEvent methods (EventSource)")
				send()
				return
			}
			if kind == FileEvents {
				c.fes = append(c.fes, es.FileEvent())
			} else {
				c.nes = append(c.nes, es.NetworkEvent())
			}
		default:
			c.ls = append(c.ls, src.Logon())
		}
		c.lines = append(c.lines, src.Line())
		inBatch++
		read++
		batchDone := o.BatchSize > 0 && inBatch == o.BatchSize
		if batchDone || c.len() >= o.chunkSize(kind) {
			c.last = batchDone
			if batchDone {
				inBatch = 0
			}
			if !send() {
				return
			}
			if o.OnRead != nil {
				o.OnRead(read)
			}
			if !get() {
				return
			}
		}
	}
}

// storeError names the line of the record a store error is about, if it
// says which (openatp.ItemError), and its property, if it says which
// (openatp.FieldError).
func storeError(err error, c *chunk, file string) error {
	var ie *Error
	if errors.As(err, &ie) {
		return ie
	}
	i, ok := openatp.ItemIndex(err)
	if !ok || c == nil || i < 0 || i >= c.len() {
		return err
	}
	out := &Error{File: file, Line: c.lines[i], Reason: err.Error()}
	var fe *openatp.FieldError
	var e *openatp.Error
	switch {
	case errors.As(err, &fe):
		out.Field, out.Reason = fe.Field, fe.Reason
	case errors.As(err, &e):
		out.Reason = e.Message
	}
	return out
}
