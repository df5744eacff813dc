package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// failingListener accepts nothing; its Accept fails once fail is closed,
// as an accept of a broken socket does.
type failingListener struct {
	net.Listener
	fail   chan struct{}
	closed chan struct{}
	once   sync.Once
}

var errAcceptFault = errors.New("accept: the test's fault")

func (l *failingListener) Accept() (net.Conn, error) {
	select {
	case <-l.fail:
		return nil, errAcceptFault
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *failingListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

// When one listener fails (here --admin-addr's), serve shuts the others
// down (they stop accepting) and returns that listener's error, having
// stopped every goroutine it started (TestMain's goleak checks them).
func TestListenerFailureShutsDown(t *testing.T) {
	failing := &failingListener{fail: make(chan struct{}), closed: make(chan struct{})}
	var calls int
	env := &cliEnv{getenv: noEnv, stdin: strings.NewReader(""), stdout: &syncBuffer{}, stderr: &syncBuffer{},
		listenHook: func(network, address string) (net.Listener, error) {
			ln, err := net.Listen(network, address)
			if calls++; calls == 3 && err == nil { // --addr, --tls-addr, then --admin-addr
				failing.Listener = ln
				return failing, nil
			}
			return ln, err
		}}
	out, errb := env.stdout.(*syncBuffer), env.stderr.(*syncBuffer)
	done := make(chan error, 1)
	go func() {
		done <- runServe(context.Background(), env, []string{"--db", filepath.Join(t.TempDir(), "openatp.db"), "--data", t.TempDir(),
			"--addr", "127.0.0.1:0", "--tls-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0"})
	}()
	lines := regexp.MustCompile(`HTTP +http://(\S+)\n +HTTPS +https://(\S+) `)
	var addrs []string
	for deadline := time.Now().Add(60 * time.Second); addrs == nil; time.Sleep(10 * time.Millisecond) {
		select {
		case err := <-done:
			t.Fatalf("serve returned %v before the fault:\n%s", err, errb.String())
		default:
		}
		if m := lines.FindStringSubmatch(out.String()); m != nil && strings.Contains(out.String(), "  data ") {
			addrs = m[1:]
		} else if time.Now().After(deadline) {
			t.Fatalf("serve did not start:\n%s\n%s", out.String(), errb.String())
		}
	}
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	res, err := c.Get("http://" + addrs[0] + "/healthz")
	if err != nil {
		t.Fatalf("before the fault: %v", err)
	}
	res.Body.Close()

	close(failing.fail)
	select {
	case err = <-done:
	case <-time.After(40 * time.Second):
		t.Fatal("serve did not return after a listener failed")
	}
	if !errors.Is(err, errAcceptFault) || !strings.Contains(err.Error(), "--admin-addr") {
		t.Errorf("serve returned %v, want the --admin-addr listener's error", err)
	}
	for _, a := range addrs {
		if conn, err := net.DialTimeout("tcp", a, 5*time.Second); err == nil {
			conn.Close()
			t.Errorf("%s still accepts connections after serve returned", a)
		}
	}
	log := errb.String()
	for _, want := range []string{`msg="a listener failed: shutting down"`, `msg="shut down: every in-flight request finished"`} {
		if !strings.Contains(log, want) {
			t.Errorf("the log lacks %s:\n%s", want, log)
		}
	}
}
