package fault

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/route"
)

// AppStore is what a Set needs to check that a rule's application
// exists.
type AppStore interface {
	Tenants(ctx context.Context) ([]openatp.Tenant, error)
	App(ctx context.Context, tenantID, clientID string) (openatp.App, error)
}

// Serve adds route patterns (as a ServeMux takes them: "GET
// /api/machines/{id}", "/{tenant}/oauth2/token") to those rules may apply
// to: the MDE API's, under /api/, and the sign-in endpoints'. Once a Set
// has some, a rule whose route matches none of them is refused, saying
// why; before, routes are not checked.
func (s *Set) Serve(patterns ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range patterns {
		s.served = append(s.served, route.MustParse(p))
	}
}

// CheckApps has the Set refuse a rule whose app is the client id of no
// application (of the rule's tenant, or of any tenant).
func (s *Set) CheckApps(store AppStore) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apps = store
}

// appCheckTimeout bounds the store lookups of a rule's application.
const appCheckTimeout = 10 * time.Second

// checkScope refuses a rule that could never apply: a route that matches
// no route served, one outside /api/ that names no sign-in endpoint, an
// app that is no application, conditions a sign-in request cannot meet.
// s.mu is held.
func (s *Set) checkScope(r *Rule) error {
	invalid := func(format string, args ...any) error {
		return openatp.CodedErrorf(openatp.Invalid, "InvalidInput", "Fault rule: "+format, args...)
	}
	signIn := false
	if !r.Route.IsZero() && s.served != nil {
		var api, other []string
		for _, p := range s.served {
			if !r.Route.Overlaps(p) {
				continue
			}
			if strings.HasPrefix(p.Example(), "/api/") {
				api = append(api, p.String())
			} else {
				other = append(other, p.String())
			}
		}
		switch {
		case len(api)+len(other) > 0:
			signIn = len(api) == 0
		case !strings.HasPrefix(r.Route.Example(), "/api/"):
			return invalid("route %q is outside /api/ and names no sign-in endpoint, so it could never apply: rules apply to the MDE API (/api/...) and to the sign-in endpoints (%s)",
				r.Route.String(), strings.Join(s.signInRoutes(), ", "))
		default:
			msg := fmt.Sprintf("route %q matches no route openatp serves, so it could never apply", r.Route.String())
			if near := s.nearest(r.Route.String()); near != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", near)
			}
			return invalid("%s", msg)
		}
	}
	if r.Kind == FailAction {
		if err := s.checkActionRoute(r.Route); err != nil {
			return err
		}
	}
	if signIn && (r.App != "" || r.User != "") {
		return invalid("route %q is a sign-in endpoint, whose requests carry no token: a rule on it may name a tenant, not an app or a user", r.Route.String())
	}
	if r.App != "" && s.apps != nil {
		ok, err := s.appExists(r.Tenant, r.App)
		if err != nil {
			return err
		}
		if !ok && r.Tenant != "" {
			return invalid("app %q is the client id of no application of tenant %s, so the rule could never apply", r.App, r.Tenant)
		}
		if !ok {
			return invalid("app %q is the client id of no application of any tenant, so the rule could never apply", r.App)
		}
	}
	return nil
}

// ActionRoutes are the routes that create a machine action (package
// responseapi's, each also under /api/v1.0/): the routes a fail-action
// rule may name.
var ActionRoutes = []string{
	"POST /api/machines/{id}/isolate",
	"POST /api/machines/{id}/unisolate",
	"POST /api/machines/{id}/runAntiVirusScan",
	"POST /api/machines/{id}/restrictCodeExecution",
	"POST /api/machines/{id}/unrestrictCodeExecution",
	"POST /api/machines/{id}/collectInvestigationPackage",
	"POST /api/machines/{id}/StopAndQuarantineFile",
	"POST /api/machines/{id}/stopAndQuarantineFile",
	"POST /api/machines/{id}/offboard",
	"POST /api/machines/{id}/runliveresponse",
}

var actionRoutes = func() []route.Pattern {
	ps := make([]route.Pattern, len(ActionRoutes))
	for i, p := range ActionRoutes {
		ps[i] = route.MustParse(p)
	}
	return ps
}()

// checkActionRoute refuses the route of a fail-action rule unless it
// names routes that create a machine action, and no other route served
// with a method (the catch-alls that answer 405 do not count). s.mu is
// held.
func (s *Set) checkActionRoute(p route.Pattern) error {
	invalid := func(format string, args ...any) error {
		return openatp.CodedErrorf(openatp.Invalid, "InvalidInput", "Fault rule: "+format, args...)
	}
	if p.IsZero() {
		return invalid("kind fail-action needs a route that creates a machine action, such as %q", ActionRoutes[0])
	}
	creates := false
	for _, a := range actionRoutes {
		creates = creates || p.Overlaps(a)
	}
	if !creates {
		return invalid("route %q creates no machine action, so kind fail-action could never apply: it applies to POST /api/machines/{id}/<action> (%s) and runliveresponse",
			p.String(), "isolate, unisolate, runAntiVirusScan, restrictCodeExecution, unrestrictCodeExecution, collectInvestigationPackage, StopAndQuarantineFile, offboard")
	}
	for _, q := range s.served {
		if q.Method() == "" || !p.Overlaps(q) {
			continue
		}
		other := true
		for _, a := range actionRoutes {
			other = other && !q.Overlaps(a)
		}
		if other {
			return invalid("route %q also matches %q, which creates no machine action: kind fail-action applies only to routes that do", p.String(), q.String())
		}
	}
	return nil
}

// appExists looks clientID up among the applications of tenantID, or of
// every tenant when tenantID is "".
func (s *Set) appExists(tenantID, clientID string) (bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), appCheckTimeout)
	defer cancel()
	tenants := []string{tenantID}
	if tenantID == "" {
		ts, err := s.apps.Tenants(ctx)
		if err != nil {
			return false, err
		}
		tenants = tenants[:0]
		for _, t := range ts {
			tenants = append(tenants, t.ID)
		}
	}
	for _, t := range tenants {
		for _, id := range []string{clientID, strings.ToLower(clientID)} {
			_, err := s.apps.App(ctx, t, id)
			if err == nil {
				return true, nil
			}
			if !openatp.IsKind(err, openatp.NotFound) {
				return false, err
			}
		}
	}
	return false, nil
}

// signInRoutes are the routes served outside /api/.
func (s *Set) signInRoutes() []string {
	var out []string
	for _, p := range s.served {
		if !strings.HasPrefix(p.Example(), "/api/") {
			out = append(out, p.String())
		}
	}
	return out
}

// nearest returns the served route closest to pattern in edit distance,
// if it is close enough to be a likely typo.
func (s *Set) nearest(pattern string) string {
	best, bestD := "", len(pattern)/3+1
	for _, p := range s.served {
		if d := distance(strings.ToLower(pattern), strings.ToLower(p.String())); d < bestD {
			best, bestD = p.String(), d
		}
	}
	return best
}

// distance is the Levenshtein distance of a and b (in bytes).
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			cur[j] = min(c, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// signInErrors are the OAuth error, AADSTS code and description of an
// error a rule injects into a sign-in endpoint, by status, when the rule
// names none: what Entra ID answers.
var signInErrors = map[int]struct {
	code   string
	aadsts int
	desc   string
}{
	400: {"invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'."},
	401: {"invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to the app."},
	429: {"temporarily_unavailable", 50196, "The server terminated an operation because it encountered a client request loop. Please contact your app vendor."},
	500: {"server_error", 50000, "There was an error issuing a token or an authorization code. Please try again in a short while."},
	503: {"temporarily_unavailable", 50000, "There was an error issuing a token or an authorization code. Please try again in a short while."},
}

// SignInError returns the body of the error rule injects into a request
// of a sign-in endpoint, as Entra ID writes its errors (RFC 6749 §5.2
// with its AADSTS code): the rule's Code is the OAuth error, its AADSTS
// the code, its Message the description; each defaults to Entra's own for
// the status. traceID identifies the answer.
func SignInError(rule *Rule, now time.Time, traceID string) []byte {
	e, ok := signInErrors[rule.Status]
	if !ok {
		e.code, e.aadsts, e.desc = "invalid_request", 90000, "The request failed with status "+strconv.Itoa(rule.Status)+"."
		if rule.Status >= 500 {
			e.code, e.aadsts = "server_error", 50000
		}
	}
	if rule.Code != "" {
		e.code = rule.Code
	}
	if rule.AADSTS != 0 {
		e.aadsts = rule.AADSTS
	}
	if rule.Message != "" {
		e.desc = rule.Message
	}
	stamp := now.UTC().Format("2006-01-02 15:04:05Z")
	b, _ := json.Marshal(struct {
		Error            string `json:"error"`
		ErrorDescription string `json:"error_description"`
		ErrorCodes       []int  `json:"error_codes"`
		Timestamp        string `json:"timestamp"`
		TraceID          string `json:"trace_id"`
		CorrelationID    string `json:"correlation_id"`
	}{e.code, fmt.Sprintf("AADSTS%d: %s Trace ID: %s Correlation ID: %s Timestamp: %s", e.aadsts, e.desc, traceID, traceID, stamp),
		[]int{e.aadsts}, stamp, traceID, traceID})
	return b
}
