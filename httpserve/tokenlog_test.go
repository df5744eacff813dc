package httpserve_test

import (
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/openatp/openatp/internal/apitest"
)

// The log line of a token request names the tenant of its path (id or
// name, as written), not tenant="".
func TestTokenRequestLogNamesPathTenant(t *testing.T) {
	var logs lockedBuffer
	f := newFixture(t, func(c *apitest.Config) { c.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	for _, tenant := range []string{f.tenant.ID, "contoso.onmicrosoft.com", "nosuch.example"} {
		res, err := http.PostForm(f.srv.URL+"/"+tenant+"/oauth2/v2.0/token", url.Values{"grant_type": {"client_credentials"}})
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		want := "path=/" + tenant + "/oauth2/v2.0/token query=\"\" proto=HTTP/1.1 tenant=" + tenant + " "
		deadline := time.Now().Add(5 * time.Second)
		for !strings.Contains(logs.String(), want) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond) // the line is written after the answer
		}
		if !strings.Contains(logs.String(), want) {
			t.Errorf("no request line with %q:\n%s", want, logs.String())
		}
	}
}
