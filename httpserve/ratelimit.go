package httpserve

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/openatp/openatp"
)

// Limiter decides whether one more call may proceed. The key names the
// budget: tenant, application and endpoint. A refused call consumes no
// quota; retryAfter is then how long until a call would be accepted.
type Limiter interface {
	Allow(ctx context.Context, key string) (ok bool, RetryAfter time.Duration, err error)
}

// Limit applies the limiter to a caller's call of an endpoint: nil when the
// call may proceed, else the error that answers it (429 with Retry-After).
func Limit(l Limiter, r *http.Request, p *openatp.Principal, endpoint string) error {
	if l == nil {
		return nil
	}
	ok, retry, err := l.Allow(r.Context(), p.TenantID+"|"+p.ClientID+"|"+endpoint)
	if err != nil || ok {
		return err
	}
	return tooManyRequests(max(int((retry+time.Second-1)/time.Second), 1)) // whole seconds, rounded up
}

// tooManyRequests is the 429 answer with Retry-After: secs.
func tooManyRequests(secs int) error {
	return RetryAfter(secs, openatp.CodedErrorf(openatp.TooManyRequests, "TooManyRequests", "%s", rateLimitMessage(secs)))
}

// rateLimitMessage is the message of a 429 whose Retry-After is secs
// (negative: none).
func rateLimitMessage(secs int) string {
	switch {
	case secs < 0:
		return "Rate limit is exceeded."
	case secs == 1:
		return "Rate limit is exceeded. Try again in 1 second."
	}
	return "Rate limit is exceeded. Try again in " + strconv.Itoa(secs) + " seconds."
}
