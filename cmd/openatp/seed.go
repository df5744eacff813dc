package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/ingest"
	"github.com/openatp/openatp/ingest/indicatorio"
	"github.com/openatp/openatp/internal/demo"
	"github.com/openatp/openatp/internal/demotenant"
	"github.com/openatp/openatp/wire"
)

// runSeed fills a tenant (created if absent) with a generated, realistic
// fleet that is the same for the same arguments; with --live, it writes a
// stream of new and updated alerts to the tenant's machines instead.
func runSeed(ctx context.Context, env *cliEnv, args []string) error {
	var sf storeFlags
	fs := newFlagSet(env, "seed")
	sf.register(fs)
	tenant := fs.String("tenant", "", "tenant id or name (a new tenant of that name is created if absent)")
	machines := fs.Int("machines", 1000, "number of machines")
	users := fs.Int("users", 500, "number of users")
	logons := fs.Int("logons", 0, "number of logon events (0: about 1.5 per user-machine relation; else at least --users)")
	alerts := fs.Int("alerts", 0, "number of alerts: created over the 30 days before the data set's end; with --live, new alerts written one by one now")
	actions := fs.Int("actions", 0, "number of machine actions: a history on the generated machines, of every type the API starts, each ended (Succeeded, Failed, Cancelled or TimeOut), created over the 30 days before the data set's end")
	fileEvents := fs.Int("file-events", 0, "number of file events (DeviceFileEvents rows) on the generated machines, over the week before the data set's end")
	networkEvents := fs.Int("network-events", 0, "number of network events (DeviceNetworkEvents rows), as --file-events")
	indicators := fs.Int("indicators", 0, "number of custom indicators over the generated events' values (some matching, raising alerts; with --out, indicators.jsonl); not with --live")
	software := fs.Int("software", 0, "products installed on each machine (vulnerability management's inventory; 0: none); not with --out or --live")
	cves := fs.Int("cves", 2000, "with --software: vulnerabilities of the generated catalog")
	live := fs.Bool("live", false, "write --alerts new alerts to the tenant's existing machines one every --every, moving earlier ones along (New, InProgress, Resolved) between them: what a poll loop picks up")
	every := fs.Duration("every", time.Second, "with --live: the pause between two new alerts")
	seed := fs.Int64("seed", 1, "random seed: the same seed and --end give the same tenant")
	batch := fs.Int("batch-size", 250000, "records per transaction")
	out := fs.String("out", "", "write machines.jsonl, logons.jsonl, alerts.jsonl and, with --actions, actions.jsonl (the records openatp import reads) into this directory instead of the store")
	var endFlag timeFlag
	fs.Var(&endFlag, "end", "the data set's end, an RFC 3339 `time`: the machines were last seen, the users logged on and the alerts updated before it (default: now)")
	if err := parseFlags(env, fs, args); err != nil {
		return err
	}
	end := endFlag.t
	if end.IsZero() {
		end = time.Now()
	}
	if *machines < 0 || *users < 0 || *alerts < 0 || *batch <= 0 {
		return fmt.Errorf("--machines, --users and --alerts must be >= 0 and --batch-size > 0")
	}
	if *machines == 0 && *users > 0 {
		return fmt.Errorf("--users needs --machines > 0")
	}
	if *actions < 0 || (*actions > 0 && *machines == 0) {
		return fmt.Errorf("--actions must be >= 0 and needs --machines > 0")
	}
	if *actions > 0 && *live {
		return fmt.Errorf("--actions writes a history: not with --live")
	}
	if *fileEvents < 0 || *networkEvents < 0 || (*fileEvents+*networkEvents > 0 && (*machines == 0 || *live)) {
		return fmt.Errorf("--file-events and --network-events must be >= 0, need --machines > 0 and are not with --live")
	}
	if *indicators < 0 || (*indicators > 0 && *live) {
		return fmt.Errorf("--indicators must be >= 0 and is not with --live")
	}
	if *software < 0 || *cves <= 0 || (*software > 0 && (*live || *out != "")) {
		return fmt.Errorf("--software must be >= 0, --cves > 0, and --software is not with --live or --out")
	}
	if *live {
		return seedLive(ctx, env, &sf, *tenant, *alerts, *every, *seed)
	}
	o := demo.Options{Seed: *seed, Machines: *machines, Users: *users, Logons: *logons, Alerts: *alerts, Start: demo.StartAt(end)}
	if *out != "" {
		if err := seedFiles(env, *out, o, *actions); err != nil {
			return err
		}
		if err := seedEventFiles(*out, o, *fileEvents, *networkEvents); err != nil || *indicators == 0 {
			return err
		}
		var ins []openatp.Indicator
		if err := demo.GenerateIndicators(o, *indicators, "openatp-seed", "openatp seed", func(in openatp.Indicator) error { ins = append(ins, in); return nil }); err != nil {
			return err
		}
		return indicatorio.WriteFile(filepath.Join(*out, "indicators.jsonl"), ins)
	}
	store, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	t, err := ensureTenant(ctx, store, *tenant)
	if err != nil {
		return err
	}
	o.AADTenant = t.ID

	opts, err := o.Resolve()
	if err != nil {
		return err
	}
	prog := newProgress(env.stderr, "seed", "machines", int64(*machines))
	// Progress counts the records handed to the store, a few chunks
	// ahead of the last commit: the producer goroutine reports it, and
	// prog is not touched elsewhere until Load has returned.
	src := newGenSource(opts, func(k ingest.Kind, n int64) {
		switch {
		case k == ingest.Logons && prog.what == "machines":
			prog.phase("logons", int64(opts.Logons))
		case k == ingest.Alerts && prog.what != "alerts":
			prog.phase("alerts", int64(opts.Alerts))
		}
		prog.set(k.String(), n)
	})
	defer src.close()
	start := time.Now()
	_, err = ingest.Load(ctx, store, t.ID, src, ingest.ImportOptions{BatchSize: int64(*batch)})
	src.close() // after an error, Load's reading goroutine may still be in src.Next
	prog.done()
	if err != nil {
		return err
	}
	// The phases split where the first logon event and the first alert
	// were generated (the records still queued then are a few chunks,
	// well under a second).
	end, split, alertsFrom := time.Now(), src.firstLogon, src.firstAlert
	if alertsFrom.IsZero() {
		alertsFrom = end
	}
	if split.IsZero() {
		split = alertsFrom
	}
	machineSecs, logonSecs, alertSecs := split.Sub(start).Seconds(), alertsFrom.Sub(split).Seconds(), end.Sub(alertsFrom).Seconds()
	if err := demotenant.SeedActions(ctx, store, t.ID, opts, *actions, *batch); err != nil {
		return err
	}
	if err := demotenant.SeedEvents(ctx, store, t.ID, opts, *fileEvents, *networkEvents, *batch); err != nil {
		return err
	}
	if err := demotenant.SeedIndicators(ctx, store, t.ID, opts, *indicators, time.Now()); err != nil {
		return err
	}
	if *software > 0 {
		so := demo.SoftwareOptions{Seed: *seed, CVEs: *cves, PerMachine: *software, Start: opts.Start}
		if err := demotenant.SeedSoftware(ctx, store, t.ID, so, time.Now()); err != nil {
			return err
		}
	}
	return printJSON(env.stdout, map[string]any{"tenant": t.ID, "name": t.Name, "machines": src.machines, "logons": src.logons, "users": *users, "alerts": src.alerts,
		"actions": *actions, "file_events": *fileEvents, "network_events": *networkEvents, "indicators": *indicators, "software": *software, "seed": *seed,
		"seconds": end.Sub(start).Seconds(), "machine_seconds": machineSecs, "logon_seconds": logonSecs, "alert_seconds": alertSecs,
		"machines_per_second": float64(src.machines) / max(machineSecs, 1e-9), "logons_per_second": float64(src.logons) / max(logonSecs, 1e-9),
		"alerts_per_second": float64(src.alerts) / max(alertSecs, 1e-9)})
}

// seedEventFiles writes the generated events, if any, as fileevents.jsonl
// and networkevents.jsonl: the tables' rows, which import reads back.
func seedEventFiles(dir string, o demo.Options, nf, nn int) error {
	if nf+nn == 0 {
		return nil
	}
	var ws [2]*bufio.Writer
	for i, name := range []string{"fileevents.jsonl", "networkevents.jsonl"} {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		defer f.Close()
		ws[i] = bufio.NewWriter(f)
	}
	write := func(w *bufio.Writer, v any) error {
		b, err := json.Marshal(v)
		w.Write(append(b, '\n'))
		return err
	}
	err := demo.GenerateEvents(o, nf, nn, func(e openatp.FileEvent) error { return write(ws[0], e) },
		func(e openatp.NetworkEvent) error { return write(ws[1], e) })
	for _, w := range ws {
		err = errors.Join(err, w.Flush())
	}
	return err
}

// seedFiles writes the generated records as JSON Lines files: every
// machine (in the Machine JSON of the API), then every logon event, as the
// generator emits them (not merged into relations as a store would), every
// alert and, if actions > 0, that many machine actions (the MachineAction
// JSON of the API).
func seedFiles(env *cliEnv, dir string, o demo.Options, actions int) error {
	opts, err := o.Resolve()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	create := func(name string) (*os.File, *bufio.Writer, error) {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			return nil, nil, err
		}
		return f, bufio.NewWriterSize(f, 1<<20), nil
	}
	mf, mw, err := create("machines.jsonl")
	if err != nil {
		return err
	}
	defer mf.Close()
	lf, lw, err := create("logons.jsonl")
	if err != nil {
		return err
	}
	defer lf.Close()
	af, aw, err := create("alerts.jsonl")
	if err != nil {
		return err
	}
	defer af.Close()
	prog := newProgress(env.stderr, "seed", "machines", int64(opts.Machines))
	var buf []byte
	var nm, nl, na int64
	started := false
	err = demo.Generate(opts, demo.Funcs{
		OnMachine: func(m openatp.Machine) error {
			if err := m.Normalize(); err != nil {
				return err
			}
			openatp.AssignGroup(nil, &m)
			buf = append(wire.AppendMachine(buf[:0], &m), '\n')
			nm++
			if nm%10000 == 0 {
				prog.set("machines", nm)
			}
			_, err := mw.Write(buf)
			return err
		},
		OnLogon: func(l openatp.Logon) error {
			if !started {
				started = true
				prog.phase("logons", int64(opts.Logons))
			}
			if err := l.Normalize(); err != nil {
				return err
			}
			buf = append(ingest.AppendLogon(buf[:0], &l), '\n')
			nl++
			if nl%10000 == 0 {
				prog.set("logons", nl)
			}
			_, err := lw.Write(buf)
			return err
		},
		OnAlert: func(a openatp.Alert) error {
			if na == 0 {
				prog.phase("alerts", int64(opts.Alerts))
			}
			buf = append(wire.AppendAlert(buf[:0], &a, true), '\n')
			if na++; na%10000 == 0 {
				prog.set("alerts", na)
			}
			_, err := aw.Write(buf)
			return err
		},
	})
	prog.done()
	if err != nil {
		return err
	}
	fs, ws := []*os.File{mf, lf, af}, []*bufio.Writer{mw, lw, aw}
	if actions > 0 {
		xf, xw, err := create("actions.jsonl")
		if err != nil {
			return err
		}
		defer xf.Close()
		fs, ws = append(fs, xf), append(ws, xw)
		err = demo.GenerateActions(opts, actions, func(a openatp.MachineAction) error {
			buf = append(wire.AppendMachineAction(buf[:0], &a), '\n')
			_, err := xw.Write(buf)
			return err
		})
		if err != nil {
			return err
		}
	}
	for i, f := range fs {
		if err := ws[i].Flush(); err != nil {
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return printJSON(env.stdout, map[string]any{"dir": dir, "machines": nm, "logons": nl, "alerts": na, "actions": actions, "users": opts.Users, "seed": opts.Seed})
}

// genSource is the records demo.Generate emits as an ingest.Source, so
// that `seed` writes them as `import` writes a file: generating in one
// goroutine while the store writes in another.
type genSource struct {
	// mu serializes Next and close: after an error, Load returns while its
	// reading goroutine may still be in Next (iter.Pull's functions must
	// not run concurrently, and progress is not safe for concurrent use).
	mu               sync.Mutex
	closed           bool
	next             func() (genRecord, bool)
	stop             func()
	progress         func(ingest.Kind, int64)
	cur              genRecord
	machines, logons int64 // emitted so far
	alerts           int64
	firstLogon       time.Time // when the first logon event was emitted
	firstAlert       time.Time // and the first alert
	err              error     // of Generate, once Next has returned io.EOF
}

type genRecord struct {
	kind ingest.Kind
	m    openatp.Machine
	l    openatp.Logon
	a    openatp.Alert
}

// newGenSource calls progress with the number of records of a kind
// emitted so far every few thousand records.
func newGenSource(opts demo.Options, progress func(ingest.Kind, int64)) *genSource {
	s := &genSource{progress: progress}
	s.next, s.stop = iter.Pull(func(yield func(genRecord) bool) {
		errStop := errors.New("stop")
		err := demo.Generate(opts, demo.Funcs{
			OnMachine: func(m openatp.Machine) error {
				if !yield(genRecord{kind: ingest.Machines, m: m}) {
					return errStop
				}
				return nil
			},
			OnLogon: func(l openatp.Logon) error {
				if !yield(genRecord{kind: ingest.Logons, l: l}) {
					return errStop
				}
				return nil
			},
			OnAlert: func(a openatp.Alert) error {
				if !yield(genRecord{kind: ingest.Alerts, a: a}) {
					return errStop
				}
				return nil
			},
		})
		if err != nil && !errors.Is(err, errStop) {
			s.err = err
		}
	})
	return s
}

// close stops the generator; Next then returns io.EOF.
func (s *genSource) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		s.stop()
	}
}

func (s *genSource) Next() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return io.EOF
	}
	var ok bool
	if s.cur, ok = s.next(); !ok {
		if s.err != nil {
			return s.err
		}
		return io.EOF
	}
	n := &s.machines
	switch s.cur.kind {
	case ingest.Logons:
		n = &s.logons
		if s.logons == 0 {
			s.firstLogon = time.Now()
		}
	case ingest.Alerts:
		n = &s.alerts
		if s.alerts == 0 {
			s.firstAlert = time.Now()
		}
	}
	if *n++; *n%4096 == 0 {
		s.progress(s.cur.kind, *n)
	}
	return nil
}

func (s *genSource) Kind() ingest.Kind        { return s.cur.kind }
func (s *genSource) Machine() openatp.Machine { return s.cur.m }
func (s *genSource) Logon() openatp.Logon     { return s.cur.l }
func (s *genSource) Alert() openatp.Alert     { return s.cur.a }
func (s *genSource) Line() int64              { return s.machines + s.logons + s.alerts }
