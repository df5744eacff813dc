package ingest_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/ingest"
	"github.com/openatp/openatp/sqlite"
)

func newStore(t *testing.T) (*sqlite.DB, string) {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "o.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	tn, err := openatp.NewTenant("a.example", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CreateTenant(ctx, tn); err != nil {
		t.Fatal(err)
	}
	return db, tn.ID
}

func mid(i int) string { return fmt.Sprintf("%040x", i) }

func machinesJSONL(from, to int) string {
	var b strings.Builder
	for i := from; i < to; i++ {
		fmt.Fprintf(&b, `{"id":"%s","computerDnsName":"m%d.contoso.com","isExcluded":false}`+"\n", mid(i), i)
	}
	return b.String()
}

func logonsJSONL(n, machines int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `{"machineId":"%s","accountName":"user%d","accountDomain":"contoso","accountSid":null,"logonType":"Network","timestamp":"2024-01-01T00:00:%02dZ"}`+"\n", mid(i%machines), i%7, i%60)
	}
	return b.String()
}

func count(t *testing.T, db *sqlite.DB, tenant string) openatp.TenantStats {
	t.Helper()
	st, err := db.TenantStats(context.Background(), tenant)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestImport(t *testing.T) {
	ctx := context.Background()
	db, tenant := newStore(t)
	var batches []ingest.BatchResult
	r := ingest.NewReader(strings.NewReader(machinesJSONL(0, 25)), ingest.Options{Name: "m.jsonl"})
	sum, err := ingest.Import(ctx, db, tenant, r, ingest.ImportOptions{BatchSize: 10, ChunkSize: 3, OnBatch: func(b ingest.BatchResult) { batches = append(batches, b) }})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Records != 25 || sum.Batches != 3 || sum.Kind != ingest.Machines || sum.Ignored["isExcluded"] != 25 {
		t.Errorf("summary %+v", sum)
	}
	want := []ingest.BatchResult{
		{Number: 1, Records: 10, FirstLine: 1, LastLine: 10, Machines: 10},
		{Number: 2, Records: 10, FirstLine: 11, LastLine: 20, Machines: 10},
		{Number: 3, Records: 5, FirstLine: 21, LastLine: 25, Machines: 5},
	}
	if fmt.Sprint(want) != fmt.Sprint(batches) {
		t.Errorf("batches %v, want %v", batches, want)
	}
	r = ingest.NewReader(strings.NewReader(logonsJSONL(1000, 25)), ingest.Options{Name: "l.jsonl"})
	if sum, err = ingest.Import(ctx, db, tenant, r, ingest.ImportOptions{ChunkSize: 64}); err != nil {
		t.Fatal(err)
	}
	if sum.Records != 1000 || sum.Batches != 1 {
		t.Errorf("summary %+v", sum)
	}
	if got := count(t, db, tenant); got != (openatp.TenantStats{Machines: 25, Users: 7, Relations: 25 * 7}) {
		t.Errorf("stats %+v", got)
	}

	t.Run("a logon of an unknown machine fails its batch and names its line", func(t *testing.T) {
		before := count(t, db, tenant)
		in := logonsJSONL(300, 25) + `{"machineId":"` + mid(99) + `","accountName":"zed","accountDomain":"contoso","timestamp":"2024-01-01T00:00:00Z"}` + "\n"
		r := ingest.NewReader(strings.NewReader(in), ingest.Options{Name: "l.jsonl"})
		_, err := ingest.Import(ctx, db, tenant, r, ingest.ImportOptions{ChunkSize: 64})
		var e *ingest.Error
		if !errors.As(err, &e) || e.Line != 301 || e.Field != "machineId" || !strings.Contains(e.Error(), "l.jsonl: line 301: machineId: the tenant has no machine") {
			t.Fatalf("got %v", err)
		}
		if got := count(t, db, tenant); got != before {
			t.Errorf("stats %+v, want %+v", got, before)
		}
	})
	t.Run("a bad record fails its batch only", func(t *testing.T) {
		in := machinesJSONL(100, 120) + `{"id":"` + mid(120) + `","healthStatus":"Fine"}` + "\n"
		r := ingest.NewReader(strings.NewReader(in), ingest.Options{Name: "m.jsonl"})
		sum, err := ingest.Import(ctx, db, tenant, r, ingest.ImportOptions{BatchSize: 15, ChunkSize: 4})
		var e *ingest.Error
		if !errors.As(err, &e) || e.Line != 21 || e.Field != "healthStatus" {
			t.Fatalf("got %v", err)
		}
		if sum.Batches != 1 || count(t, db, tenant).Machines != 25+15 {
			t.Errorf("summary %+v, stats %+v", sum, count(t, db, tenant))
		}
	})
	t.Run("inputs of a multiple of the chunk size", func(t *testing.T) {
		for _, o := range []ingest.ImportOptions{{ChunkSize: 5}, {ChunkSize: 5, BatchSize: 10}, {ChunkSize: 5, BatchSize: 20}, {ChunkSize: 3, BatchSize: 4}} {
			r := ingest.NewReader(strings.NewReader(machinesJSONL(200, 220)), ingest.Options{})
			sum, err := ingest.Import(ctx, db, tenant, r, o)
			if err != nil || sum.Records != 20 {
				t.Errorf("%+v: %+v, %v", o, sum, err)
			}
		}
	})
	t.Run("unknown tenant", func(t *testing.T) {
		r := ingest.NewReader(strings.NewReader(machinesJSONL(0, 3)), ingest.Options{})
		_, err := ingest.Import(ctx, db, "nope", r, ingest.ImportOptions{})
		if !openatp.IsKind(err, openatp.NotFound) {
			t.Errorf("got %v", err)
		}
	})
}

// blockingSource yields one machine, then blocks in Next like a read of an
// idle pipe or terminal until released.
type blockingSource struct {
	n       int
	release chan struct{}
}

func (s *blockingSource) Next() error {
	if s.n++; s.n > 1 {
		<-s.release
		return io.EOF
	}
	return nil
}
func (s *blockingSource) Kind() ingest.Kind { return ingest.Machines }
func (s *blockingSource) Machine() openatp.Machine {
	return openatp.Machine{ID: mid(1)}
}
func (s *blockingSource) Logon() openatp.Logon { return openatp.Logon{} }
func (s *blockingSource) Alert() openatp.Alert { return openatp.Alert{} }
func (s *blockingSource) Line() int64          { return int64(s.n) }

// A store error ends Load at once, even while the input has nothing more to
// say (`producer | openatp import -` with a producer that is slow or
// waits): the command must not hang on its reader.
func TestLoadReturnsOnStoreErrorWhileReaderBlocks(t *testing.T) {
	db, _ := newStore(t)
	src := &blockingSource{release: make(chan struct{})}
	defer close(src.release)
	done := make(chan error, 1)
	go func() {
		_, err := ingest.Load(context.Background(), db, "no-such-tenant", src, ingest.ImportOptions{BatchSize: 1})
		done <- err
	}()
	select {
	case err := <-done:
		if !openatp.IsKind(err, openatp.NotFound) {
			t.Errorf("got %v, want the store's NotFound", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Load waits for a reader blocked in Next after the store failed")
	}
}
