package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// tlsClient returns a client trusting the CA file that speaks HTTP/2 when
// h2 is set, HTTP/1.1 only otherwise.
func tlsClient(t *testing.T, caFile string, h2 bool) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: h2}
	if !h2 {
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

type answer struct {
	proto, requestID string
	status           int
	body             string
	tls              bool
}

func fetch(t *testing.T, c *http.Client, method, u, token string, body io.Reader) answer {
	t.Helper()
	req, _ := http.NewRequest(method, u, body)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return answer{res.Proto, res.Header.Get("request-id"), res.StatusCode, string(b), res.TLS != nil}
}

// HTTPS offers HTTP/2 and HTTP/1.1; both give the same answers, error
// bodies included, and URLs written in answers start with https://.
func TestHTTPSBothProtocols(t *testing.T) {
	data := t.TempDir()
	c, log := startServeLog(t, data, "--addr", "127.0.0.1:0", "--tls-addr", "127.0.0.1:0")
	tok := strings.TrimSpace(mustCLI(t, "token", "--data", data, "--tenant", c.Tenant, "--app", c.ClientID, "--base-url", c.TLSBaseURL))
	h1, h2 := tlsClient(t, c.CAFile, false), tlsClient(t, c.CAFile, true)
	for _, r := range []struct {
		method, path, token string
		status              int
	}{
		{"GET", "/api/users/user1/machines", tok, 200},
		{"GET", "/api/users/user1/machines", "", 401},
		{"GET", "/api/users/nobody/machines", tok, 404},
		{"POST", "/api/users/user1/machines", tok, 405},
		{"GET", "/no/such/path", "", 404},
		{"GET", "/" + c.Tenant + "/v2.0/.well-known/openid-configuration", "", 200},
		{"GET", "/common/discovery/instance?api-version=1.1&authorization_endpoint=" + url.QueryEscape(c.TLSBaseURL+"/"+c.Tenant+"/oauth2/v2.0/authorize"), "", 200},
	} {
		a1 := fetch(t, h1, r.method, c.TLSBaseURL+r.path, r.token, nil)
		a2 := fetch(t, h2, r.method, c.TLSBaseURL+r.path, r.token, nil)
		if a1.proto != "HTTP/1.1" || a2.proto != "HTTP/2.0" {
			t.Errorf("%s: protocols %s and %s, want HTTP/1.1 and HTTP/2.0", r.path, a1.proto, a2.proto)
		}
		if a1.status != r.status || a2.status != r.status {
			t.Errorf("%s %s: status %d (h1) %d (h2), want %d", r.method, r.path, a1.status, a2.status, r.status)
		}
		// The bodies are the same but for the request id and trace ids.
		if strings.ReplaceAll(a1.body, a1.requestID, "ID") != strings.ReplaceAll(a2.body, a2.requestID, "ID") {
			t.Errorf("%s: the protocols answer differently:\n%s\n%s", r.path, a1.body, a2.body)
		}
		if r.status >= 400 && r.token != "" || r.path == "/no/such/path" {
			want := regexp.MustCompile(`^\{"error":\{"code":"[A-Za-z]+","message":"[^"]+","target":"` + a2.requestID + `"\}\}$`)
			if !want.MatchString(a2.body) {
				t.Errorf("%s: not the MDE error body: %s", r.path, a2.body)
			}
		}
		if strings.Contains(a2.body, "http://") {
			t.Errorf("%s: an http:// URL in an answer over HTTPS: %s", r.path, a2.body)
		}
	}
	if a := fetch(t, h2, "GET", c.TLSBaseURL+"/api/users/user1/machines", tok, nil); !strings.Contains(a.body, `"@odata.context":"`+c.TLSBaseURL+`/api/$metadata#Machines"`) {
		t.Errorf("@odata.context over HTTPS: %s", a.body)
	}

	// Plain HTTP sent to the HTTPS port gets the MDE body, not net/http's text.
	conn, err := net.Dial("tcp", strings.TrimPrefix(c.TLSBaseURL, "https://"))
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.WriteString(conn, "GET /api/users/user1/machines HTTP/1.1\r\nHost: x\r\n\r\n")
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	conn.Close()
	if res.StatusCode != 400 || !strings.HasPrefix(string(b), `{"error":{"code":"BadRequest","message":"The request was sent in plain HTTP to the HTTPS port`) {
		t.Errorf("plain HTTP to the HTTPS port: %d %s", res.StatusCode, b)
	}

	// A client that does not trust the CA fails its handshake; the log
	// names it as such.
	untrusting := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: x509.NewCertPool()}}}
	if res, err := untrusting.Get(c.TLSBaseURL + "/healthz"); err == nil {
		res.Body.Close()
		t.Fatal("a client that does not trust the CA got an answer")
	}
	waitLog(t, log, `msg="tls handshake failed" remote=127.0.0.1:`, `reason="remote error: tls: bad certificate"`)
	if strings.Contains(log.String(), "refused by the HTTP parser") {
		t.Errorf("a TLS handshake or plain HTTP on the HTTPS port logged as a parser refusal:\n%s", log)
	}

	// The access log carries the query string, secrets redacted, and the
	// protocol.
	fetch(t, h2, "GET", c.TLSBaseURL+"/common/userrealm/analyst@demo.onmicrosoft.com?api-version=1.0&password=hunter2&Client_Secret=s&code=c", "", nil)
	waitLog(t, log, `path=/common/userrealm/analyst@demo.onmicrosoft.com query="api-version=1.0&password=REDACTED&Client_Secret=REDACTED&code=REDACTED" proto=HTTP/2.0`)
	if strings.Contains(log.String(), "hunter2") {
		t.Errorf("a password reached the log:\n%s", log)
	}
}

// waitLog waits until every part is in the log (log lines are written
// after the answer is sent).
func waitLog(t *testing.T, log *syncBuffer, parts ...string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(log.String(), p)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the log does not hold %q:\n%s", parts, log)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
