// Package adminapi is openatp's admin API (/_openatp/...): it does over
// HTTP what the CLI does (create tenants and apps, load machines, logon
// events and alerts, delete a machine, reset a tenant, count what a tenant
// holds, manage who may see what) and manages the test double's fault
// rules and request journal. Every call needs the deployment's admin key,
// kept in the store as the setting AdminKeySetting, as
// "Authorization: Bearer <key>" or "X-Openatp-Admin-Key: <key>". Register
// lists its routes; they are served on the admin surface only
// (httpserve.Server.HandleAdmin).
package adminapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/actions"
	"github.com/openatp/openatp/fault"
	"github.com/openatp/openatp/httpserve"
	"github.com/openatp/openatp/ingest"
	"github.com/openatp/openatp/ingest/indicatorio"
	"github.com/openatp/openatp/internal/timatch"
	"github.com/openatp/openatp/journal"
	"github.com/openatp/openatp/ratelimit"
	"github.com/openatp/openatp/vuln"
)

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

// requireAdmin refuses a request without the admin key with 401. The key is
// read from memory (settings; a changed key takes effect at its next
// refresh); keys are compared in constant time (as SHA-256 digests, so
// that not even the length leaks). A wrong key counts against the client
// address's failure budget; an address out of budget gets 429 unchecked.
func requireAdmin(settings Settings, failures FailureBudget, next http.Handler) http.Handler {
	return httpserve.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		if err := checkAdmin(r, settings, failures); err != nil {
			return err
		}
		next.ServeHTTP(w, r)
		return nil
	})
}

// checkAdmin is requireAdmin's check: nil when the request carries the
// admin key.
func checkAdmin(r *http.Request, settings Settings, failures FailureBudget) error {
	addr := ratelimit.AddressKey(r.RemoteAddr)
	if failures != nil {
		if retry, ex := failures.Exhausted(addr); ex {
			return tooManyFailures(retry)
		}
	}
	given := r.Header.Get("X-Openatp-Admin-Key")
	if given == "" {
		if scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "Bearer") {
			given = strings.TrimSpace(tok)
		}
	}
	if given == "" {
		return openatp.CodedErrorf(openatp.Unauthenticated, "Unauthorized",
			"The admin API needs the admin key: send 'Authorization: Bearer <admin key>' or 'X-Openatp-Admin-Key: <admin key>' (openatp demo-credentials prints it).")
	}
	var key string
	ok := false
	if settings != nil {
		key, ok = settings.Setting(AdminKeySetting)
	}
	if !ok {
		return openatp.CodedErrorf(openatp.Unauthenticated, "Unauthorized", "No admin key is set in this deployment: start 'openatp serve' once to create it.")
	}
	a, b := sha256.Sum256([]byte(given)), sha256.Sum256([]byte(key))
	if subtle.ConstantTimeCompare(a[:], b[:]) != 1 {
		if failures != nil {
			failures.Fail(addr)
		}
		return openatp.CodedErrorf(openatp.Unauthenticated, "Unauthorized", "The admin key is not valid.")
	}
	return nil
}

// tooManyFailures is the answer to a client address out of its budget of
// failed attempts.
func tooManyFailures(retry time.Duration) error {
	after := max(1, int((retry+time.Second-1)/time.Second))
	return httpserve.RetryAfter(after, openatp.CodedErrorf(openatp.TooManyRequests, "TooManyRequests",
		"Too many failed attempts from this address. Try again in %d seconds.", after))
}

// serveJSON adapts an admin handler that returns its answer — a status and
// the value written as JSON, nil for no body — or its error.
func serveJSON(h func(w http.ResponseWriter, r *http.Request) (int, any, error)) http.Handler {
	return httpserve.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		status, v, err := h(w, r)
		switch {
		case err != nil:
			return err
		case v == nil:
			w.WriteHeader(status)
			return nil
		}
		return writeJSON(w, status, v)
	})
}

// writeJSON answers with one JSON object, followed by a newline. &, < and
// > are written as themselves (a journal's query shows a=1&b=2, not
// a=1\u0026b=2): the admin API's answers are read by tools and people,
// never pasted into HTML.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf) // with the newline that ends the answer
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("cannot encode the answer: %w", err)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
	return nil
}

// readBody reads the whole request body, at most MaxAdminBody bytes: 413
// beyond.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxAdminBody))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return nil, openatp.CodedErrorf(openatp.TooLarge, "RequestEntityTooLarge",
			"The request body is larger than %d MiB: split it into several requests.", MaxAdminBody>>20)
	case errors.Is(err, httpserve.ErrBodyTimeout):
		return nil, err
	case err != nil:
		return nil, &openatp.Error{Kind: openatp.Invalid, Code: "InvalidRequestBody", Message: "The request body could not be read.", Err: err}
	}
	return body, nil
}

// decodeObject decodes a small JSON object body strictly.
func decodeObject(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return openatp.CodedErrorf(openatp.Invalid, "InvalidRequestBody", "The request body is not the expected JSON object: %s", clipID(err.Error()))
	}
	if dec.More() {
		return openatp.CodedErrorf(openatp.Invalid, "InvalidRequestBody", "The request body holds more than one JSON object.")
	}
	return nil
}

// tenantOf finds the tenant of the path's {t}, by id or name.
func tenantOf(r *http.Request, store openatp.Store) (openatp.Tenant, error) {
	t, err := store.Tenant(r.Context(), r.PathValue("t"))
	if openatp.IsKind(err, openatp.NotFound) {
		return t, openatp.CodedErrorf(openatp.NotFound, "ResourceNotFound", "Tenant %s was not found.", clipID(r.PathValue("t")))
	}
	return t, err
}

// handleCreateTenant: POST /_openatp/tenants {"name": N} answers 201 with
// what `openatp tenant create` prints.
func handleCreateTenant(store openatp.Store) http.Handler {
	return serveJSON(func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		var in struct {
			Name string `json:"name"`
		}
		if err := decodeObject(w, r, &in); err != nil {
			return 0, nil, err
		}
		t, err := openatp.NewTenant(in.Name, time.Now())
		if err == nil {
			err = store.CreateTenant(r.Context(), t)
		}
		if err != nil {
			return 0, nil, err
		}
		return http.StatusCreated, map[string]string{"tenant": t.ID, "name": t.Name, "created": t.Created.UTC().Format(time.RFC3339)}, nil
	})
}

// handleCreateApp: POST /_openatp/tenants/{t}/apps {"name", "roles",
// "scopes"} answers 201 with what `openatp app create` prints.
func handleCreateApp(store openatp.Store) http.Handler {
	return serveJSON(func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		var in struct {
			Name   string   `json:"name"`
			Roles  []string `json:"roles"`
			Scopes []string `json:"scopes"`
		}
		if err := decodeObject(w, r, &in); err != nil {
			return 0, nil, err
		}
		t, err := tenantOf(r, store)
		if err != nil {
			return 0, nil, err
		}
		a, secret, err := openatp.NewApp(t.ID, in.Name, in.Roles, in.Scopes, time.Now())
		if err == nil {
			err = store.CreateApp(r.Context(), a)
		}
		if err != nil {
			return 0, nil, err
		}
		return http.StatusCreated, map[string]any{
			"tenant": t.ID, "client_id": a.ClientID, "client_secret": secret, "name": a.Name,
			"roles": a.Roles, "scopes": a.Scopes,
		}, nil
	})
}

// importBody serves an import route: the body is read whole within
// bodyTimeout (before an ingest slot and the store's write lock are taken,
// so that a slow client holds neither), then load is called with the
// tenant of the path and the body while the caller holds one of slots.
func importBody(store openatp.Store, slots chan struct{}, bodyTimeout time.Duration,
	load func(r *http.Request, t openatp.Tenant, body []byte) (int, any, error)) http.Handler {
	return serveJSON(func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		httpserve.SetBodyDeadline(w, r, bodyTimeout)
		t, err := tenantOf(r, store)
		if err != nil {
			return 0, nil, err
		}
		body, err := readBody(w, r)
		if err != nil {
			return 0, nil, err
		}
		select {
		case slots <- struct{}{}:
			defer func() { <-slots }()
		case <-r.Context().Done():
			return 0, nil, r.Context().Err()
		}
		return load(r, t, body)
	})
}

// handleAdminIngest loads a body of machines, logon events, alerts,
// machine actions, file events or network events as one batch:
// the body is read whole, within bodyTimeout (before an ingest slot and
// the store's write lock are taken, so that a slow client holds neither),
// checked, then written in one transaction. A bad record rejects the
// whole body with 400, naming its line (for NDJSON and CSV; for JSON, the
// line of the body the record starts on) and property; nothing of it is
// stored. The live machine actions of a body are handed to tracker, if
// set (the lifecycle's clock), once committed.
func handleAdminIngest(store openatp.Store, kind ingest.Kind, slots chan struct{}, bodyTimeout time.Duration, tracker ActionTracker) http.Handler {
	return importBody(store, slots, bodyTimeout, func(r *http.Request, t openatp.Tenant, body []byte) (int, any, error) {
		opts := ingest.BodyOptions(r.Header.Get("Content-Type"), body, kind)
		if _, err := ingest.Validate(ingest.NewReader(bytes.NewReader(body), opts)); err != nil {
			return 0, nil, err // an *ingest.Error is an Invalid error with its code
		}
		iopts := ingest.ImportOptions{OnEvents: func(ctx context.Context, fes []openatp.FileEvent, nes []openatp.NetworkEvent) error {
			return timatch.Events(ctx, store, t.ID, time.Now(), fes, nes)
		}}
		if tracker != nil {
			iopts.OnActions = func(stored []openatp.MachineAction) {
				for _, a := range stored {
					tracker.Track(t.ID, a)
				}
			}
		}
		sum, err := ingest.Import(r.Context(), store, t.ID, ingest.NewReader(bytes.NewReader(body), opts), iopts)
		if err != nil {
			return 0, nil, err
		}
		ignored := sum.Ignored
		if ignored == nil {
			ignored = map[string]int64{}
		}
		return http.StatusOK, map[string]any{"tenant": t.ID, "kind": kind.String(), "records": sum.Records, "ignored": ignored}, nil
	})
}

// handleImportIndicators: POST /_openatp/tenants/{t}/indicators imports
// custom indicators (JSON as GET /api/indicators answers it or as its
// import takes it, JSON Lines or CSV; indicatorio.Read), all or nothing:
// 200 {"tenant","kind","records"}, or 400 naming the line and property.
func handleImportIndicators(store openatp.Store, slots chan struct{}, bodyTimeout time.Duration) http.Handler {
	return importBody(store, slots, bodyTimeout, func(r *http.Request, t openatp.Tenant, body []byte) (int, any, error) {
		format := ingest.BodyOptions(r.Header.Get("Content-Type"), body, ingest.Unknown).Format
		if format == ingest.JSON && !bytes.HasPrefix(bytes.TrimLeft(body, " \t\r\n"), []byte("[")) {
			format = ingest.Auto // an object: an envelope, or JSON Lines
		}
		recs, err := indicatorio.Read(bytes.NewReader(body), "", format)
		if err != nil {
			return 0, nil, err
		}
		out, err := indicatorio.Import(r.Context(), store, t.ID, recs, time.Now())
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, map[string]any{"tenant": t.ID, "kind": "indicators", "records": len(out)}, nil
	})
}

// handleDeleteMachine: DELETE /_openatp/tenants/{t}/machines/{id}, 204.
func handleDeleteMachine(store openatp.Store) http.Handler {
	return serveJSON(func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		t, err := tenantOf(r, store)
		if err != nil {
			return 0, nil, err
		}
		id := r.PathValue("id")
		if !openatp.ValidMachineID(id) {
			return 0, nil, openatp.CodedErrorf(openatp.Invalid, "InvalidInput", "Machine id %s is not 40 lowercase hexadecimal characters.", clipID(id))
		}
		if err := store.DeleteMachine(r.Context(), t.ID, id); err != nil {
			if openatp.IsKind(err, openatp.NotFound) {
				return 0, nil, openatp.CodedErrorf(openatp.NotFound, "ResourceNotFound", "Machine %s was not found.", id)
			}
			return 0, nil, err
		}
		return http.StatusNoContent, nil, nil
	})
}

// handleReset: POST /_openatp/tenants/{t}/reset wipes the tenant's
// machines, users, logons and device groups, keeping it and its apps; 204.
func handleReset(store openatp.Store) http.Handler {
	return serveJSON(func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		t, err := tenantOf(r, store)
		if err != nil {
			return 0, nil, err
		}
		if err := store.ResetTenant(r.Context(), t.ID); err != nil {
			return 0, nil, err
		}
		return http.StatusNoContent, nil, nil
	})
}

// handleStats: GET /_openatp/tenants/{t}/stats.
func handleStats(store openatp.Store) http.Handler {
	return serveJSON(func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		t, err := tenantOf(r, store)
		if err != nil {
			return 0, nil, err
		}
		st, err := store.TenantStats(r.Context(), t.ID)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, map[string]any{"tenant": t.ID, "name": t.Name, "machines": st.Machines,
			"users": st.Users, "relations": st.Relations, "groups": st.Groups, "alerts": st.Alerts}, nil
	})
}

// minAdminBodyRate is the slowest an admin load body may arrive: its
// deadline is the body timeout plus MaxAdminBody at this rate (256 s more
// for 64 MiB).
const minAdminBodyRate = 256 << 10

// adminBodyTimeout is the deadline of an admin load body.
func adminBodyTimeout(base time.Duration) time.Duration {
	return base + time.Duration(MaxAdminBody/minAdminBodyRate)*time.Second
}

// clipID shortens an echoed id so error messages stay small.
func clipID(s string) string { return openatp.Clip(s, 100) }

// Config is what the admin API needs.
type Config struct {
	// Store is the store as the handlers see it: writes refresh the read
	// model (readmodel.Refreshing).
	Store openatp.Store
	// Settings reads the deployment's settings (the admin key) from
	// memory; auth.Service implements it. Without it the admin API
	// refuses every call.
	Settings Settings
	// AuthFailures, if set, bounds failed admin-key attempts per client
	// address (shared with the token endpoint's failed sign-ins): once an
	// address's budget is used up, its admin calls get 429 unchecked.
	AuthFailures FailureBudget
	// BodyTimeout is the server's body timeout (httpserve.Config): an
	// admin load has this plus its size at 256 KiB/s. 0 means
	// httpserve.DefaultBodyTimeout.
	BodyTimeout time.Duration
	// Faults and Journal are the test double's fault rules and request
	// journal (httpserve.Server.Faults, Journal); a nil Journal is off.
	Faults  *fault.Set
	Journal *journal.Journal
	// ActionControls are the test controls of the machine actions'
	// lifecycle (addActionControlRoutes); nil: none. ActionClock, if set,
	// is told of the live actions a change concerns.
	ActionControls *actions.Controls
	ActionClock    ActionTracker
	// Vuln is vulnerability management's store (the engine's, which
	// implements vuln.Store); nil: no TVM import routes.
	Vuln vuln.Store
}

// Mux is where routes are added: httpserve.Server.HandleAdmin, or an
// http.ServeMux's Handle.
type Mux func(pattern string, h http.Handler)
