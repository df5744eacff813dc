package api

import (
	"context"
	"log/slog"
	"maps"
	"net/http"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/readmodel"
)

// Config is what the API server needs.
type Config struct {
	Store    openatp.Store
	Verifier Verifier
	Logger   *slog.Logger
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

	metrics *metrics // set by NewServer
}

// Server is the HTTP API.
type Server struct {
	mux     *http.ServeMux
	logger  *slog.Logger
	model   *readmodel.Model
	own     bool // model is the server's own
	metrics *metrics

	accessLog bool
}

// NewServer builds the API on cfg.
func NewServer(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.EndpointLimiters = maps.Clone(cfg.EndpointLimiters)
	cfg.metrics = newMetrics(&cfg) // instruments cfg.Store and the limiters
	own := cfg.Model == nil
	if own {
		cfg.Model = readmodel.New(cfg.Store, readmodel.Options{Disabled: cfg.NoIndex, Logger: cfg.Logger})
	}
	s := &Server{mux: http.NewServeMux(), logger: cfg.Logger, model: cfg.Model, own: own, accessLog: !cfg.NoAccessLog, metrics: cfg.metrics}
	addRoutes(s.mux, cfg)
	return s
}

// Handle routes pattern to h beside the API's own routes, behind the same
// request ids, access log, metrics and panic recovery (the program mounts
// the token issuer's routes so). Call it before serving; a pattern that
// conflicts with a route of the API panics, as with http.ServeMux.
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// Handler returns the server's handler. It serves HTTP and HTTPS alike
// (HTTP/1.1 and HTTP/2): the URLs it writes start with https:// when the
// request came over TLS (r.TLS), else http://.
func (s *Server) Handler() http.Handler {
	return withRequest(s.logger, s.accessLog, s.metrics.wrap(s.mux))
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
