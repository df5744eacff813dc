package indicatorapi_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/apitest"
)

// The benchmarks run on the apitest fixture (SQLite, the composed server
// on a loopback listener), whose rate limits are off: the import's 30
// calls a minute would otherwise bound it to 250 indicators a second.
// Each measures the endpoint and, request by request in turn, a handler
// that does the least a server can for the same bytes (reads the same
// request body, writes a fixed answer of the same size) through another
// listener, and reports both and their ratio.

// loop is a client of two listeners: get or post to the endpoint, and
// to the static server.
type loop struct {
	b      *testing.B
	client *http.Client
}

// send sends method url with body (nil: none) and the token, and
// returns the answer's length; 200 expected.
func (l loop) send(method, url, tok string, body []byte) int64 {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, _ := http.NewRequest(method, url, rd)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := l.client.Do(req)
	if err != nil {
		l.b.Fatal(err)
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		l.b.Fatalf("%s %s: %d %v", method, url, resp.StatusCode, err)
	}
	return n
}

// static is a server that reads the request body and writes size bytes.
func static(size int64) *http.Server {
	body := bytes.Repeat([]byte("x"), int(size))
	return &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})}
}

// importBody is a POST /api/indicators/import body of 500 new SHA-256
// indicators, numbered from first.
func importBody(first int) []byte {
	var b strings.Builder
	b.WriteString(`{"Indicators":[`)
	for i := range openatp.MaxIndicatorBatch {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"indicatorValue":"%064x","indicatorType":"FileSha256","action":"Block","title":"Dropper %d",`+
			`"description":"Seen in campaign 42","severity":"High","application":"feed","expirationTime":"2099-01-01T00:00:00Z",`+
			`"recommendedActions":"Isolate the machine"}`, first+i, first+i)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

// BenchmarkImport measures POST /api/indicators/import of batches of 500
// new indicators (a tenant takes 30 of them, its 15,000 active
// indicators; then the next tenant), against the static server reading
// the same bodies: indicators a second of each, and their ratio.
func BenchmarkImport(b *testing.B) {
	f := apitest.NewFixture(b, nil)
	srv, l := f.Srv.URL, loop{b: b, client: f.Srv.Client()}
	var tok string
	batches, tenants := 0, 0
	next := func() {
		if batches%(openatp.MaxActiveIndicators/openatp.MaxIndicatorBatch) == 0 {
			tenants++
			tn := f.NewTenant(b, fmt.Sprintf("t%d.example", tenants))
			tok = f.Token(b, tn, f.NewApp(b, tn, "feed", openatp.PermTiReadWriteAll))
		}
	}
	next()
	size := l.send("POST", srv+"/api/indicators/import", tok, importBody(1<<40))
	batches++
	base := serve(b, static(size).Handler)
	var realNs, baseNs time.Duration
	n := 0
	for b.Loop() {
		b.StopTimer()
		next()
		body := importBody(batches * openatp.MaxIndicatorBatch)
		b.StartTimer()
		t0 := time.Now()
		l.send("POST", srv+"/api/indicators/import", tok, body)
		t1 := time.Now()
		l.send("POST", base, "", body)
		realNs += t1.Sub(t0)
		baseNs += time.Since(t1)
		batches++
		n++
	}
	items := float64(n * openatp.MaxIndicatorBatch)
	b.ReportMetric(items/realNs.Seconds(), "indicators/s")
	b.ReportMetric(items/baseNs.Seconds(), "indicators/s-baseline")
	b.ReportMetric(baseNs.Seconds()/realNs.Seconds(), "x-baseline")
}

// BenchmarkByValue measures GET /api/indicators?$filter=indicatorValue eq
// '…' for random values of a tenant of 15,000 indicators (pages of one),
// against the static server writing answers of the same mean size.
func BenchmarkByValue(b *testing.B) {
	f := apitest.NewFixture(b, nil)
	ctx := context.Background()
	values := make([]string, 0, openatp.MaxActiveIndicators)
	for first := 0; first < openatp.MaxActiveIndicators; first += openatp.MaxIndicatorBatch {
		ins := make([]openatp.Indicator, openatp.MaxIndicatorBatch)
		for i := range ins {
			v := fmt.Sprintf("%064x", (first+i)*7919)
			ins[i] = openatp.Indicator{IndicatorValue: v, IndicatorType: openatp.IndicatorFileSha256, Action: "Block", Title: "t",
				Description: "d", Severity: "High", Source: "feed", SourceType: openatp.IndicatorSourceApp, CreatedBy: "feed", LastUpdatedBy: "feed"}
			values = append(values, v)
		}
		_, errs, err := f.Store.PutIndicators(ctx, f.Tenant.ID, ins, time.Now(), nil)
		if err != nil || errs[0] != nil {
			b.Fatal(err, errs[0])
		}
	}
	tok := f.Token(b, f.Tenant, f.NewApp(b, f.Tenant, "siem", openatp.PermTiReadWriteAll))
	srv, l := f.Srv.URL, loop{b: b, client: f.Srv.Client()}
	url := func(i int) string {
		return srv + "/api/indicators?$filter=indicatorValue+eq+'" + values[(i*104729)%len(values)] + "'"
	}
	var size int64
	for i := range 20 {
		size += l.send("GET", url(i), tok, nil)
	}
	size /= 20
	base := serve(b, static(size).Handler)
	var realNs, baseNs time.Duration
	n := 0
	for b.Loop() {
		n++
		t0 := time.Now()
		l.send("GET", url(n), tok, nil)
		t1 := time.Now()
		l.send("GET", base, "", nil)
		realNs += t1.Sub(t0)
		baseNs += time.Since(t1)
	}
	b.ReportMetric(float64(realNs.Nanoseconds())/float64(n), "ns/lookup")
	b.ReportMetric(float64(baseNs.Nanoseconds())/float64(n), "ns/baseline")
	b.ReportMetric(baseNs.Seconds()/realNs.Seconds(), "x-baseline-rate")
	b.ReportMetric(float64(size), "bytes/answer")
}

// serve serves h on a loopback listener until the benchmark ends and
// returns its URL.
func serve(b *testing.B, h http.Handler) string {
	s := httptest.NewServer(h)
	b.Cleanup(s.Close)
	return s.URL
}
