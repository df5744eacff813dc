package route

import "testing"

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, method, path string
		want                  bool
	}{
		{"", "POST", "/anything/at/all", true},
		{"GET", "GET", "/x", false}, // not a pattern: see TestParseErrors
		{"/api/machines", "GET", "/api/machines", true},
		{"/api/machines", "DELETE", "/api/machines", true},
		{"GET /api/machines", "POST", "/api/machines", false},
		{"GET /api/machines", "GET", "/api/v1.0/machines", true},
		{"GET /api/v1.0/machines", "GET", "/api/machines", false},
		{"GET /api/v1.0/machines", "GET", "/api/v1.0/machines", true},
		{"GET /api/machines", "GET", "/api/machines/", true}, // a trailing slash is tolerated under /api/
		{"GET /api/machines", "GET", "/api/machines//", false},
		{"GET /api/machines", "GET", "/api/Machines", true}, // literals ignore case under /api/
		{"GET /api/machines", "GET", "/API/machines", false},
		{"GET /api/Machines", "GET", "/api/MACHINES", true},
		{"GET /api/machines", "GET", "/api/V1.0/machines", true},
		{"GET /api/v1.0/machines", "GET", "/api/V1.0/MACHINES/", true},
		{"POST /api/machines/{id}/isolate", "POST", "/api/Machines/AbC/ISOLATE", true},
		{"GET /api/alerts/{id}", "GET", "/api/alerts/x/", true},
		{"GET /api/machines/findbyip(*)", "GET", "/api/machines/FindByIp(ip='10.1.1.1')", true},
		{"GET /api/machines/FindByIp(*)", "GET", "/api/machines/findbyip(ip='10.1.1.1')", true},
		{"GET /x/{tenant}/oauth2/token", "GET", "/X/t/oauth2/token", false}, // outside /api/: byte for byte
		{"GET /x/{tenant}/oauth2/token", "GET", "/x/t/oauth2/token/", false},
		{"GET /api/machines", "GET", "/api/machines/x", false},
		{"GET /api/machines/{id}", "GET", "/api/machines/x", true},
		{"GET /api/machines/{id}", "GET", "/api/machines/", false},
		{"GET /api/machines/{id}", "GET", "/api/machines", false},
		{"GET /api/machines/{id}", "GET", "/api/machines/x/logonusers", false},
		{"GET /api/users/{id}/machines", "GET", "/api/users/contoso%5Cuser1/machines", true},
		{"GET /api/users/contoso\\user1/machines", "GET", "/api/users/contoso%5Cuser1/machines", true},
		{"GET /api/users/user1/machines", "GET", "/api/users/user2/machines", false},
		{"/api/{rest...}", "GET", "/api/machines/x/tags", true},
		{"/api/{rest...}", "GET", "/api", true},
		{"/api/{rest...}", "GET", "/apix", false},
		{"/{rest...}", "GET", "/healthz", true},
		{"GET /api/machines/findbyip(*)", "GET", "/api/machines/findbyip(ip='10.1.1.1',timestamp=2024-01-01T00:00:00Z)", true},
		{"GET /api/machines/findbyip(*)", "GET", "/api/machines/findbytag", false},
		{"GET /api/machines/*tag", "GET", "/api/machines/findbytag", true},
		{"GET /api/machines/a*b*c", "GET", "/api/machines/abc", true},
		{"GET /api/machines/a*b*c", "GET", "/api/machines/abcb", false},
		{"GET /api/machines/a*a", "GET", "/api/machines/a", false},
		{"GET /api/machines/{id}", "GET", "/api/machines//", false},
		{"/", "GET", "/", true},
		{"/", "GET", "/api", false},
	} {
		p, err := Parse(tc.pattern)
		if err != nil {
			if tc.pattern != "GET" {
				t.Errorf("Parse(%q): %v", tc.pattern, err)
			}
			continue
		}
		if got := p.Match(tc.method, tc.path); got != tc.want {
			t.Errorf("%q.Match(%s %s) = %v, want %v", tc.pattern, tc.method, tc.path, got, tc.want)
		}
	}
}

func TestMatchRoute(t *testing.T) {
	for _, tc := range []struct {
		pattern, method, path, route string
		want                         bool
	}{
		{"GET /api/machines/{id}", "GET", "/api/machines/abc", "GET /api/machines/{id}", true},
		{"GET /api/machines/{id}", "GET", "/api/machines/findbytag", "GET /api/machines/findbytag", false},
		{"GET /api/machines/{id}", "GET", "/api/v1.0/machines/findbytag", "GET /api/v1.0/machines/findbytag", false},
		{"GET /api/machines/{id}", "GET", "/api/v1.0/machines/abc", "GET /api/v1.0/machines/{id}", true},
		{"GET /api/v1.0/machines/{id}", "GET", "/api/v1.0/machines/findbytag", "GET /api/v1.0/machines/findbytag", false},
		{"GET /api/machines/{id}", "GET", "/api/machines/findbytag", "", true}, // the route not known
		{"GET /api/machines/{id}", "GET", "/api/machines/FindByTag", "GET /api/machines/findbytag", false},
		{"GET /api/machines/{id}", "GET", "/api/V1.0/machines/FindByTag", "GET /api/v1.0/machines/findbytag", false},
		{"GET /api/machines/findbytag", "GET", "/api/Machines/FINDBYTAG/", "GET /api/machines/findbytag", true},
		{"GET /api/machines/findbytag", "GET", "/api/machines/findbytag", "GET /api/machines/findbytag", true},
		{"/api/{rest...}", "GET", "/api/machines/findbytag", "GET /api/machines/findbytag", true},
		{"/api/machines/{id}/tags", "POST", "/api/machines/x/tags", "POST /api/machines/{id}/tags", true},
		{"/api/users/{id}/machines", "GET", "/api/users/x/machines", "/", true},
		{"/api/users/{id}/machines", "GET", "/api/users/x/other", "/", false},
	} {
		p := MustParse(tc.pattern)
		if got := p.MatchRoute(tc.method, tc.path, tc.route); got != tc.want {
			t.Errorf("%q.MatchRoute(%s %s, %q) = %v, want %v", tc.pattern, tc.method, tc.path, tc.route, got, tc.want)
		}
	}
	if MustParse("GET /api/machines").HasWildcard() || !MustParse("/api/machines/{id}").HasWildcard() {
		t.Error("HasWildcard")
	}
}

func TestParseErrors(t *testing.T) {
	for _, s := range []string{"GET", "api/machines", "get /api", "GET /api/{rest...}/x", "GET /api/x{id}"} {
		if _, err := Parse(s); err == nil {
			t.Errorf("Parse(%q) succeeded", s)
		}
	}
	if p := MustParse(" "); !p.IsZero() || !p.Match("GET", "/x") {
		t.Error("a blank pattern does not match everything")
	}
	if p := MustParse("GET /api/machines"); p.String() != "GET /api/machines" || p.IsZero() {
		t.Errorf("String() = %q", p.String())
	}
}

func TestOverlaps(t *testing.T) {
	for _, tc := range []struct {
		p, q string
		want bool
	}{
		{"GET /api/machines/{id}", "GET /api/machines/{id}", true},
		{"GET /api/machines/mymachine1", "GET /api/machines/{id}", true},
		{"GET /api/machines/{id}", "GET /api/machines/findbytag", true},
		{"GET /api/machines/findbyip(*)", "GET /api/machines/{id}", true},
		{"GET /api/machine/{id}", "GET /api/machines/{id}", false},
		{"POST /api/machines/{id}", "GET /api/machines/{id}", false},
		{"POST /api/machines/{id}", "/api/machines/{id}", true},
		{"/api/machines/{id}", "GET /api/v1.0/machines/{id}", true},
		{"GET /api/machines/{id}/alerts/$count", "GET /api/v1.0/machines/{id}/alerts/$count", true},
		{"POST /{tenant}/oauth2/token", "/{tenant}/oauth2/token", true},
		{"POST /contoso.com/oauth2/v2.0/token", "/{tenant}/oauth2/v2.0/token", true},
		{"POST /contoso.com/oauth2/v2.0/token", "/{tenant}/oauth2/token", false},
		{"GET /healthz", "GET /api/machines", false},
		{"/api/{rest...}", "GET /api/alerts/{id}", true},
		{"POST /api/Machines/{id}/Isolate", "POST /api/machines/{id}/isolate", true},
		{"GET /api/machines/FindByIp(*)", "GET /api/machines/{id}", true},
	} {
		p, q := MustParse(tc.p), MustParse(tc.q)
		if got := p.Overlaps(q); got != tc.want {
			t.Errorf("%q overlaps %q: %v, want %v (examples %s, %s)", tc.p, tc.q, got, tc.want, p.Example(), q.Example())
		}
		if got := q.Overlaps(p); got != tc.want {
			t.Errorf("%q overlaps %q: %v, want %v", tc.q, tc.p, got, tc.want)
		}
	}
}
