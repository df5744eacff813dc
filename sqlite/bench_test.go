package sqlite_test

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/sqlite"
)

// The benchmark tenant: -benchscale=1 is 100,000 machines, 500,000 logons of
// 50,000 users, loaded in batches of 10,000.
var benchScale = flag.Float64("benchscale", 1, "size of the benchmark tenant, 1 = 100,000 machines")

const (
	benchTenant = "00000000-0000-4000-8000-000000000001"
	benchBatch  = 10_000
)

type benchSizes struct{ machines, users, logons int }

func sizes() benchSizes {
	s := *benchScale
	return benchSizes{int(100_000 * s), int(50_000 * s), int(500_000 * s)}
}

func benchMachineID(i int) string {
	h := sha1.Sum([]byte("machine" + strconv.Itoa(i)))
	return hex.EncodeToString(h[:])
}

var benchDomains = []string{"CONTOSO", "fabrikam", "Europe", "corp", "lab"}

func benchUser(i int) openatp.UserRef {
	return openatp.UserRef{Name: fmt.Sprintf("user%06d", i), Domain: benchDomains[i%len(benchDomains)]}
}

func benchMachines(n int) []openatp.Machine {
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	ms := make([]openatp.Machine, n)
	for i := range ms {
		first := base.Add(time.Duration(i) * time.Second)
		last := first.Add(30 * 24 * time.Hour)
		ip := benchIP(i)
		ms[i] = openatp.Machine{
			ID: benchMachineID(i), ComputerDNSName: openatp.Ptr(fmt.Sprintf("host%06d.contoso.com", i)),
			FirstSeen: &first, LastSeen: &last, OSPlatform: openatp.Ptr("Windows11"), OSVersion: openatp.Ptr("10.0"),
			LastIPAddress: openatp.Ptr(ip), AgentVersion: openatp.Ptr("10.8750.22621.1105"),
			OSBuild: openatp.Ptr(int64(22621)), HealthStatus: openatp.Ptr("Active"), OnboardingStatus: openatp.Ptr("Onboarded"),
			RiskScore: openatp.Ptr("Low"), ExposureLevel: openatp.Ptr("Medium"), IsAADJoined: openatp.Ptr(true),
			MachineTags: []string{"tag" + strconv.Itoa(i%10)}, DeviceValue: openatp.Ptr("Normal"),
			IPAddresses:    []openatp.IPAddress{{IPAddress: ip, MACAddress: openatp.Ptr("00155D0A0B0C"), Type: openatp.Ptr("Ethernet"), OperationalStatus: openatp.Ptr("Up")}},
			OSArchitecture: openatp.Ptr("64-bit"),
		}
	}
	return ms
}

// benchIP returns the address of machine i: two machines per address.
func benchIP(i int) string {
	j := i / 2
	return fmt.Sprintf("10.%d.%d.%d", j>>16&255, j>>8&255, j&255)
}

// benchLogons returns n logons: each user logs on to a few machines of its
// own, repeatedly, and now and then to a random one.
func benchLogons(sz benchSizes, n int, seed uint64) []openatp.Logon {
	r := rand.New(rand.NewPCG(seed, 1))
	base := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	ls := make([]openatp.Logon, n)
	for i := range ls {
		u := r.IntN(sz.users)
		var m int
		if r.IntN(4) == 0 {
			m = r.IntN(sz.machines)
		} else {
			m = (u*2 + r.IntN(3)) % sz.machines
		}
		ref := benchUser(u)
		ls[i] = openatp.Logon{
			MachineID: benchMachineID(m), AccountName: ref.Name, AccountDomain: ref.Domain,
			AccountSID: "S-1-5-21-1-2-3-" + strconv.Itoa(u), LogonType: openatp.LogonTypes[r.IntN(3)],
			Timestamp: base.Add(time.Duration(r.IntN(30*24*3600)) * time.Second),
		}
	}
	return ls
}

// openBenchDB opens a new database with the benchmark tenant and its
// machines.
func openBenchDB(b *testing.B, dir string) *sqlite.DB {
	b.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(dir, "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	if err := db.CreateTenant(ctx, openatp.Tenant{ID: benchTenant, Name: "bench.example"}); err != nil {
		b.Fatal(err)
	}
	ms := benchMachines(sizes().machines)
	for c := range slices.Chunk(ms, benchBatch) {
		if err := db.UpsertMachines(ctx, benchTenant, c); err != nil {
			b.Fatal(err)
		}
	}
	return db
}

func addLogons(b *testing.B, db *sqlite.DB, ls []openatp.Logon) {
	b.Helper()
	for c := range slices.Chunk(ls, benchBatch) {
		if err := db.AddLogons(context.Background(), benchTenant, c); err != nil {
			b.Fatal(err)
		}
	}
}

var loaded struct {
	once sync.Once
	dir  string
	db   *sqlite.DB
}

// loadedDB returns the fully loaded benchmark database, built once per
// process.
func loadedDB(b *testing.B) *sqlite.DB {
	loaded.once.Do(func() {
		dir, err := os.MkdirTemp("", "openatp-bench")
		if err != nil {
			b.Fatal(err)
		}
		loaded.dir = dir
		loaded.db = openBenchDB(b, dir)
		addLogons(b, loaded.db, benchLogons(sizes(), sizes().logons, 1))
	})
	if loaded.db == nil {
		b.Fatal("loading the benchmark database failed")
	}
	return loaded.db
}

func TestMain(m *testing.M) {
	if path := os.Getenv("OPENATP_SHM_PROBE"); path != "" {
		os.Exit(shmProbe(path)) // a second process of TestShmLocksKept
	}
	code := m.Run()
	if loaded.db != nil {
		loaded.db.Close()
		os.RemoveAll(loaded.dir)
	}
	if code == 0 { // and no goroutine outlives the tests
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// BenchmarkAddLogons loads the benchmark tenant's logons into a database
// that has its machines, in batches of 10,000; each iteration is a fresh
// database. Run it with -benchtime=1x for a quick number.
func BenchmarkAddLogons(b *testing.B) {
	sz := sizes()
	ls := benchLogons(sz, sz.logons, 1)
	var elapsed, cpu time.Duration
	for b.Loop() {
		b.StopTimer()
		dir := b.TempDir()
		db := openBenchDB(b, dir)
		b.StartTimer()
		start, startCPU := time.Now(), cpuTime()
		addLogons(b, db, ls)
		elapsed, cpu = elapsed+time.Since(start), cpu+cpuTime()-startCPU
		b.StopTimer()
		db.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(len(ls)*b.N)/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(len(ls)*b.N), "cpu-ns/event")
}

// BenchmarkUpsertMachines loads the benchmark tenant's machines in batches
// of 10,000 into a new database.
func BenchmarkUpsertMachines(b *testing.B) {
	ctx := context.Background()
	ms := benchMachines(sizes().machines)
	var elapsed, cpu time.Duration
	for b.Loop() {
		b.StopTimer()
		db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
		if err != nil {
			b.Fatal(err)
		}
		if err := db.CreateTenant(ctx, openatp.Tenant{ID: benchTenant, Name: "bench.example"}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start, startCPU := time.Now(), cpuTime()
		for c := range slices.Chunk(ms, benchBatch) {
			if err := db.UpsertMachines(ctx, benchTenant, c); err != nil {
				b.Fatal(err)
			}
		}
		elapsed, cpu = elapsed+time.Since(start), cpu+cpuTime()-startCPU
		b.StopTimer()
		db.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(len(ms)*b.N)/elapsed.Seconds(), "machines/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(len(ms)*b.N), "cpu-ns/machine")
}

// BenchmarkWriteBatchMachines loads the benchmark tenant's machines into a
// new database as an import does: one WriteBatch, 5,000 machines per
// write.
func BenchmarkWriteBatchMachines(b *testing.B) {
	ctx := context.Background()
	ms := benchMachines(sizes().machines)
	var elapsed, cpu time.Duration
	for b.Loop() {
		b.StopTimer()
		db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
		if err != nil {
			b.Fatal(err)
		}
		if err := db.CreateTenant(ctx, openatp.Tenant{ID: benchTenant, Name: "bench.example"}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start, startCPU := time.Now(), cpuTime()
		err = db.WriteBatch(ctx, benchTenant, func(w openatp.BatchWriter) error {
			for c := range slices.Chunk(ms, 5000) {
				if err := w.UpsertMachines(c); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		elapsed, cpu = elapsed+time.Since(start), cpu+cpuTime()-startCPU
		b.StopTimer()
		db.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(len(ms)*b.N)/elapsed.Seconds(), "machines/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(len(ms)*b.N), "cpu-ns/machine")
}

// BenchmarkAddLogonsIncremental adds batches of 10,000 new events to the
// loaded tenant.
func BenchmarkAddLogonsIncremental(b *testing.B) {
	db := loadedDB(b)
	seed := uint64(100)
	var events int
	var cpu time.Duration
	for b.Loop() {
		b.StopTimer()
		ls := benchLogons(sizes(), benchBatch, seed)
		seed++
		b.StartTimer()
		startCPU := cpuTime()
		addLogons(b, db, ls)
		cpu += cpuTime() - startCPU
		events += len(ls)
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(events), "cpu-ns/event")
}

// BenchmarkUserMachines asks for the machines of a random user (name only,
// every domain) of the loaded tenant and reports the median latency.
func BenchmarkUserMachines(b *testing.B) {
	db := loadedDB(b)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(7, 7))
	var lat []time.Duration
	for b.Loop() {
		u := benchUser(r.IntN(sizes().users))
		start := time.Now()
		_, err := db.UserMachines(ctx, benchTenant, openatp.UserRef{Name: u.Name})
		lat = append(lat, time.Since(start))
		if err != nil && !openatp.IsKind(err, openatp.NotFound) {
			b.Fatal(err)
		}
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkMachineUsers asks for the users of a random machine of the
// loaded tenant and reports the median latency.
func BenchmarkMachineUsers(b *testing.B) {
	db := loadedDB(b)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(7, 7))
	var lat []time.Duration
	for b.Loop() {
		id := benchMachineID(r.IntN(sizes().machines))
		start := time.Now()
		_, err := db.MachineUsers(ctx, benchTenant, id)
		lat = append(lat, time.Since(start))
		if err != nil {
			b.Fatal(err)
		}
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkMachinesByIP asks which machines had the address of a random
// machine of the loaded tenant within 15 minutes of its lastSeen, and
// reports the median latency.
func BenchmarkMachinesByIP(b *testing.B) {
	db := loadedDB(b)
	ctx := context.Background()
	ms := benchMachines(sizes().machines)
	r := rand.New(rand.NewPCG(7, 7))
	var lat []time.Duration
	for b.Loop() {
		m := ms[r.IntN(len(ms))]
		start := time.Now()
		ids, err := db.MachinesByIP(ctx, benchTenant, netip.MustParseAddr(*m.LastIPAddress),
			m.LastSeen.Add(-15*time.Minute), m.LastSeen.Add(15*time.Minute))
		lat = append(lat, time.Since(start))
		if err != nil || len(ids) == 0 {
			b.Fatal(ids, err)
		}
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkDataVersion measures the call the API makes on every request.
func BenchmarkDataVersion(b *testing.B) {
	db, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "v.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	for b.Loop() {
		if _, err := db.DataVersion(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDataVersionParallel is BenchmarkDataVersion from every P.
func BenchmarkDataVersionParallel(b *testing.B) {
	db, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "v.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := db.DataVersion(ctx); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
