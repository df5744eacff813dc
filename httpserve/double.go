package httpserve

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/fault"
	"github.com/openatp/openatp/journal"
)

// testDouble is what openatp does as a test double beyond the API itself,
// for the requests of the MDE API (paths under /api/): it records each in
// the request journal of the caller's tenant, and applies the fault rules.
// Both need the caller, so it authenticates the request before the
// handler (which gets the same answer: authenticator.principal). Requests
// whose token does not verify belong to no tenant and are not journaled.
type testDouble struct {
	authn   *Authenticator
	journal *journal.Journal // nil: off
	faults  *fault.Set
	fold    *folder // to name the route of an answer a fault gave instead
	metrics *Metrics
}

func (d *testDouble) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/api/") && d.faults.Beyond() {
			d.signIn(w, r, next)
			return
		}
		if !strings.HasPrefix(r.URL.Path, "/api/") || d.journal == nil && d.faults.Empty() {
			next.ServeHTTP(w, r)
			return
		}
		start := startOf(r)
		var tenant, app, user string
		if d.authn.v != nil { // a server without a verifier knows no caller
			if p, _ := d.authn.Principal(r); p != nil {
				tenant, app, user = p.TenantID, p.ClientID, p.UserName
			}
		}
		path := r.URL.EscapedPath()
		var dec fault.Decision
		applied := false
		if !d.faults.Empty() {
			dec, applied = d.faults.Decide(fault.Request{Method: r.Method, Path: path, Tenant: tenant, App: app, User: user,
				RouteOf: func() string { return d.fold.routeOf(r) }})
		}
		if d.journal != nil && tenant != "" {
			defer func() { // also when a fault aborts the answer with a panic
				e := journal.Entry{Time: start, App: app, User: user, Method: r.Method, Path: path, Query: r.URL.RawQuery,
					Route: r.Pattern, Latency: time.Since(start)}
				if ri := infoOf(r); ri != nil {
					e.RequestID = ri.id
				}
				if sw, ok := w.(*statusWriter); ok {
					e.Status, e.Bytes = sw.status, sw.bytes
				}
				if applied {
					e.Fault, e.FaultKind = dec.Rule.ID, string(dec.Rule.Kind)
				}
				d.journal.Add(tenant, e)
			}()
		}
		if !applied {
			next.ServeHTTP(w, r)
			return
		}
		d.metrics.faultApplied(dec.Rule)
		d.apply(w, r, next, dec)
	})
}

// signIn applies the fault rules to a request outside /api/, when a rule
// names a route there (a sign-in endpoint): such a request names its
// tenant (id or name) in its path and carries no token. It is not
// journaled.
func (d *testDouble) signIn(w http.ResponseWriter, r *http.Request, next http.Handler) {
	path := r.URL.EscapedPath()
	ref, _, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	if u, err := url.PathUnescape(ref); err == nil {
		ref = u
	}
	dec, ok := d.faults.Decide(fault.Request{Method: r.Method, Path: path, TenantRef: ref,
		RouteOf: func() string { return d.fold.routeOf(r) }})
	if !ok {
		next.ServeHTTP(w, r)
		return
	}
	d.metrics.faultApplied(dec.Rule)
	d.apply(w, r, next, dec)
}

// apply does what a fault rule decided: wait, then answer an error, reset
// the connection, or let the handler answer (cut short for truncate; told
// to fail the action it creates for fail-action, see ActionFault). The
// answer itself carries no mark of the fault.
func (d *testDouble) apply(w http.ResponseWriter, r *http.Request, next http.Handler, dec fault.Decision) {
	if dec.Delay > 0 && !sleep(r.Context(), dec.Delay) {
		return // the client went away
	}
	rule := dec.Rule
	switch rule.Kind {
	case fault.Error:
		r.Pattern = d.fold.routeOf(r) // the route the answer stands for, for metrics and the journal
		if !strings.HasPrefix(r.URL.Path, "/api/") {
			writeSignInFault(w, rule)
			return
		}
		writeError(w, r, faultError(rule))
	case fault.Reset:
		r.Pattern = d.fold.routeOf(r)
		resetConn(w)
	case fault.Truncate:
		tw := &truncateWriter{ResponseWriter: w, left: rule.TruncateAfter}
		next.ServeHTTP(tw, r)
		if tw.cut {
			// Send what was kept, then drop the connection (HTTP/1.1) or
			// reset the stream (HTTP/2): the client reads a body shorter than
			// promised.
			_ = http.NewResponseController(w).Flush()
			panic(http.ErrAbortHandler)
		}
	case fault.FailAction:
		fr := r.WithContext(context.WithValue(r.Context(), actionFaultKey{}, rule.HResult))
		next.ServeHTTP(w, fr)
		r.Pattern = fr.Pattern // the route that answered, for metrics and the journal
	default: // fault.Latency
		next.ServeHTTP(w, r)
	}
}

// actionFaultKey is the request context key of a fail-action rule's
// errorHResult.
type actionFaultKey struct{}

// ActionFault reports whether a fail-action fault rule applied to the
// request of ctx, and the errorHResult the machine action the request
// creates is to end Failed with. The handler that creates the action
// reads it and tells the action's lifecycle so (package responseapi).
func ActionFault(ctx context.Context) (hresult int32, ok bool) {
	hresult, ok = ctx.Value(actionFaultKey{}).(int32)
	return hresult, ok
}

// sleep waits for d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// kindOfStatus is statusOf read backwards.
var kindOfStatus = func() map[int]openatp.Kind {
	m := make(map[int]openatp.Kind, len(statusOf))
	for k, s := range statusOf {
		m[s] = k
	}
	return m
}()

// faultError is the error a rule names, answered as openatp answers its
// own errors of that status (the same code, message and body), unless the
// rule gives its own code or message.
func faultError(rule *fault.Rule) error {
	err := faultErrorOf(rule)
	if rule.RetryAfter >= 0 {
		err = RetryAfter(rule.RetryAfter, err)
	}
	return err
}

func faultErrorOf(rule *fault.Rule) error {
	code, msg := rule.Code, rule.Message
	kind, known := kindOfStatus[rule.Status]
	if !known { // a status no error kind has (502, 504, ...)
		if code == "" {
			code = strings.ReplaceAll(http.StatusText(rule.Status), " ", "")
		}
		if msg == "" {
			msg = http.StatusText(rule.Status) + "."
		}
		return &statusError{status: rule.Status, code: code, message: msg, err: faultCause(rule.ID)}
	}
	if msg == "" {
		switch kind {
		case openatp.TooManyRequests:
			msg = rateLimitMessage(rule.RetryAfter)
		case openatp.Internal, openatp.Unavailable: // writeError's own
		default:
			msg = http.StatusText(rule.Status) + "."
		}
	}
	return &openatp.Error{Kind: kind, Code: code, Message: msg, Err: faultCause(rule.ID)}
}

// writeSignInFault answers a sign-in request with the error a rule names,
// as Entra ID writes its errors (fault.SignInError).
func writeSignInFault(w http.ResponseWriter, rule *fault.Rule) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store, no-cache")
	if rule.RetryAfter >= 0 {
		h.Set("Retry-After", strconv.Itoa(rule.RetryAfter))
	}
	w.WriteHeader(rule.Status)
	_, _ = w.Write(fault.SignInError(rule, time.Now(), openatp.NewGUID()))
}

// faultCause is the cause logged for an injected 500 or 503.
type faultCause string

func (c faultCause) Error() string { return "injected by fault rule " + string(c) }

// resetConn resets the request's connection: on HTTP/1.1 the connection is
// taken over and closed with a TCP reset (RST); on HTTP/2 the stream is
// reset.
func resetConn(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := tcpConn(conn); ok {
		_ = tc.SetLinger(0) // close sends RST, not FIN
	}
	_ = conn.Close()
}

// truncateWriter passes the first left bytes of the body and drops the
// rest, telling the handler all was written.
type truncateWriter struct {
	http.ResponseWriter
	left int64
	cut  bool
}

func (t *truncateWriter) Write(b []byte) (int, error) {
	if int64(len(b)) <= t.left {
		t.left -= int64(len(b))
		return t.ResponseWriter.Write(b)
	}
	if !t.cut {
		// What is kept (the headers at least: a write of nothing sends them).
		if _, err := t.ResponseWriter.Write(b[:t.left]); err != nil {
			return 0, err
		}
		t.left, t.cut = 0, true
	}
	return len(b), nil
}

func (t *truncateWriter) Unwrap() http.ResponseWriter { return t.ResponseWriter }
