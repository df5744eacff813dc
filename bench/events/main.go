// Command events measures the observed events of issue 24 on a fresh
// SQLite store: the import rate of file and network events beside the
// logon import's (the baseline, measured in the same run on the same
// store), then the look-back of a custom indicator over the stored events
// (internal/timatch) beside the read of the same events in full (the
// baseline). It leaves the store in -db, with the tenant bench.example,
// for bench/events.sh to serve.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"runtime/pprof"
	"slices"
	"syscall"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/demo"
	"github.com/openatp/openatp/internal/timatch"
	"github.com/openatp/openatp/sqlite"
)

// cpu is the CPU time of the process so far (user and system).
func cpu() time.Duration {
	var r syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &r); err != nil {
		log.Fatal(err)
	}
	return time.Duration(r.Utime.Nano() + r.Stime.Nano())
}

func main() {
	dbPath := flag.String("db", "", "a new SQLite file")
	machines := flag.Int("machines", 100000, "machines")
	logons := flag.Int("logons", 1000000, "logon events of the baseline")
	files := flag.Int("file-events", 4000000, "file events")
	conns := flag.Int("network-events", 1000000, "network events")
	batch := flag.Int("batch", 20000, "events a transaction")
	cpuprofile := flag.String("cpuprofile", "", "write the CPU profile of the event import to this file")
	flag.Parse()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, *dbPath)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	tenant := openatp.Tenant{ID: "00000000-0000-4000-8000-00000000e001", Name: "bench.example"}
	if err := db.CreateTenant(ctx, tenant); err != nil {
		log.Fatal(err)
	}
	o := demo.Options{Seed: 1, Machines: *machines, Logons: *logons, Start: time.Now().UTC().Truncate(time.Hour)}
	var ms []openatp.Machine
	var ls []openatp.Logon
	err = demo.Generate(o, demo.Funcs{
		OnMachine: func(m openatp.Machine) error { ms = append(ms, m); return nil },
		OnLogon:   func(l openatp.Logon) error { ls = append(ls, l); return nil },
	})
	if err != nil {
		log.Fatal(err)
	}
	for c := range slices.Chunk(ms, 10000) {
		if err := db.UpsertMachines(ctx, tenant.ID, c); err != nil {
			log.Fatal(err)
		}
	}
	// The baseline: the logon import, batch events a transaction.
	start, cpu0 := time.Now(), cpu()
	for c := range slices.Chunk(ls, *batch) {
		if err := db.AddLogons(ctx, tenant.ID, c); err != nil {
			log.Fatal(err)
		}
	}
	logonRate := float64(len(ls)) / time.Since(start).Seconds()
	logonCPU := float64(len(ls)) / (cpu() - cpu0).Seconds()
	ls = nil

	// The events, generated a batch at a time (not timed), then imported.
	var fes []openatp.FileEvent
	var nes []openatp.NetworkEvent
	var fileTime, netTime, evCPU time.Duration
	var rareSHA1 string
	flush := func(at int) error {
		if len(fes) >= at && len(fes) > 0 {
			start, c := time.Now(), cpu()
			for i := range fes { // as an import's reader does, timed
				if err := fes[i].Normalize(); err != nil {
					return err
				}
			}
			if err := db.AddNormalizedFileEvents(ctx, tenant.ID, fes); err != nil {
				return err
			}
			fileTime, evCPU = fileTime+time.Since(start), evCPU+cpu()-c
			fes = fes[:0]
		}
		if len(nes) >= at && len(nes) > 0 {
			start, c := time.Now(), cpu()
			for i := range nes { // as an import's reader does, timed
				if err := nes[i].Normalize(); err != nil {
					return err
				}
			}
			if err := db.AddNormalizedNetworkEvents(ctx, tenant.ID, nes); err != nil {
				return err
			}
			netTime, evCPU = netTime+time.Since(start), evCPU+cpu()-c
			nes = nes[:0]
		}
		return nil
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
	}
	err = demo.GenerateEvents(o, *files, *conns,
		func(e openatp.FileEvent) error {
			if e.FileName == "mimikatz.exe" {
				rareSHA1 = e.SHA1
			}
			fes = append(fes, e)
			return flush(*batch)
		},
		func(e openatp.NetworkEvent) error { nes = append(nes, e); return flush(*batch) })
	if err == nil {
		err = flush(0)
	}
	if err != nil {
		log.Fatal(err)
	}
	pprof.StopCPUProfile()
	fileSecs, netSecs := fileTime.Seconds(), netTime.Seconds()
	fileRate, netRate := float64(*files)/fileSecs, float64(*conns)/netSecs
	all := float64(*files+*conns) / (fileSecs + netSecs)
	fmt.Printf("import: logons %.0f/s (baseline), file events %.0f/s (%.2fx), network events %.0f/s (%.2fx), all events %.0f/s (%.2fx)\n",
		logonRate, fileRate, fileRate/logonRate, netRate, netRate/logonRate, all, all/logonRate)
	allCPU := float64(*files+*conns) / evCPU.Seconds()
	fmt.Printf("import per second of process CPU (steadier on a shared machine): logons %.0f/s, all events %.0f/s (%.2fx)\n",
		logonCPU, allCPU, allCPU/logonCPU)

	// The look-back of indicators: a rare file (a few machines, many
	// events), a rare host, a value no event has; the baseline reads the
	// value's events in full, as the look-back did before sightings.
	cases := []struct {
		name, typ, value string
		read             func() (int, error)
	}{
		{"file on 3 machines", openatp.IndicatorFileSha1, rareSHA1, nil},
		{"domain on 3 machines", openatp.IndicatorDomainName, "xmr-pool.example-mine.net", nil},
		{"file on no machine", openatp.IndicatorFileSha1, "0123456789012345678901234567890123456789", nil},
	}
	for i, c := range cases {
		in := openatp.Indicator{ID: fmt.Sprint(900000 + i), IndicatorType: c.typ, IndicatorValue: c.value, Action: "Alert",
			Severity: "High", Title: c.name, GenerateAlert: true}
		start := time.Now()
		if err := timatch.LookBack(ctx, db, tenant.ID, time.Now(), []openatp.Indicator{in}); err != nil {
			log.Fatal(err)
		}
		lb := time.Since(start)
		start = time.Now()
		var n int
		if c.typ == openatp.IndicatorDomainName {
			es, err := db.NetworkEvents(ctx, tenant.ID, openatp.EventFilter{Domain: c.value})
			if err != nil {
				log.Fatal(err)
			}
			n = len(es)
		} else {
			es, err := db.FileEvents(ctx, tenant.ID, openatp.EventFilter{Hash: c.value})
			if err != nil {
				log.Fatal(err)
			}
			n = len(es)
		}
		full := time.Since(start)
		fmt.Printf("look-back over %d events, %s (%d events): %.1f ms; baseline (the %d events read in full) %.1f ms (%.2fx)\n",
			*files+*conns, c.name, n, float64(lb.Microseconds())/1000, n, float64(full.Microseconds())/1000, float64(full)/float64(max(lb, 1)))
	}
	fmt.Printf("sha1 %s\n", cases[0].value)
}
