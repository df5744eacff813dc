package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/actions"
	"github.com/openatp/openatp/adminapi"
	"github.com/openatp/openatp/fault"
	"github.com/openatp/openatp/httpserve"
	"github.com/openatp/openatp/internal/accesslog"
	"github.com/openatp/openatp/mdeapi"
	"github.com/openatp/openatp/readmodel"
	"github.com/openatp/openatp/responseapi"
)

// apiConfig is what serve composes the API server of.
type apiConfig struct {
	Model            *readmodel.Model // its owner closes it
	Store            openatp.Store
	Verifier         httpserve.Verifier
	Settings         adminapi.Settings
	AuthFailures     adminapi.FailureBudget
	Logger           *slog.Logger
	Limiter          httpserve.Limiter
	EndpointLimiters map[string]httpserve.Limiter
	LimiterStatus    func(ctx context.Context) error
	UnknownUserEmpty bool
	NoAccessLog      bool
	AccessLog        *accesslog.Text
	BodyTimeout      time.Duration
	PublicURL        string
	JournalSize      int
	// Actions runs the lifecycle of machine actions.
	Actions responseapi.ActionTracker
	// ActionControls are the admin API's controls of the lifecycle.
	ActionControls *actions.Controls
}

// composedAPI is the HTTP server with the MDE API and the admin API on it.
type composedAPI struct {
	*httpserve.Server
	store openatp.Store
	model *readmodel.Model
}

// newAPIServer composes the server: the plumbing (httpserve), the MDE
// routes (mdeapi) on every listener, the admin API (adminapi) on the admin
// surface. The handlers see the store through the metrics' instrumentation
// and the read model's refresh after each write.
func newAPIServer(cfg apiConfig) *composedAPI {
	m := httpserve.NewMetrics(cfg.LimiterStatus)
	store := readmodel.Refreshing(m.Store(cfg.Store), cfg.Model)
	srv := httpserve.NewServer(httpserve.Config{Logger: cfg.Logger, Store: store, Verifier: cfg.Verifier, Metrics: m,
		LimiterStatus: cfg.LimiterStatus, NoAccessLog: cfg.NoAccessLog, AccessLog: cfg.AccessLog, PublicURL: cfg.PublicURL,
		BodyTimeout: cfg.BodyTimeout, JournalSize: cfg.JournalSize})
	mde := mdeapi.Config{Store: store, Model: cfg.Model, Verifier: cfg.Verifier,
		Limiter: m.Limiter(cfg.Limiter), EndpointLimiters: m.Limiters(cfg.EndpointLimiters), UnknownUserEmpty: cfg.UnknownUserEmpty}
	mdeapi.Register(srv.HandlePublic, mde)
	responseapi.Register(srv.HandlePublic, responseapi.Config{Config: mde, Actions: cfg.Actions})
	adminapi.Register(srv.HandleAdmin, adminapi.Config{Store: store, Settings: cfg.Settings, AuthFailures: cfg.AuthFailures,
		BodyTimeout: cfg.BodyTimeout, Faults: srv.Faults(), Journal: srv.Journal(),
		ActionControls: cfg.ActionControls, ActionClock: cfg.Actions})
	return &composedAPI{Server: srv, store: store, model: cfg.Model}
}

// AddFault adds a fault rule, as POST /_openatp/faults does.
func (s *composedAPI) AddFault(ctx context.Context, r fault.Rule) (fault.Rule, error) {
	return adminapi.AddFault(ctx, s.store, s.Faults(), r)
}

// Warm builds the read model of a tenant now rather than on its first
// request, and waits for it (or ctx).
func (s *composedAPI) Warm(ctx context.Context, tenantID string) error {
	return s.model.Warm(ctx, tenantID)
}
