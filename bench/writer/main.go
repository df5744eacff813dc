// Command writer is the load script's writer: while wrk reads, it posts
// batches of logon events through the admin API at a steady pace, and
// measures how soon each acknowledged write is visible to readers.
//
// Every batch carries one event of a user never seen before; right after
// the batch is acknowledged, the writer reads that user's machines and
// times the answer (the read that brings the read model up to date). It
// prints the p50, p99 and max of those times, the batches posted and the
// reads that did not see the write (which must be 0).
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/postgres"
	"github.com/openatp/openatp/sqlite"
)

func main() {
	db := flag.String("db", "", "SQLite file, or postgres:// URL (to read machine ids and the admin key)")
	tenant := flag.String("tenant", "", "tenant id or name")
	base := flag.String("base", "http://127.0.0.1:18080", "server base URL")
	token := flag.String("token", "", "bearer token of a reader")
	batch := flag.Int("batch", 20, "logon events per batch")
	every := flag.Duration("every", 250*time.Millisecond, "pause between batches")
	duration := flag.Duration("duration", 20*time.Second, "how long to write")
	gen := flag.Int("gen", 0, "instead of writing, print this many logon events (NDJSON) on the first machines, for an import")
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
	key, err := store.Setting(ctx, "admin_key")
	if err != nil {
		log.Fatal(err)
	}
	store.Close()
	ms, err := firstMachines(*base, *token, 100)
	if err != nil {
		log.Fatal(err)
	}
	if *gen > 0 {
		w := bufio.NewWriter(os.Stdout)
		for i := range *gen {
			fmt.Fprintf(w, `{"machineId":%q,"accountName":"bulk%d","accountDomain":"bench","logonType":"Network","timestamp":"2024-01-01T00:00:00Z"}`+"\n",
				ms[i%len(ms)], i%5000)
		}
		if err := w.Flush(); err != nil {
			log.Fatal(err)
		}
		return
	}

	client := &http.Client{Timeout: 30 * time.Second}
	var lat []time.Duration
	misses := 0
	stamp := time.Now().UnixNano()
	end := time.Now().Add(*duration)
	for i := 0; time.Now().Before(end); i++ {
		var body bytes.Buffer
		fresh := fmt.Sprintf("fresh-%d-%d", stamp, i)
		for j := range *batch {
			name := fmt.Sprintf("writer%d", j)
			if j == 0 {
				name = fresh
			}
			ev := map[string]any{"machineId": ms[(i+j)%len(ms)], "accountName": name, "accountDomain": "bench",
				"logonType": "Interactive", "timestamp": time.Now().UTC().Format(time.RFC3339Nano)}
			b, _ := json.Marshal(ev)
			body.Write(append(b, '\n'))
		}
		req, _ := http.NewRequest("POST", *base+"/_openatp/tenants/"+t.ID+"/logons", &body)
		req.Header.Set("Content-Type", "application/x-ndjson")
		req.Header.Set("X-Openatp-Admin-Key", key)
		resp, err := client.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			log.Fatalf("POST logons: %d %s", resp.StatusCode, msg)
		}
		start := time.Now()
		req, _ = http.NewRequest("GET", *base+"/api/users/"+fresh+"/machines", nil)
		req.Header.Set("Authorization", "Bearer "+*token)
		resp, err = client.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		lat = append(lat, time.Since(start))
		if resp.StatusCode != 200 {
			misses++
		}
		time.Sleep(*every)
	}
	slices.Sort(lat)
	q := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	fmt.Printf("WRITER batches=%d batch=%d visible_p50_ms=%.2f visible_p99_ms=%.2f visible_max_ms=%.2f not_visible=%d\n",
		len(lat), *batch, ms2(q(0.5)), ms2(q(0.99)), ms2(lat[len(lat)-1]), misses)
}

func ms2(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// firstMachines reads the ids of the first n machines through the API.
func firstMachines(base, token string, n int) ([]string, error) {
	req, _ := http.NewRequest("GET", fmt.Sprintf("%s/api/machines?$top=%d&$select=id", base, n), nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var page struct {
		Value []struct {
			ID string `json:"id"`
		} `json:"value"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil || len(page.Value) == 0 {
		return nil, fmt.Errorf("GET /api/machines: %d, %v", resp.StatusCode, err)
	}
	ids := make([]string, len(page.Value))
	for i, m := range page.Value {
		ids[i] = m.ID
	}
	return ids, nil
}
