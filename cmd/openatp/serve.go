package main

import (
	"cmp"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/actions"
	"github.com/openatp/openatp/apiserver"
	"github.com/openatp/openatp/auth"
	"github.com/openatp/openatp/fault"
	"github.com/openatp/openatp/httpserve"
	"github.com/openatp/openatp/huntapi"
	"github.com/openatp/openatp/hunting"
	"github.com/openatp/openatp/internal/accesslog"
	"github.com/openatp/openatp/internal/demotenant"
	"github.com/openatp/openatp/internal/lifetime"
	"github.com/openatp/openatp/internal/logbuf"
	"github.com/openatp/openatp/internal/retention"
	"github.com/openatp/openatp/internal/tlsca"
	"github.com/openatp/openatp/journal"
	"github.com/openatp/openatp/ratelimit"
	"github.com/openatp/openatp/readmodel"
	"github.com/openatp/openatp/readmodel/keeper"
	"github.com/openatp/openatp/redis"
)

// runServe runs the server until ctx is cancelled (SIGINT/SIGTERM) or a
// listener fails, then shuts down gracefully: the listeners stop
// accepting, in-flight requests finish, and the read model, the token
// service and the store close, in that order (the deferred calls below).
func runServe(ctx context.Context, env *cliEnv, args []string) error {
	o, err := parseServeFlags(env, args)
	if err != nil {
		return err
	}
	// Log lines (one per request with the access log) are written out in
	// batches, at the latest every 100 ms, and all of them at shutdown.
	logOut := logbuf.New(env.stderr, 64<<10, 100*time.Millisecond)
	defer logOut.Close()
	logger, err := newLogger(logOut, o.logLevel, o.logFormat)
	if err != nil {
		return err
	}
	stopProfile, err := startCPUProfile(o.cpuProfile)
	if err != nil {
		return err
	}
	defer stopProfile()

	// The store, with the admin key and (--demo) the demo tenant in it.
	store, err := o.store.open(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	adminKey, err := demotenant.EnsureAdminKey(ctx, store)
	if err != nil {
		return err
	}
	var creds demotenant.Credentials
	if o.demo {
		if creds, err = demotenant.Ensure(ctx, store); err != nil {
			return err
		}
	}
	// The rate limiters, the token service (it refreshes its keys in the
	// background until Close), the read model and the API on them.
	lim, err := newLimiters(o.policy, o.redisURL, logger)
	if err != nil {
		return err
	}
	defer lim.close()
	svc, err := auth.New(ctx, store, auth.Options{Hostnames: o.hostnames, Logger: logger, RefreshInterval: time.Second, PublicURL: o.publicURL,
		LockoutThreshold: o.lockoutThreshold, LockoutDuration: o.lockoutDuration, Failures: o.failures})
	if err != nil {
		return err
	}
	defer svc.Close()
	model := readmodel.New(store, readmodel.Options{MemoryBudget: o.indexMemory - o.answerMemory(), StaleReads: o.staleReads, Now: readModelClock, Logger: logger})
	defer model.Close() // before the store closes: it stops the builds reading it
	kp, err := o.checkpoint.Start(ctx, o.store.dbPath(), isPostgres(o.store.db), keeper.Config{Model: model, Store: store, Logger: logger})
	if err != nil {
		return err
	}
	defer kp.Close() // a last write, before the model closes
	// The machine actions' lifecycle: it resumes the store's live actions
	// and moves them on their clock until Close, with the durations,
	// unreachable machines, failures, scripts and files the admin API
	// sets; an offboarded machine stops reporting.
	controls := &actions.Controls{}
	clock, err := actions.Start(ctx, actions.Config{Store: store, Run: controls.Runner(actions.LibraryRunner(store)), Results: controls.Result,
		Timing: controls.Timing, Outcome: controls.Outcome, Investigations: controls.InvestigationAt,
		Succeeded: actions.OffboardedHealth(readmodel.Refreshing(store, model)),
		Errors: func(tenantID, id string, err error) {
			logger.Warn("machine action step failed; it is tried again", "tenant", tenantID, "action", id, "err", err)
		}})
	if err != nil {
		return err
	}
	defer clock.Close() // before the store closes
	if o.eventRetention > 0 {
		sweeper := retention.Start(ctx, retention.Config{Store: store, Retention: o.eventRetention, Swept: func(n int64, err error) {
			if err != nil {
				logger.Warn("deleting expired events failed; the next sweep tries again", "err", err)
			} else if n > 0 {
				logger.Info("deleted expired events and IP history", "rows", n, "retention", o.eventRetention.String())
			}
		}})
		defer sweeper.Close() // before the store closes
	}
	server, err := newAPI(ctx, o, store, model, svc, lim, clock, controls, logOut, logger)
	if err != nil {
		return err
	}

	// The listeners, and what they are: printed, and (--demo) written
	// with the demo credentials.
	conns := httpserve.NewConnLimit(connectionLimit(o.maxConns), logger)
	defer conns.Wait() // the refused connections' drains, at most a second each
	ls, err := openListeners(env, o, server, conns, logger)
	if err != nil {
		return err
	}
	printListeners(env, o, ls, logger)
	if o.demo {
		creds.BaseURL, creds.TLSBaseURL, creds.CAFile, creds.AdminKey = ls.baseURL, ls.tlsBaseURL, ls.caFile, adminKey
		if len(ls.adminWhere) > 0 {
			creds.AdminURL = ls.adminWhere[0]
		}
		err := demotenant.WriteFile(o.store.data, creds)
		if err == nil {
			err = printDemoHowTo(ctx, env, svc, store, creds, o.store.data)
		}
		if err != nil {
			ls.close()
			return err
		}
	}
	// Serve until ctx ends or a listener fails; then shut down.
	return serveUntilDone(ctx, ls, conns, func(ctx context.Context) { keeper.Warm(ctx, kp, store, model) }, o.shutdownTimeout, logger)
}

// serveFlags are the flags of serve, checked, with the values they give.
type serveFlags struct {
	store                    storeFlags
	addr, tlsAddr, adminAddr string
	publicAdmin, asMicrosoft bool
	hostnames                multiFlag
	publicURL                string // checked: scheme://host[:port]
	unknownUser              string // "404" or "empty"
	demo                     bool
	logLevel, logFormat      string
	accessLog                bool
	indexMemory              int64 // bytes
	answerShare              int   // percent of indexMemory
	staleReads               time.Duration
	checkpoint               keeper.Flags
	cpuProfile               string
	policy                   ratelimit.Policy
	redisURL                 string
	failures                 *ratelimit.Failures
	lockoutThreshold         int // negative: off
	lockoutDuration          time.Duration
	bodyTimeout              time.Duration
	maxConns                 int
	shutdownTimeout          time.Duration
	journalSize              int
	eventRetention           time.Duration
	huntingCPU               time.Duration
	faults                   jsonFlag
}

// readModelClock is the clock of the read model's --stale-reads window;
// nil: time.Now. Tests set it.
var readModelClock func() time.Time

// parseServeFlags parses and checks serve's flags.
func parseServeFlags(env *cliEnv, args []string) (*serveFlags, error) {
	var o serveFlags
	fs := newFlagSet(env, "serve")
	o.store.register(fs)
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "HTTP listen address")
	fs.StringVar(&o.tlsAddr, "tls-addr", "127.0.0.1:8443", "HTTPS listen address (empty disables HTTPS)")
	fs.StringVar(&o.unknownUser, "unknown-user", "404", "answer for an unknown user: 404 (documented) or empty (200 with an empty collection, the live service since 2021)")
	fs.BoolVar(&o.demo, "demo", false, "create and seed the demo tenant if absent, and print how to call it")
	fs.Var(&o.hostnames, "hostname", "extra host name for the TLS certificate and token issuers (repeatable)")
	fs.BoolVar(&o.asMicrosoft, "as-microsoft", false, "answer as login.microsoftonline.com and the MDE API hosts: their names in the certificate and as token issuers, HTTPS on 127.0.0.1:443 unless --tls-addr is given (docs/clients.md)")
	fs.StringVar(&o.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	fs.StringVar(&o.logFormat, "log-format", "text", "log format: text or json")
	fs.BoolVar(&o.accessLog, "access-log", true, "log one line per request")
	indexMemory := fs.String("index-memory", "3GiB", "memory budget of the in-memory read model (e.g. 512MiB, 4GiB); the least recently read tenants beyond it are evicted and rebuilt on demand")
	fs.IntVar(&o.answerShare, "answer-cache", 5, "share of --index-memory, in percent, that keeps the encoded answers of reads served from the read model (written again while nothing they were built from changed); 0: none kept")
	o.checkpoint.Register(fs)
	fs.DurationVar(&o.staleReads, "stale-reads", 0, "while the store cannot be read, answer reads from the in-memory read model as it is for at most this long after the store last answered (e.g. 30s); 0: such reads fail at once (503)")
	fs.StringVar(&o.cpuProfile, "cpu-profile", "", "write a Go CPU profile of the whole run to this file (diagnostics)")
	rateLimit := fs.String("rate-limit", "service", "rate limits per tenant, app and endpoint: service (100/min,1500/hour; alerts/batchUpdate 10/min,500/hour; alerts/CreateAlertByReference 15/min; machines/runliveresponse 10/min; machineactions/getPackageUri 2/min,120/hour), off, or custom such as 20/min,300/hour (for every endpoint)")
	fs.StringVar(&o.redisURL, "redis", "", "redis://host:port shared by replicas for rate-limit counts (empty: count in this process)")
	fs.IntVar(&o.lockoutThreshold, "lockout-threshold", auth.DefaultLockoutThreshold, "failed password sign-ins of one user after which it is locked (AADSTS50053), as Entra's smart lockout; 0 turns lockout off")
	fs.DurationVar(&o.lockoutDuration, "lockout-duration", auth.DefaultLockoutDuration, "first lockout period (doubling with each further lockout, up to an hour)")
	fs.DurationVar(&o.bodyTimeout, "body-timeout", httpserve.DefaultBodyTimeout, "time a client has to send a request body once its headers are in (admin loads: this plus 1 s per 256 KiB they may hold); a slower client is cut off")
	fs.IntVar(&o.maxConns, "max-connections", 0, "connections open at once on the HTTP and HTTPS listeners together; beyond, new ones are refused (503); 0: 10,000, or fewer when the open-file limit is lower")
	fs.DurationVar(&o.shutdownTimeout, "shutdown-timeout", 30*time.Second, "time in-flight requests get to finish on SIGINT/SIGTERM; connections still open then are cut, and serve exits with an error saying how many")
	fs.StringVar(&o.adminAddr, "admin-addr", "", "serve the admin API and /metrics on this address of their own (plain HTTP; e.g. 127.0.0.1:9090), and not on --addr and --tls-addr")
	fs.BoolVar(&o.publicAdmin, "public-admin", false, "serve the admin API and /metrics on --addr and --tls-addr even when they are not loopback addresses")
	fs.StringVar(&o.publicURL, "public-url", "", "the base URL clients reach this server at (e.g. https://atp.example.com): token issuers, discovery documents and @odata.context use it instead of the request's Host header")
	failureBudget := fs.String("auth-failure-budget", defaultFailureBudget, "failed sign-ins and admin-key attempts allowed per client address, as LIMIT/WINDOW,...; beyond, the address is refused (429) until the budget has room; off turns it off")
	fs.IntVar(&o.journalSize, "journal-size", journal.DefaultSize, "requests kept per tenant in the request journal (about 400 bytes each); 0 turns it off")
	fs.DurationVar(&o.eventRetention, "event-retention", 30*24*time.Hour, "how long file, network and logon events, and the machines' IP history, are kept (swept every hour at most); 0 keeps them")
	fs.DurationVar(&o.huntingCPU, "hunting-cpu-budget", hunting.DefaultCPUPerHour, "advanced hunting run time a tenant may use per rolling hour (the service's CPU quota; beyond, 429); 0: no budget")
	fs.Var(&o.faults, "fault", `a fault rule to start with, as JSON ({"kind":"error","status":503,...}, as POST /_openatp/faults takes; repeatable)`)
	if err := parseFlags(env, fs, args); err != nil {
		return nil, err
	}
	var err error
	if o.asMicrosoft {
		o.hostnames = append(o.hostnames, MicrosoftHosts...)
		if !flagSet(fs, "tls-addr") {
			o.tlsAddr = "127.0.0.1:443"
		}
	}
	if o.eventRetention < 0 {
		return nil, fmt.Errorf("--event-retention must be 0 (keep) or more, not %v", o.eventRetention)
	}
	if o.journalSize < 0 {
		return nil, fmt.Errorf("--journal-size must be 0 (off) or more, not %d", o.journalSize)
	}
	if o.publicURL != "" {
		if o.publicURL, err = httpserve.ParsePublicURL(o.publicURL); err != nil {
			return nil, fmt.Errorf("--public-url: %w", err)
		}
		u, _ := url.Parse(o.publicURL)
		o.hostnames = append(o.hostnames, u.Hostname())
	}
	if o.unknownUser != "404" && o.unknownUser != "empty" {
		return nil, fmt.Errorf("--unknown-user must be 404 or empty, not %q", o.unknownUser)
	}
	if o.policy, err = ratelimit.ParsePolicy(*rateLimit); err != nil {
		return nil, fmt.Errorf("--rate-limit: %w", err)
	}
	failurePolicy, err := ratelimit.ParsePolicy(*failureBudget)
	if err != nil || strings.EqualFold(strings.TrimSpace(*failureBudget), "service") {
		return nil, fmt.Errorf("--auth-failure-budget: want LIMIT/WINDOW,... such as %s, or off", defaultFailureBudget)
	}
	o.failures = ratelimit.NewFailures(failurePolicy, nil)
	if o.lockoutThreshold < 0 || o.lockoutDuration <= 0 {
		return nil, fmt.Errorf("--lockout-threshold must be 0 (off) or more, --lockout-duration positive")
	}
	if o.lockoutThreshold == 0 {
		o.lockoutThreshold = -1 // auth: a negative threshold is off
	}
	if o.indexMemory, err = parseSize(*indexMemory); err != nil {
		return nil, fmt.Errorf("--index-memory: %w", err)
	}
	if o.answerShare < 0 || o.answerShare > 50 {
		return nil, fmt.Errorf("--answer-cache must be a percentage from 0 to 50, not %d", o.answerShare)
	}
	if o.staleReads < 0 {
		return nil, fmt.Errorf("--stale-reads must be 0 (off) or more, not %v", o.staleReads)
	}
	return &o, nil
}

// answerMemory is the memory of the kept answers: its share of
// --index-memory (the read model has the rest).
func (o *serveFlags) answerMemory() int64 { return o.indexMemory / 100 * int64(o.answerShare) }

// limiters are the rate limiters of the API: the one of every endpoint,
// and those of the endpoints with limits of their own.
type limiters struct {
	all            httpserve.Limiter
	status         func(context.Context) error // nil unless counted in Redis
	endpoints      map[string]httpserve.Limiter
	closeMain      func()                  // closes all
	closeEndpoints func()                  // closes endpoints (and hunting)
	hunting        ratelimit.WindowCounter // the hunting calls' quota; nil when policy is off
}

func (l *limiters) close() { l.closeEndpoints(); l.closeMain() }

// newLimiters builds the rate limiters of policy, counting in Redis when
// redisURL is set.
func newLimiters(policy ratelimit.Policy, redisURL string, logger *slog.Logger) (*limiters, error) {
	var l limiters
	var err error
	if l.all, l.status, l.closeMain, err = newLimiter(policy, redisURL, logger); err != nil {
		return nil, err
	}
	if l.endpoints, l.closeEndpoints, err = newEndpointLimiters(policy, redisURL, logger); err != nil {
		l.closeMain()
		return nil, err
	}
	if !policy.Off() { // each tenant's hunting calls, shared through Redis too
		hunt, _, closeHunt, err := newLimiter(huntapi.CallPolicy, redisURL, logger)
		if err != nil {
			l.close()
			return nil, err
		}
		closeEndpoints := l.closeEndpoints
		l.hunting, l.closeEndpoints = hunt.(ratelimit.WindowCounter), func() { closeEndpoints(); closeHunt() }
	}
	return &l, nil
}

// newAPI builds the API server (the MDE API, the admin API, the token
// issuer beside them) with the fault rules of --fault.
func newAPI(ctx context.Context, o *serveFlags, store openatp.Store, model *readmodel.Model, svc *auth.Service,
	lim *limiters, clock *actions.Clock, controls *actions.Controls, logOut io.Writer, logger *slog.Logger) (*apiserver.Server, error) {
	server := apiserver.New(apiserver.Config{
		Actions:          clock,
		ActionControls:   controls,
		Model:            model,
		Store:            store,
		Verifier:         svc,
		Settings:         svc,
		AuthFailures:     o.failures,
		Logger:           logger,
		Limiter:          lim.all,
		EndpointLimiters: lim.endpoints,
		LimiterStatus:    lim.status,
		UnknownUserEmpty: o.unknownUser == "empty",
		NoAccessLog:      !o.accessLog,
		AccessLog:        accessText(logOut, logger, o.logFormat),
		BodyTimeout:      o.bodyTimeout,
		PublicURL:        o.publicURL,
		JournalSize:      cmp.Or(o.journalSize, -1), // 0 is off here, the default there
		AnswerMemory:     cmp.Or(o.answerMemory(), -1),
		HuntingQuota:     huntapi.NewQuota(lim.hunting, max(o.huntingCPU, 0), nil),
	})
	// The token issuer answers beside the API, on every host and port
	// (mounted before the fault rules, which may name its routes).
	identity := auth.NewHandler(svc, logger)
	for _, p := range auth.Patterns {
		server.Handle(p, identity)
	}
	for _, js := range o.faults {
		var rule fault.Rule
		err := json.Unmarshal([]byte(js), &rule)
		if err == nil {
			rule, err = server.AddFault(ctx, rule)
		}
		if err != nil {
			return nil, fmt.Errorf("--fault %s: %w", js, err)
		}
		logger.Info("fault rule added", "rule", rule.String())
	}
	return server, nil
}

// listener is one listening socket and the server that serves it.
type listener struct {
	name  string // the flag that gave its address
	ln    net.Listener
	srv   *http.Server
	serve func() error // srv.Serve or ServeTLS on ln (wrapped)
}

// listeners are those of --addr, --tls-addr and --admin-addr.
type listeners struct {
	all                 []*listener
	baseURL, tlsBaseURL string
	caFile              string   // of the HTTPS listener's certificate
	adminWhere          []string // URLs of the admin API
}

// close closes the sockets of listeners that were not served.
func (ls *listeners) close() {
	for _, l := range ls.all {
		_ = l.ln.Close()
	}
}

// openListeners opens the listeners. The admin surface (admin API, /metrics) is
// served on a listener of its own with --admin-addr; else on the public
// listeners that are loopback, or on all with --public-admin.
func openListeners(env *cliEnv, o *serveFlags, server *apiserver.Server, conns *httpserve.ConnLimit, logger *slog.Logger) (_ *listeners, err error) {
	ls := &listeners{}
	defer func() {
		if err != nil {
			ls.close()
		}
	}()
	adminOn := func(ln net.Listener) bool { return o.publicAdmin || (o.adminAddr == "" && isLoopbackListener(ln)) }
	add := func(name string, ln net.Listener, h http.Handler, tlsConfig *tls.Config) {
		srv := newHTTPServer(h, logger)
		l := &listener{name: name, ln: ln, srv: srv}
		switch {
		case name == "--admin-addr":
			l.serve = func() error { return srv.Serve(httpserve.WrapListener(ln, logger)) }
		case tlsConfig != nil:
			// The server does TLS itself (ServeTLS): it offers h2 and
			// http/1.1 by ALPN and gives handlers r.TLS. The TCP listener
			// is wrapped to answer plain HTTP sent to this port with the
			// MDE body.
			srv.TLSConfig = tlsConfig
			l.serve = func() error { return srv.ServeTLS(conns.Listener(httpserve.WrapListener(ln, logger), true), "", "") }
		default:
			l.serve = func() error { return srv.Serve(conns.Listener(httpserve.WrapListener(ln, logger), false)) }
		}
		ls.all = append(ls.all, l)
	}
	handlerFor := func(ln net.Listener) http.Handler {
		if adminOn(ln) {
			return server.Handler()
		}
		return server.PublicHandler()
	}

	ln, err := env.listen("tcp", o.addr)
	if err != nil {
		return nil, fmt.Errorf("--addr: %w", err)
	}
	add("--addr", ln, handlerFor(ln), nil)
	ls.baseURL = "http://" + ln.Addr().String()
	if adminOn(ln) {
		ls.adminWhere = append(ls.adminWhere, ls.baseURL)
	}
	if o.tlsAddr != "" {
		bundle, err := tlsca.Load(filepath.Join(o.store.data, "tls"), o.hostnames)
		if err != nil {
			return nil, err
		}
		if bundle.CAReplaced != "" {
			logger.Warn("a new TLS CA was issued: a client that trusted the old one must trust this one (docs/clients.md)", "ca", bundle.CAFile, "why", bundle.CAReplaced)
		}
		ls.caFile, _ = filepath.Abs(bundle.CAFile)
		tln, err := env.listen("tcp", o.tlsAddr)
		if err != nil {
			if o.asMicrosoft && errors.Is(err, syscall.EACCES) {
				return nil, fmt.Errorf("--tls-addr: %w (ports below 1024 need the capability cap_net_bind_service: sudo setcap cap_net_bind_service=+ep %s, see docs/clients.md)", err, executable())
			}
			return nil, fmt.Errorf("--tls-addr: %w", err)
		}
		add("--tls-addr", tln, handlerFor(tln), bundle.TLSConfig.Clone())
		ls.tlsBaseURL = "https://" + tln.Addr().String()
		if adminOn(tln) {
			ls.adminWhere = append(ls.adminWhere, ls.tlsBaseURL)
		}
	}
	if o.adminAddr != "" {
		aln, err := env.listen("tcp", o.adminAddr)
		if err != nil {
			return nil, fmt.Errorf("--admin-addr: %w", err)
		}
		add("--admin-addr", aln, server.AdminHandler(), nil)
		ls.adminWhere = append([]string{"http://" + aln.Addr().String()}, ls.adminWhere...)
	}
	return ls, nil
}

// printListeners prints where the server answers.
func printListeners(env *cliEnv, o *serveFlags, ls *listeners, logger *slog.Logger) {
	fmt.Fprintf(env.stdout, "openatp %s\n  HTTP   %s\n", versionString(), ls.baseURL)
	if ls.tlsBaseURL != "" {
		fmt.Fprintf(env.stdout, "  HTTPS  %s   (CA certificate: %s)\n", ls.tlsBaseURL, ls.caFile)
	}
	if o.asMicrosoft && ls.tlsBaseURL != "" {
		fmt.Fprintf(env.stdout, "  as     https://login.microsoftonline.com, https://api.security.microsoft.com and the other MDE API hosts\n"+
			"         once the hosts file sends those names here and the CA is trusted (docs/clients.md)\n")
	}
	if len(ls.adminWhere) > 0 {
		fmt.Fprintf(env.stdout, "  admin  %s   (admin API and /metrics)\n", strings.Join(ls.adminWhere, ", "))
	} else {
		fmt.Fprintf(env.stdout, "  admin  not served: the listeners are not loopback (give --admin-addr, or --public-admin)\n")
		logger.Warn("the admin API and /metrics are not served: the listeners are not loopback; give --admin-addr or --public-admin")
	}
	fmt.Fprintf(env.stdout, "  data   %s\n", o.store.data)
}

// serveUntilDone serves every listener, and warms the read model, until ctx ends
// (SIGINT, SIGTERM) or a listener fails; then it shuts every server down
// (shutdown: they stop accepting and their requests finish) and waits for
// all of them. It returns the first listener's failure, else the
// shutdown's error.
func serveUntilDone(ctx context.Context, ls *listeners, conns *httpserve.ConnLimit, warm func(context.Context), timeout time.Duration, logger *slog.Logger) error {
	g := lifetime.New(ctx)
	for _, l := range ls.all {
		g.Go(func(context.Context) error {
			if err := l.serve(); !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("%s: %w", l.name, err)
			}
			return nil // shut down
		})
	}
	g.Go(func(ctx context.Context) error { warm(ctx); return nil })
	<-g.Context().Done()
	if ctx.Err() == nil {
		logger.Error("a listener failed: shutting down", "error", context.Cause(g.Context()))
	}
	logger.Info("shutting down: finishing in-flight requests", "open_connections", conns.Open(), "timeout", timeout.String())
	servers := make([]*http.Server, len(ls.all))
	for i, l := range ls.all {
		servers[i] = l.srv
	}
	err := shutdown(servers, conns, timeout, logger)
	if gerr := g.Close(); gerr != nil {
		return gerr
	}
	return err
}

// shutdown stops the servers gracefully: no new connections, in-flight
// requests finish. Connections still open after timeout are cut, and
// shutdown says how many, in the log and in its error.
func shutdown(servers []*http.Server, conns *httpserve.ConnLimit, timeout time.Duration, logger *slog.Logger) error {
	sctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var wg sync.WaitGroup // joined here
	var timedOut atomic.Bool
	for _, s := range servers {
		wg.Go(func() {
			if err := s.Shutdown(sctx); err != nil {
				timedOut.Store(true)
			}
		})
	}
	wg.Wait()
	if !timedOut.Load() {
		logger.Info("shut down: every in-flight request finished")
		return nil
	}
	cut := conns.Open()
	for _, s := range servers {
		_ = s.Close()
	}
	logger.Warn("shut down: connections still open after the shutdown timeout were cut", "cut", cut, "timeout", timeout.String())
	return fmt.Errorf("shutdown: %d connections still open after %s were cut", cut, timeout)
}

// isLoopbackListener reports whether ln listens on a loopback address
// only (127.0.0.0/8, ::1), where only this machine's processes reach it.
func isLoopbackListener(ln net.Listener) bool {
	a, ok := ln.Addr().(*net.TCPAddr)
	return ok && a.IP.IsLoopback()
}

// connectionLimit is --max-connections, or by default 10,000 or, when the
// open-file limit is lower, that limit less a reserve for the store, logs
// and listeners.
func connectionLimit(flag int) int {
	if flag > 0 {
		return flag
	}
	n := 10_000
	if files := openFileLimit(); files > 0 {
		n = min(n, max(16, files-256))
	}
	return n
}

// defaultFailureBudget is the failed sign-ins and admin-key attempts a
// client address may make: a person mistyping, or a client with a stale
// secret retrying, stays far below it; guessing gets 30 tries a minute.
const defaultFailureBudget = "30/min,300/hour"

// newLimiter builds the rate limiter: none for policy off, counts in
// Redis when redisURL is set, else in this process.
func newLimiter(policy ratelimit.Policy, redisURL string, logger *slog.Logger) (httpserve.Limiter, func(context.Context) error, func(), error) {
	switch {
	case policy.Off():
		return nil, nil, func() {}, nil
	case redisURL == "":
		return ratelimit.NewMemory(policy, nil), nil, func() {}, nil
	}
	c, err := redis.New(redisURL, redis.Options{Policy: policy, Logger: logger})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("--redis: %w", err)
	}
	return c, c.Status, func() { _ = c.Close() }, nil
}

// newEndpointLimiters builds the limiters of the endpoints with their own
// documented limits (ratelimit.Endpoints: alerts/batchUpdate,
// alerts/CreateAlertByReference) under the service policy; under another
// policy (off, or custom) every endpoint has that one. Each counts in
// Redis when redisURL is set. The returned function closes them.
func newEndpointLimiters(policy ratelimit.Policy, redisURL string, logger *slog.Logger) (map[string]httpserve.Limiter, func(), error) {
	limiters := map[string]httpserve.Limiter{}
	var closers []func()
	closeAll := func() {
		for _, c := range closers {
			c()
		}
	}
	if policy.String() != ratelimit.Service.String() {
		return limiters, closeAll, nil
	}
	for endpoint, p := range ratelimit.Endpoints {
		l, _, closeL, err := newLimiter(p, redisURL, logger)
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		limiters[endpoint] = l
		closers = append(closers, closeL)
	}
	return limiters, closeAll, nil
}

// MicrosoftHosts are the names --as-microsoft answers as: Entra ID's sign-in
// hosts and the API hosts of every era of the service, with their regional
// names (docs/clients.md lists the hosts-file entries).
var MicrosoftHosts = []string{
	"login.microsoftonline.com", "login.windows.net", "login.microsoft.com", "sts.windows.net",
	"api.security.microsoft.com", "us.api.security.microsoft.com", "eu.api.security.microsoft.com",
	"uk.api.security.microsoft.com", "au.api.security.microsoft.com", "swa.api.security.microsoft.com",
	"api.securitycenter.microsoft.com", "api-us.securitycenter.microsoft.com", "api-eu.securitycenter.microsoft.com",
	"api-uk.securitycenter.microsoft.com", "api-au.securitycenter.microsoft.com",
	"api.securitycenter.windows.com", "api-us.securitycenter.windows.com", "api-eu.securitycenter.windows.com",
	"api-uk.securitycenter.windows.com",
}

// flagSet reports whether the flag was given (command line, environment or
// config file), as opposed to left at its default.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// executable is the path of this program, for messages.
func executable() string {
	if p, err := os.Executable(); err == nil {
		return p
	}
	return "openatp"
}

// newHTTPServer returns a server of h. Request headers have 10 s; each
// body has its own deadline (httpserve.Config.BodyTimeout), not a server-wide
// ReadTimeout, which would also cut answers streamed for longer (net/http
// cancels a request when its connection's read deadline passes). An answer
// has 10 minutes to be written (a page of 10,000 machines, 8.8 MB, at 15
// KB/s), an admin load its body and import included.
func newHTTPServer(h http.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		WriteTimeout:      10 * time.Minute,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          httpserve.NewErrorLog(logger),
	}
}

// accessText returns the fast writer of access log lines when the logger
// writes text at level INFO or below (httpserve.Config.AccessLog), else nil.
func accessText(out io.Writer, logger *slog.Logger, format string) *accesslog.Text {
	if strings.ToLower(format) != "text" || !logger.Enabled(context.Background(), slog.LevelInfo) {
		return nil
	}
	return accesslog.NewText(out)
}

func newLogger(out io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch strings.ToLower(format) {
	case "text":
		return slog.New(slog.NewTextHandler(out, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(out, opts)), nil
	}
	return nil, fmt.Errorf("--log-format must be text or json, not %q", format)
}

// printDemoHowTo prints the demo credentials and a ready curl line with a
// fresh token.
func printDemoHowTo(ctx context.Context, env *cliEnv, svc *auth.Service, store tenantAppStore, c demotenant.Credentials, dataDir string) error {
	t, err := store.Tenant(ctx, c.Tenant)
	if err != nil {
		return err
	}
	app, err := store.App(ctx, c.Tenant, c.ClientID)
	if err != nil {
		return err
	}
	tok, _, err := svc.Mint(ctx, auth.MintRequest{Tenant: t, App: app, BaseURL: c.BaseURL, Version: 1, Audience: auth.Audiences[0]})
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, `
Demo tenant %s (%s)
  client_id      %s
  client_secret  %s
  credentials    %s (also: %s demo-credentials --data %s)

Try it (this token is valid for one hour):
  curl -s -H 'Authorization: Bearer %s' %s/api/users/user1/machines

Get your own token like any MDE client does:
  curl -s -d grant_type=client_credentials -d client_id=%s -d client_secret=%s -d resource=https://api.securitycenter.microsoft.com %s/%s/oauth2/token
`, c.TenantName, c.Tenant, c.ClientID, c.ClientSecret, filepath.Join(dataDir, demotenant.CredFile), env.selfCmd(), dataDir,
		tok, c.BaseURL, c.ClientID, c.ClientSecret, c.BaseURL, c.Tenant)
	fmt.Fprintf(env.stdout, `
More of the Machine API with the same token (set it first):
  export TOKEN='%[6]s'
  curl -s -H "Authorization: Bearer $TOKEN" "%[1]s/api/machines?\$filter=computerDnsName+eq+'mymachine1.contoso.com'&\$select=id"
  curl -s -H "Authorization: Bearer $TOKEN" "%[1]s/api/machines?\$top=10"      # follow @odata.nextLink for the next page
  curl -s -H "Authorization: Bearer $TOKEN" %[1]s/api/machines/mymachine1.contoso.com
  curl -s -H "Authorization: Bearer $TOKEN" %[1]s/api/machines/1e5bc9d7e413ddd7902c2932e418702b84d0cc07/logonusers
  curl -s -H "Authorization: Bearer $TOKEN" "%[1]s/api/machines/findbytag?tag=test+tag&useStartsWithFilter=true"
  curl -s -H "Authorization: Bearer $TOKEN" "%[1]s/api/machines/findbyip(%[2]s)"
  curl -s -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d '{"Value":"my tag","Action":"Add"}' %[1]s/api/machines/mymachine1.contoso.com/tags

The alert poll of a SIEM connector (then ask for lastUpdateTime ge the greatest one seen, plus 100 ns):
  curl -s -H "Authorization: Bearer $TOKEN" "%[1]s/api/alerts?\$filter=lastUpdateTime+ge+%[3]s&\$top=100"
  curl -s -H "Authorization: Bearer $TOKEN" %[1]s/api/alerts/da637472900382838869_1364969609
  curl -s -H "Authorization: Bearer $TOKEN" -X PATCH -H 'Content-Type: application/json' -d '{"status":"Resolved","classification":"TruePositive","determination":"Malware","comment":"Done"}' %[1]s/api/alerts/da637472900382838869_1364969609
  %[7]s seed --data %[4]s --tenant %[5]s --alerts 20 --live    # new and updated alerts for the poll to pick up

Custom indicators, vulnerability management and advanced hunting:
  curl -s -H "Authorization: Bearer $TOKEN" "%[1]s/api/indicators?\$top=10"
  curl -s -H "Authorization: Bearer $TOKEN" %[1]s/api/machines/mymachine1.contoso.com/vulnerabilities
  curl -s -H "Authorization: Bearer $TOKEN" "%[1]s/api/machines/SoftwareVulnerabilitiesByMachine?pageSize=100"
  curl -s -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d '{"Query":"DeviceLogonEvents | summarize count() by AccountName | top 5 by count_"}' %[1]s/api/advancedqueries/run
`, c.BaseURL, c.FindByIP, demotenant.PollFrom(t.Created).Format(time.RFC3339), dataDir, c.TenantName, tok, env.selfCmd())
	if len(c.Users) > 0 {
		fmt.Fprintf(env.stdout, "\nDelegated users (grant_type=password with client_id %s):\n", c.ClientID)
		for _, u := range c.Users {
			fmt.Fprintf(env.stdout, "  %-34s %s\n      %s\n", u.Username, u.Password, u.Description)
		}
	}
	fmt.Fprintln(env.stdout)
	return nil
}

// parseSize reads a byte size: a number with an optional unit B, KiB,
// MiB, GiB (or K, M, G, KB, MB, GB, read as powers of 1024).
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
		i++
	}
	n, err := strconv.ParseFloat(t[:i], 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%q is not a size such as 512MiB or 4GiB", s)
	}
	units := map[string]float64{"": 1, "b": 1, "k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10, "m": 1 << 20, "mb": 1 << 20,
		"mib": 1 << 20, "g": 1 << 30, "gb": 1 << 30, "gib": 1 << 30}
	u, ok := units[strings.ToLower(strings.TrimSpace(t[i:]))]
	if !ok {
		return 0, fmt.Errorf("%q is not a size such as 512MiB or 4GiB", s)
	}
	return int64(n * u), nil
}
