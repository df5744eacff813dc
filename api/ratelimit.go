package api

import (
	"context"
	"net/http"
	"time"

	"github.com/openatp/openatp"
)

// Limiter decides whether one more call may proceed. The key names the
// budget: tenant, application and endpoint. A refused call consumes no
// quota; retryAfter is then how long until a call would be accepted.
type Limiter interface {
	Allow(ctx context.Context, key string) (ok bool, retryAfter time.Duration, err error)
}

// limit applies the limiter to a caller's call of an endpoint: nil when the
// call may proceed, else the error that answers it (429 with Retry-After).
func limit(l Limiter, r *http.Request, p *openatp.Principal, endpoint string) error {
	if l == nil {
		return nil
	}
	ok, retry, err := l.Allow(r.Context(), p.TenantID+"|"+p.ClientID+"|"+endpoint)
	if err != nil || ok {
		return err
	}
	secs := max(int((retry+time.Second-1)/time.Second), 1) // whole seconds, rounded up
	unit := " seconds."
	if secs == 1 {
		unit = " second."
	}
	return &retryError{after: secs, err: openatp.CodedErrorf(openatp.TooManyRequests, "TooManyRequests",
		"Rate limit is exceeded. Try again in %d%s", secs, unit)}
}

// retryError is an error whose answer carries Retry-After.
type retryError struct {
	after int // seconds
	err   error
}

func (e *retryError) Error() string { return e.err.Error() }
func (e *retryError) Unwrap() error { return e.err }
