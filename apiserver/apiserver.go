// Package apiserver composes openatp's HTTP API: the plumbing (httpserve)
// with the MDE routes (mdeapi, responseapi, indicatorapi, pivotapi, tvmapi, huntapi) on every listener and the
// admin API (adminapi) on the admin surface, on one store and read model.
// The handlers see the store through the metrics' instrumentation and the
// read model's refresh after each write. The program (cmd/openatp) and
// the HTTP packages' tests (apitest) compose it so.
package apiserver

import (
	"context"
	"log/slog"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/actions"
	"github.com/openatp/openatp/adminapi"
	"github.com/openatp/openatp/fault"
	"github.com/openatp/openatp/httpserve"
	"github.com/openatp/openatp/huntapi"
	"github.com/openatp/openatp/hunting"
	"github.com/openatp/openatp/indicatorapi"
	"github.com/openatp/openatp/internal/accesslog"
	"github.com/openatp/openatp/internal/answercache"
	"github.com/openatp/openatp/mdeapi"
	"github.com/openatp/openatp/pivotapi"
	"github.com/openatp/openatp/readmodel"
	"github.com/openatp/openatp/responseapi"
	"github.com/openatp/openatp/tvmapi"
	"github.com/openatp/openatp/vuln"
)

// Config is the configuration of a composed server: the union of
// httpserve.Config, mdeapi.Config, responseapi.Config and adminapi.Config,
// as the program's flags give them.
type Config struct {
	Store            openatp.Store
	Verifier         httpserve.Verifier
	Settings         adminapi.Settings
	AuthFailures     adminapi.FailureBudget
	Logger           *slog.Logger
	Limiter          httpserve.Limiter
	EndpointLimiters map[string]httpserve.Limiter
	LimiterStatus    func(ctx context.Context) error
	UnknownUserEmpty bool
	// Actions runs the lifecycle of machine actions; nil: none.
	Actions responseapi.ActionTracker
	// ActionControls are the admin API's controls of the actions'
	// lifecycle (adminapi.Config); nil: none.
	ActionControls *actions.Controls
	// MaxLibraryFile bounds a live response library upload; 0: the
	// default.
	MaxLibraryFile int64
	// InvestigationRunTime is how long an investigation runs; 0: the
	// default.
	InvestigationRunTime time.Duration
	// Model is the read model; nil: the server makes its own (NoIndex:
	// disabled, every read answered from the store), closed by Close.
	Model *readmodel.Model
	// AnswerMemory bounds the encoded answers kept (internal/answercache);
	// 0: DefaultAnswerMemory, negative: none kept.
	AnswerMemory int64
	NoIndex      bool
	NoAccessLog  bool
	AccessLog    *accesslog.Text
	PublicURL    string
	BodyTimeout  time.Duration
	JournalSize  int
	// TVM configures the vulnerability-management routes; its Vuln nil:
	// Store's, when it implements vuln.Store (the SQL stores do), else no
	// TVM routes.
	TVM tvmapi.Settings
	// HuntingQuota is each tenant's quota of hunting calls and run time;
	// nil: none. HuntingTimeout and HuntingMaxResult bound a query's run
	// and answer; 0: the service's (200 s, 124 MB).
	HuntingQuota     *huntapi.Quota
	HuntingTimeout   time.Duration
	HuntingMaxResult int
}

// DefaultAnswerMemory is the memory of the kept answers of a server
// without Config.AnswerMemory.
const DefaultAnswerMemory = 64 << 20

// Server is the composed API server.
type Server struct {
	*httpserve.Server
	store openatp.Store
	model *readmodel.Model
	own   bool
}

// New composes a server on cfg.
func New(cfg Config) *Server {
	m := httpserve.NewMetrics(cfg.LimiterStatus)
	store := m.Store(cfg.Store)
	model, own := cfg.Model, cfg.Model == nil
	if own {
		model = readmodel.New(store, readmodel.Options{Disabled: cfg.NoIndex, Logger: cfg.Logger})
	}
	m.ReadModel(model.ServingStale, model.StaleAnswers)
	store = readmodel.Refreshing(store, model)
	mem := cfg.AnswerMemory
	if mem == 0 {
		mem = DefaultAnswerMemory
	}
	answers := answercache.New(mem)
	m.AnswerCache(func() (uint64, uint64, uint64, int64) {
		st := answers.Stats()
		return st.Hits, st.Misses, st.Evictions, st.Bytes
	})
	srv := httpserve.NewServer(httpserve.Config{Logger: cfg.Logger, Store: store, Verifier: cfg.Verifier, Metrics: m,
		LimiterStatus: cfg.LimiterStatus, NoAccessLog: cfg.NoAccessLog, AccessLog: cfg.AccessLog, PublicURL: cfg.PublicURL,
		BodyTimeout: cfg.BodyTimeout, JournalSize: cfg.JournalSize})
	mde := mdeapi.Config{Store: store, Model: model, Answers: answers, Verifier: cfg.Verifier,
		Limiter: m.Limiter(cfg.Limiter), EndpointLimiters: m.Limiters(cfg.EndpointLimiters), UnknownUserEmpty: cfg.UnknownUserEmpty}
	mdeapi.Register(srv.HandlePublic, mde)
	responseapi.Register(srv.HandlePublic, responseapi.Config{Config: mde, Actions: cfg.Actions, MaxLibraryFile: cfg.MaxLibraryFile,
		InvestigationRunTime: cfg.InvestigationRunTime})
	indicatorapi.Register(srv.HandlePublic, indicatorapi.Config{Config: mde})
	pivotapi.Register(srv.HandlePublic, mde)
	tvm := cfg.TVM
	if tvm.Vuln == nil {
		tvm.Vuln = vulnStore(cfg.Store)
	}
	if tvm.Vuln != nil {
		tvmapi.Register(srv.HandlePublic, tvmapi.Config{Config: mde, Settings: tvm})
	}
	logons, _ := cfg.Store.(hunting.LogonEventStore) // the engine's: store is wrapped
	huntapi.Register(srv.HandlePublic, srv.HandleGraph, huntapi.Config{Config: mde, Logons: logons, Vuln: tvm.Vuln, Quota: cfg.HuntingQuota,
		Timeout: cfg.HuntingTimeout, MaxResultBytes: cfg.HuntingMaxResult})
	adminapi.Register(srv.HandleAdmin, adminapi.Config{Store: store, Settings: cfg.Settings, AuthFailures: cfg.AuthFailures,
		BodyTimeout: cfg.BodyTimeout, Faults: srv.Faults(), Journal: srv.Journal(), ActionControls: cfg.ActionControls, ActionClock: cfg.Actions,
		Vuln: tvm.Vuln})
	return &Server{Server: srv, store: store, model: model, own: own}
}

// vulnStore is the engine's vulnerability management, if it has it (the
// store as given, before the wrappers that count and refresh).
func vulnStore(s openatp.Store) vuln.Store {
	v, _ := s.(vuln.Store)
	return v
}

// AddFault adds a fault rule, as POST /_openatp/faults does.
func (s *Server) AddFault(ctx context.Context, r fault.Rule) (fault.Rule, error) {
	return adminapi.AddFault(ctx, s.store, s.Faults(), r)
}

// Warm builds the read model of a tenant and waits for it (or ctx).
func (s *Server) Warm(ctx context.Context, tenantID string) error { return s.model.Warm(ctx, tenantID) }

// LiveViews is the number of read-model views not yet released, of the
// read model the server made (0 when the caller gave one: it checks its
// own).
func (s *Server) LiveViews() int64 {
	if !s.own {
		return 0
	}
	return s.model.LiveViews()
}

// Close closes the read model if the server made it.
func (s *Server) Close() error {
	if s.own {
		return s.model.Close()
	}
	return nil
}
