// Command actiontool prepares and runs the machine-action benchmarks of
// bench/actions.sh (issue 23):
//
//	-mode poll      writes a wrk Lua script of the poll a SOAR tool sends,
//	                GET /api/machineactions?$filter=lastUpdateDateTimeUtc gt
//	                <a random stored action's stamp>&$top=100 (full pages but
//	                for the last 100 stamps);
//	-mode create    writes a wrk Lua script that starts actions, each on
//	                its own machine and kind (POST /api/machines/{id}/isolate,
//	                runAntiVirusScan, ...), so that the busy rule refuses none
//	                while each stays Pending;
//	-mode timing    sets every action type's timing (-pending,
//	                -inprogress) through the admin API of the server at -base;
//	-mode inflight  sets every action type's timing (-pending, -inprogress)
//	                through the admin API, measures the server's CPU time
//	                (-pid) over -idle with no action in flight, starts -n
//	                actions (-conns at once), measures the CPU again over
//	                -idle while they are in flight and none is due, then
//	                follows the change feed (lastUpdateDateTimeUtc gt the
//	                greatest seen, every 100 ms) until every one has
//	                Succeeded and prints how late each step was: its stamp
//	                less when it was due (creation + pending for InProgress,
//	                the InProgress stamp + inprogress for Succeeded).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/postgres"
	"github.com/openatp/openatp/sqlite"
)

// starts are the action routes the create script and the in-flight run
// use, one kind each (the busy rule refuses a second action of a kind on a
// machine while the first is live), with their bodies.
var starts = []struct{ segment, body string }{
	{"isolate", `{"Comment":"bench","IsolationType":"Full"}`},
	{"runAntiVirusScan", `{"Comment":"bench","ScanType":"Quick"}`},
	{"restrictCodeExecution", `{"Comment":"bench"}`},
	{"collectInvestigationPackage", `{"Comment":"bench"}`},
	{"StopAndQuarantineFile", `{"Comment":"bench","Sha1":"87662bc3d60e4200ceaf7aae249d1c343f4b83c8"}`},
	{"offboard", `{"Comment":"bench"}`},
}

func main() {
	db := flag.String("db", "", "SQLite file, or postgres:// URL")
	tenant := flag.String("tenant", "", "tenant id or name")
	token := flag.String("token", "", "bearer token")
	mode := flag.String("mode", "poll", "poll, create, timing or inflight")
	n := flag.Int("n", 20000, "poll: random polls in the script; inflight: actions started")
	out := flag.String("out", "actions.lua", "Lua script to write (poll, create)")
	base := flag.String("base", "http://127.0.0.1:18080", "timing, inflight: the server's base URL")
	pid := flag.Int("pid", 0, "inflight: the server's process id (its CPU time is read from /proc)")
	pending := flag.Duration("pending", 30*time.Second, "timing, inflight: Pending to InProgress")
	inProgress := flag.Duration("inprogress", 20*time.Second, "timing, inflight: InProgress to Succeeded")
	idle := flag.Duration("idle", 10*time.Second, "inflight: the idle windows the server's CPU time is measured over")
	conns := flag.Int("conns", 16, "inflight: requests at once while starting actions")
	flag.Parse()
	ctx := context.Background()
	var store openatp.Store
	var err error
	if strings.HasPrefix(*db, "postgres://") || strings.HasPrefix(*db, "postgresql://") {
		store, err = postgres.Open(ctx, *db)
	} else {
		store, err = sqlite.Open(ctx, *db)
	}
	if err != nil {
		log.Fatal(err)
	}
	t, err := store.Tenant(ctx, *tenant)
	if err != nil {
		log.Fatal(err)
	}
	switch *mode {
	case "poll":
		as, err := store.MachineActions(ctx, t.ID, openatp.MachineActionFilter{})
		if err != nil {
			log.Fatal(err)
		}
		store.Close()
		if len(as) == 0 {
			log.Fatal("the tenant has no machine actions: seed it with --actions")
		}
		rng := rand.New(rand.NewPCG(1, 2))
		paths := make([]string, *n)
		for i := range paths {
			at := as[rng.IntN(len(as))].LastUpdateDateTimeUTC
			paths[i] = "/api/machineactions?$filter=" + url.QueryEscape("lastUpdateDateTimeUtc gt "+at.UTC().Format("2006-01-02T15:04:05.0000000Z")) + "&$top=100"
		}
		writeScript(*out, *mode, paths, nil, *token)
		fmt.Fprintf(os.Stderr, "actiontool: %d actions, %d polls, wrote %s\n", len(as), len(paths), *out)
	case "create":
		ms := machines(ctx, store, t.ID)
		store.Close()
		var paths, bodies []string
		for _, s := range starts {
			for _, m := range ms {
				paths = append(paths, "/api/machines/"+m+"/"+s.segment)
				bodies = append(bodies, s.body)
			}
		}
		writeScript(*out, *mode, paths, bodies, *token)
		fmt.Fprintf(os.Stderr, "actiontool: %d machines, %d distinct starts, wrote %s\n", len(ms), len(paths), *out)
	case "timing":
		key, err := store.Setting(ctx, "admin_key")
		if err != nil {
			log.Fatal(err)
		}
		store.Close()
		setTiming(http.DefaultClient, *base, t.ID, key, *pending, *inProgress)
	case "inflight":
		ms := machines(ctx, store, t.ID)
		key, err := store.Setting(ctx, "admin_key")
		if err != nil {
			log.Fatal(err)
		}
		store.Close()
		inflight(*base, t.ID, key, *token, ms, *n, *conns, *pid, *pending, *inProgress, *idle)
	default:
		log.Fatalf("-mode %q: want poll, create, timing or inflight", *mode)
	}
}

// machines returns the ids of the tenant's machines, sorted.
func machines(ctx context.Context, store openatp.Store, tenantID string) []string {
	var ids []string
	err := store.Snapshot(ctx, tenantID, func(m openatp.Machine) error {
		ids = append(ids, m.ID)
		return nil
	}, func(openatp.UserMachine) error { return nil })
	if err != nil {
		log.Fatal(err)
	}
	slices.Sort(ids)
	return ids
}

// writeScript writes a wrk script that sends each path once, in turn (a
// POST with its body when bodies is not nil), with the token, and prints a
// RESULT line at the end.
func writeScript(out, what string, paths, bodies []string, token string) {
	var b strings.Builder
	fmt.Fprintf(&b, "-- generated by bench/actiontool: %d requests (%s)\nlocal paths = {\n", len(paths), what)
	for _, p := range paths {
		fmt.Fprintf(&b, "  %q,\n", p)
	}
	b.WriteString("}\n")
	if bodies != nil {
		b.WriteString("local bodies = {\n")
		for _, s := range bodies {
			fmt.Fprintf(&b, "  %q,\n", s)
		}
		b.WriteString("}\n")
	}
	// A POST script starts at the START-th path (the environment's), so
	// that runs in turn start distinct actions.
	fmt.Fprintf(&b, "local token = %q\nlocal i = tonumber(os.getenv(\"START\") or \"0\")\n", token)
	if bodies != nil {
		b.WriteString(`request = function()
  i = i + 1
  if i > #paths then i = 1 end
  return wrk.format("POST", paths[i], { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }, bodies[i])
end
`)
	} else {
		b.WriteString(`request = function()
  i = i + 1
  return wrk.format("GET", paths[(i % #paths) + 1], { ["Authorization"] = "Bearer " .. token })
end
`)
	}
	b.WriteString(`done = function(summary, latency, requests)
  io.write(string.format("RESULT requests=%d bytes=%d errors=%d p50_us=%d p99_us=%d\n",
    summary.requests, summary.bytes, summary.errors.status + summary.errors.read + summary.errors.connect,
    latency:percentile(50), latency:percentile(99)))
end
`)
	if err := os.WriteFile(out, []byte(b.String()), 0o644); err != nil {
		log.Fatal(err)
	}
}

// cpuTime returns the CPU time of process pid: the sum over its threads
// of the nanoseconds they ran (/proc/<pid>/task/*/schedstat), finer than
// the clock ticks of /proc/<pid>/stat. A thread that ended meanwhile is
// not counted: take it over windows in which the threads do not change
// (Go keeps its threads).
func cpuTime(pid int) time.Duration {
	tasks, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/task")
	if err != nil {
		log.Fatal(err)
	}
	var sum int64
	for _, t := range tasks {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/task/" + t.Name() + "/schedstat")
		if err != nil {
			continue // ended
		}
		f := strings.Fields(string(b))
		if len(f) > 0 {
			n, _ := strconv.ParseInt(f[0], 10, 64)
			sum += n
		}
	}
	return time.Duration(sum)
}

// change is what the change feed tells of an action.
type change struct {
	ID         string    `json:"id"`
	Status     string    `json:"status"`
	Created    time.Time `json:"creationDateTimeUtc"`
	LastUpdate time.Time `json:"lastUpdateDateTimeUtc"`
}

// setTiming sets the timing of every action type of the tenant.
func setTiming(client *http.Client, base, tenantID, adminKey string, pending, inProgress time.Duration) {
	body := fmt.Sprintf(`{"pending":%q,"inProgress":%q,"timeOut":"24h"}`, pending, inProgress)
	req, err := http.NewRequest("PUT", base+"/_openatp/tenants/"+tenantID+"/actions/timings/*", strings.NewReader(body))
	if err != nil {
		log.Fatal(err)
	}
	req.Header.Set("X-Openatp-Admin-Key", adminKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	if b, _ := io.ReadAll(resp.Body); resp.StatusCode != 200 {
		log.Fatalf("PUT timings: %d %s", resp.StatusCode, b)
	}
}

func inflight(base, tenantID, adminKey, token string, ms []string, n, conns, pid int, pending, inProgress, idle time.Duration) {
	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: conns}}
	do := func(method, path, body string, admin bool) (int, []byte) {
		req, err := http.NewRequest(method, base+path, strings.NewReader(body))
		if err != nil {
			log.Fatal(err)
		}
		if admin {
			req.Header.Set("X-Openatp-Admin-Key", adminKey)
		} else {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := client.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	setTiming(client, base, tenantID, adminKey, pending, inProgress)
	window := func() float64 {
		c0 := cpuTime(pid)
		time.Sleep(idle)
		return float64(cpuTime(pid)-c0) / float64(time.Millisecond) / idle.Seconds()
	}
	if pid > 0 {
		time.Sleep(2 * time.Second)
		fmt.Printf("idle, no action in flight: %.2f ms of CPU per second over %s\n", window(), idle)
	}
	// The actions, started on distinct (machine, kind) pairs, conns at once.
	if n > len(ms)*len(starts) {
		log.Fatalf("-n %d: the tenant has room for %d actions in flight", n, len(ms)*len(starts))
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	created := map[string]time.Time{}
	start := time.Now()
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				s := starts[i/len(ms)]
				code, b := do("POST", "/api/machines/"+ms[i%len(ms)]+"/"+s.segment, s.body, false)
				if code != 201 && code != 200 {
					log.Fatalf("POST %s: %d %s", s.segment, code, b)
				}
				var c change
				if err := json.Unmarshal(b, &c); err != nil {
					log.Fatal(err)
				}
				mu.Lock()
				created[c.ID] = c.Created
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	fmt.Printf("started %d actions in %.2f s (%.0f/s, %d at once)\n", n, took.Seconds(), float64(n)/took.Seconds(), conns)
	var first time.Time
	for _, t := range created {
		if first.IsZero() || t.Before(first) {
			first = t
		}
	}
	if pid > 0 {
		if time.Until(first.Add(pending)) < idle+3*time.Second {
			fmt.Printf("no idle window: the first step is due in %s (raise -pending)\n", time.Until(first.Add(pending)).Round(time.Millisecond))
		} else {
			time.Sleep(2 * time.Second)
			fmt.Printf("idle, %d actions in flight, none due: %.2f ms of CPU per second over %s\n", n, window(), idle)
		}
	}
	// The change feed, until every action has Succeeded.
	inProgressAt := map[string]time.Time{}
	var lateIP, lateOK []time.Duration
	missed := 0
	var last time.Time
	for len(lateOK)+missed < n {
		q := "/api/machineactions?$top=10000"
		if !last.IsZero() {
			q += "&$filter=" + url.QueryEscape("lastUpdateDateTimeUtc gt "+last.UTC().Format("2006-01-02T15:04:05.0000000Z"))
		}
		code, b := do("GET", q, "", false)
		if code != 200 {
			log.Fatalf("GET machineactions: %d %s", code, b)
		}
		var page struct {
			Value []change `json:"value"`
		}
		if err := json.Unmarshal(b, &page); err != nil {
			log.Fatal(err)
		}
		for _, c := range page.Value {
			last = c.LastUpdate
			if _, ok := created[c.ID]; !ok {
				continue // the history
			}
			switch c.Status {
			case openatp.ActionInProgress:
				inProgressAt[c.ID] = c.LastUpdate
				lateIP = append(lateIP, c.LastUpdate.Sub(c.Created.Add(pending)))
			case openatp.ActionSucceeded:
				if at, ok := inProgressAt[c.ID]; ok {
					lateOK = append(lateOK, c.LastUpdate.Sub(at.Add(inProgress)))
				} else {
					missed++
				}
			case openatp.ActionPending:
			default:
				log.Fatalf("action %s: %s", c.ID, c.Status)
			}
		}
		if len(page.Value) < 10000 {
			time.Sleep(100 * time.Millisecond)
		}
	}
	q := func(l []time.Duration, p float64) float64 {
		if len(l) == 0 {
			return 0
		}
		slices.Sort(l)
		return float64(l[min(len(l)-1, int(p*float64(len(l))))].Microseconds()) / 1000
	}
	for _, s := range []struct {
		name string
		l    []time.Duration
	}{{"Pending -> InProgress", lateIP}, {"InProgress -> Succeeded", lateOK}} {
		fmt.Printf("late %s: p50 %.1f ms, p99 %.1f ms, max %.1f ms (%d steps)\n", s.name, q(s.l, 0.5), q(s.l, 0.99), q(s.l, 1), len(s.l))
	}
	all := append(lateIP, lateOK...)
	fmt.Printf("INFLIGHT n=%d late_p99_ms=%.1f late_max_ms=%.1f unseen_inprogress=%d\n", n, q(all, 0.99), q(all, 1), missed)
}
