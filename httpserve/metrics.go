package httpserve

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/fault"
)

// Metrics is the Prometheus instrumentation of one Server, in a registry of
// its own (several servers may run in one process, as in tests):
//
//	openatp_http_requests_total{route,code}           requests answered
//	openatp_http_request_duration_seconds{route}      latency histogram
//	openatp_store_errors_total{op,kind}               failed store calls of the API (not NotFound, not Canceled)
//	openatp_limiter_errors_total                      rate-limiter calls that failed
//	openatp_limiter_degraded                          1 while the shared limiter state is unreachable
//	openatp_faults_applied_total{rule,kind}           requests a fault rule applied to
//	openatp_index_serving_stale                       1 while reads are answered from the read model because the store fails (ReadModel)
//	openatp_index_stale_answers_total                 reads answered so (ReadModel)
//
// plus the Go runtime and process collectors. route is the ServeMux
// pattern that matched ("GET /api/users/{id}/machines"), so the label has
// as many values as there are routes. The per-request cost is two lookups of
// label children resolved once and kept in maps (no label hashing by
// Prometheus), an atomic add and a histogram observation.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	storeErr *prometheus.CounterVec
	limitErr prometheus.Counter
	faults   *prometheus.CounterVec

	counters  sync.Map // routeCode → prometheus.Counter
	observers sync.Map // route → prometheus.Observer
}

type routeCode struct {
	route string
	code  int
}

// latencyBuckets span the index's microseconds to a slow store's seconds.
var latencyBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// NewMetrics registers the metrics of a server; limiterStatus, if set,
// reports the rate limiter's health (Config.LimiterStatus). The store and
// the limiters the handlers call are instrumented with Store and Limiter.
func NewMetrics(limiterStatus func(ctx context.Context) error) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "openatp_http_requests_total", Help: "HTTP requests answered, by route pattern and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "openatp_http_request_duration_seconds", Help: "Time to answer an HTTP request, by route pattern.",
			Buckets: latencyBuckets,
		}, []string{"route"}),
		storeErr: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "openatp_store_errors_total", Help: "Store calls of the API that failed (other than NotFound and calls canceled by their client), by operation and error kind.",
		}, []string{"op", "kind"}),
		limitErr: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "openatp_limiter_errors_total", Help: "Rate-limiter calls that failed.",
		}),
		faults: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "openatp_faults_applied_total", Help: "Requests a fault rule applied to, by rule id and kind.",
		}, []string{"rule", "kind"}),
	}
	m.reg.MustRegister(m.requests, m.duration, m.storeErr, m.limitErr, m.faults,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if status := limiterStatus; status != nil {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "openatp_limiter_degraded", Help: "1 while the rate limiter's shared state is unreachable and each replica counts alone.",
		}, func() float64 {
			if status(context.Background()) != nil {
				return 1
			}
			return 0
		}))
	}
	// Resolve the children of the hot route now.
	for _, route := range []string{"GET /api/users/{id}/machines", "GET /api/v1.0/users/{id}/machines"} {
		m.observer(route)
		for _, code := range []int{200, 401, 403, 404, 429, 503} {
			m.counter(route, code)
		}
	}
	return m
}

// ReadModel registers the metrics of the read model's stale reads (serve
// --stale-reads): servingStale reports whether reads are answered from
// the model while the store fails, staleAnswers counts them.
func (m *Metrics) ReadModel(servingStale func() bool, staleAnswers func() uint64) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "openatp_index_serving_stale", Help: "1 while reads are answered from the read model as it is because the store fails (--stale-reads).",
	}, func() float64 {
		if servingStale() {
			return 1
		}
		return 0
	}), prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "openatp_index_stale_answers_total", Help: "Reads answered from the read model as it is because the store failed (--stale-reads).",
	}, func() float64 { return float64(staleAnswers()) }))
}

// AnswerCache registers the counters of the kept answers (mdeapi's
// answer cache): stats returns its hits, misses, evictions and bytes.
func (m *Metrics) AnswerCache(stats func() (hits, misses, evictions uint64, bytes int64)) {
	counter := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, f)
	}
	m.reg.MustRegister(
		counter("openatp_answer_cache_hits_total", "Reads answered with an encoded answer kept (its dependencies unchanged).",
			func() float64 { h, _, _, _ := stats(); return float64(h) }),
		counter("openatp_answer_cache_misses_total", "Reads of a cached route whose answer was built (none kept, or stale).",
			func() float64 { _, mi, _, _ := stats(); return float64(mi) }),
		counter("openatp_answer_cache_evictions_total", "Kept answers dropped to stay within the answer cache's memory.",
			func() float64 { _, _, e, _ := stats(); return float64(e) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "openatp_answer_cache_bytes", Help: "Memory held by kept answers."},
			func() float64 { _, _, _, b := stats(); return float64(b) }))
}

// Store returns s with the errors of the store calls the API makes counted
// (nil stays nil).
func (m *Metrics) Store(s openatp.Store) openatp.Store {
	if s == nil {
		return nil
	}
	return &instrumentedStore{Store: s, m: m}
}

// Limiter returns l with its failures counted (nil stays nil).
func (m *Metrics) Limiter(l Limiter) Limiter {
	if l == nil {
		return nil
	}
	return &instrumentedLimiter{l: l, m: m}
}

// Limiters is Limiter over each limiter of ls, in a new map.
func (m *Metrics) Limiters(ls map[string]Limiter) map[string]Limiter {
	out := make(map[string]Limiter, len(ls))
	for endpoint, l := range ls {
		out[endpoint] = m.Limiter(l)
	}
	return out
}

func (m *Metrics) counter(route string, code int) prometheus.Counter {
	k := routeCode{route, code}
	if c, ok := m.counters.Load(k); ok {
		return c.(prometheus.Counter)
	}
	c, _ := m.counters.LoadOrStore(k, m.requests.WithLabelValues(route, strconv.Itoa(code)))
	return c.(prometheus.Counter)
}

func (m *Metrics) observer(route string) prometheus.Observer {
	if o, ok := m.observers.Load(route); ok {
		return o.(prometheus.Observer)
	}
	o, _ := m.observers.LoadOrStore(route, m.duration.WithLabelValues(route))
	return o.(prometheus.Observer)
}

// wrap counts and times the requests next answers. It runs inside
// withRequest, whose statusWriter it reads the status from, around the
// ServeMux, which records the matched pattern in the request.
func (m *Metrics) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := startOf(r)
		completed := false
		defer func() {
			code := http.StatusOK
			if sw, ok := w.(*statusWriter); ok && sw.status != 0 {
				code = sw.status
			}
			if !completed { // a panic: withRequest answers 500
				code = http.StatusInternalServerError
			}
			route := r.Pattern
			if route == "" {
				route = "other"
			}
			m.counter(route, code).Inc()
			m.observer(route).Observe(time.Since(start).Seconds())
		}()
		next.ServeHTTP(w, r)
		completed = true
	})
}

// handler serves the metrics in the Prometheus text format.
func (m *Metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// faultApplied counts a request a fault rule applied to.
func (m *Metrics) faultApplied(r *fault.Rule) { m.faults.WithLabelValues(r.ID, string(r.Kind)).Inc() }

// storeError counts a failed store call; NotFound is an answer, not a
// failure, and Canceled is the caller leaving.
func (m *Metrics) storeError(ctx context.Context, op string, err error) {
	if err == nil || errors.Is(ctx.Err(), context.Canceled) {
		return
	}
	kind := openatp.KindOf(err)
	if kind == openatp.NotFound || kind == openatp.Canceled {
		return
	}
	m.storeErr.WithLabelValues(op, kind.String()).Inc()
}

// instrumentedStore counts the errors of the store calls the API makes;
// every other method passes through.
type instrumentedStore struct {
	openatp.Store
	m *Metrics
}

// Unwrap returns the store s wraps, for the optional interfaces of
// stores (sightings.Of).
func (s *instrumentedStore) Unwrap() openatp.Store { return s.Store }

func (s *instrumentedStore) DataVersion(ctx context.Context) (uint64, error) {
	v, err := s.Store.DataVersion(ctx)
	s.m.storeError(ctx, "DataVersion", err)
	return v, err
}

func (s *instrumentedStore) ContentVersion(ctx context.Context, tenantID string) (uint64, error) {
	v, err := s.Store.ContentVersion(ctx, tenantID)
	s.m.storeError(ctx, "ContentVersion", err)
	return v, err
}

func (s *instrumentedStore) Ping(ctx context.Context) error {
	err := s.Store.Ping(ctx)
	s.m.storeError(ctx, "Ping", err)
	return err
}

func (s *instrumentedStore) UserMachines(ctx context.Context, tenantID string, u openatp.UserRef) ([]openatp.Machine, error) {
	ms, err := s.Store.UserMachines(ctx, tenantID, u)
	s.m.storeError(ctx, "UserMachines", err)
	return ms, err
}

func (s *instrumentedStore) Snapshot(ctx context.Context, tenantID string, machine func(openatp.Machine) error, rel func(openatp.UserMachine) error) error {
	err := s.Store.Snapshot(ctx, tenantID, machine, rel)
	s.m.storeError(ctx, "Snapshot", err)
	return err
}

func (s *instrumentedStore) Groups(ctx context.Context, tenantID string) ([]openatp.DeviceGroup, error) {
	gs, err := s.Store.Groups(ctx, tenantID)
	s.m.storeError(ctx, "Groups", err)
	return gs, err
}

func (s *instrumentedStore) Roles(ctx context.Context, tenantID string) ([]openatp.Role, error) {
	rs, err := s.Store.Roles(ctx, tenantID)
	s.m.storeError(ctx, "Roles", err)
	return rs, err
}

// instrumentedLimiter counts the limiter's failures.
type instrumentedLimiter struct {
	l Limiter
	m *Metrics
}

func (l *instrumentedLimiter) Allow(ctx context.Context, key string) (bool, time.Duration, error) {
	ok, retry, err := l.l.Allow(ctx, key)
	if err != nil {
		l.m.limitErr.Inc()
	}
	return ok, retry, err
}
