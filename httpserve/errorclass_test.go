package httpserve_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/adminapi"
	"github.com/openatp/openatp/apitest"
)

// classStore is the real store, except that UserMachines of some users
// fails as a store can fail: with an internal error, unavailable, or by
// waiting for its caller to go away.
type classStore struct {
	openatp.Store
	stalled atomic.Int64
}

func (s *classStore) UserMachines(ctx context.Context, tenantID string, u openatp.UserRef) ([]openatp.Machine, error) {
	switch u.Name {
	case "fails":
		return nil, errors.New("disk on fire: the detail the client never reads")
	case "unavailable":
		return nil, &openatp.Error{Kind: openatp.Unavailable, Message: "The store is busy.", Err: errors.New("pool exhausted")}
	case "stalls":
		s.stalled.Add(1)
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return s.Store.UserMachines(ctx, tenantID, u)
}

// appLimiter refuses every call of one application, to be retried after
// 3 s.
type appLimiter struct{ clientID string }

func (l appLimiter) Allow(_ context.Context, key string) (bool, time.Duration, error) {
	return !strings.Contains(key, "|"+l.clientID+"|"), 3 * time.Second, nil
}

var requestIDRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// Every class of error the service answers, through a real listener: the
// status, the MDE body {"error":{"code","message","target"}} with the
// request id as target (and in the request-id header), and the header a
// class carries (Allow, Retry-After). A client that goes away is logged
// and counted as 499.
func TestErrorClasses(t *testing.T) {
	var logs apitest.LockedBuffer
	store := &classStore{}
	limiter := &appLimiter{}
	f := apitest.NewFixture(t, func(c *apitest.Config) {
		store.Store = c.Store
		c.Store = store
		c.NoIndex = true // user machines come from the store
		c.Limiter = limiter
		c.BodyTimeout = 300 * time.Millisecond
		c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	f.SetAdminKey(t)
	tok := f.Token(t, f.Tenant, f.App)
	none := f.Token(t, f.Tenant, f.NewApp(t, f.Tenant, "no roles"))
	throttled := f.NewApp(t, f.Tenant, "throttled", openatp.PermMachineReadAll)
	limiter.clientID = throttled.ClientID
	throttledTok := f.Token(t, f.Tenant, throttled)

	get := func(path, token string) func(t *testing.T) apitest.Response {
		return func(t *testing.T) apitest.Response { return f.Do(t, "GET", path, token) }
	}
	cases := []struct {
		name         string
		send         func(t *testing.T) apitest.Response
		status       int
		code, msg    string
		header, want string // a header the answer carries
	}{
		{"400", get("/api/users/Nestor/machines?colour=blue", tok), 400, "InvalidInput",
			"The query parameter 'colour' is not supported by this endpoint.", "", ""},
		{"401", get("/api/users/Nestor/machines", ""), 401, "Unauthorized",
			"Authorization header is missing. Send 'Authorization: Bearer <token>'.", "", ""},
		{"403", get("/api/users/Nestor/machines", none), 403, "Forbidden",
			"Missing application roles. API required roles: Machine.Read.All,Machine.ReadWrite.All, application roles: .", "", ""},
		{"404", get("/api/nothing/here", tok), 404, "NotFound", "No resource matches the path /api/nothing/here.", "", ""},
		{"405", func(t *testing.T) apitest.Response { return f.Do(t, "DELETE", "/api/machines", tok) }, 405, "MethodNotAllowed",
			"The HTTP method DELETE is not allowed on this resource; use GET.", "Allow", "GET"},
		{"408", func(t *testing.T) apitest.Response {
			// Headers and one byte of a body of 100, then nothing.
			c, err := net.Dial("tcp", f.Srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			fmt.Fprintf(c, "PATCH /api/machines/%s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
				strings.Repeat("a", 40), f.Srv.Listener.Addr(), tok)
			_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
			res, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			body, _ := io.ReadAll(res.Body)
			return apitest.Answer(res, body)
		}, 408, "RequestTimeout", "The request body was not received in time.", "", ""},
		{"413", func(t *testing.T) apitest.Response {
			body := io.LimitReader(zeros{}, adminapi.MaxAdminBody+1)
			req, err := http.NewRequest("POST", f.Srv.URL+"/_openatp/tenants/"+f.Tenant.ID+"/machines", body)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("X-Openatp-Admin-Key", apitest.AdminKey)
			req.Header.Set("Content-Type", "application/x-ndjson")
			return f.Send(t, req)
		}, 413, "RequestEntityTooLarge", "The request body is larger than 64 MiB: split it into several requests.", "", ""},
		{"429", get("/api/users/Nestor/machines", throttledTok), 429, "TooManyRequests",
			"Rate limit is exceeded. Try again in 3 seconds.", "Retry-After", "3"},
		{"500", get("/api/users/fails/machines", tok), 500, "InternalServerError",
			"An internal error occurred. Retry the request; if it persists, report it with the request id.", "", ""},
		{"503", get("/api/users/unavailable/machines", tok), 503, "ServiceUnavailable",
			"The service is temporarily unavailable. Retry the request later.", "Retry-After", "5"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.send(t)
			if r.Status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tc.status, r.Body)
			}
			if ct := r.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			id := r.Header.Get("request-id")
			if !requestIDRE.MatchString(id) {
				t.Errorf("request-id %q is not a GUID", id)
			}
			var want strings.Builder
			enc := json.NewEncoder(&want)
			enc.SetEscapeHTML(false)
			_ = enc.Encode(map[string]map[string]string{"error": {"code": tc.code, "message": tc.msg, "target": id}})
			if string(r.Body)+"\n" != want.String() {
				t.Errorf("body\n%s\nwant\n%s", r.Body, want.String())
			}
			if tc.header != "" && r.Header.Get(tc.header) != tc.want {
				t.Errorf("%s: %q, want %q", tc.header, r.Header.Get(tc.header), tc.want)
			}
			if tc.status == 500 && !strings.Contains(logs.String(), `msg="request failed" request_id=`+id+` error="disk on fire`) {
				t.Errorf("the cause of the 500 is not logged with its request id:\n%s", logs.String())
			}
			// A store's 503: what failed is logged, never shown.
			if tc.status == 503 && !strings.Contains(logs.String(), `msg="request failed" request_id=`+id+` error="The store is busy.: pool exhausted"`) {
				t.Errorf("the cause of the 503 is not logged with its request id:\n%s", logs.String())
			}
		})
	}

	t.Run("499", func(t *testing.T) {
		c, err := net.Dial("tcp", f.Srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "GET /api/users/stalls/machines HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n\r\n", f.Srv.Listener.Addr(), tok)
		apitest.WaitFor(t, "the request to reach the store", func() bool { return store.stalled.Load() == 1 })
		c.Close()
		line := regexp.MustCompile(`msg=request request_id=(\S+) method=GET path=/api/users/stalls/machines .* status=499 code=ClientClosedRequest `)
		var m []string
		apitest.WaitFor(t, "the access-log line", func() bool { m = line.FindStringSubmatch(logs.String()); return m != nil })
		if !strings.Contains(logs.String(), `level=DEBUG msg="client went away" request_id=`+m[1]) {
			t.Errorf("no debug line for the client that went away:\n%s", logs.String())
		}
		if strings.Contains(logs.String(), "level=ERROR msg=\"request failed\" request_id="+m[1]) {
			t.Errorf("a client that went away is logged as a failure:\n%s", logs.String())
		}
		metrics := string(f.Do(t, "GET", "/metrics", "").Body)
		if want := `openatp_http_requests_total{code="499",route="GET /api/users/{id}/machines"} 1`; !strings.Contains(metrics, want) {
			t.Errorf("metrics do not count the 499 (%s):\n%s", want, grep(metrics, "openatp_http_requests_total"))
		}
	})
}

// zeros reads as an endless run of '0' bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = '0'
	}
	return len(p), nil
}
