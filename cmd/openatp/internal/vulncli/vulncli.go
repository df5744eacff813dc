// Package vulncli is `openatp import --kind catalog|inventory`: the
// vulnerability management imports of files into a tenant (vulnimport),
// each file in one transaction. It is cut out of cmd/openatp for size.
package vulncli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/ingest"
	"github.com/openatp/openatp/ingest/vulnimport"
	"github.com/openatp/openatp/vuln"
)

// Summary is what the import prints on standard output.
type Summary struct {
	Tenant  string              `json:"tenant,omitempty"` // not with --dry-run
	Name    string              `json:"name,omitempty"`
	Records int64               `json:"records"`
	Seconds float64             `json:"seconds"`
	Rate    float64             `json:"records_per_second"`
	Files   []vulnimport.Result `json:"files"`
}

// Import imports files (or standard input, "-") of kind k into the
// tenant (id or name; it must exist, with the machines an inventory
// names). Each file is one transaction: a bad record is an error naming
// its file, line and property, and nothing of that file is written (the
// files before it are).
//
// With a nil store (--dry-run) every record is read and checked and
// nothing is written.
func Import(ctx context.Context, store openatp.Store, tenant string, k vulnimport.Kind, files []string, o ingest.Options,
	stdin io.Reader, stderr io.Writer) (Summary, error) {
	out := Summary{Files: []vulnimport.Result{}}
	var v vuln.Store
	if store != nil {
		var ok bool
		if v, ok = store.(vuln.Store); !ok {
			return Summary{}, fmt.Errorf("import: the store does not keep vulnerability management's data")
		}
		t, err := store.Tenant(ctx, tenant)
		if err != nil {
			return Summary{}, fmt.Errorf("import: %w", err)
		}
		out.Tenant, out.Name = t.ID, t.Name
	}
	start := time.Now()
	for _, name := range files {
		in := stdin
		if name != "-" {
			f, err := os.Open(name)
			if err != nil {
				return out, err
			}
			defer f.Close()
			in = f
		}
		o.Name = name
		fileStart := time.Now()
		var res vulnimport.Result
		var err error
		if v == nil {
			res, err = vulnimport.Validate(ctx, k, bufio.NewReaderSize(in, 1<<20), o)
		} else {
			fmt.Fprintf(stderr, "import: %s: importing the TVM %s in one transaction\n", name, k)
			res, err = vulnimport.Import(ctx, v, out.Tenant, k, bufio.NewReaderSize(in, 1<<20), o, time.Now())
		}
		if err != nil {
			if openatp.IsKind(err, openatp.Invalid) {
				return out, fmt.Errorf("%w (nothing of %s was imported)", err, name)
			}
			return out, err
		}
		el := time.Since(fileStart).Seconds()
		fmt.Fprintf(stderr, "import: %s: %d records imported, %.1f s (%.0f records/s)\n", name, res.Records, el, float64(res.Records)/max(el, 1e-9))
		out.Records += res.Records
		out.Files = append(out.Files, res)
	}
	out.Seconds = time.Since(start).Seconds()
	out.Rate = float64(out.Records) / max(out.Seconds, 1e-9)
	return out, nil
}
