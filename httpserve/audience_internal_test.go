package httpserve

import (
	"encoding/base64"
	"strings"
	"testing"
)

// TestNamesGraph: Graph's audience is found in a token's payload whatever
// its alignment in the base64 text, and a Defender audience is not.
func TestNamesGraph(t *testing.T) {
	for pad := range 6 {
		for _, aud := range []string{"https://graph.microsoft.com", "https://api.securitycenter.microsoft.com"} {
			payload := base64.RawURLEncoding.EncodeToString([]byte(`{"x":"` + strings.Repeat("a", pad) + `","aud":"` + aud + `"}`))
			want := strings.Contains(aud, "graph")
			if got := namesGraph(payload); got != want {
				t.Errorf("pad %d, aud %s: namesGraph = %v, want %v", pad, aud, got, want)
			}
			err := checkAPIAudience("/api/machines", "h."+payload+".s")
			if (err != nil) != want {
				t.Errorf("pad %d, aud %s on /api: %v", pad, aud, err)
			}
			err = checkAPIAudience("/v1.0/security/runHuntingQuery", "h."+payload+".s")
			if (err != nil) == want {
				t.Errorf("pad %d, aud %s on Graph: %v", pad, aud, err)
			}
		}
	}
}

// The audiences kept for a token are never another token's: two tokens
// that share a slot (the same last bytes), one of Graph and one not, get
// their own answers however they alternate.
func TestAudienceCache(t *testing.T) {
	tok := func(aud string) string {
		return "h." + base64.RawURLEncoding.EncodeToString([]byte(`{"aud":"`+aud+`"}`)) + ".sameSig"
	}
	graph, defender := tok("https://graph.microsoft.com/"), tok("https://api.securitycenter.microsoft.com")
	var c audienceCache
	for i, raw := range []string{graph, graph, defender, defender, graph, defender} {
		want := tokenAudiences(raw)
		if got := c.get(raw); got != want || got.graph != (raw == graph) {
			t.Errorf("request %d: %+v, want %+v", i, got, want)
		}
	}
	if got := c.get("x"); got != (audiences{}) {
		t.Errorf("a one-byte token: %+v", got)
	}
}
