package mdeapi_test

import (
	"bytes"
	"io"
	"net/http"
	"testing"

	"github.com/openatp/openatp/adminapi"
)

func adminFixture(t *testing.T) *fixture {
	t.Helper()
	f := newFixture(t, nil)
	setAdminKey(t, f)
	return f
}

// admin sends an admin API request with the given key ("" for none) and
// content type.
func (f *fixture) admin(t *testing.T, method, path, key, contentType string, body []byte) response {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("X-Openatp-Admin-Key", key)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{res.StatusCode, res.Header, b, res.Proto}
}

const adminKey = "test-admin-key"

func setAdminKey(t *testing.T, f *fixture) {
	t.Helper()
	if err := f.store.SetSetting(t.Context(), adminapi.AdminKeySetting, adminKey); err != nil {
		t.Fatal(err)
	}
	if err := f.auth.Refresh(t.Context()); err != nil { // as serve does every second
		t.Fatal(err)
	}
}
