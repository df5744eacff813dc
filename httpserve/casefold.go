package httpserve

import (
	"net/http"
	"net/url"
	"strings"
)

// The MDE API's paths are matched without regard to case, and a trailing
// slash is tolerated (clients send StopAndQuarantineFile and
// stopAndQuarantineFile, findByTag and findbytag, /api/alerts/{id}/):
// every segment after /api/ that a route names literally matches in any
// ASCII case; a {name} keeps its value as sent.
//
// A ServeMux matches literally, and a request spelled as its route is
// routed by it alone: the folding costs such a request nothing. A request
// the mux finds no route for reaches the catch-all, which folds its path
// onto the routes registered (a trie of their segments) and, when that
// names a route, dispatches the request once more with the route's
// spelling. A request whose segment a {name} took although a route names
// it literally in another case (GET /api/machines/FindByTag, taken by
// /api/machines/{id}) is dispatched again by the guard in front of that
// route's handler: the literal wins, as it does in the ServeMux. The
// request keeps the path as sent (the access log and the journal show
// it); its Pattern names the route that answered (metrics, journal).

// folder holds the paths of the routes under /api/ as a trie of their
// segments, and the mux that serves them.
type folder struct {
	root foldNode
	mux  *http.ServeMux
}

// foldNode is a segment of the routes' paths.
type foldNode struct {
	lit  string      // the literal this node is (unescaped, as registered)
	lits []*foldNode // the literal segments after this one
	wild *foldNode   // a {name} after this one
	rest bool        // a {name...} (or a final "/") ends here: any rest matches
	end  bool        // a route ends here
}

// wildcard is a {name} of a route and the node before it, whose literal
// children a request's segment may name in another case.
type wildcard struct {
	name   string
	parent *foldNode
}

// add adds a route pattern ("[METHOD ]/api/path") and returns the handler
// to register for it: h, or, when the path has a {name}, h behind a guard
// that passes a segment naming a literal route on to that route.
// Patterns outside /api/ are not folded.
func (f *folder) add(pattern string, h http.Handler) http.Handler {
	path := pattern
	if _, p, ok := strings.Cut(pattern, " "); ok {
		path = strings.TrimSpace(p)
	}
	if !strings.HasPrefix(path, "/api/") {
		return h
	}
	var wild []wildcard
	n := &f.root
	segs := strings.Split(path[1:], "/")
	for i, seg := range segs {
		switch {
		case seg == "" && i == len(segs)-1, strings.HasSuffix(seg, "...}"):
			n.rest = true
			return h
		case seg == "{$}":
			n.end = true
			return h
		case strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}"):
			wild = append(wild, wildcard{name: seg[1 : len(seg)-1], parent: n})
			if n.wild == nil {
				n.wild = &foldNode{}
			}
			n = n.wild
		default:
			n = n.child(seg)
		}
	}
	n.end = true
	if wild == nil {
		return h
	}
	return &foldGuard{h: h, f: f, wild: wild}
}

// child returns the literal child lit of n, adding it if new.
func (n *foldNode) child(lit string) *foldNode {
	for _, c := range n.lits {
		if c.lit == lit {
			return c
		}
	}
	c := &foldNode{lit: lit}
	n.lits = append(n.lits, c)
	return c
}

// canonical returns the path (escaped, as sent) spelled as the route it
// names: each segment a route names literally as the route writes it,
// the others as sent, without a trailing slash. changed is false when the
// path names no route under /api/, or is spelled so already.
func (f *folder) canonical(path string) (canon string, changed bool) {
	if !strings.HasPrefix(path, "/api/") {
		return "", false
	}
	segs := strings.Split(path[1:], "/")
	if len(segs) > 2 && segs[len(segs)-1] == "" {
		segs = segs[:len(segs)-1]
	}
	out := make([]string, len(segs))
	if !f.root.match(segs, out) {
		return "", false
	}
	canon = "/" + strings.Join(out, "/")
	return canon, canon != path
}

// match matches the segments after n, writing each as the route spells it
// into out: a literal spelled exactly first, then one in another case,
// then a {name}, then a {name...}, as the ServeMux prefers the more
// specific route.
func (n *foldNode) match(segs, out []string) bool {
	if len(segs) == 0 {
		return n.end || n.rest
	}
	seg := segs[0]
	u := unescapeSegment(seg)
	for _, c := range n.lits {
		if c.lit == u && c.match(segs[1:], out[1:]) {
			out[0] = seg
			return true
		}
	}
	for _, c := range n.lits {
		if c.lit != u && strings.EqualFold(c.lit, u) && c.match(segs[1:], out[1:]) {
			out[0] = url.PathEscape(c.lit)
			return true
		}
	}
	if n.wild != nil && seg != "" && n.wild.match(segs[1:], out[1:]) {
		out[0] = seg
		return true
	}
	if n.rest {
		copy(out, segs)
		return true
	}
	return false
}

func unescapeSegment(seg string) string {
	if !strings.Contains(seg, "%") {
		return seg
	}
	if u, err := url.PathUnescape(seg); err == nil {
		return u
	}
	return seg
}

// as returns a copy of r whose path is path (escaped).
func as(r *http.Request, path string) *http.Request {
	u := *r.URL
	u.RawPath = path
	if p, err := url.PathUnescape(path); err == nil {
		u.Path = p
	}
	r2 := r.WithContext(r.Context())
	r2.URL = &u
	return r2
}

// serveAs serves r as if its path were path (a canonical one): once more
// through the mux, which names the route in r.Pattern.
func (f *folder) serveAs(w http.ResponseWriter, r *http.Request, path string) {
	r2 := as(r, path)
	f.mux.ServeHTTP(w, r2)
	r.Pattern = r2.Pattern // for the metrics and the journal, which read r
}

// catchAll answers the requests no route took: one whose path names a
// route in another case or with a trailing slash is served by that route;
// any other by notFound.
func (f *folder) catchAll(notFound http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if canon, changed := f.canonical(r.URL.EscapedPath()); changed {
			f.serveAs(w, r, canon)
			return
		}
		notFound.ServeHTTP(w, r)
	})
}

// routeOf returns the pattern of the route that answers r (after
// folding), as ServeMux.Handler names it.
func (f *folder) routeOf(r *http.Request) string {
	if canon, changed := f.canonical(r.URL.EscapedPath()); changed {
		r = as(r, canon)
	}
	_, p := f.mux.Handler(r)
	return p
}

// foldGuard is the handler of a route with a {name}: a request whose
// {name} names, in another case, a literal route beside it is served by
// that route.
type foldGuard struct {
	h    http.Handler
	f    *folder
	wild []wildcard
}

func (g *foldGuard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	for _, wc := range g.wild {
		if len(wc.parent.lits) == 0 { // the route's own case: nothing to compare
			continue
		}
		v := r.PathValue(wc.name)
		for _, c := range wc.parent.lits {
			if strings.EqualFold(c.lit, v) {
				if canon, changed := g.f.canonical(r.URL.EscapedPath()); changed {
					g.f.serveAs(w, r, canon)
					return
				}
				g.h.ServeHTTP(w, r)
				return
			}
		}
	}
	g.h.ServeHTTP(w, r)
}
