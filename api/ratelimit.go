package api

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
	Allow(ctx context.Context, key string) (ok bool, retryAfter time.Duration, err error)
}

// limit applies the limiter to a caller's call of an endpoint. It writes
// the 429 answer and returns false when the call must not proceed.
func limit(l Limiter, w http.ResponseWriter, r *http.Request, p *openatp.Principal, endpoint string) bool {
	if l == nil {
		return true
	}
	ok, retry, err := l.Allow(r.Context(), p.TenantID+"|"+p.ClientID+"|"+endpoint)
	if err != nil {
		writeError(w, r, err)
		return false
	}
	if ok {
		return true
	}
	secs := int((retry + time.Second - 1) / time.Second) // whole seconds, rounded up
	if secs < 1 {
		secs = 1
	}
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	unit := " seconds."
	if secs == 1 {
		unit = " second."
	}
	writeErrorBody(w, r, http.StatusTooManyRequests, "TooManyRequests",
		"Rate limit is exceeded. Try again in "+strconv.Itoa(secs)+unit)
	return false
}
