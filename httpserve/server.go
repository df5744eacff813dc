// Package httpserve is the HTTP plumbing of openatp's API, which knows no
// route of it: the server and its muxes (HandlePublic, HandleAdmin), the
// middleware every request goes through (request id, access log, panic
// recovery, body deadline, public URL, metrics, and the test double's
// request journal and fault rules with the caller authentication they
// need), the listeners' wrappers (connection limit, the answers of
// malformed requests), /healthz, /readyz, /metrics, the not-found and
// method-not-allowed answers, and the folding of the MDE routes' paths
// (matched in any letter case, a trailing slash tolerated: casefold.go).
//
// It holds the one error path of the API: a handler is a HandlerFunc, which
// returns its error instead of writing it; writeError maps the error's
// kind (openatp.Kind) to its status in one table and appendErrorBody
// writes the MDE error body {"error":{"code","message","target"}} with the
// request id. No other code writes an error body.
package httpserve

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/fault"
	"github.com/openatp/openatp/internal/accesslog"
	"github.com/openatp/openatp/journal"
)

// Config is what the HTTP server needs beside its routes.
type Config struct {
	Logger *slog.Logger // nil: discard
	// Store answers /readyz (its Ping).
	Store openatp.Store
	// Verifier authenticates the callers of the MDE API (under /api/) for
	// the request journal and the fault rules, before the handler runs
	// (which gets the same answer). Without it, no request is journaled.
	Verifier Verifier
	// Metrics is the instrumentation the server serves on /metrics; nil:
	// the server makes its own.
	Metrics *Metrics
	// LimiterStatus, if set, reports the limiter's health on /readyz: nil
	// when healthy, an error while it runs degraded (its shared state
	// unreachable, counting in this replica only).
	LimiterStatus func(ctx context.Context) error
	// NoAccessLog turns off the log line written for every request.
	NoAccessLog bool
	// AccessLog, if set, writes the access log's lines instead of Logger
	// (the same line as Logger's slog.TextHandler would write, at a
	// quarter of the cost); its owner chooses it only for such a logger,
	// at level INFO or below.
	AccessLog *accesslog.Text
	// PublicURL, if set (scheme://host[:port]), is the base of every URL
	// the API writes (@odata.context, @odata.nextLink) instead of the
	// request's scheme and Host header.
	PublicURL string
	// BodyTimeout is the time a client has to send a request body once
	// its headers are in; 0 means DefaultBodyTimeout.
	BodyTimeout time.Duration
	// JournalSize is the number of requests the journal keeps per tenant:
	// 0 means journal.DefaultSize, a negative number turns it off.
	JournalSize int
}

// Server is the HTTP plumbing of the API: its muxes, the middleware every
// request goes through (request ids, access log, body deadlines, metrics,
// the test double's journal and fault rules), and the routes every
// listener serves (/healthz, /readyz, /metrics on the admin surface, and
// the not-found answer). The routes of the API are added with
// HandlePublic and HandleAdmin before serving.
type Server struct {
	mux      *http.ServeMux // everything: public routes and the admin surface
	public   *http.ServeMux // the public routes only
	adminMux *http.ServeMux // the admin surface: admin API, /metrics, health
	logger   *slog.Logger
	metrics  *Metrics
	double   *testDouble
	fold     *folder // the MDE routes' paths, matched without regard to case (casefold.go)

	accessLog   bool
	accessText  *accesslog.Text
	bodyTimeout time.Duration
	publicURL   string
}

// NewServer builds the server on cfg, with no route of the API yet.
func NewServer(cfg Config) *Server {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	m := cfg.Metrics
	if m == nil {
		m = NewMetrics(cfg.LimiterStatus)
	}
	size := cfg.JournalSize
	if size == 0 {
		size = journal.DefaultSize
	}
	s := &Server{mux: http.NewServeMux(), public: http.NewServeMux(), adminMux: http.NewServeMux(), logger: logger,
		metrics: m, accessLog: !cfg.NoAccessLog, accessText: cfg.AccessLog,
		bodyTimeout: cmpOr(cfg.BodyTimeout, DefaultBodyTimeout), publicURL: strings.TrimSuffix(cfg.PublicURL, "/")}
	s.fold = &folder{mux: s.public}
	s.double = &testDouble{authn: NewAuthenticator(cfg.Verifier), journal: journal.New(size), faults: fault.NewSet(nil), fold: s.fold, metrics: m}
	s.double.faults.CheckApps(cfg.Store) // a fault rule naming no application is refused
	// Each mux holds every route it serves, so that a request is routed
	// once (a mux of muxes routed every request twice: 1 % of a server's
	// CPU at rest).
	s.HandleAdmin("GET /metrics", m.handler())
	ready := &readiness{store: cfg.Store}
	for _, mux := range []*http.ServeMux{s.public, s.adminMux, s.mux} {
		mux.Handle("GET /healthz", handleHealthz())
		mux.Handle("GET /readyz", handleReadyz(ready, cfg.LimiterStatus))
	}
	// What no route takes: a path of the MDE API in another case or with
	// a trailing slash goes to its route, anything else is not found.
	s.public.Handle("/", s.fold.catchAll(notFound()))
	s.mux.Handle("/", s.fold.catchAll(notFound()))
	s.adminMux.Handle("/", notFound())
	return s
}

func cmpOr(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// HandlePublic routes pattern to h on every listener, behind the same
// request ids, access log, metrics and panic recovery as the API's own
// routes (the MDE API, and the token issuer's routes the program mounts).
// Call it before serving; a pattern that conflicts with another panics,
// as with http.ServeMux. A pattern with a {tenant} wildcard names that
// tenant (the id or name the path holds) in the request's log line, when
// no token named one. The segments of a path under /api/ that the pattern
// names literally are matched without regard to case, and a trailing
// slash is tolerated (casefold.go).
func (s *Server) HandlePublic(pattern string, h http.Handler) {
	if strings.Contains(pattern, "{tenant}") {
		h = withPathTenant(h)
	}
	h = s.fold.add(pattern, h)
	s.public.Handle(pattern, h)
	s.mux.Handle(pattern, h)
	s.double.faults.Serve(pattern) // fault rules may name it
}

// HandleGraph routes pattern to h as HandlePublic does, but outside the
// test double: fault rules cannot name it (they apply to the Defender API
// and the sign-in endpoints) and its requests are not journaled. For
// Microsoft Graph's routes.
func (s *Server) HandleGraph(pattern string, h http.Handler) {
	s.public.Handle(pattern, h)
	s.mux.Handle(pattern, h)
}

// withPathTenant records the {tenant} of the path as the request's tenant,
// for its log line, unless the request has one already.
func withPathTenant(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ri := infoOf(r); ri != nil && ri.tenant == "" {
			ri.tenant = r.PathValue("tenant")
		}
		next.ServeHTTP(w, r)
	})
}

// Handle is HandlePublic.
func (s *Server) Handle(pattern string, h http.Handler) { s.HandlePublic(pattern, h) }

// HandleAdmin routes pattern to h on the admin surface only (the admin
// API): Handler and AdminHandler serve it, PublicHandler does not.
func (s *Server) HandleAdmin(pattern string, h http.Handler) {
	s.adminMux.Handle(pattern, h)
	s.mux.Handle(pattern, h)
}

// Faults are the fault rules the server applies to the MDE API.
func (s *Server) Faults() *fault.Set { return s.double.faults }

// Journal is the request journal of the MDE API; nil when off.
func (s *Server) Journal() *journal.Journal { return s.double.journal }

// Handler returns the server's handler: the public routes and the admin
// surface (the admin API and /metrics). It serves HTTP and HTTPS alike
// (HTTP/1.1 and HTTP/2): the URLs it writes start with https:// when the
// request came over TLS (r.TLS), else http:// (Config.PublicURL pins
// them).
func (s *Server) Handler() http.Handler { return s.wrap(s.mux) }

// PublicHandler is Handler without the admin surface: for a listener
// other than loopback, when the admin API and /metrics are not to be
// served there.
func (s *Server) PublicHandler() http.Handler { return s.wrap(s.public) }

// AdminHandler serves the admin surface alone — the admin API, /metrics,
// /healthz and /readyz — for a listener of its own.
func (s *Server) AdminHandler() http.Handler { return s.wrap(s.adminMux) }

// wrap puts a mux behind the request ids, access log, body deadlines,
// metrics, and the request journal and fault rules (for /api/ only).
func (s *Server) wrap(mux *http.ServeMux) http.Handler {
	return withRequest(s.logger, s.accessLog, s.accessText, withPublicURL(s.publicURL, withBodyDeadline(s.bodyTimeout, s.metrics.wrap(s.double.wrap(mux)))))
}
