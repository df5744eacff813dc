// Package fault holds fault rules: which requests a rule matches (route,
// tenant, application, user), how often it applies (a probability drawn
// from the rule's own seeded generator, so that a run can be repeated), what
// it does (add latency, answer an error, reset the connection, truncate the
// body, make the machine action the request creates end Failed), and when
// it expires (after a number of hits or at a time). The
// HTTP side of each kind is package httpserve's; this package decides.
package fault

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/route"
)

// Kind is what a rule does to a request it applies to.
type Kind string

// The kinds of fault. Every kind may also add a delay first.
const (
	Latency  Kind = "latency"  // the delay only; the real answer follows
	Error    Kind = "error"    // an error answer instead of the real one
	Reset    Kind = "reset"    // the connection is reset, nothing answered
	Truncate Kind = "truncate" // the real answer, cut after TruncateAfter body bytes, then the connection closed
	// FailAction: the real answer, but the machine action the request
	// creates ends Failed with errorHResult HResult (instead of
	// Succeeded) when its lifecycle reaches its final state. Only on the
	// routes that create an action (ActionRoutes).
	FailAction Kind = "fail-action"
)

// DefaultFailHResult is the errorHResult of a fail-action rule that names
// none: 0x80004005 (E_FAIL, "unspecified failure") as a signed 32-bit
// number, as the MachineAction entity carries it.
const DefaultFailHResult int32 = -2147467259

// Rule is a fault rule as it is given and shown.
type Rule struct {
	ID string // unique; given or made up ("fault-1", ...)

	// What it matches; an empty condition matches everything.
	Route  route.Pattern // method and path ("GET /api/machines/{id}")
	Tenant string        // tenant id
	// TenantName is the tenant's name, set by whoever resolves Tenant: a
	// sign-in request names its tenant by id or name.
	TenantName string
	App        string // client id (appid/azp of the token), ignoring case
	User       string // signed-in user of a delegated token (upn), ignoring case

	Probability float64 // of applying to a matching request, 0 to 1
	Seed        uint64  // of the rule's generator

	Kind          Kind
	Delay         time.Duration // added before the answer (Latency: required)
	DelayMax      time.Duration // when above Delay: the delay is uniform in [Delay, DelayMax]
	Status        int           // Error: the status, 400 to 599
	Code          string        // Error: the MDE error code ("" for the status's usual one)
	Message       string        // Error: the message ("" for the status's usual one)
	RetryAfter    int           // Error: seconds for Retry-After; -1 for none (the default for other than 429 and 503)
	AADSTS        int           // Error on a sign-in endpoint: the AADSTS code (0 for the status's usual one)
	TruncateAfter int64         // Truncate: body bytes sent before the cut
	HResult       int32         // FailAction: the action's errorHResult (0 given: DefaultFailHResult)

	MaxHits int64     // expires after applying this many times (0: never)
	Expires time.Time // expires at this time (zero: never)

	// Shown, not given.
	Hits    int64
	Active  bool
	Created time.Time
}

// DefaultRetryAfter is Retry-After, in seconds, of an injected 429 or 503
// whose rule names none.
const DefaultRetryAfter = 1

// Request is what a rule is matched against.
type Request struct {
	Method string
	Path   string // escaped, as sent
	// RouteOf returns the route pattern that answers the request (the
	// ServeMux's, "" if none), for rules whose route has a {name}
	// (route.Pattern.MatchRoute). Called at most once, and only when
	// such a rule matches the path; nil: not known.
	RouteOf func() string
	Tenant  string // "" when the caller is not known
	// TenantRef is the tenant a sign-in request names in its path (an id
	// or a name), when Tenant is not known.
	TenantRef string
	App       string
	User      string
}

// Decision is what to do to one request.
type Decision struct {
	Rule  *Rule // a copy of the rule that applied, its Hits counting this request
	Delay time.Duration
}

// rule is a Rule with its state.
type rule struct {
	Rule
	mu  sync.Mutex
	rng *rand.Rand
}

// Set is the fault rules of a server. It is safe for concurrent use; the
// zero value is not: use NewSet.
type Set struct {
	now   func() time.Time
	mu    sync.Mutex              // serializes changes
	rules atomic.Pointer[[]*rule] // read without a lock on every request
	next  int

	served []route.Pattern // see Serve; guarded by mu
	apps   AppStore        // see CheckApps; guarded by mu
	beyond atomic.Bool     // a rule's route is outside /api/
}

// NewSet returns an empty set that reads the time from now (time.Now when
// nil).
func NewSet(now func() time.Time) *Set {
	if now == nil {
		now = time.Now
	}
	s := &Set{now: now}
	s.store(nil)
	return s
}

// Empty reports whether the set holds no rule (active or not).
func (s *Set) Empty() bool { return len(*s.rules.Load()) == 0 }

// Beyond reports whether a rule may apply to requests outside /api/ (the
// sign-in endpoints): only then need they be matched.
func (s *Set) Beyond() bool { return s.beyond.Load() }

// store publishes a new list of rules.
func (s *Set) store(rules []*rule) {
	beyond := false
	for _, r := range rules {
		beyond = beyond || !r.Route.IsZero() && !strings.HasPrefix(r.Route.Example(), "/api/")
	}
	s.rules.Store(&rules)
	s.beyond.Store(beyond)
}

// Add adds a rule after the others. An empty ID gets one made up; a rule
// without a seed gets a random one (shown by List, so that the run can be
// repeated). Errors are of kind Invalid, or Conflict for an ID in use.
func (s *Set) Add(r Rule) (Rule, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := *s.rules.Load()
	if r.ID == "" {
		for {
			s.next++
			r.ID = "fault-" + strconv.Itoa(s.next)
			if s.index(r.ID) < 0 {
				break
			}
		}
	}
	if s.index(r.ID) >= 0 {
		return Rule{}, openatp.CodedErrorf(openatp.Conflict, "Conflict", "A fault rule with id %q exists already.", r.ID)
	}
	nr, err := s.newRule(r)
	if err != nil {
		return Rule{}, err
	}
	s.store(append(append(make([]*rule, 0, len(old)+1), old...), nr))
	return nr.snapshot(s.now()), nil
}

// Replace puts r in the place of the rule with its ID: hits start from
// zero and the generator from the seed. Errors: NotFound, Invalid.
func (s *Set) Replace(r Rule) (Rule, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.index(r.ID)
	if i < 0 {
		return Rule{}, notFound(r.ID)
	}
	nr, err := s.newRule(r)
	if err != nil {
		return Rule{}, err
	}
	rules := append([]*rule(nil), *s.rules.Load()...)
	rules[i] = nr
	s.store(rules)
	return nr.snapshot(s.now()), nil
}

// Delete removes the rule with this id. Errors: NotFound.
func (s *Set) Delete(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.index(id)
	if i < 0 {
		return notFound(id)
	}
	old := *s.rules.Load()
	s.store(append(append(make([]*rule, 0, len(old)-1), old[:i]...), old[i+1:]...))
	return nil
}

// DeleteAll removes every rule.
func (s *Set) DeleteAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.store(nil)
}

// List returns the rules in order, with their hits and whether they are
// active.
func (s *Set) List() []Rule {
	now := s.now()
	out := []Rule{}
	for _, r := range *s.rules.Load() {
		out = append(out, r.snapshot(now))
	}
	return out
}

// Get returns the rule with this id. Errors: NotFound.
func (s *Set) Get(id string) (Rule, error) {
	for _, r := range *s.rules.Load() {
		if r.ID == id {
			return r.snapshot(s.now()), nil
		}
	}
	return Rule{}, notFound(id)
}

func notFound(id string) error {
	return openatp.CodedErrorf(openatp.NotFound, "ResourceNotFound", "Fault rule %q was not found.", id)
}

func (s *Set) index(id string) int {
	for i, r := range *s.rules.Load() {
		if r.ID == id {
			return i
		}
	}
	return -1
}

// Decide matches a request against the rules. Every active rule that
// matches draws from its own generator, in order, whether or not an
// earlier one applies: a rule's sequence depends only on the requests it
// matches. The first rule whose draw falls under its probability applies
// (its hit is counted); ok is false when none does.
func (s *Set) Decide(q Request) (d Decision, ok bool) {
	rules := *s.rules.Load()
	if len(rules) == 0 {
		return d, false
	}
	var now time.Time
	var answeredBy *string
	for _, r := range rules {
		if !r.matches(&q, &answeredBy) {
			continue
		}
		if now.IsZero() {
			now = s.now()
		}
		if rule, delay, hit := r.draw(now, !ok); hit {
			d, ok = Decision{Rule: rule, Delay: delay}, true
		}
	}
	return d, ok
}

// matches reports whether the rule matches the request; answeredBy keeps
// the request's route once asked.
// A rule without a route matches the requests of /api/ only; one with a
// tenant matches a sign-in request that names the tenant by id or name.
func (r *rule) matches(q *Request, answeredBy **string) bool {
	if r.Tenant != "" && r.Tenant != q.Tenant && !(q.Tenant == "" && q.TenantRef != "" &&
		(strings.EqualFold(q.TenantRef, r.Tenant) || r.TenantName != "" && strings.EqualFold(q.TenantRef, r.TenantName))) {
		return false
	}
	if r.App != "" && !strings.EqualFold(r.App, q.App) || r.User != "" && !strings.EqualFold(r.User, q.User) ||
		!r.Route.Match(q.Method, q.Path) || r.Route.IsZero() && !strings.HasPrefix(q.Path, "/api/") {
		return false
	}
	if !r.Route.HasWildcard() || q.RouteOf == nil {
		return true
	}
	if *answeredBy == nil {
		s := q.RouteOf()
		*answeredBy = &s
	}
	return r.Route.MatchRoute(q.Method, q.Path, **answeredBy)
}

// draw takes the rule's draw for one matching request, if it is active.
// When claim is set and the draw applies, the hit is counted and a copy of
// the rule returned with the delay.
func (r *rule) draw(now time.Time, claim bool) (*Rule, time.Duration, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.active(now) {
		return nil, 0, false
	}
	if r.rng.Float64() >= r.Probability {
		return nil, 0, false
	}
	delay := r.Delay
	if r.DelayMax > r.Delay {
		delay += time.Duration(r.rng.Int64N(int64(r.DelayMax-r.Delay) + 1))
	}
	if !claim {
		return nil, 0, false
	}
	r.Hits++
	c := r.Rule
	c.Active = r.active(now)
	return &c, delay, true
}

func (r *rule) active(now time.Time) bool {
	return (r.MaxHits == 0 || r.Hits < r.MaxHits) && (r.Expires.IsZero() || now.Before(r.Expires))
}

func (r *rule) snapshot(now time.Time) Rule {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.Rule
	c.Active = r.active(now)
	return c
}

// newRule checks r and gives it its generator.
func (s *Set) newRule(r Rule) (*rule, error) {
	invalid := func(format string, args ...any) (*rule, error) {
		return nil, openatp.CodedErrorf(openatp.Invalid, "InvalidInput", "Fault rule: "+format, args...)
	}
	if len(r.ID) > 100 || strings.ContainsAny(r.ID, "/?#% ") {
		return invalid("id %q: use at most 100 characters, none of / ? # %% or space", r.ID)
	}
	if r.Probability < 0 || r.Probability > 1 || math.IsNaN(r.Probability) {
		return invalid("probability %v is not between 0 and 1", r.Probability)
	}
	if r.Delay < 0 || r.DelayMax < 0 || r.DelayMax > 0 && r.DelayMax < r.Delay {
		return invalid("delay %v to delay_max %v: want 0 ≤ delay ≤ delay_max", r.Delay, r.DelayMax)
	}
	if r.Delay > time.Hour || r.DelayMax > time.Hour {
		return invalid("a delay of more than an hour")
	}
	if r.MaxHits < 0 {
		return invalid("max_hits %d is negative", r.MaxHits)
	}
	switch r.Kind {
	case Latency:
		if r.Delay == 0 && r.DelayMax == 0 {
			return invalid("kind latency needs a delay")
		}
	case Error:
		if r.Status < 400 || r.Status > 599 {
			return invalid("status %d: kind error needs an HTTP error status (400 to 599)", r.Status)
		}
		if r.RetryAfter < -1 {
			return invalid("retry_after %d is negative", r.RetryAfter)
		}
	case Truncate:
		if r.TruncateAfter < 0 {
			return invalid("truncate_after %d is negative", r.TruncateAfter)
		}
	case FailAction:
		if r.HResult == 0 {
			r.HResult = DefaultFailHResult
		}
	case Reset:
	default:
		return invalid("kind %q: use latency, error, reset, truncate or fail-action", r.Kind)
	}
	if r.Kind != FailAction && r.HResult != 0 {
		return invalid("error_hresult is for kind fail-action")
	}
	if r.Kind != Error && (r.Status != 0 || r.Code != "" || r.Message != "" || r.AADSTS != 0) {
		return invalid("status, code, message and aadsts are for kind error")
	}
	if r.AADSTS < 0 {
		return invalid("aadsts %d is negative", r.AADSTS)
	}
	if err := s.checkScope(&r); err != nil {
		return nil, err
	}
	if r.Seed == 0 {
		r.Seed = rand.Uint64() | 1
	}
	r.Hits, r.Created = 0, s.now().UTC()
	return &rule{Rule: r, rng: rand.New(rand.NewPCG(r.Seed, r.Seed^0x9e3779b97f4a7c15))}, nil
}

// ruleJSON is a rule's JSON: what the admin API takes and shows, and what
// `serve --fault` and the config file's "fault" take.
type ruleJSON struct {
	ID            string   `json:"id,omitempty"`
	Route         string   `json:"route,omitempty"`
	Tenant        string   `json:"tenant,omitempty"`
	App           string   `json:"app,omitempty"`
	User          string   `json:"user,omitempty"`
	Probability   *float64 `json:"probability,omitempty"`
	Seed          uint64   `json:"seed,omitempty"`
	Kind          Kind     `json:"kind"`
	Delay         string   `json:"delay,omitempty"`
	DelayMax      string   `json:"delay_max,omitempty"`
	Status        int      `json:"status,omitempty"`
	Code          string   `json:"code,omitempty"`
	Message       string   `json:"message,omitempty"`
	RetryAfter    *int     `json:"retry_after,omitempty"`
	AADSTS        int      `json:"aadsts,omitempty"`
	TruncateAfter int64    `json:"truncate_after,omitempty"`
	ErrorHResult  int64    `json:"error_hresult,omitempty"`
	MaxHits       int64    `json:"max_hits,omitempty"`
	Expires       string   `json:"expires,omitempty"`
	Hits          *int64   `json:"hits,omitempty"`
	Active        *bool    `json:"active,omitempty"`
	Created       string   `json:"created,omitempty"`
}

// MarshalJSON writes the rule as the admin API shows it.
func (r Rule) MarshalJSON() ([]byte, error) {
	j := ruleJSON{
		ID: r.ID, Route: r.Route.String(), Tenant: r.Tenant, App: r.App, User: r.User, Probability: &r.Probability,
		Seed: r.Seed, Kind: r.Kind, Status: r.Status, Code: r.Code, Message: r.Message, AADSTS: r.AADSTS, TruncateAfter: r.TruncateAfter,
		ErrorHResult: int64(r.HResult), MaxHits: r.MaxHits, Hits: &r.Hits, Active: &r.Active,
	}
	if r.Delay > 0 {
		j.Delay = r.Delay.String()
	}
	if r.DelayMax > 0 {
		j.DelayMax = r.DelayMax.String()
	}
	if r.Kind == Error && r.RetryAfter >= 0 {
		j.RetryAfter = &r.RetryAfter
	}
	if !r.Expires.IsZero() {
		j.Expires = r.Expires.UTC().Format(time.RFC3339Nano)
	}
	if !r.Created.IsZero() {
		j.Created = r.Created.UTC().Format(time.RFC3339Nano)
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads a rule as the admin API takes it: unknown properties
// are refused, durations are Go durations ("250ms", "2s"), times RFC 3339,
// error_hresult a 32-bit number, signed or not (-2147467259 and
// 2147500037 are both 0x80004005).
// Probability defaults to 1; retry_after to DefaultRetryAfter for status 429
// and 503, and to none (-1) otherwise. Hits, active and created are read
// only: given, they are ignored.
func (r *Rule) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var j ruleJSON
	if err := dec.Decode(&j); err != nil {
		return openatp.CodedErrorf(openatp.Invalid, "InvalidRequestBody", "Fault rule: %v", err)
	}
	if dec.More() {
		return openatp.CodedErrorf(openatp.Invalid, "InvalidRequestBody", "Fault rule: more than one JSON object")
	}
	pat, err := route.Parse(j.Route)
	if err != nil {
		return openatp.CodedErrorf(openatp.Invalid, "InvalidInput", "Fault rule: %v", err)
	}
	out := Rule{ID: j.ID, Route: pat, Tenant: j.Tenant, App: j.App, User: j.User, Probability: 1, Seed: j.Seed,
		Kind: j.Kind, Status: j.Status, Code: j.Code, Message: j.Message, AADSTS: j.AADSTS, RetryAfter: -1,
		TruncateAfter: j.TruncateAfter, MaxHits: j.MaxHits}
	// An HRESULT is 32 bits, written signed (as errorHResult shows it)
	// or unsigned (0x80004005 is 2147500037).
	if j.ErrorHResult < math.MinInt32 || j.ErrorHResult > math.MaxUint32 {
		return openatp.CodedErrorf(openatp.Invalid, "InvalidInput", "Fault rule: error_hresult %d is not a 32-bit HRESULT", j.ErrorHResult)
	}
	out.HResult = int32(uint32(j.ErrorHResult))
	if j.Probability != nil {
		out.Probability = *j.Probability
	}
	if j.RetryAfter != nil {
		out.RetryAfter = *j.RetryAfter
	} else if j.Status == 429 || j.Status == 503 {
		out.RetryAfter = DefaultRetryAfter
	}
	for _, d := range []struct {
		name string
		s    string
		dst  *time.Duration
	}{{"delay", j.Delay, &out.Delay}, {"delay_max", j.DelayMax, &out.DelayMax}} {
		if d.s == "" {
			continue
		}
		if *d.dst, err = time.ParseDuration(d.s); err != nil {
			return openatp.CodedErrorf(openatp.Invalid, "InvalidInput", "Fault rule: %s %q is not a duration such as 250ms or 2s", d.name, d.s)
		}
	}
	if j.Expires != "" {
		if out.Expires, err = time.Parse(time.RFC3339Nano, j.Expires); err != nil {
			return openatp.CodedErrorf(openatp.Invalid, "InvalidInput", "Fault rule: expires %q is not an RFC 3339 time", j.Expires)
		}
	}
	*r = out
	return nil
}

// String describes the rule in one line, for logs.
func (r Rule) String() string {
	return fmt.Sprintf("%s: %s on %q (p=%v, seed=%d)", r.ID, r.Kind, r.Route.String(), r.Probability, r.Seed)
}
