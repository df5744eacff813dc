package api

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/openatp/openatp"
)

// Config is what the API server needs.
type Config struct {
	Store    openatp.Store
	Verifier Verifier
	// Identity serves the token issuer's routes (see IdentityPatterns);
	// nil leaves them unrouted.
	Identity http.Handler
	// IdentityPatterns are the ServeMux patterns Identity answers.
	IdentityPatterns []string
	Logger           *slog.Logger
	// Limiter applies rate limits per tenant, application and endpoint;
	// nil means no limits.
	Limiter Limiter
	// LimiterStatus, if set, reports the limiter's health on /readyz: nil
	// when healthy, an error while it runs degraded (its shared state
	// unreachable, counting in this replica only).
	LimiterStatus func(ctx context.Context) error
	// UnknownUserEmpty answers an unknown user with 200 and an empty
	// collection (the live service since 2021) instead of 404.
	UnknownUserEmpty bool
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
	idx     *index
	metrics *metrics

	accessLog bool
}

// NewServer builds the API on cfg.
func NewServer(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.metrics = newMetrics(&cfg) // instruments cfg.Store and cfg.Limiter
	s := &Server{mux: http.NewServeMux(), logger: cfg.Logger, idx: newIndex(cfg.Store, cfg.Logger, cfg.NoIndex), accessLog: !cfg.NoAccessLog, metrics: cfg.metrics}
	addRoutes(s.mux, cfg, s.idx)
	return s
}

// Handler returns the server's handler for a listener of the given scheme
// ("http" or "https"), used in @odata.context and discovery documents.
func (s *Server) Handler(scheme string) http.Handler {
	return withRequest(s.logger, scheme, s.accessLog, s.metrics.wrap(s.mux))
}

// Warm builds the in-memory index of a tenant now rather than on its first
// request, and waits for it (or ctx). While the store keeps changing or
// cannot be read, it retries with growing pauses.
func (s *Server) Warm(ctx context.Context, tenantID string) error {
	pause := 20 * time.Millisecond
	for {
		ti, err := s.idx.lookup(ctx, tenantID)
		if err != nil || ti != nil || s.idx.disabled {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
		}
		pause = min(pause*5/4, time.Second)
	}
}
