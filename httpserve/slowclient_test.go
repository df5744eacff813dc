package httpserve_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openatp/openatp/httpserve"
	"github.com/openatp/openatp/internal/apitest"
)

// slowBody opens a connection that sends a request's headers and the
// first byte of its body, then nothing more.
func slowBody(t *testing.T, addr, method, path, extraHeaders string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	fmt.Fprintf(c, "%s %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n%s\r\ng", method, path, addr, extraHeaders)
	return c
}

// Clients that trickle a request body are cut off at the body deadline:
// each gets 408 and its connection closed, one line is logged for each,
// and while they hold their connections the server keeps answering.
func TestSlowBodiesAreCutOff(t *testing.T) {
	var logs lockedBuffer
	f := newFixture(t, func(c *apitest.Config) {
		c.BodyTimeout = 2 * time.Second // a short deadline for the test
		c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	addr := f.srv.Listener.Addr().String()
	const n = 100
	conns := make([]net.Conn, n)
	for i := range conns {
		conns[i] = slowBody(t, addr, "POST", "/"+f.tenant.ID+"/oauth2/token", "")
	}
	if r := f.do(t, "GET", "/healthz", ""); r.status != 200 {
		t.Errorf("/healthz with %d slow clients: %d %s", n, r.status, r.body)
	}
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Go(func() {
			_ = c.SetReadDeadline(time.Now().Add(30 * time.Second)) // a bound, should the server never answer
			br := bufio.NewReader(c)
			res, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Errorf("client %d: %v", i, err)
				return
			}
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != 408 || !strings.Contains(string(body), "not received in time") {
				t.Errorf("client %d: %d %s", i, res.StatusCode, body)
			}
			if _, err := br.ReadByte(); err != io.EOF {
				t.Errorf("client %d: the connection stays open after the answer (%v)", i, err)
			}
		})
	}
	wg.Wait()
	if got := strings.Count(logs.String(), `msg="slow client cut off: request body not received in time"`); got != n {
		t.Errorf("%d log lines of a slow client cut off, want %d:\n%s", got, n, logs.String())
	}
	if !strings.Contains(logs.String(), "body_bytes_received=1\n") {
		t.Errorf("the log line does not say how much of the body came:\n%s", logs.String())
	}
}

// An admin load reads its body before it takes one of the two ingest
// slots: slow uploads do not hold back a load that has its body.
func TestAdminIngestSlotAfterBody(t *testing.T) {
	f := adminFixture(t)
	addr := f.srv.Listener.Addr().String()
	for range 3 {
		slowBody(t, addr, "POST", "/_openatp/tenants/"+f.tenant.ID+"/machines", "X-Openatp-Admin-Key: "+adminKey+"\r\n")
	}
	time.Sleep(50 * time.Millisecond) // let them reach the handler; the test holds either way
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", f.srv.URL+"/_openatp/tenants/"+f.tenant.ID+"/machines", strings.NewReader(machineLine(1, "")+"\n"))
	req.Header.Set("X-Openatp-Admin-Key", adminKey)
	req.Header.Set("Content-Type", "application/x-ndjson")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("a load behind three slow uploads: %v", err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Errorf("a load behind three slow uploads: %d %s", res.StatusCode, body)
	}
}

// Beyond the connection limit a new connection is refused at once with
// the MDE error body; a connection closed gives its place back.
func TestConnectionLimit(t *testing.T) {
	f := newFixture(t, nil)
	limit := httpserve.NewConnLimit(2, nil)
	srv := httptest.NewUnstartedServer(f.server.Handler())
	srv.Listener = limit.Listener(httpserve.WrapListener(srv.Listener, nil), false)
	srv.Start()
	t.Cleanup(srv.Close)
	addr := srv.Listener.Addr().String()
	var held []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
		fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n") // keep-alive: the connection stays open
		if res, err := http.ReadResponse(bufio.NewReader(c), nil); err != nil || res.StatusCode != 200 {
			t.Fatalf("within the limit: %v %v", res, err)
		}
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	r := response{res.StatusCode, res.Header, body, res.Proto}
	checkError(t, r, 503, "ServiceUnavailable")
	if res.Header.Get("Retry-After") != "1" || !res.Close {
		t.Errorf("refusal headers %v", res.Header)
	}
	if limit.Open() != 2 {
		t.Errorf("%d connections counted open, want 2", limit.Open())
	}
	if limit.Draining() != 1 {
		t.Errorf("%d refused connections draining, want 1", limit.Draining())
	}
	held[0].Close()
	waitFor(t, "the closed connection to give its place back", func() bool { return limit.Open() == 1 })
	if r := (&fixture{srv: srv}).do(t, "GET", "/healthz", ""); r.status != 200 {
		t.Errorf("after a connection closed: %d %s", r.status, r.body)
	}
	// The refused connection is drained, then closed, by its owner: once
	// the server is closed (its accepting goroutine done), Wait returns
	// when the drain is over, though the client keeps its end open.
	srv.Close()
	waited := make(chan struct{})
	go func() { limit.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(10 * time.Second):
		t.Fatal("Wait did not return: the refused connection's drain outlives its second")
	}
	if limit.Draining() != 0 {
		t.Errorf("Wait returned with %d refused connections still draining", limit.Draining())
	}
}
