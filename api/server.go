package api

import (
	"context"
	"log/slog"
	"maps"
	"net/http"
	"strings"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/fault"
	"github.com/openatp/openatp/internal/accesslog"
	"github.com/openatp/openatp/journal"
	"github.com/openatp/openatp/readmodel"
)

// Config is what the API server needs.
type Config struct {
	Store    openatp.Store
	Verifier Verifier
	// Settings reads the deployment's settings (the admin key) from
	// memory; auth.Service implements it. Without it the admin API
	// refuses every call.
	Settings Settings
	// AuthFailures, if set, bounds failed admin-key attempts per client
	// address (shared with the token endpoint's failed sign-ins): once an
	// address's budget is used up, its admin calls get 429 unchecked.
	AuthFailures FailureBudget
	Logger       *slog.Logger
	// Limiter applies rate limits per tenant, application and endpoint;
	// nil means no limits.
	Limiter Limiter
	// EndpointLimiters replace Limiter for the endpoints they name (their
	// own policies, such as the documented 10 calls a minute of
	// alerts/batchUpdate: see ratelimit.Endpoints).
	EndpointLimiters map[string]Limiter
	// LimiterStatus, if set, reports the limiter's health on /readyz: nil
	// when healthy, an error while it runs degraded (its shared state
	// unreachable, counting in this replica only).
	LimiterStatus func(ctx context.Context) error
	// UnknownUserEmpty answers an unknown user with 200 and an empty
	// collection (the live service since 2021) instead of 404.
	UnknownUserEmpty bool
	// Model is the in-memory read model reads are answered from; its
	// owner (who built it) closes it. When nil, the server makes one of
	// its own, which Server.Close closes.
	Model *readmodel.Model
	// NoIndex answers every request from the store (tests of the SQL path).
	NoIndex bool
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
	// its headers are in (admin loads: this plus their size at 256 KiB/s);
	// 0 means DefaultBodyTimeout.
	BodyTimeout time.Duration
	// JournalSize is the number of requests the journal keeps per tenant:
	// 0 means journal.DefaultSize, a negative number turns it off.
	JournalSize int

	metrics   *metrics    // set by NewServer
	double    *testDouble // set by NewServer
	readiness *readiness  // set by NewServer
}

// Server is the HTTP API.
type Server struct {
	mux      *http.ServeMux // everything: public routes and the admin surface
	public   *http.ServeMux // the public routes only
	adminMux *http.ServeMux // the admin surface: admin API, /metrics, health
	logger   *slog.Logger
	model    *readmodel.Model
	own      bool // model is the server's own
	metrics  *metrics
	double   *testDouble
	store    openatp.Store

	accessLog   bool
	accessText  *accesslog.Text
	bodyTimeout time.Duration
	publicURL   string
}

// NewServer builds the API on cfg.
func NewServer(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.EndpointLimiters = maps.Clone(cfg.EndpointLimiters)
	if cfg.BodyTimeout <= 0 {
		cfg.BodyTimeout = DefaultBodyTimeout
	}
	cfg.metrics = newMetrics(&cfg) // instruments cfg.Store and the limiters
	own := cfg.Model == nil
	if own {
		cfg.Model = readmodel.New(cfg.Store, readmodel.Options{Disabled: cfg.NoIndex, Logger: cfg.Logger})
	}
	size := cfg.JournalSize
	if size == 0 {
		size = journal.DefaultSize
	}
	public := http.NewServeMux()
	cfg.double = &testDouble{authn: &authenticator{v: cfg.Verifier}, journal: journal.New(size), faults: fault.NewSet(nil), mux: public, metrics: cfg.metrics}
	s := &Server{mux: http.NewServeMux(), public: public, adminMux: http.NewServeMux(), logger: cfg.Logger,
		model: cfg.Model, own: own, accessLog: !cfg.NoAccessLog, accessText: cfg.AccessLog, metrics: cfg.metrics, double: cfg.double,
		bodyTimeout: cfg.BodyTimeout, publicURL: strings.TrimSuffix(cfg.PublicURL, "/")}
	cfg.Store = refreshing{Store: cfg.Store, model: cfg.Model}
	cfg.readiness = &readiness{store: cfg.Store}
	s.store = cfg.Store
	// Each mux holds every route it serves, so that a request is routed
	// once (a mux of muxes routed every request twice: 1 % of a server's
	// CPU at rest).
	addRoutes(s.public, cfg)
	addCommonRoutes(s.public, cfg)
	addAdminSurface(s.adminMux, cfg)
	addCommonRoutes(s.adminMux, cfg)
	addRoutes(s.mux, cfg)
	addAdminSurface(s.mux, cfg)
	addCommonRoutes(s.mux, cfg)
	return s
}

// AddFault adds a fault rule, as POST /_openatp/faults does (the program
// adds those of --fault so). Its tenant may be given by name.
func (s *Server) AddFault(ctx context.Context, r fault.Rule) (fault.Rule, error) {
	if err := prepareRule(ctx, s.store, &r); err != nil {
		return fault.Rule{}, err
	}
	return s.double.faults.Add(r)
}

// Handle routes pattern to h beside the API's own routes, behind the same
// request ids, access log, metrics and panic recovery (the program mounts
// the token issuer's routes so). Call it before serving; a pattern that
// conflicts with a route of the API panics, as with http.ServeMux.
//
// A pattern with a {tenant} wildcard names that tenant (the id or name the
// path holds) in the request's log line, when no token named one.
func (s *Server) Handle(pattern string, h http.Handler) {
	if strings.Contains(pattern, "{tenant}") {
		h = withPathTenant(h)
	}
	s.public.Handle(pattern, h)
	s.mux.Handle(pattern, h)
}

// Handler returns the server's handler: the API, the routes mounted with
// Handle, and the admin surface (the admin API and /metrics). It serves
// HTTP and HTTPS alike (HTTP/1.1 and HTTP/2): the URLs it writes start
// with https:// when the request came over TLS (r.TLS), else http://
// (Config.PublicURL pins them).
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

// Warm builds the read model of a tenant now rather than on its first
// request, and waits for it (or ctx).
func (s *Server) Warm(ctx context.Context, tenantID string) error { return s.model.Warm(ctx, tenantID) }

// Close stops what the server owns: its read model, if it made one.
func (s *Server) Close() error {
	if s.own {
		return s.model.Close()
	}
	return nil
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
