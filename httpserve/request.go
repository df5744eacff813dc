package httpserve

import (
	"encoding/binary"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/openatp/openatp"
)

// requestInfo travels with a request through the middleware: its id, and
// what the handlers learn that the log line should carry.
type requestInfo struct {
	id      string
	logger  *slog.Logger
	tenant  string
	app     string
	user    string // the signed-in user of a delegated token
	errCode string
	base    string // scheme://host of the URLs written, when pinned (withPublicURL)
	start   time.Time

	// Held here so that a request allocates them with the rest.
	sw       statusWriter
	idHeader [1]string

	// The caller, once authenticated: the request journal and fault rules
	// learn it before the handler runs, and the handler gets the same
	// answer (authenticator.principal).
	authed    bool
	principal *openatp.Principal
	authErr   error
}

type infoKey struct{}

func infoOf(r *http.Request) *requestInfo {
	ri, _ := r.Context().Value(infoKey{}).(*requestInfo)
	return ri
}

// startOf is when the request's handling began: withRequest's clock
// reading, which the layers inside it share.
func startOf(r *http.Request) time.Time {
	if ri := infoOf(r); ri != nil {
		return ri.start
	}
	return time.Now()
}

// newRequestID returns a random GUID in its canonical text form. The bits
// come from math/rand/v2's generator (ChaCha8 seeded by the system, per
// thread): a request id names a request, it guards nothing, and
// crypto/rand's system call was 0.7 % of a server's CPU at rest.
func newRequestID() string {
	var u [16]byte
	binary.LittleEndian.PutUint64(u[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(u[8:], rand.Uint64())
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	var b [36]byte
	j := 0
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b[j] = '-'
			j++
		}
		b[j], b[j+1] = hexDigits[c>>4], hexDigits[c&0xf]
		j += 2
	}
	return string(b[:])
}

const hexDigits = "0123456789abcdef"

// statusWriter records the status code and the body bytes written.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += int64(n)
	return n, err
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
