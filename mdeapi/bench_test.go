package mdeapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/apitest"
	"github.com/openatp/openatp/auth"
	"github.com/openatp/openatp/fault"
	"github.com/openatp/openatp/httpserve"
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

// BenchmarkUserMachines measures the endpoint's handler stack (request id,
// token check, data-version check, index lookup, encoding) for random users
// of a generated tenant, beside a handler that writes a fixed body of the
// same mean size, in the same run. It reports both costs and their ratio.
// The end-to-end figure through sockets is bench/load.sh's.
// benchTenant is a generated tenant on SQLite behind a warmed server,
// with an application token and a delegated user's token (two of the
// demo's device groups are outside the user's groups).
type benchTenant struct {
	h         http.Handler
	tok, dtok string
	ms        []openatp.Machine
	ls        []openatp.Logon
	as        []openatp.Alert
	store     openatp.Store
	verifier  httpserve.Verifier
	tenant    openatp.Tenant
}

func newBenchTenant(b *testing.B, opts demo.Options) *benchTenant {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "openatp.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	tn, _ := openatp.NewTenant("bench.example", time.Now())
	app, _, _ := openatp.NewApp(tn.ID, "bench", []string{openatp.PermMachineReadAll, openatp.PermAlertReadAll}, nil, time.Now())
	if err := store.CreateTenant(ctx, tn); err != nil {
		b.Fatal(err)
	}
	if err := store.CreateApp(ctx, app); err != nil {
		b.Fatal(err)
	}
	var ms []openatp.Machine
	var ls []openatp.Logon
	var as []openatp.Alert
	opts.Seed = 1
	err = demo.Generate(opts, demo.Funcs{
		OnMachine: func(m openatp.Machine) error { ms = append(ms, m); return nil },
		OnLogon:   func(l openatp.Logon) error { ls = append(ls, l); return nil },
		OnAlert:   func(a openatp.Alert) error { as = append(as, a); return nil },
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
	if len(as) > 0 {
		if err := store.UpsertAlerts(ctx, tn.ID, as); err != nil {
			b.Fatal(err)
		}
	}
	svc, err := auth.New(ctx, store, auth.Options{})
	if err != nil {
		b.Fatal(err)
	}
	tok, _, err := svc.Mint(ctx, auth.MintRequest{Tenant: tn, App: app, BaseURL: "http://bench.local", Version: 1, Audience: auth.Audiences[0]})
	if err != nil {
		b.Fatal(err)
	}
	// RBAC for the delegated Caller: the demo's device groups, two of them
	// restricted to a group the Caller is not in.
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
	server := apitest.NewServer(apitest.Config{Store: store, Verifier: svc})
	b.Cleanup(func() { server.Close() })
	if err := server.Warm(ctx, tn.ID); err != nil {
		b.Fatal(err)
	}
	h := server.Handler()
	return &benchTenant{h: h, tok: tok, dtok: dtok, ms: ms, ls: ls, as: as, store: store, verifier: svc, tenant: tn}
}

// userRequests returns 1,000 requests for the machines of random users
// (the generator's user order is random) with the token.
func userRequests(ls []openatp.Logon, tok string) []*http.Request {
	var reqs []*http.Request
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
	}
	return reqs
}

func BenchmarkUserMachines(b *testing.B) {
	bt := newBenchTenant(b, demo.Options{Machines: 20000, Users: 5000, Logons: 60000})
	h, tok, dtok, ls := bt.h, bt.tok, bt.dtok, bt.ls

	reqs, dreqs := userRequests(ls, tok), userRequests(ls, dtok)
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
	server := apitest.NewServer(apitest.Config{Store: store})
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

// BenchmarkAlertPoll measures the documented alert poll
// ("$filter=lastUpdateTime ge <a random alert's stamp>&$top=100", pages of
// 100 alerts, about 120 KB) through a real loopback listener, beside a
// handler that writes a fixed body of the same mean size through another,
// request by request in the same run: it reports the cost of each and
// their ratio (bench/load.sh ROUTE=alerts is the same through wrk, on a
// tenant of 1,000,000 alerts).
func BenchmarkAlertPoll(b *testing.B) {
	bt := newBenchTenant(b, demo.Options{Machines: 5000, Users: 2000, Alerts: 50000})
	as := bt.as
	r := loopbackVersusBaseline(b, bt.h, bt.tok, func(i int) string {
		at := as[(i*7919)%(len(as)-100)].LastUpdateTime.UTC().Format("2006-01-02T15:04:05.0000000Z")
		return "/api/alerts?$filter=lastUpdateTime+ge+" + at + "&$top=100"
	})
	b.ReportMetric(float64(r.realNs.Nanoseconds())/float64(r.n), "ns/poll")
	b.ReportMetric(float64(r.baseNs.Nanoseconds())/float64(r.n), "ns/baseline")
	b.ReportMetric(float64(r.baseNs)/float64(r.realNs), "x-baseline-rate")
	b.ReportMetric(float64(r.size), "bytes/answer")
}

// loopbackResult is what loopbackVersusBaseline measured: n requests of
// each kind, their time and bytes.
type loopbackResult struct {
	n                    int
	realNs, baseNs       time.Duration
	realBytes, baseBytes int64
	size                 int64 // the fixed body's: the mean of 20 answers
}

// loopbackVersusBaseline drives path(i) with tok through a real loopback
// listener on h and, request by request in turn, a handler that writes a
// fixed body of the answers' mean size through another listener.
func loopbackVersusBaseline(b *testing.B, h http.Handler, tok string, path func(i int) string) loopbackResult {
	srv := httptest.NewServer(h)
	defer srv.Close()
	get := func(url, tok string) int64 {
		req, _ := http.NewRequest("GET", url, nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
			req.Host = "bench.local" // the tokens' issuer
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		n, err := io.Copy(io.Discard, resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("%s: %d %v", url, resp.StatusCode, err)
		}
		return n
	}
	var r loopbackResult
	for i := range 20 {
		r.size += get(srv.URL+path(i), tok)
	}
	r.size /= 20
	body := bytes.Repeat([]byte("x"), int(r.size))
	base := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	defer base.Close()
	for b.Loop() {
		r.n++
		t0 := time.Now()
		r.realBytes += get(srv.URL+path(r.n), tok)
		t1 := time.Now()
		r.baseBytes += get(base.URL, "")
		r.realNs += t1.Sub(t0)
		r.baseNs += time.Since(t1)
	}
	return r
}

// BenchmarkMachinePage measures full pages of 10,000 machines
// (GET /api/machines?$top=10000&$skiptoken=…) through a real loopback
// listener, beside a handler that writes a fixed body of the same size
// through another, in the same run: it reports the byte rate of each and
// their ratio (bench/load.sh ROUTE=page is the same through wrk).
func BenchmarkMachinePage(b *testing.B) {
	bt := newBenchTenant(b, demo.Options{Machines: 30000, Users: 5000, Logons: 60000})
	ids := make([]string, len(bt.ms))
	for i, m := range bt.ms {
		ids[i] = m.ID
	}
	slices.Sort(ids)
	r := loopbackVersusBaseline(b, bt.h, bt.tok, func(i int) string {
		return "/api/machines?$top=10000&$skiptoken=" + ids[(i*7919)%(len(ids)-10000)]
	})
	realRate := float64(r.realBytes) / r.realNs.Seconds()
	baseRate := float64(r.baseBytes) / r.baseNs.Seconds()
	b.ReportMetric(realRate/1e6, "MB/s-endpoint")
	b.ReportMetric(baseRate/1e6, "MB/s-baseline")
	b.ReportMetric(realRate/baseRate, "x-baseline")
	b.ReportMetric(float64(r.size), "bytes/page")
}

// BenchmarkJournal measures what the request journal and a fault rule cost
// the endpoint's handler stack: the same requests, taken in turn, by
// servers over one store with the journal off, on (the default size), and
// off with one fault rule that matches no request (the same route, another
// application), in the same run. The end-to-end figures are bench/load.sh's
// (JOURNAL=on, FAULT_RULE=nomatch).
func BenchmarkJournal(b *testing.B) {
	bt := newBenchTenant(b, demo.Options{Machines: 20000, Users: 5000, Logons: 60000})
	reqs := userRequests(bt.ls, bt.tok)
	ctx := context.Background()
	handler := func(journalSize int, rules ...string) http.Handler {
		s := apitest.NewServer(apitest.Config{Store: bt.store, Verifier: bt.verifier, JournalSize: journalSize})
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
	rule := handler(-1, `{"route":"GET /api/users/{id}/machines","user":"nobody@nomatch.example","kind":"error","status":503}`)
	serve := func(h http.Handler, d *discard, r *http.Request) time.Duration {
		clear(d.h)
		t0 := time.Now()
		h.ServeHTTP(d, r)
		return time.Since(t0)
	}
	var offNs, onNs, ruleNs time.Duration
	d := &discard{h: http.Header{}}
	i := 0
	for b.Loop() {
		r := reqs[i%len(reqs)]
		// The three in turn, each first as often as the others: the first
		// of a request pays its cache misses.
		switch i % 3 {
		case 0:
			offNs += serve(off, d, r)
			onNs += serve(on, d, r)
			ruleNs += serve(rule, d, r)
		case 1:
			onNs += serve(on, d, r)
			ruleNs += serve(rule, d, r)
			offNs += serve(off, d, r)
		default:
			ruleNs += serve(rule, d, r)
			offNs += serve(off, d, r)
			onNs += serve(on, d, r)
		}
		i++
	}
	b.ReportMetric(float64(offNs.Nanoseconds())/float64(i), "ns/off")
	b.ReportMetric(float64(onNs.Nanoseconds())/float64(i), "ns/journal")
	b.ReportMetric(float64(ruleNs.Nanoseconds())/float64(i), "ns/nomatch-rule")
	b.ReportMetric(float64(onNs)/float64(offNs), "journal/off")
	b.ReportMetric(float64(ruleNs)/float64(offNs), "nomatch-rule/off")
}
