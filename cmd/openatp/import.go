package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/cmd/openatp/internal/vulncli"
	"github.com/openatp/openatp/ingest"
	"github.com/openatp/openatp/ingest/indicatorio"
	"github.com/openatp/openatp/ingest/vulnimport"
	"github.com/openatp/openatp/internal/timatch"
	"github.com/openatp/openatp/wire"
)

// runImport loads machines, logon events, alerts or machine actions from
// files into a tenant.
//
// With several files, --batch-size or a tenant that does not exist yet,
// every file is read twice: first
// every record is checked and nothing is written (a bad file is refused
// whole, whatever --batch-size says, and no file is imported), then the
// records are streamed into the store, each batch in one transaction. A
// single file imported as one batch is read once, inside its transaction,
// which a bad record rolls back.
// Without --batch-size a file is one batch; with it, batches commit one by
// one and each is reported on stderr, so that an interrupted import leaves
// whole batches and can simply be run again (re-importing changes
// nothing). "-" reads standard input in one pass: each batch is still
// all-or-nothing, but a bad record is found only when its batch is written.
func runImport(ctx context.Context, env *cliEnv, args []string) error {
	var sf storeFlags
	fs := newFlagSet(env, "import")
	sf.register(fs)
	tenant := fs.String("tenant", "", "tenant id or name (a new tenant of that name is created if absent)")
	kindFlag := fs.String("kind", "", "machines, logons, alerts, actions, fileevents, networkevents, indicators, or the TVM catalog or inventory (default: told from the first record's fields, not indicators)")
	formatFlag := fs.String("format", "", "jsonl, json or csv (default: by extension, else by the first byte)")
	batch := fs.Int64("batch-size", 0, "records per transaction (0: each file is one transaction)")
	validate := fs.Bool("validate", true, "with several files or --batch-size: check every record of every file before writing anything")
	chunk := fs.Int("chunk-size", 0, "records per write inside a transaction (memory, not atomicity; default 5000 machines, 20000 logon events or 1000 alerts)")
	maxRecord := fs.Int("max-record", ingest.DefaultMaxRecord, "largest record (or line) accepted, in bytes")
	cpuProfile := fs.String("cpu-profile", "", "write a Go CPU profile of the import to this file (diagnostics)")
	dryRun := fs.Bool("dry-run", false, "check every record of every file and print the summary, writing nothing (no store is opened)")
	if err := parseFlags(env, fs, args); err != nil {
		return err
	}
	if k, ok := vulnimport.ParseKind(*kindFlag); ok {
		return importTVM(ctx, env, &sf, *tenant, k, fs.Args(), *formatFlag, *maxRecord, *dryRun)
	}
	format, err := ingest.ParseFormat(*formatFlag)
	if err != nil {
		return fmt.Errorf("--format: %w", err)
	}
	if k := strings.ToLower(*kindFlag); (k == "indicators" || k == "indicator") && len(fs.Args()) > 0 && (*tenant != "" || *dryRun) {
		return importIndicators(ctx, env, &sf, *tenant, fs.Args(), format, *dryRun)
	}
	kind, err := ingest.ParseKind(*kindFlag)
	if err != nil {
		return fmt.Errorf("--kind: %w", err)
	}
	files := fs.Args()
	if len(files) == 0 {
		return fmt.Errorf("import: name at least one file (\"-\" for standard input)")
	}
	if *batch < 0 {
		return fmt.Errorf("--batch-size must be >= 0")
	}
	if *tenant == "" && !*dryRun {
		return fmt.Errorf("import: --tenant is required")
	}
	stopProfile, err := startCPUProfile(*cpuProfile)
	if err != nil {
		return err
	}
	defer stopProfile()
	opts := func(name string) ingest.Options {
		return ingest.Options{Format: format, Kind: kind, Name: name, MaxRecord: *maxRecord}
	}
	if *dryRun {
		out, err := checkFiles(env, files, opts, true)
		if err != nil {
			return err
		}
		return printJSON(env.stdout, out)
	}
	store, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer store.Close()

	start := time.Now()
	// One file in one batch into an existing tenant needs no separate
	// pass: its one transaction is rolled back by a bad record, and the
	// write lock is held while it is read either way. A new tenant is
	// created only after the files are checked, so that a failed import
	// creates nothing (standard input, which cannot be read twice, is
	// checked as it is written, after the tenant is created).
	_, err = store.Tenant(ctx, *tenant)
	newTenant := openatp.IsKind(err, openatp.NotFound)
	if err != nil && !newTenant {
		return err
	}
	if *validate && (len(files) > 1 || *batch > 0 || newTenant) {
		checked, err := checkFiles(env, files, opts, false)
		if err != nil {
			return fmt.Errorf("%w (nothing was imported)", err)
		}
		if newTenant {
			if err := machinesFirst(checked.Files, *tenant); err != nil {
				return fmt.Errorf("%w (nothing was imported)", err)
			}
		}
	}

	t, err := ensureTenant(ctx, store, *tenant)
	if err != nil {
		return err
	}

	out := importSummary{Tenant: t.ID, Name: t.Name, Ignored: map[string]int64{}, Files: []fileSummary{}}
	for _, name := range files {
		var in io.Reader = env.stdin
		if name != "-" {
			f, err := os.Open(name)
			if err != nil {
				return err
			}
			defer f.Close()
			in = f
		}
		fileStart := time.Now()
		if *batch > 0 {
			fmt.Fprintf(env.stderr, "import: %s: importing, %d records per transaction\n", name, *batch)
		} else {
			fmt.Fprintf(env.stderr, "import: %s: importing in one transaction\n", name)
		}
		r := ingest.NewReader(bufio.NewReaderSize(in, 1<<20), opts(name))
		// Records read (a few chunks ahead of the writes), on a terminal a
		// redrawn count, else a line every few seconds.
		var progMu sync.Mutex
		progDone := false
		prog := newProgress(env.stderr, "import", "records of "+filepath.Base(name), 0)
		sum, err := ingest.Import(ctx, store, t.ID, r, ingest.ImportOptions{
			BatchSize: *batch,
			ChunkSize: *chunk,
			OnEvents: func(ctx context.Context, fes []openatp.FileEvent, nes []openatp.NetworkEvent) error {
				return timatch.Events(ctx, store, t.ID, time.Now(), fes, nes)
			},
			OnRead: func(n int64) {
				progMu.Lock()
				defer progMu.Unlock()
				if !progDone { // after an error the reader may still run
					prog.set("", n)
				}
			},
			OnBatch: func(b ingest.BatchResult) {
				if *batch > 0 {
					progMu.Lock()
					prog.println(fmt.Sprintf("import: %s: batch %d committed: lines %d-%d, %d records", name, b.Number, b.FirstLine, b.LastLine, b.Records))
					progMu.Unlock()
				}
			},
		})
		progMu.Lock()
		prog.done()
		progDone = true
		progMu.Unlock()
		out.Records += sum.Records
		out.Batches += sum.Batches
		if err != nil {
			if sum.Batches > 0 {
				return fmt.Errorf("%w (%d earlier batches of %s were committed; importing it again after fixing it changes nothing for them)", err, sum.Batches, name)
			}
			var ie *ingest.Error
			if errors.As(err, &ie) || openatp.IsKind(err, openatp.Invalid) {
				return fmt.Errorf("%w (nothing of %s was imported)", err, name)
			}
			return err
		}
		el := time.Since(fileStart).Seconds()
		fmt.Fprintf(env.stderr, "import: %s: %d %s imported in %d batch(es), %.1f s (%.0f records/s)\n", name, sum.Records, sum.Kind, sum.Batches, el, float64(sum.Records)/max(el, 1e-9))
		ingest.MergeIgnored(out.Ignored, sum.Ignored)
		out.Files = append(out.Files, fileSummary{File: name, Kind: sum.Kind.String(), Records: sum.Records, Batches: sum.Batches, Ignored: sum.Ignored})
	}
	out.Seconds = time.Since(start).Seconds()
	out.Rate = float64(out.Records) / max(out.Seconds, 1e-9)
	return printJSON(env.stdout, out)
}

// importIndicators is `openatp import --kind indicators`
// (indicatorio.ImportFiles).
func importIndicators(ctx context.Context, env *cliEnv, sf *storeFlags, tenant string, files []string, format ingest.Format, dryRun bool) error {
	out, err := indicatorio.ImportFiles(ctx, env.stdin, files, format, dryRun, func() (openatp.Store, openatp.Tenant, error) {
		store, err := sf.open(ctx)
		if err != nil {
			return nil, openatp.Tenant{}, err
		}
		t, err := ensureTenant(ctx, store, tenant)
		return store, t, err
	})
	if err != nil {
		return err
	}
	return printJSON(env.stdout, out)
}

// importTVM imports vulnerability management's catalog or inventory.
func importTVM(ctx context.Context, env *cliEnv, sf *storeFlags, tenant string, k vulnimport.Kind, files []string, format string, maxRecord int, dry bool) error {
	f, err := ingest.ParseFormat(format)
	if err != nil || len(files) == 0 || tenant == "" && !dry {
		return fmt.Errorf("import --kind %s: give --tenant, files and a valid --format (%v)", k, err)
	}
	var store openatp.Store // none: --dry-run
	if !dry {
		if store, err = sf.open(ctx); err != nil {
			return err
		}
		defer store.Close()
	}
	out, err := vulncli.Import(ctx, store, tenant, k, files, ingest.Options{Format: f, MaxRecord: maxRecord}, env.stdin, env.stderr)
	if err != nil {
		return err
	}
	return printJSON(env.stdout, out)
}

// importSummary is what import prints on standard output.
type importSummary struct {
	Tenant  string           `json:"tenant,omitempty"` // not with --dry-run
	Name    string           `json:"name,omitempty"`
	Records int64            `json:"records"`
	Batches int              `json:"batches"`
	Ignored map[string]int64 `json:"ignored"`
	Seconds float64          `json:"seconds"`
	Rate    float64          `json:"records_per_second"`
	Files   []fileSummary    `json:"files"`
}

type fileSummary struct {
	File    string           `json:"file"`
	Kind    string           `json:"kind"`
	Records int64            `json:"records"`
	Batches int              `json:"batches"`
	Ignored map[string]int64 `json:"ignored"`
}

// checkFiles reads and checks every record of every file, as import
// would, writing nothing, and returns the summary import would print (with
// no batches). The first bad record is the error. Standard input ("-") is
// checked only if stdin says so: it cannot be read twice.
func checkFiles(env *cliEnv, files []string, opts func(string) ingest.Options, stdin bool) (importSummary, error) {
	start := time.Now()
	out := importSummary{Ignored: map[string]int64{}, Files: []fileSummary{}}
	for _, name := range files {
		var in io.Reader = env.stdin
		if name == "-" && !stdin {
			continue
		}
		if name != "-" {
			f, err := os.Open(name)
			if err != nil {
				return out, err
			}
			defer f.Close()
			in = f
		}
		sum, err := ingest.Validate(ingest.NewReader(bufio.NewReaderSize(in, 1<<20), opts(name)))
		if err != nil {
			return out, err
		}
		fmt.Fprintf(env.stderr, "import: %s: %d %s checked\n", name, sum.Records, sum.Kind)
		out.Records += sum.Records
		ingest.MergeIgnored(out.Ignored, sum.Ignored)
		out.Files = append(out.Files, fileSummary{File: name, Kind: sum.Kind.String(), Records: sum.Records, Ignored: sum.Ignored})
	}
	out.Seconds = time.Since(start).Seconds()
	out.Rate = float64(out.Records) / max(out.Seconds, 1e-9)
	return out, nil
}

// machinesFirst refuses, before a new tenant is created, files whose
// logon events or machine actions would fail in the store: they name a
// machine, which a new tenant has only if an earlier file brought it
// (machines, or alerts, which create theirs).
func machinesFirst(files []fileSummary, tenant string) error {
	for _, f := range files {
		switch {
		case f.Records == 0:
		case f.Kind != ingest.Machines.String() && f.Kind != ingest.Alerts.String():
			what := map[string]string{"actions": "machine actions", "logons": "logon events"}[f.Kind]
			if what == "" {
				what = "events"
			}
			return fmt.Errorf("%s: %s name machines, and tenant %q is new: import its machines first (in an earlier file of the same command, or before)", f.File, what, tenant)
		default:
			return nil
		}
	}
	return nil
}

// ensureTenant finds a tenant by id or name, creating one of that name if
// there is none.
func ensureTenant(ctx context.Context, store openatp.Store, idOrName string) (openatp.Tenant, error) {
	t, err := store.Tenant(ctx, idOrName)
	if openatp.IsKind(err, openatp.NotFound) {
		if t, err = openatp.NewTenant(idOrName, time.Now()); err != nil {
			return t, err
		}
		if err = store.CreateTenant(ctx, t); openatp.IsKind(err, openatp.Conflict) {
			return store.Tenant(ctx, idOrName) // created meanwhile
		}
	}
	return t, err
}

// errStop ends a Snapshot early.
var errStop = errors.New("stop")

// runExport writes a tenant's machines (the Machine JSON of the API),
// logon events (records that recreate every (user, machine) relation) or
// alerts (the Alert JSON of the API, evidence included) or machine
// actions (the MachineAction JSON of the API) as JSON Lines, in a
// deterministic order: machines and alerts by id, logons by user then
// machine id, actions by lastUpdateDateTimeUtc.
func runExport(ctx context.Context, env *cliEnv, args []string) error {
	var sf storeFlags
	fs := newFlagSet(env, "export")
	sf.register(fs)
	tenant := fs.String("tenant", "", "tenant id or name")
	kindFlag := fs.String("kind", "machines", "machines, logons, alerts, actions or indicators")
	outFile := fs.String("out", "-", "output file (- for standard output)")
	if err := parseFlags(env, fs, args); err != nil {
		return err
	}
	kind, err := ingest.ParseKind(*kindFlag)
	indicators := strings.EqualFold(*kindFlag, "indicators")
	if (err != nil || kind == ingest.Unknown) && !indicators {
		return fmt.Errorf("--kind: use machines, logons, alerts, actions or indicators")
	}
	store, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	t, err := store.Tenant(ctx, *tenant)
	if err != nil {
		return tenantError(*tenant, err)
	}
	var w io.Writer = env.stdout
	var f *os.File
	if *outFile != "-" {
		if f, err = os.Create(*outFile); err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	var buf []byte
	var n int64
	switch {
	case indicators:
		var ins []openatp.Indicator
		if ins, err = store.Indicators(ctx, t.ID); err == nil {
			n, err = int64(len(ins)), indicatorio.WriteLines(bw, ins)
		}
	case kind == ingest.Actions:
		err = ingest.ExportActions(ctx, store, t.ID, func(a *openatp.MachineAction) error {
			buf = append(wire.AppendMachineAction(buf[:0], a), '\n')
			n++
			_, err := bw.Write(buf)
			return err
		})
	case kind == ingest.Alerts:
		err = store.ScanAlerts(ctx, t.ID, func(a openatp.Alert) error {
			buf = append(wire.AppendAlert(buf[:0], &a, true), '\n')
			n++
			_, err := bw.Write(buf)
			return err
		})
	case kind == ingest.Machines:
		err = store.Snapshot(ctx, t.ID, func(m openatp.Machine) error {
			buf = append(wire.AppendMachine(buf[:0], &m), '\n')
			n++
			_, err := bw.Write(buf)
			return err
		}, func(openatp.UserMachine) error { return errStop })
	default:
		err = store.Snapshot(ctx, t.ID, func(openatp.Machine) error { return nil }, func(r openatp.UserMachine) error {
			for _, l := range ingest.RelationLogons(r) {
				buf = append(ingest.AppendLogon(buf[:0], &l), '\n')
				n++
				if _, err := bw.Write(buf); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err != nil && !errors.Is(err, errStop) {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if f != nil {
		if err := f.Close(); err != nil {
			return err
		}
	}
	fmt.Fprintf(env.stderr, "export: %d %s\n", n, strings.ToLower(*kindFlag))
	return nil
}
