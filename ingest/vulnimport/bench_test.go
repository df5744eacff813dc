package vulnimport_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/ingest"
	"github.com/openatp/openatp/ingest/vulnimport"
	"github.com/openatp/openatp/sqlite"
)

// BenchmarkValidate reads the inventory file named by
// OPENATP_TVM_INVENTORY (bench/tvmtool writes one) with every record
// checked: the read-only rate bench/tvm.sh divides the import by.
func BenchmarkValidate(b *testing.B) {
	name := os.Getenv("OPENATP_TVM_INVENTORY")
	if name == "" {
		b.Skip("OPENATP_TVM_INVENTORY names no file")
	}
	data, err := os.ReadFile(name)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		res, err := vulnimport.Validate(context.Background(), vulnimport.Inventory, bytes.NewReader(data), ingest.Options{Name: "inventory.jsonl"})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(res.Records), "records/op")
	}
}

// BenchmarkImport imports the catalog and inventory files named by
// OPENATP_TVM_CATALOG and OPENATP_TVM_INVENTORY into a new SQLite store
// whose tenant has the inventory's machines.
func BenchmarkImport(b *testing.B) {
	cat, inv := os.Getenv("OPENATP_TVM_CATALOG"), os.Getenv("OPENATP_TVM_INVENTORY")
	if cat == "" || inv == "" {
		b.Skip("OPENATP_TVM_CATALOG or OPENATP_TVM_INVENTORY names no file")
	}
	data, err := os.ReadFile(inv)
	if err != nil {
		b.Fatal(err)
	}
	catalog, err := os.ReadFile(cat)
	if err != nil {
		b.Fatal(err)
	}
	seen := map[string]bool{}
	var ms []openatp.Machine
	for line := range bytes.SplitSeq(data, []byte("\n")) {
		if len(line) > 53 {
			id := string(line[13:53])
			if !seen[id] {
				seen[id] = true
				ms = append(ms, openatp.Machine{ID: id})
			}
		}
	}
	for i := range ms {
		if err := ms[i].Normalize(); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		b.StopTimer()
		db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "o.db"))
		if err != nil {
			b.Fatal(err)
		}
		if err := db.CreateTenant(ctx, openatp.Tenant{ID: tenant, Name: "A"}); err != nil {
			b.Fatal(err)
		}
		if err := db.UpsertMachines(ctx, tenant, ms); err != nil {
			b.Fatal(err)
		}
		if _, err := vulnimport.Import(ctx, db, tenant, vulnimport.Catalog, bytes.NewReader(catalog), ingest.Options{Name: "c.jsonl"}, time.Now()); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		res, err := vulnimport.Import(ctx, db, tenant, vulnimport.Inventory, bytes.NewReader(data), ingest.Options{Name: "i.jsonl"}, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		db.Close()
		b.StartTimer()
		b.ReportMetric(float64(res.Records), "records/op")
	}
}
