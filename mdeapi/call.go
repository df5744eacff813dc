package mdeapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/httpserve"
	"github.com/openatp/openatp/odata"
	"github.com/openatp/openatp/readmodel"
)

// maxUserIDLen is the longest {id} looked up; longer ones cannot name a
// user and get the unknown-user answer without a lookup.
const maxUserIDLen = 512

// readMachinePerms are the permissions that allow reading machines.
var (
	appMachineRead       = []string{openatp.PermMachineReadAll, openatp.PermMachineReadWriteAll}
	delegatedMachineRead = []string{openatp.PermMachineRead, openatp.PermMachineReadWrite}
)

func RequireMachineRead(p *openatp.Principal) error {
	return RequirePermissions(p, appMachineRead, delegatedMachineRead)
}

// NoQuery refuses query options: the endpoint documents none.
func NoQuery(r *http.Request) error {
	if r.URL.RawQuery == "" {
		return nil
	}
	q, err := parseQueryKeys(r.URL.RawQuery)
	if err != nil {
		return openatp.CodedErrorf(openatp.Invalid, "InvalidInput", "Invalid query string: %s", err.Error())
	}
	if len(q) == 0 {
		return nil // "?" or "&&": no parameter at all
	}
	if k := q[0]; strings.HasPrefix(k, "$") {
		return openatp.CodedErrorf(openatp.Invalid, "ODataError", "The query option '%s' is not supported by this endpoint.", ClipID(k))
	}
	return openatp.CodedErrorf(openatp.Invalid, "InvalidInput", "The query parameter '%s' is not supported by this endpoint.", ClipID(q[0]))
}

func parseQueryKeys(raw string) ([]string, error) {
	var keys []string
	for part := range strings.SplitSeq(raw, "&") {
		if part == "" {
			continue
		}
		k, _, _ := strings.Cut(part, "=")
		uk, err := unescapeQuery(k)
		if err != nil {
			return nil, err
		}
		keys = append(keys, uk)
	}
	return keys, nil
}

// parseUserID reads the {id} of the path: "name" or "domain\name". A UPN
// ("name@domain") names no user; hint is then the account name to use.
func parseUserID(id string) (ref openatp.UserRef, hint string) {
	if len(id) > maxUserIDLen || id == "" {
		return ref, ""
	}
	if name, _, ok := strings.Cut(id, "@"); ok {
		return ref, name
	}
	if dom, name, ok := strings.Cut(id, `\`); ok {
		if openatp.ValidAccountName(dom) != nil || openatp.ValidAccountName(name) != nil {
			return ref, ""
		}
		return openatp.UserRef{Name: name, Domain: dom}, ""
	}
	if openatp.ValidAccountName(id) != nil {
		return ref, ""
	}
	return openatp.UserRef{Name: id}, ""
}

// ClipID shortens an echoed id so error messages stay small.
func ClipID(s string) string { return openatp.Clip(s, 100) }

// RequirePermissions refuses a Caller that holds none of the application
// permissions app (application tokens) or delegated permissions delegated
// (delegated tokens; the user's role is checked against the tenant's RBAC
// later), with the message the live service gives.
func RequirePermissions(p *openatp.Principal, app, delegated []string) error {
	if p.Delegated {
		if !p.HasAny(delegated...) {
			return openatp.CodedErrorf(openatp.Forbidden, "Forbidden",
				"Missing delegated permissions. API required permissions: %s, delegated permissions: %s.",
				strings.Join(delegated, ","), strings.Join(p.Scopes, ","))
		}
		return nil
	}
	if !p.HasAny(app...) {
		return openatp.CodedErrorf(openatp.Forbidden, "Forbidden",
			"Missing application roles. API required roles: %s, application roles: %s.",
			strings.Join(app, ","), strings.Join(p.Roles, ","))
	}
	return nil
}

func RequireAlertRead(p *openatp.Principal) error {
	return RequirePermissions(p, appAlertRead, delegatedAlertRead)
}

// alertNotFound is the answer for an alert that does not exist or that
// the Caller may not see.
func alertNotFound(id string) error {
	return openatp.CodedErrorf(openatp.NotFound, "ResourceNotFound", "Alert %s was not found", ClipID(id))
}

// MaxPage is the largest page of /api/machines (mde-reference §6).
const MaxPage = 10_000

// viewWait bounds how long a request waits for a tenant's view to be built
// (at start, or after a bulk import) before it is answered 503.
const viewWait = 30 * time.Second

// MachineScope is what a machine read needs: the tenant's view (retained:
// release it) and the Caller's access (nil: the whole tenant).
func MachineScope(ctx context.Context, model *readmodel.Model, p *openatp.Principal) (*readmodel.View, *openatp.Access, error) {
	view, err := waitView(ctx, model, p.TenantID)
	if err != nil {
		return nil, nil, err
	}
	if !p.Delegated {
		return view, nil, nil
	}
	a, err := view.RBAC().Access(p)
	if err != nil {
		view.Release()
		return nil, nil, err
	}
	return view, a, nil
}

// waitView returns the tenant's view, waiting while it is being built.
func waitView(ctx context.Context, model *readmodel.Model, tenantID string) (*readmodel.View, error) {
	deadline := time.Now().Add(viewWait)
	pause := 10 * time.Millisecond
	for {
		v, err := model.View(ctx, tenantID)
		if err != nil || v != nil {
			return v, err
		}
		if model.Disabled() || time.Now().After(deadline) {
			return nil, httpserve.RetryAfter(5, openatp.CodedErrorf(openatp.Unavailable, "ServiceUnavailable",
				"The machine index of this tenant is being built. Retry in a few seconds."))
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(pause):
		}
		pause = min(pause*2, 500*time.Millisecond)
	}
}

// Caller authenticates a request, checks it with check (if not nil) and
// applies the endpoint's rate limit: the start of every API handler.
func Caller(r *http.Request, authn *httpserve.Authenticator, limiter httpserve.Limiter, endpoint string, check func(*openatp.Principal) error) (*openatp.Principal, error) {
	p, err := authn.Principal(r)
	if err != nil {
		return nil, err
	}
	if check != nil {
		if err := check(p); err != nil {
			return nil, err
		}
	}
	if err := httpserve.Limit(limiter, r, p, endpoint); err != nil {
		return nil, err
	}
	return p, nil
}

// ODataError is the 400 of a query the odata package refused.
func ODataError(err error) error {
	var oe *odata.Error
	if errors.As(err, &oe) {
		return openatp.CodedErrorf(openatp.Invalid, "ODataError", "%s", oe.Error())
	}
	return err
}

// MachineNotFound is the answer for a machine that does not exist or that
// the Caller may not see.
func MachineNotFound(id string) error {
	return openatp.CodedErrorf(openatp.NotFound, "ResourceNotFound", "Machine %s was not found", ClipID(id))
}

// maxWriteBody bounds the JSON body of a machine write.
const maxWriteBody = 64 << 10

// writeScope checks that p may write machines with the role permission
// perm and returns the tenant's view (retained) and p's access.
func writeScope(r *http.Request, model *readmodel.Model, p *openatp.Principal, perm string) (*readmodel.View, *openatp.Access, error) {
	return ScopeFor(r, model, p, appMachineWrite, delegatedMachineWrite, perm)
}

// ScopeFor checks that p holds one of the permissions app or delegated
// and, delegated, a role with the permission perm, and returns the
// tenant's view (retained) and p's access.
func ScopeFor(r *http.Request, model *readmodel.Model, p *openatp.Principal, app, delegated []string, perm string) (*readmodel.View, *openatp.Access, error) {
	if err := RequirePermissions(p, app, delegated); err != nil {
		return nil, nil, err
	}
	view, access, err := MachineScope(r.Context(), model, p)
	if err != nil {
		return nil, nil, err
	}
	if access != nil && !access.Has(perm) {
		view.Release()
		return nil, nil, openatp.CodedErrorf(openatp.Forbidden, "Forbidden",
			"The user %s has no role with the '%s' permission.", ClipID(p.UserName), perm)
	}
	return view, access, nil
}

// WriteCall authenticates a write, applies the endpoint's rate limit and
// reads its JSON object body.
func WriteCall(r *http.Request, authn *httpserve.Authenticator, limiter httpserve.Limiter, endpoint string) (*openatp.Principal, map[string]json.RawMessage, error) {
	p, err := Caller(r, authn, limiter, endpoint, nil)
	if err != nil {
		return nil, nil, err
	}
	body, err := readObject(r)
	return p, body, err
}

// readObject reads a JSON object body into its top-level properties.
func readObject(r *http.Request) (map[string]json.RawMessage, error) {
	b, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxWriteBody))
	if errors.Is(err, httpserve.ErrBodyTimeout) {
		return nil, err
	}
	if err != nil {
		return nil, openatp.CodedErrorf(openatp.Invalid, "InvalidRequestBody", "The request body is larger than %d bytes or was cut off.", maxWriteBody)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil || m == nil {
		return nil, openatp.CodedErrorf(openatp.Invalid, "InvalidRequestBody", "The request body is not a JSON object.")
	}
	return m, nil
}

// requireUserRead refuses a Caller without User.Read.All (application or
// delegated, as documented for logonusers).
func requireUserRead(p *openatp.Principal) error {
	if p.HasAny(openatp.PermUserReadAll) {
		return nil
	}
	kind, have := "application roles", p.Roles
	if p.Delegated {
		kind, have = "delegated permissions", p.Scopes
	}
	return openatp.CodedErrorf(openatp.Forbidden, "Forbidden", "Missing %s. API required permissions: %s, %s: %s.",
		kind, openatp.PermUserReadAll, kind, strings.Join(have, ","))
}

// The permissions of the alert routes (mde-reference §3.4, §11.1). The
// application's write permission is documented under two spellings
// (Alerts.ReadWrite.All on the PATCH page of every era); both are
// accepted, and either allows reading.
var (
	appAlertRead        = []string{openatp.PermAlertReadAll, openatp.PermAlertReadWriteAll, openatp.PermAlertsReadWriteAll}
	delegatedAlertRead  = []string{openatp.PermAlertRead, openatp.PermAlertReadWrite}
	AppAlertWrite       = []string{openatp.PermAlertReadWriteAll, openatp.PermAlertsReadWriteAll}
	DelegatedAlertWrite = []string{openatp.PermAlertReadWrite}
)

var (
	appMachineWrite       = []string{openatp.PermMachineReadWriteAll}
	delegatedMachineWrite = []string{openatp.PermMachineReadWrite}
)

// VisibleMachineID returns the id of the machine that id names in view
// (found by find, or by its id or computer name when find is nil) when a
// caller with access (nil: every machine) may see it, else
// MachineNotFound(id): the answer of an unknown machine, so that a caller
// does not learn of a machine outside its device groups. It releases view.
func VisibleMachineID(view *readmodel.View, access *openatp.Access, id string, find func(v *readmodel.View, id string) (uint32, bool)) (string, error) {
	if find == nil {
		find = (*readmodel.View).Machine
	}
	s, ok := find(view, id)
	visible := ok && (access == nil || access.CanSee(view.GroupID(s)))
	mid := ""
	if visible {
		mid = view.MachineID(s)
	}
	view.Release()
	if !visible {
		return "", MachineNotFound(id)
	}
	return mid, nil
}
