package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/api"
	"github.com/openatp/openatp/auth"
	"github.com/openatp/openatp/fault"
	"github.com/openatp/openatp/internal/demo"
	"github.com/openatp/openatp/sqlite"
)

// discard is a minimal ResponseWriter, so the benchmark measures handlers,
// not the recorder.
type discard struct {
	h http.Header
	n int
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) WriteHeader(int)             {}
func (d *discard) Write(b []byte) (int, error) { d.n += len(b); return len(b), nil }

// benchTenant is a generated tenant (20,000 machines, 5,000 users) in a
// SQLite store, and 1,000 requests for random users by an application
// (reqs) and by a delegated caller restricted to some device groups
// (dreqs).
type benchTenant struct {
	store       openatp.Store
	verifier    api.Verifier
	tenant      openatp.Tenant
	reqs, dreqs []*http.Request
}

func newBenchTenant(b *testing.B) *benchTenant {
	b.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "openatp.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	tn, _ := openatp.NewTenant("bench.example", time.Now())
	app, _, _ := openatp.NewApp(tn.ID, "bench", []string{openatp.PermMachineReadAll}, nil, time.Now())
	if err := store.CreateTenant(ctx, tn); err != nil {
		b.Fatal(err)
	}
	if err := store.CreateApp(ctx, app); err != nil {
		b.Fatal(err)
	}
	var ms []openatp.Machine
	var ls []openatp.Logon
	err = demo.Generate(demo.Options{Seed: 1, Machines: 20000, Users: 5000, Logons: 60000}, demo.Funcs{
		OnMachine: func(m openatp.Machine) error { ms = append(ms, m); return nil },
		OnLogon:   func(l openatp.Logon) error { ls = append(ls, l); return nil },
	})
	if err != nil {
		b.Fatal(err)
	}
	if err := store.UpsertMachines(ctx, tn.ID, ms); err != nil {
		b.Fatal(err)
	}
	if err := store.AddLogons(ctx, tn.ID, ls); err != nil {
		b.Fatal(err)
	}
	svc, err := auth.New(ctx, store, auth.Options{})
	if err != nil {
		b.Fatal(err)
	}
	tok, _, err := svc.Mint(ctx, auth.MintRequest{Tenant: tn, App: app, BaseURL: "http://bench.local", Version: 1, Audience: auth.Audiences[0]})
	if err != nil {
		b.Fatal(err)
	}
	// RBAC for the delegated caller: the demo's device groups, two of them
	// restricted to a group the caller is not in.
	for i, g := range demo.Groups() {
		if i%2 == 0 {
			g.UserGroups = []string{"other"}
		}
		if err := store.CreateGroup(ctx, tn.ID, g); err != nil {
			b.Fatal(err)
		}
	}
	if err := store.PutRole(ctx, tn.ID, openatp.Role{Name: "Viewer", Permissions: []string{openatp.PermViewData}, UserGroups: []string{"analysts"}}); err != nil {
		b.Fatal(err)
	}
	dapp, _, _ := openatp.NewApp(tn.ID, "native", nil, []string{openatp.PermMachineRead}, time.Now())
	if err := store.CreateApp(ctx, dapp); err != nil {
		b.Fatal(err)
	}
	dtok, _, err := svc.Mint(ctx, auth.MintRequest{Tenant: tn, App: dapp, BaseURL: "http://bench.local", Version: 1, Audience: auth.Audiences[0],
		User: &openatp.DirectoryUser{ID: openatp.NewGUID(), UserName: "ana", Groups: []string{"analysts"}}})
	if err != nil {
		b.Fatal(err)
	}
	// 1,000 requests for random users (the generator's user order is random).
	var reqs, dreqs []*http.Request
	seen := map[string]bool{}
	for _, l := range ls {
		if len(reqs) == 1000 {
			break
		}
		if seen[l.AccountName] {
			continue
		}
		seen[l.AccountName] = true
		r := httptest.NewRequest("GET", "http://bench.local/api/users/"+l.AccountName+"/machines", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		reqs = append(reqs, r)
		dr := httptest.NewRequest("GET", "http://bench.local/api/users/"+l.AccountName+"/machines", nil)
		dr.Header.Set("Authorization", "Bearer "+dtok)
		dreqs = append(dreqs, dr)
	}
	return &benchTenant{store: store, verifier: svc, tenant: tn, reqs: reqs, dreqs: dreqs}
}

// serve answers a request on h into a discarding writer (its header
// cleared first) and returns the body bytes written.
func serve(h http.Handler, d *discard, r *http.Request) int {
	clear(d.h)
	d.n = 0
	h.ServeHTTP(d, r)
	return d.n
}

// BenchmarkUserMachines measures the endpoint's handler stack (request id,
// token check, data-version check, index lookup, encoding) for random users
// of a generated tenant, beside a handler that writes a fixed body of the
// same mean size, in the same run. It reports both costs and their ratio.
// The end-to-end figure through sockets is bench/load.sh's.
func BenchmarkUserMachines(b *testing.B) {
	bt := newBenchTenant(b)
	reqs, dreqs := bt.reqs, bt.dreqs
	server := api.NewServer(api.Config{Store: bt.store, Verifier: bt.verifier})
	defer server.Close()
	if err := server.Warm(context.Background(), bt.tenant.ID); err != nil {
		b.Fatal(err)
	}
	h := server.Handler()
	total := 0
	for _, r := range reqs {
		d := &discard{h: http.Header{}}
		h.ServeHTTP(d, r)
		total += d.n
	}
	body := bytes.Repeat([]byte("x"), total/len(reqs))
	baseline := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})

	var realNs, baseNs, delNs time.Duration
	d := &discard{h: http.Header{}}
	i := 0
	for b.Loop() {
		r, dr := reqs[i%len(reqs)], dreqs[i%len(dreqs)]
		i++
		clear(d.h)
		t0 := time.Now()
		h.ServeHTTP(d, r)
		t1 := time.Now()
		clear(d.h)
		baseline.ServeHTTP(d, r)
		t2 := time.Now()
		clear(d.h)
		h.ServeHTTP(d, dr)
		t3 := time.Now()
		realNs += t1.Sub(t0)
		baseNs += t2.Sub(t1)
		delNs += t3.Sub(t2)
	}
	b.ReportMetric(float64(realNs.Nanoseconds())/float64(i), "ns/endpoint")
	b.ReportMetric(float64(delNs.Nanoseconds())/float64(i), "ns/delegated")
	b.ReportMetric(float64(baseNs.Nanoseconds())/float64(i), "ns/baseline")
	b.ReportMetric(float64(realNs)/float64(baseNs), "x-baseline")
	b.ReportMetric(float64(delNs)/float64(realNs), "delegated/app")
	b.ReportMetric(float64(total/len(reqs)), "bytes/answer")
}

// BenchmarkGroupRecompute measures what a device-group rule change costs
// before answers come from memory again: the store's write, then the
// index's recomputation of every machine's group (machines are not reread).
func BenchmarkGroupRecompute(b *testing.B) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "openatp.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	tn, _ := openatp.NewTenant("bench.example", time.Now())
	if err := store.CreateTenant(ctx, tn); err != nil {
		b.Fatal(err)
	}
	const n = 100000
	var ms []openatp.Machine
	err = demo.Generate(demo.Options{Seed: 1, Machines: n, Users: n / 5, Logons: n}, demo.Funcs{
		OnMachine: func(m openatp.Machine) error { ms = append(ms, m); return nil },
	})
	if err != nil {
		b.Fatal(err)
	}
	if err := store.UpsertMachines(ctx, tn.ID, ms); err != nil {
		b.Fatal(err)
	}
	groups := demo.Groups()
	for _, g := range groups {
		if err := store.CreateGroup(ctx, tn.ID, g); err != nil {
			b.Fatal(err)
		}
	}
	server := api.NewServer(api.Config{Store: store})
	defer server.Close()
	full := time.Now()
	if err := server.Warm(ctx, tn.ID); err != nil {
		b.Fatal(err)
	}
	fullNs := float64(time.Since(full).Nanoseconds()) / n
	i := 0
	b.ResetTimer()
	for b.Loop() {
		g := groups[i%len(groups)]
		g.Rank = len(groups) - i%len(groups) // move it around
		i++
		if err := store.UpdateGroup(ctx, tn.ID, g); err != nil {
			b.Fatal(err)
		}
		if err := server.Warm(ctx, tn.ID); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/machine-recompute")
	b.ReportMetric(fullNs, "ns/machine-full-build")
}

// BenchmarkJournal measures what the request journal and a fault rule cost
// the endpoint's handler stack: the same requests, taken in turn, by
// servers over one store with the journal off, on (the default size), and
// off with one fault rule that matches no request (the same route, another
// application), in the same run. The end-to-end figures are bench/load.sh's
// (JOURNAL=on, FAULT_RULE=nomatch).
func BenchmarkJournal(b *testing.B) {
	bt := newBenchTenant(b)
	ctx := context.Background()
	handler := func(journalSize int, rules ...string) http.Handler {
		s := api.NewServer(api.Config{Store: bt.store, Verifier: bt.verifier, JournalSize: journalSize})
		b.Cleanup(func() { s.Close() })
		for _, js := range rules {
			var r fault.Rule
			if err := json.Unmarshal([]byte(js), &r); err != nil {
				b.Fatal(err)
			}
			if _, err := s.AddFault(ctx, r); err != nil {
				b.Fatal(err)
			}
		}
		if err := s.Warm(ctx, bt.tenant.ID); err != nil {
			b.Fatal(err)
		}
		return s.Handler()
	}
	off, on := handler(-1), handler(0)
	rule := handler(-1, `{"route":"GET /api/users/{id}/machines","app":"00000000-0000-0000-0000-000000000000","kind":"error","status":503}`)
	var offNs, onNs, ruleNs time.Duration
	d := &discard{h: http.Header{}}
	i := 0
	for b.Loop() {
		r := bt.reqs[i%len(bt.reqs)]
		i++
		t0 := time.Now()
		serve(off, d, r)
		t1 := time.Now()
		serve(on, d, r)
		t2 := time.Now()
		serve(rule, d, r)
		t3 := time.Now()
		offNs += t1.Sub(t0)
		onNs += t2.Sub(t1)
		ruleNs += t3.Sub(t2)
	}
	b.ReportMetric(float64(offNs.Nanoseconds())/float64(i), "ns/off")
	b.ReportMetric(float64(onNs.Nanoseconds())/float64(i), "ns/journal")
	b.ReportMetric(float64(ruleNs.Nanoseconds())/float64(i), "ns/nomatch-rule")
	b.ReportMetric(float64(onNs)/float64(offNs), "journal/off")
	b.ReportMetric(float64(ruleNs)/float64(offNs), "nomatch-rule/off")
}
