package api_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/api"
	"github.com/openatp/openatp/auth"
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
func BenchmarkUserMachines(b *testing.B) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "openatp.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
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
	server := api.NewServer(api.Config{Store: store, Verifier: svc})
	defer server.Close()
	if err := server.Warm(ctx, tn.ID); err != nil {
		b.Fatal(err)
	}
	h := server.Handler()

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

// BenchmarkAlertPoll measures the documented alert poll
// ("$filter=lastUpdateTime ge <a random alert's stamp>&$top=100", pages of
// 100 alerts) through the handler stack, beside a handler writing a fixed
// body of the same mean size, in the same run; it reports both costs and
// their ratio. bench/load.sh ROUTE=alerts measures it through sockets.
func BenchmarkAlertPoll(b *testing.B) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "openatp.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	tn, _ := openatp.NewTenant("bench.example", time.Now())
	app, _, _ := openatp.NewApp(tn.ID, "bench", []string{openatp.PermAlertReadAll}, nil, time.Now())
	if err := store.CreateTenant(ctx, tn); err != nil {
		b.Fatal(err)
	}
	if err := store.CreateApp(ctx, app); err != nil {
		b.Fatal(err)
	}
	var ms []openatp.Machine
	var as []openatp.Alert
	err = demo.Generate(demo.Options{Seed: 1, Machines: 5000, Users: 2000, Alerts: 50000}, demo.Funcs{
		OnMachine: func(m openatp.Machine) error { ms = append(ms, m); return nil },
		OnAlert:   func(a openatp.Alert) error { as = append(as, a); return nil },
	})
	if err != nil {
		b.Fatal(err)
	}
	if err := store.UpsertMachines(ctx, tn.ID, ms); err != nil {
		b.Fatal(err)
	}
	if err := store.UpsertAlerts(ctx, tn.ID, as); err != nil {
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
	server := api.NewServer(api.Config{Store: store, Verifier: svc})
	defer server.Close()
	if err := server.Warm(ctx, tn.ID); err != nil {
		b.Fatal(err)
	}
	h := server.Handler()
	var reqs []*http.Request
	for i := range 1000 {
		at := as[(i*7919)%(len(as)-100)].LastUpdateTime.UTC().Format("2006-01-02T15:04:05.0000000Z")
		r := httptest.NewRequest("GET", "http://bench.local/api/alerts?$filter=lastUpdateTime+ge+"+at+"&$top=100", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		reqs = append(reqs, r)
	}
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
	var realNs, baseNs time.Duration
	d := &discard{h: http.Header{}}
	i := 0
	for b.Loop() {
		r := reqs[i%len(reqs)]
		i++
		clear(d.h)
		t0 := time.Now()
		h.ServeHTTP(d, r)
		t1 := time.Now()
		clear(d.h)
		baseline.ServeHTTP(d, r)
		realNs += t1.Sub(t0)
		baseNs += time.Since(t1)
	}
	b.ReportMetric(float64(realNs.Nanoseconds())/float64(i), "ns/poll")
	b.ReportMetric(float64(baseNs.Nanoseconds())/float64(i), "ns/baseline")
	b.ReportMetric(float64(realNs)/float64(baseNs), "x-baseline")
	b.ReportMetric(float64(total/len(reqs)), "bytes/answer")
}
