package ingest_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/ingest"
	"github.com/openatp/openatp/internal/demo"
	"github.com/openatp/openatp/wire"
)

// benchFiles returns a generated tenant's machines and logon events as
// JSON Lines, the files `openatp seed --out` writes.
func benchFiles(b *testing.B) (machines, logons []byte) {
	b.Helper()
	var mb, lb []byte
	err := demo.Generate(demo.Options{Seed: 1, Machines: 20000, Users: 4000, Logons: 100000}, demo.Funcs{
		OnMachine: func(m openatp.Machine) error { mb = append(wire.AppendMachine(mb, &m), '\n'); return nil },
		OnLogon:   func(l openatp.Logon) error { lb = append(ingest.AppendLogon(lb, &l), '\n'); return nil },
	})
	if err != nil {
		b.Fatal(err)
	}
	return mb, lb
}

// jsonLogon and jsonMachine are what a plain encoding/json reader would
// decode the records into: the baseline, with no checks at all.
type jsonLogon struct {
	MachineID     string    `json:"machineId"`
	AccountName   string    `json:"accountName"`
	AccountDomain string    `json:"accountDomain"`
	AccountSID    *string   `json:"accountSid"`
	LogonType     string    `json:"logonType"`
	Timestamp     time.Time `json:"timestamp"`
}

// BenchmarkReadLogons reads logon events with ingest.Reader (every record
// checked and normalized) and, as the baseline in the same run, decodes the
// same lines with bufio.Scanner and encoding/json into a plain struct. It
// reports both rates and reader/baseline (above 1: the reader is faster).
func BenchmarkReadLogons(b *testing.B) {
	_, data := benchFiles(b)
	benchRead(b, data, func() error {
		var l jsonLogon
		return baseline(data, &l)
	})
}

// BenchmarkReadMachines is BenchmarkReadLogons for Machine records, whose
// baseline decodes into openatp.Machine.
func BenchmarkReadMachines(b *testing.B) {
	data, _ := benchFiles(b)
	benchRead(b, data, func() error {
		var m openatp.Machine
		return baseline(data, &m)
	})
}

func baseline[T any](data []byte, v *T) error {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		var zero T
		*v = zero
		if err := json.Unmarshal(sc.Bytes(), v); err != nil {
			return err
		}
	}
	return sc.Err()
}

func benchRead(b *testing.B, data []byte, base func() error) {
	records := bytes.Count(data, []byte{'\n'})
	var readerT, baseT time.Duration
	for b.Loop() {
		start := time.Now()
		r := ingest.NewReader(bytes.NewReader(data), ingest.Options{})
		n := 0
		for {
			err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != records {
			b.Fatalf("read %d records, want %d", n, records)
		}
		readerT += time.Since(start)
		start = time.Now()
		if err := base(); err != nil {
			b.Fatal(err)
		}
		baseT += time.Since(start)
	}
	b.ReportMetric(float64(records*b.N)/readerT.Seconds(), "records/s")
	b.ReportMetric(float64(records*b.N)/baseT.Seconds(), "baseline-records/s")
	b.ReportMetric(baseT.Seconds()/readerT.Seconds(), "x-encoding/json")
}
