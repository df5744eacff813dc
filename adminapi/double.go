package adminapi

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/fault"
	"github.com/openatp/openatp/httpserve"
	"github.com/openatp/openatp/internal/route"
	"github.com/openatp/openatp/journal"
)

// addDoubleAdminRoutes lists the admin routes of fault rules and of the
// request journal:
//
//	GET, POST, DELETE  /_openatp/faults                      the rules; add one; delete all
//	GET, PUT, DELETE   /_openatp/faults/{id}                 one rule; replace it; delete it
//	GET, DELETE        /_openatp/tenants/{t}/journal         the tenant's requests (filters: journalFilter); forget them
//	GET                /_openatp/tenants/{t}/journal/count   {"count": N} of the same filters
func addDoubleAdminRoutes(mux Mux, cfg Config) {
	admin := func(h func(w http.ResponseWriter, r *http.Request) (int, any, error)) http.Handler {
		return requireAdmin(cfg.Settings, cfg.AuthFailures, serveJSON(h))
	}
	store, faults, jnl := cfg.Store, cfg.Faults, cfg.Journal
	mux("GET /_openatp/faults", admin(func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		return http.StatusOK, faults.List(), nil
	}))
	mux("POST /_openatp/faults", admin(func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		rule, err := readRule(w, r, store)
		if err == nil {
			rule, err = faults.Add(rule)
		}
		if err != nil {
			return 0, nil, err
		}
		return http.StatusCreated, rule, nil
	}))
	mux("DELETE /_openatp/faults", admin(func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		faults.DeleteAll()
		return http.StatusNoContent, nil, nil
	}))
	mux("GET /_openatp/faults/{id}", admin(func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		rule, err := faults.Get(r.PathValue("id"))
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, rule, nil
	}))
	mux("PUT /_openatp/faults/{id}", admin(func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		rule, err := readRule(w, r, store)
		if err != nil {
			return 0, nil, err
		}
		if rule.ID != "" && rule.ID != r.PathValue("id") {
			return 0, nil, openatp.CodedErrorf(openatp.Invalid, "InvalidInput", "The body's id %q differs from the path's %q.", clipID(rule.ID), clipID(r.PathValue("id")))
		}
		rule.ID = r.PathValue("id")
		if rule, err = faults.Replace(rule); err != nil {
			return 0, nil, err
		}
		return http.StatusOK, rule, nil
	}))
	mux("DELETE /_openatp/faults/{id}", admin(func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		if err := faults.Delete(r.PathValue("id")); err != nil {
			return 0, nil, err
		}
		return http.StatusNoContent, nil, nil
	}))

	// journalOf resolves the path's tenant; the journal must be on.
	journalOf := func(r *http.Request) (openatp.Tenant, error) {
		if jnl == nil {
			return openatp.Tenant{}, openatp.CodedErrorf(openatp.Conflict, "JournalOff", "The request journal is off: start the server with --journal-size greater than 0.")
		}
		t, err := store.Tenant(r.Context(), r.PathValue("t"))
		if openatp.IsKind(err, openatp.NotFound) {
			return t, openatp.CodedErrorf(openatp.NotFound, "ResourceNotFound", "Tenant %s was not found.", clipID(r.PathValue("t")))
		}
		return t, err
	}
	// query answers a journal query: answer gets the tenant and the filters.
	query := func(answer func(tenantID string, f journal.Filter) any) http.Handler {
		return admin(func(w http.ResponseWriter, r *http.Request) (int, any, error) {
			t, err := journalOf(r)
			if err != nil {
				return 0, nil, err
			}
			f, err := journalFilter(r.URL.Query())
			if err != nil {
				return 0, nil, err
			}
			return http.StatusOK, answer(t.ID, f), nil
		})
	}
	mux("GET /_openatp/tenants/{t}/journal", query(func(tenantID string, f journal.Filter) any {
		return jnl.Entries(tenantID, f)
	}))
	mux("GET /_openatp/tenants/{t}/journal/count", query(func(tenantID string, f journal.Filter) any {
		return map[string]int{"count": jnl.Count(tenantID, f)}
	}))
	mux("DELETE /_openatp/tenants/{t}/journal", admin(func(w http.ResponseWriter, r *http.Request) (int, any, error) {
		t, err := journalOf(r)
		if err != nil {
			return 0, nil, err
		}
		jnl.Clear(t.ID)
		return http.StatusNoContent, nil, nil
	}))

	for p, allow := range map[string]string{
		"/_openatp/faults":                    "GET, POST, DELETE",
		"/_openatp/faults/{id}":               "GET, PUT, DELETE",
		"/_openatp/tenants/{t}/journal":       "GET, DELETE",
		"/_openatp/tenants/{t}/journal/count": "GET",
	} {
		mux(p, requireAdmin(cfg.Settings, cfg.AuthFailures, httpserve.MethodNotAllowed(allow)))
	}
}

// AddFault adds a fault rule to faults, as POST /_openatp/faults does (the
// program adds those of --fault so). Its tenant may be given by name.
func AddFault(ctx context.Context, store openatp.Store, faults *fault.Set, r fault.Rule) (fault.Rule, error) {
	if err := prepareRule(ctx, store, &r); err != nil {
		return fault.Rule{}, err
	}
	return faults.Add(r)
}

// readRule reads a fault rule from the request body, its tenant (if any)
// given by id or name.
func readRule(w http.ResponseWriter, r *http.Request, store openatp.Store) (fault.Rule, error) {
	var rule fault.Rule
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		return rule, openatp.CodedErrorf(openatp.Invalid, "InvalidRequestBody", "The request body could not be read whole (a rule is at most 1 MiB).")
	}
	if err := rule.UnmarshalJSON(body); err != nil {
		return rule, err
	}
	return rule, prepareRule(r.Context(), store, &rule)
}

// prepareRule replaces the name of a rule's tenant by its id, and refuses
// an error status HTTP has no name for.
func prepareRule(ctx context.Context, store openatp.Store, rule *fault.Rule) error {
	if rule.Kind == fault.Error && rule.Status != 0 && http.StatusText(rule.Status) == "" {
		return openatp.CodedErrorf(openatp.Invalid, "InvalidInput", "Fault rule: status %d is not an HTTP status openatp can answer with.", rule.Status)
	}
	if rule.Tenant == "" {
		return nil
	}
	t, err := store.Tenant(ctx, rule.Tenant)
	if openatp.IsKind(err, openatp.NotFound) {
		return openatp.CodedErrorf(openatp.Invalid, "InvalidInput", "Fault rule: tenant %s was not found.", clipID(rule.Tenant))
	}
	if err != nil {
		return err
	}
	rule.Tenant, rule.TenantName = t.ID, t.Name
	return nil
}

// journalParams are the query parameters of a journal query.
var journalParams = []string{"route", "status", "app", "user", "since", "request_id", "fault", "after", "limit"}

// journalFilter reads a journal query's filters:
//
//	route=GET /api/machines/{id}   method (optional) and path pattern (internal/route)
//	status=429 or status=5xx       a status or a class
//	app=<client id>, user=<upn>, request_id=<id>
//	since=<RFC 3339 time>          at or after
//	fault=true|false|<rule id>     entries a fault rule applied to, none did, or that one did
//	after=<seq>                    entries after this sequence number (to follow the journal)
//	limit=<n>                      only the newest n
func journalFilter(q url.Values) (journal.Filter, error) {
	var f journal.Filter
	bad := func(name, v, want string) (journal.Filter, error) {
		return f, openatp.CodedErrorf(openatp.Invalid, "InvalidInput", "Query parameter %s=%s: %s.", name, clipID(v), want)
	}
	for name, vs := range q {
		if !slices.Contains(journalParams, name) {
			return bad(name, vs[0], "unknown; known parameters are "+strings.Join(journalParams, ", "))
		}
		if len(vs) > 1 {
			return bad(name, vs[1], "given twice")
		}
		v := vs[0]
		var err error
		switch name {
		case "route":
			if f.Route, err = route.Parse(v); err != nil {
				return bad(name, v, err.Error())
			}
		case "status":
			if c := strings.ToLower(v); len(c) == 3 && c[1:] == "xx" && c[0] >= '1' && c[0] <= '5' {
				f.Status = int(c[0] - '0')
			} else if f.Status, err = strconv.Atoi(v); err != nil || f.Status < 100 || f.Status > 599 {
				return bad(name, v, "want a status such as 429 or a class such as 5xx")
			}
		case "app":
			f.App = v
		case "user":
			f.User = v
		case "request_id":
			f.RequestID = v
		case "since":
			if f.Since, err = time.Parse(time.RFC3339Nano, v); err != nil {
				return bad(name, v, "want an RFC 3339 time such as 2026-01-02T15:04:05Z")
			}
		case "fault":
			switch strings.ToLower(v) {
			case "true":
				f.Fault = "*"
			case "false":
				f.Fault = "-"
			default:
				f.Fault = v
			}
		case "after":
			if f.After, err = strconv.ParseUint(v, 10, 64); err != nil {
				return bad(name, v, "want a sequence number")
			}
		case "limit":
			if f.Limit, err = strconv.Atoi(v); err != nil || f.Limit < 0 {
				return bad(name, v, "want a number of entries")
			}
		}
	}
	return f, nil
}
