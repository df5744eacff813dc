package httpserve

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/openatp/openatp"
)

// MethodNotAllowed answers 405 with Allow: allow.
func MethodNotAllowed(allow string) http.Handler {
	return HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		return methodNotAllowedError(r.Method, allow)
	})
}

// notFound answers 404.
func notFound() http.Handler {
	return HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		return openatp.CodedErrorf(openatp.NotFound, "NotFound", "No resource matches the path %s.", clipID(r.URL.EscapedPath()))
	})
}

func handleHealthz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}`))
	})
}

// readiness shares the store's ping among /readyz requests, which anyone
// may send: one ping runs at a time, and a success answers the requests of
// the next readyFor. A flood of /readyz then costs the store one ping a
// second, not one each: with PostgreSQL, pings share the small pool of
// the per-request version check, and would queue the API behind them.
type readiness struct {
	store openatp.Store
	mu    sync.Mutex // held through a ping: the requests behind it take its answer
	ok    time.Time  // when the last successful ping ended
}

const readyFor = time.Second

func (c *readiness) ping(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.ok.IsZero() && time.Since(c.ok) < readyFor {
		return nil
	}
	if err := c.store.Ping(ctx); err != nil {
		return err // not kept: the next request pings again
	}
	c.ok = time.Now()
	return nil
}

// handleReadyz answers 503 when the store is unreachable. A degraded
// limiter (limiterStatus returns an error) is reported with 200: the
// replica still serves every call, counting limits alone.
func handleReadyz(ready *readiness, limiterStatus func(context.Context) error) http.Handler {
	return HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		if err := ready.ping(r.Context()); err != nil {
			// Say why: the store's message is safe to show (its cause is not).
			msg := "The store is not reachable."
			var e *openatp.Error
			if errors.As(err, &e) && e.Message != "" {
				msg = "The store is not reachable: " + e.Message + "."
			}
			return &openatp.Error{Kind: openatp.Unavailable, Code: "ServiceUnavailable", Message: msg, Err: err}
		}
		w.Header().Set("Content-Type", "application/json")
		switch {
		case limiterStatus == nil:
			_, _ = w.Write([]byte(`{"status":"ready","store":"ok"}`))
		case limiterStatus(r.Context()) != nil:
			_, _ = w.Write([]byte(`{"status":"degraded","store":"ok","limiter":"degraded: shared rate-limit state unreachable, counting in this replica only"}`))
		default:
			_, _ = w.Write([]byte(`{"status":"ready","store":"ok","limiter":"ok"}`))
		}
		return nil
	})
}
