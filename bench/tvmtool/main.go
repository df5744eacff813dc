// Command tvmtool writes the input files of bench/tvm.sh: a generated
// vulnerability management catalog and the inventory of every machine of
// a seeded tenant, as JSON Lines (the records `openatp import --kind
// catalog|inventory` reads).
//
//	tvmtool -data DIR -tenant NAME -out DIR [-cves 10000] [-per-machine 40] [-seed 1]
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/demo"
	"github.com/openatp/openatp/sqlite"
	"github.com/openatp/openatp/vuln"
)

func main() {
	data := flag.String("data", "", "the seeded data directory")
	tenant := flag.String("tenant", "", "the tenant")
	out := flag.String("out", "", "where to write catalog.jsonl and inventory.jsonl")
	cves := flag.Int("cves", 10000, "vulnerabilities of the catalog")
	per := flag.Int("per-machine", 40, "products installed on each machine")
	seed := flag.Int64("seed", 1, "random seed")
	flag.Parse()
	if err := run(*data, *tenant, *out, *cves, *per, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "tvmtool:", err)
		os.Exit(1)
	}
}

func run(data, tenant, out string, cves, per int, seed int64) error {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(data, "openatp.db"))
	if err != nil {
		return err
	}
	defer db.Close()
	t, err := db.Tenant(ctx, tenant)
	if err != nil {
		return err
	}
	var ms []openatp.Machine
	if err := db.Snapshot(ctx, t.ID, func(m openatp.Machine) error { ms = append(ms, m); return nil },
		func(openatp.UserMachine) error { return nil }); err != nil {
		return err
	}
	o := demo.SoftwareOptions{Seed: seed, CVEs: cves, PerMachine: per, Start: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	c := demo.SoftwareCatalog(o)
	if err := writeLines(filepath.Join(out, "catalog.jsonl"), func(w *bufio.Writer) error {
		enc := json.NewEncoder(w)
		for _, v := range c.Vulnerabilities {
			if err := enc.Encode(vulnRecord(&v)); err != nil {
				return err
			}
		}
		for _, u := range c.Updates {
			if err := enc.Encode(map[string]any{"type": "securityUpdate", "id": "KB" + u.ID, "name": u.Name, "releaseDate": u.ReleaseDate,
				"osBuild": u.OSBuild, "productsNames": u.ProductsNames, "cves": u.CVEs}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return err
	}
	n := 0
	err = writeLines(filepath.Join(out, "inventory.jsonl"), func(w *bufio.Writer) error {
		var b []byte
		return demo.SoftwareInventory(o, ms, func(r *vuln.InventoryRecord) error {
			b = appendRecord(b[:0], r)
			n++
			_, err := w.Write(b)
			return err
		})
	})
	fmt.Printf("%d machines, %d vulnerabilities, %d updates, %d inventory records\n", len(ms), len(c.Vulnerabilities), len(c.Updates), n)
	return err
}

// vulnRecord is a vulnerability as its import record.
func vulnRecord(v *vuln.Vulnerability) map[string]any {
	aff := make([]map[string]string, 0, len(v.Affected))
	for _, a := range v.Affected {
		aff = append(aff, map[string]string{"vendor": a.Vendor, "product": a.Name, "version": a.Version, "fixedVersion": a.FixedVersion,
			"fixingKbId": a.FixingKB})
	}
	return map[string]any{"id": v.ID, "name": v.Name, "description": v.Description, "severity": v.Severity, "cvssV3": v.CVSSV3,
		"publishedOn": v.PublishedOn, "updatedOn": v.UpdatedOn, "publicExploit": v.PublicExploit, "exploitVerified": v.ExploitVerified,
		"exploitInKit": v.ExploitInKit, "exploitTypes": v.ExploitTypes, "exploitUris": v.ExploitURIs, "affected": aff}
}

// appendRecord writes an inventory record as a JSON line, as
// SoftwareInventoryByMachine names its fields.
func appendRecord(b []byte, r *vuln.InventoryRecord) []byte {
	b = append(b, `{"deviceId":`...)
	b = strconv.AppendQuote(b, r.MachineID)
	if r.MissingKB != "" {
		b = append(b, `,"missingKbId":"KB`...)
		b = append(b, r.MissingKB...)
		return append(b, "\"}\n"...)
	}
	for _, f := range []struct{ k, v string }{{"softwareVendor", r.Product.Vendor}, {"softwareName", r.Product.Name}, {"softwareVersion", r.Version}} {
		b = append(b, `,"`...)
		b = append(b, f.k...)
		b = append(b, `":`...)
		b = strconv.AppendQuote(b, f.v)
	}
	for _, l := range []struct {
		k  string
		vs []string
	}{{"diskPaths", r.DiskPaths}, {"registryPaths", r.RegistryPaths}} {
		b = append(b, `,"`...)
		b = append(b, l.k...)
		b = append(b, `":[`...)
		for i, v := range l.vs {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendQuote(b, v)
		}
		b = append(b, ']')
	}
	b = append(b, `,"firstSeenTimestamp":"`...)
	b = r.FirstSeen.UTC().AppendFormat(b, "2006-01-02 15:04:05")
	b = append(b, `","lastSeenTimestamp":"`...)
	b = r.LastSeen.UTC().AppendFormat(b, "2006-01-02 15:04:05")
	return append(b, "\"}\n"...)
}

func writeLines(name string, f func(*bufio.Writer) error) error {
	file, err := os.Create(name)
	if err != nil {
		return err
	}
	defer file.Close()
	w := bufio.NewWriterSize(file, 1<<20)
	if err := f(w); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return file.Close()
}
