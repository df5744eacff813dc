package httpserve

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// withPublicURL pins the base of the URLs the API writes to base, when
// set, instead of the request's scheme and Host header (which any client
// sets as it likes).
func withPublicURL(base string, next http.Handler) http.Handler {
	if base == "" {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ri := infoOf(r); ri != nil {
			ri.base = base
		}
		next.ServeHTTP(w, r)
	})
}

// ParsePublicURL checks a public URL: http or https, a host, nothing
// after it but an optional "/". It returns it without the "/".
func ParsePublicURL(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return "", fmt.Errorf("%q is not a base URL such as https://atp.example.com or https://atp.example.com:8443", s)
	}
	return strings.TrimSuffix(u.Scheme+"://"+u.Host, "/"), nil
}

// BaseOf is the base of the URLs the API writes (scheme://host), in two
// parts, to write without joining them: the scheme and "://" (empty for a
// public URL, which withPublicURL pinned), and the rest.
func BaseOf(r *http.Request) (scheme, rest string) {
	if ri := infoOf(r); ri != nil && ri.base != "" {
		return "", ri.base
	}
	if r.TLS != nil {
		return "https://", r.Host
	}
	return "http://", r.Host
}
