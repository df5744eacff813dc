package auth

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/openatp/openatp"
)

// FuzzVerify: no input panics, and every rejection is Unauthenticated.
func FuzzVerify(f *testing.F) {
	svc, tok, host := benchSetup(f)
	f.Add(tok, host)
	f.Add(tok[:len(tok)-3], host)
	f.Add("a.b.c", "")
	f.Add("eyJhbGciOiJub25lIn0.e30.", "[::1")
	f.Fuzz(func(t *testing.T, raw, host string) {
		p, err := svc.Verify(context.Background(), raw, host)
		if err != nil && !openatp.IsKind(err, openatp.Unauthenticated) {
			t.Fatalf("error of kind %v: %v", openatp.KindOf(err), err)
		}
		if err == nil && (raw != tok || p.TenantID != tenantA) {
			t.Fatalf("accepted %q", raw)
		}
	})
}

// FuzzTokenEndpoint: no body or content type makes the token endpoint
// panic or answer anything but 200, 400 or 401 in the OAuth shape.
func FuzzTokenEndpoint(f *testing.F) {
	svc := newService(f, newMemStore(), Options{})
	h := NewHandler(svc, nil)
	f.Add(form, "grant_type=client_credentials&client_id="+clientA+"&client_secret="+secretA+"&resource="+ServiceAppID)
	f.Add(form, "%zz&&==;")
	f.Add("multipart/form-data; boundary=x", "--x\r\n")
	f.Fuzz(func(t *testing.T, ctype, body string) {
		req := httptest.NewRequest(http.MethodPost, "/"+tenantA+"/oauth2/v2.0/token", strings.NewReader(body))
		req.Header.Set("Content-Type", ctype)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case 200, 400, 401:
		default:
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		if !strings.Contains(rec.Body.String(), `"access_token"`) && !strings.Contains(rec.Body.String(), `"error"`) {
			t.Fatalf("body %s", rec.Body)
		}
	})
}
