package httpserve_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/apitest"
)

// stallingStore is the real store, except that UserMachines waits for its
// caller to go away before it asks the store, with the dead context: the
// store's own answer to a canceled call is what the API sees.
type stallingStore struct {
	openatp.Store
	entered atomic.Int64
}

func (s *stallingStore) UserMachines(ctx context.Context, tenantID string, u openatp.UserRef) ([]openatp.Machine, error) {
	s.entered.Add(1)
	<-ctx.Done()
	return s.Store.UserMachines(ctx, tenantID, u)
}

// A storm of clients that disconnect while their request is in the store:
// each is logged at debug and counted as 499, never as an ERROR line, a
// 5xx or a store error.
func TestDisconnectStorm(t *testing.T) {
	var logs lockedBuffer
	stall := &stallingStore{}
	f := newFixture(t, func(c *apitest.Config) {
		stall.Store = c.Store
		c.Store = stall
		c.NoIndex = true // answers from the store
		c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	})
	tok := f.token(t, f.tenant, f.app)
	f.do(t, "GET", "/api/users/nobody-here/machines?x", tok) // the token is verified and cached (400: no store call)
	before := string(f.do(t, "GET", "/metrics", "").body)

	const n = 200
	conns := make([]net.Conn, 0, n)
	for i := range n {
		c, err := net.Dial("tcp", f.srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		fmt.Fprintf(c, "GET /api/users/user%d/machines HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n\r\n", i, f.srv.Listener.Addr(), tok)
	}
	waitFor(t, "every request to reach the store", func() bool { return stall.entered.Load() == n })
	for _, c := range conns {
		c.Close()
	}
	want := fmt.Sprintf(`openatp_http_requests_total{code="499",route="GET /api/users/{id}/machines"} %d`, n)
	var after string
	waitFor(t, "every request to be answered", func() bool {
		after = string(f.do(t, "GET", "/metrics", "").body)
		return strings.Contains(after, want)
	})
	if strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("ERROR lines logged for clients that left:\n%s", logs.String())
	}
	if got := nonZero(grep(after, `openatp_http_requests_total{code="5`)); got != "" {
		t.Errorf("5xx counted for clients that left:\n%s", got)
	}
	if b, a := grep(before, "openatp_store_errors_total"), grep(after, "openatp_store_errors_total"); a != b {
		t.Errorf("store errors counted for clients that left:\nbefore %q\nafter  %q", b, a)
	}
	if got := strings.Count(logs.String(), "status=499"); got != n {
		t.Errorf("%d access-log lines with status 499, want %d", got, n)
	}
}

// waitFor polls cond until it holds; a bound, not a measurement.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// nonZero keeps the metric lines whose value is not 0.
func nonZero(lines string) string {
	var out []string
	for l := range strings.SplitSeq(lines, "\n") {
		if l != "" && !strings.HasSuffix(l, " 0") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
