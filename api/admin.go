package api

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/ingest"
	"github.com/openatp/openatp/ratelimit"
)

// The admin API (/_openatp/...) does over HTTP what the CLI does: create
// tenants and apps, load machines and logon events, delete a machine, reset
// a tenant, count what a tenant holds. Every call needs the deployment's
// admin key, kept in the store as the setting AdminKeySetting, as
// "Authorization: Bearer <key>" or "X-Openatp-Admin-Key: <key>".

// AdminKeySetting is the store setting that holds the admin key.
const AdminKeySetting = "admin_key"

// MaxAdminBody is the largest request body the admin API reads.
const MaxAdminBody = 64 << 20

// Settings reads the deployment's settings from memory, kept up to date
// with the store by its owner (auth.Service does): checking the admin key
// costs no store read, whatever key is sent.
type Settings interface {
	// Setting returns a setting as last loaded, and whether it is set.
	Setting(name string) (string, bool)
}

// FailureBudget bounds failed attempts per client address
// (ratelimit.AddressKey); *ratelimit.Failures implements it.
type FailureBudget interface {
	Exhausted(key string) (retryAfter time.Duration, exhausted bool)
	Fail(key string)
}

// addAdminRoutes lists the routes of the admin API.
func addAdminRoutes(mux *http.ServeMux, cfg Config) {
	store := cfg.Store
	admin := func(h http.Handler) http.Handler { return requireAdmin(cfg.Settings, cfg.AuthFailures, h) }
	// At most two bodies are checked and written at once (writes are
	// serialized by the store anyway); a body is read before its slot is
	// taken, so that a slow client holds none.
	ingestSlots := make(chan struct{}, 2)
	bodyTimeout := adminBodyTimeout(cfg.BodyTimeout)
	machines := admin(handleAdminIngest(store, ingest.Machines, ingestSlots, bodyTimeout))
	mux.Handle("POST /_openatp/tenants", admin(handleCreateTenant(store)))
	mux.Handle("POST /_openatp/tenants/{t}/apps", admin(handleCreateApp(store)))
	mux.Handle("PUT /_openatp/tenants/{t}/machines", machines)
	mux.Handle("POST /_openatp/tenants/{t}/machines", machines)
	mux.Handle("POST /_openatp/tenants/{t}/logons", admin(handleAdminIngest(store, ingest.Logons, ingestSlots, bodyTimeout)))
	mux.Handle("POST /_openatp/tenants/{t}/alerts", admin(handleAdminIngest(store, ingest.Alerts, ingestSlots, bodyTimeout)))
	mux.Handle("DELETE /_openatp/tenants/{t}/machines/{id}", admin(handleDeleteMachine(store)))
	mux.Handle("POST /_openatp/tenants/{t}/reset", admin(handleReset(store)))
	mux.Handle("GET /_openatp/tenants/{t}/stats", admin(handleStats(store)))
	for p, allow := range map[string]string{
		"/_openatp/tenants":                   "POST",
		"/_openatp/tenants/{t}/apps":          "POST",
		"/_openatp/tenants/{t}/machines":      "PUT, POST",
		"/_openatp/tenants/{t}/logons":        "POST",
		"/_openatp/tenants/{t}/alerts":        "POST",
		"/_openatp/tenants/{t}/machines/{id}": "DELETE",
		"/_openatp/tenants/{t}/reset":         "POST",
		"/_openatp/tenants/{t}/stats":         "GET",
	} {
		mux.Handle(p, admin(methodNotAllowed(allow)))
	}
	addRBACAdminRoutes(mux, store, admin)
}

// requireAdmin refuses a request without the admin key with 401. The key is
// read from memory (settings; a changed key takes effect at its next
// refresh); keys are compared in constant time (as SHA-256 digests, so
// that not even the length leaks). A wrong key counts against the client
// address's failure budget; an address out of budget gets 429 unchecked.
func requireAdmin(settings Settings, failures FailureBudget, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		addr := ratelimit.AddressKey(r.RemoteAddr)
		if failures != nil {
			if retry, ex := failures.Exhausted(addr); ex {
				writeError(w, r, tooManyFailures(retry))
				return
			}
		}
		given := r.Header.Get("X-Openatp-Admin-Key")
		if given == "" {
			if scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "Bearer") {
				given = strings.TrimSpace(tok)
			}
		}
		if given == "" {
			writeErrorBody(w, r, http.StatusUnauthorized, "Unauthorized",
				"The admin API needs the admin key: send 'Authorization: Bearer <admin key>' or 'X-Openatp-Admin-Key: <admin key>' (openatp demo-credentials prints it).")
			return
		}
		var key string
		ok := false
		if settings != nil {
			key, ok = settings.Setting(AdminKeySetting)
		}
		if !ok {
			writeErrorBody(w, r, http.StatusUnauthorized, "Unauthorized", "No admin key is set in this deployment: start 'openatp serve' once to create it.")
			return
		}
		a, b := sha256.Sum256([]byte(given)), sha256.Sum256([]byte(key))
		if subtle.ConstantTimeCompare(a[:], b[:]) != 1 {
			if failures != nil {
				failures.Fail(addr)
			}
			writeErrorBody(w, r, http.StatusUnauthorized, "Unauthorized", "The admin key is not valid.")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// tooManyFailures is the answer to a client address out of its budget of
// failed attempts.
func tooManyFailures(retry time.Duration) error {
	after := max(1, int((retry+time.Second-1)/time.Second))
	return &retryError{after: after, err: openatp.CodedErrorf(openatp.TooManyRequests, "TooManyRequests",
		"Too many failed attempts from this address. Try again in %d seconds.", after)}
}

// writeJSON answers with one JSON object, followed by a newline. &, < and
// > are written as themselves (a journal's query shows a=1&b=2, not
// a=1\u0026b=2): the admin API's answers are read by tools and people,
// never pasted into HTML.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	b := []byte(`{"error":{"code":"InternalServerError","message":"cannot encode the answer"}}` + "\n")
	if err := enc.Encode(v); err != nil {
		status = http.StatusInternalServerError
	} else {
		b = buf.Bytes()
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// readBody reads the whole request body, at most MaxAdminBody bytes: 413
// beyond. It reports false after answering with an error.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxAdminBody))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		writeErrorBody(w, r, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge",
			"The request body is larger than "+strconv.Itoa(MaxAdminBody>>20)+" MiB: split it into several requests.")
		return nil, false
	}
	if err != nil {
		if errors.Is(err, errBodyTimeout) {
			writeError(w, r, err)
		} else {
			writeErrorBody(w, r, http.StatusBadRequest, "InvalidRequestBody", "The request body could not be read.")
		}
		return nil, false
	}
	return body, true
}

// decodeObject decodes a small JSON object body strictly.
func decodeObject(w http.ResponseWriter, r *http.Request, v any) bool {
	body, ok := readBody(w, r)
	if !ok {
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeErrorBody(w, r, http.StatusBadRequest, "InvalidRequestBody", "The request body is not the expected JSON object: "+clipID(err.Error()))
		return false
	}
	if dec.More() {
		writeErrorBody(w, r, http.StatusBadRequest, "InvalidRequestBody", "The request body holds more than one JSON object.")
		return false
	}
	return true
}

// tenantOf finds the tenant of the path's {t}, by id or name.
func tenantOf(w http.ResponseWriter, r *http.Request, store openatp.Store) (openatp.Tenant, bool) {
	t, err := store.Tenant(r.Context(), r.PathValue("t"))
	if openatp.IsKind(err, openatp.NotFound) {
		writeErrorBody(w, r, http.StatusNotFound, "ResourceNotFound", "Tenant "+clipID(r.PathValue("t"))+" was not found.")
		return t, false
	}
	if err != nil {
		writeError(w, r, err)
		return t, false
	}
	return t, true
}

// handleCreateTenant: POST /_openatp/tenants {"name": N} answers 201 with
// what `openatp tenant create` prints.
func handleCreateTenant(store openatp.Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Name string `json:"name"`
		}
		if !decodeObject(w, r, &in) {
			return
		}
		t, err := openatp.NewTenant(in.Name, time.Now())
		if err == nil {
			err = store.CreateTenant(r.Context(), t)
		}
		if err != nil {
			writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusCreated, map[string]string{"tenant": t.ID, "name": t.Name, "created": t.Created.UTC().Format(time.RFC3339)})
	})
}

// handleCreateApp: POST /_openatp/tenants/{t}/apps {"name", "roles",
// "scopes"} answers 201 with what `openatp app create` prints.
func handleCreateApp(store openatp.Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Name   string   `json:"name"`
			Roles  []string `json:"roles"`
			Scopes []string `json:"scopes"`
		}
		if !decodeObject(w, r, &in) {
			return
		}
		t, ok := tenantOf(w, r, store)
		if !ok {
			return
		}
		a, secret, err := openatp.NewApp(t.ID, in.Name, in.Roles, in.Scopes, time.Now())
		if err == nil {
			err = store.CreateApp(r.Context(), a)
		}
		if err != nil {
			writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusCreated, map[string]any{
			"tenant": t.ID, "client_id": a.ClientID, "client_secret": secret, "name": a.Name,
			"roles": a.Roles, "scopes": a.Scopes,
		})
	})
}

// bodyFormat is the ingest format of a request's Content-Type: NDJSON
// (application/x-ndjson, application/jsonl, ...), CSV (text/csv), else JSON
// (an array, an OData envelope or a single record).
func bodyFormat(r *http.Request) ingest.Format {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines", "application/jsonlines", "application/json-lines":
		return ingest.JSONL
	case "text/csv", "application/csv":
		return ingest.CSV
	}
	return ingest.JSON
}

// handleAdminIngest loads a body of machines or logon events as one batch:
// the body is read whole, within bodyTimeout (before an ingest slot and
// the store's write lock are taken, so that a slow client holds neither),
// checked, then written in one transaction. A bad record rejects the
// whole body with 400, naming its line (for NDJSON and CSV; for JSON, the
// line of the body the record starts on) and property; nothing of it is
// stored.
func handleAdminIngest(store openatp.Store, kind ingest.Kind, slots chan struct{}, bodyTimeout time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setBodyDeadline(w, r, bodyTimeout)
		t, ok := tenantOf(w, r, store)
		if !ok {
			return
		}
		body, ok := readBody(w, r)
		if !ok {
			return
		}
		select {
		case slots <- struct{}{}:
			defer func() { <-slots }()
		case <-r.Context().Done():
			writeError(w, r, r.Context().Err())
			return
		}
		opts := ingest.Options{Format: bodyFormat(r), Kind: kind}
		if _, err := ingest.Validate(ingest.NewReader(bytes.NewReader(body), opts)); err != nil {
			writeIngestError(w, r, err)
			return
		}
		sum, err := ingest.Import(r.Context(), store, t.ID, ingest.NewReader(bytes.NewReader(body), opts), ingest.ImportOptions{})
		if err != nil {
			writeIngestError(w, r, err)
			return
		}
		ignored := sum.Ignored
		if ignored == nil {
			ignored = map[string]int64{}
		}
		writeJSON(w, http.StatusOK, map[string]any{"tenant": t.ID, "kind": kind.String(), "records": sum.Records, "ignored": ignored})
	})
}

func writeIngestError(w http.ResponseWriter, r *http.Request, err error) {
	var ie *ingest.Error
	if errors.As(err, &ie) {
		writeErrorBody(w, r, http.StatusBadRequest, ie.Code(), ie.Error())
		return
	}
	writeError(w, r, err)
}

// handleDeleteMachine: DELETE /_openatp/tenants/{t}/machines/{id}, 204.
func handleDeleteMachine(store openatp.Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t, ok := tenantOf(w, r, store)
		if !ok {
			return
		}
		id := r.PathValue("id")
		if !openatp.ValidMachineID(id) {
			writeErrorBody(w, r, http.StatusBadRequest, "InvalidInput", "Machine id "+clipID(id)+" is not 40 lowercase hexadecimal characters.")
			return
		}
		if err := store.DeleteMachine(r.Context(), t.ID, id); err != nil {
			if openatp.IsKind(err, openatp.NotFound) {
				writeErrorBody(w, r, http.StatusNotFound, "ResourceNotFound", "Machine "+id+" was not found.")
				return
			}
			writeError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// handleReset: POST /_openatp/tenants/{t}/reset wipes the tenant's
// machines, users, logons and device groups, keeping it and its apps; 204.
func handleReset(store openatp.Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t, ok := tenantOf(w, r, store)
		if !ok {
			return
		}
		if err := store.ResetTenant(r.Context(), t.ID); err != nil {
			writeError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// handleStats: GET /_openatp/tenants/{t}/stats.
func handleStats(store openatp.Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t, ok := tenantOf(w, r, store)
		if !ok {
			return
		}
		st, err := store.TenantStats(r.Context(), t.ID)
		if err != nil {
			writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"tenant": t.ID, "name": t.Name, "machines": st.Machines,
			"users": st.Users, "relations": st.Relations, "groups": st.Groups, "alerts": st.Alerts})
	})
}
