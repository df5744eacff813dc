package indicatorapi_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/apitest"
)

// The list's answers are kept (internal/answercache): a repeated request
// writes the bytes of the first while nothing was written to the store
// and no indicator it lists has expired, and only to a caller that sees
// the same indicators.

// counter reads a counter of /metrics.
func counter(t *testing.T, f *apitest.Fixture, name string) float64 {
	t.Helper()
	for l := range strings.SplitSeq(string(f.Do(t, "GET", "/metrics", "").Body), "\n") {
		if v, ok := strings.CutPrefix(l, name+" "); ok {
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("/metrics has no %s", name)
	return 0
}

// hits is the answer cache's hits.
func hits(t *testing.T, f *apitest.Fixture) float64 {
	return counter(t, f, "openatp_answer_cache_hits_total")
}

// byValue is the path of the lookup of hash n (hashBody's value).
func byValue(n int) string {
	return "/api/indicators?$filter=indicatorValue%20eq%20'" + fmt.Sprintf("%040x", n) + "'"
}

// A repeated request is a hit with the first answer's status, header
// fields and bytes; a write, through the API or straight to the store,
// makes the next answer fresh.
func TestKeptList(t *testing.T) {
	f := apitest.NewFixture(t, nil)
	tok := f.Token(t, f.Tenant, f.NewApp(t, f.Tenant, "soar", openatp.PermTiReadWriteAll))
	one := submit(t, f, tok, hashBody(1, ""))
	submit(t, f, tok, hashBody(2, ""))
	for _, path := range []string{byValue(1), "/api/indicators", "/api/v1.0/indicators?$top=1&$count=true", byValue(9)} {
		first := f.Do(t, "GET", path, tok)
		before := hits(t, f)
		second := f.Do(t, "GET", path, tok)
		if got := hits(t, f) - before; got != 1 {
			t.Errorf("%s: %v hits on the second request, want 1", path, got)
		}
		if first.Status != http.StatusOK || !bytes.Equal(first.Body, second.Body) {
			t.Errorf("%s: %d %s, then %d %s", path, first.Status, first.Body, second.Status, second.Body)
		}
		if got, want := keptHeaders(second), keptHeaders(first); !sameHeaders(got, want) {
			t.Errorf("%s: kept header %v, want %v", path, got, want)
		}
	}
	title := func(r apitest.Response) string {
		t.Helper()
		if r.Status != http.StatusOK {
			t.Fatalf("lookup: %d %s", r.Status, r.Body)
		}
		_, after, _ := strings.Cut(string(r.Body), `"title":"`)
		v, _, _ := strings.Cut(after, `"`)
		return v
	}
	if got := title(f.Do(t, "GET", byValue(1), tok)); got != "t1" {
		t.Fatalf("title %q", got)
	}
	// An update through the API (same type and value).
	submit(t, f, tok, `{"indicatorValue":"`+fmt.Sprintf("%040x", 1)+`","indicatorType":"FileSha1","action":"Block","title":"renamed","description":"d"}`)
	if got := title(f.Do(t, "GET", byValue(1), tok)); got != "renamed" {
		t.Errorf("after an update: title %q", got)
	}
	// A write straight to the store, as another process would.
	in, err := f.Store.Indicator(context.Background(), f.Tenant.ID, one)
	if err != nil {
		t.Fatal(err)
	}
	in.Title = "stored"
	if _, errs, err := f.Store.PutIndicators(context.Background(), f.Tenant.ID, []openatp.Indicator{in}, time.Now(), nil); err != nil || errs[0] != nil {
		t.Fatal(err, errs[0])
	}
	if got := title(f.Do(t, "GET", byValue(1), tok)); got != "stored" {
		t.Errorf("after a write to the store: title %q", got)
	}
	if r := f.Do(t, "DELETE", "/api/indicators/"+one, tok); r.Status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	if got := ids(t, f.Do(t, "GET", byValue(1), tok)); len(got) != 0 {
		t.Errorf("after a delete: %v", got)
	}
}

// keptHeaders are r's header fields but those that differ per answer.
func keptHeaders(r apitest.Response) http.Header {
	h := r.Header.Clone()
	h.Del("Date")
	h.Del("Request-Id")
	return h
}

func sameHeaders(a, b http.Header) bool {
	return fmt.Sprint(a) == fmt.Sprint(b) // fmt prints maps in key order
}

// A kept answer that lists an indicator is not written once it expires,
// though nothing was written to the store since.
func TestKeptListExpires(t *testing.T) {
	f := apitest.NewFixture(t, nil)
	tok := f.Token(t, f.Tenant, f.NewApp(t, f.Tenant, "soar", openatp.PermTiReadWriteAll))
	later := submit(t, f, tok, hashBody(1, `,"expirationTime":"2099-01-01T00:00:00Z"`))
	soon := submit(t, f, tok, hashBody(2, `,"expirationTime":"`+time.Now().Add(1500*time.Millisecond).UTC().Format(time.RFC3339Nano)+`"`))
	before := hits(t, f)
	for range 2 {
		if got := ids(t, f.Do(t, "GET", "/api/indicators", tok)); !same(got, []string{later, soon}) {
			t.Fatalf("before the expiry: %v", got)
		}
		if got := ids(t, f.Do(t, "GET", byValue(2), tok)); !same(got, []string{soon}) {
			t.Fatalf("lookup before the expiry: %v", got)
		}
	}
	if got := hits(t, f) - before; got != 2 {
		t.Fatalf("%v hits before the expiry, want 2", got)
	}
	apitest.WaitFor(t, "indicator "+soon+" to leave the list", func() bool {
		return same(ids(t, f.Do(t, "GET", "/api/indicators", tok)), []string{later})
	})
	if got := ids(t, f.Do(t, "GET", byValue(2), tok)); len(got) != 0 {
		t.Errorf("lookup after the expiry: %v", got)
	}
}

// An answer is kept for the callers that see what it lists: an
// application with Ti.ReadWrite its own indicators, a delegated user the
// indicators of its device groups, a tenant its own.
func TestKeptListPerCaller(t *testing.T) {
	f := apitest.RBACFixture(t, false)
	ctx := context.Background()
	if err := f.Store.PutRole(ctx, f.Tenant.ID, openatp.Role{Name: "TI", Permissions: []string{openatp.PermViewData, openatp.PermManageSecuritySettings},
		UserGroups: []string{"g-ana", "g-sec"}}); err != nil {
		t.Fatal(err)
	}
	appA := f.NewApp(t, f.Tenant, "soar-a", openatp.PermTiReadWrite)
	a, b := f.Token(t, f.Tenant, appA), f.Token(t, f.Tenant, f.NewApp(t, f.Tenant, "soar-b", openatp.PermTiReadWrite))
	all := f.Token(t, f.Tenant, f.NewApp(t, f.Tenant, "siem", openatp.PermTiReadWriteAll))
	native := f.DelegatedApp(t, f.Tenant, openatp.PermTiReadWrite)
	admin := f.Delegated(t, f.Tenant, native, "adm@contoso.com", "g-admin")
	ana := f.Delegated(t, f.Tenant, native, "ana@contoso.com", "g-ana")
	sec := f.Delegated(t, f.Tenant, native, "sec@contoso.com", "g-sec")

	other := f.NewTenant(t, "other.example")
	otherApp := f.NewApp(t, other, "siem", openatp.PermTiReadWriteAll)
	otherTok := f.Token(t, other, otherApp)
	own := submit(t, f, a, hashBody(1, ""))
	vault := submit(t, f, all, hashBody(2, `,"rbacGroupNames":["Vault"]`))
	elsewhere := submit(t, f, otherTok, hashBody(1, ""))

	// Each caller asks twice, in an order that would hand the first
	// caller's kept answer to the next if the key missed who asks.
	for _, c := range []struct {
		who, tok string
		n        int
		want     []string
	}{
		{"app A", a, 1, []string{own}}, {"app B", b, 1, nil}, {"siem", all, 1, []string{own}},
		{"admin", admin, 2, []string{vault}}, {"ana", ana, 2, nil}, {"sec", sec, 2, []string{vault}},
		{"the other tenant's siem", otherTok, 2, nil},
	} {
		for i := range 2 {
			if got := ids(t, f.Do(t, "GET", byValue(c.n), c.tok)); !same(got, c.want) {
				t.Errorf("%s, request %d: %v, want %v", c.who, i+1, got, c.want)
			}
		}
	}
	// The same path in two tenants (the same value, and the same id):
	// each its own indicator, by its creator.
	for _, c := range []struct {
		tok, id, creator string
	}{{all, own, appA.ClientID}, {otherTok, elsewhere, otherApp.ClientID}, {all, own, appA.ClientID}} {
		r := f.Do(t, "GET", byValue(1), c.tok)
		if got := ids(t, r); !same(got, []string{c.id}) || !strings.Contains(string(r.Body), `"createdBy":"`+c.creator+`"`) {
			t.Errorf("lookup in the tenant of %s: %s", c.creator, r.Body)
		}
	}
}
