package mdeapi

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/httpserve"
	"github.com/openatp/openatp/internal/answercache"
	"github.com/openatp/openatp/odata"
	"github.com/openatp/openatp/readmodel"
	"github.com/openatp/openatp/wire"
)

// The Alert API (mde-reference §11): the alert list with OData, one alert,
// the alerts of a machine and of a user, an alert's machine and user.
// Every read is answered from the read model, scoped to the Caller's device
// groups through each alert's machine: an alert a delegated Caller may not
// see is answered exactly as one that does not exist.

// readCall starts a read of the Alert API: it authenticates the request,
// checks it with check, applies the endpoint's rate limit, reads the
// query options with options (if not nil), and returns the Caller, the
// tenant's view (retained: release it) and the Caller's access (nil: the
// whole tenant).
func readCall(r *http.Request, model *readmodel.Model, authn *httpserve.Authenticator, limiter httpserve.Limiter, endpoint string,
	check func(*openatp.Principal) error, options func(*http.Request) error) (*openatp.Principal, *readmodel.View, *openatp.Access, error) {
	p, err := Caller(r, authn, limiter, endpoint, check)
	if err != nil {
		return nil, nil, nil, err
	}
	if options != nil {
		if err := options(r); err != nil {
			return nil, nil, nil, err
		}
	}
	view, access, err := MachineScope(r.Context(), model, p)
	if err != nil {
		return nil, nil, nil, err
	}
	return p, view, access, nil
}

// listOptions returns the options function of readCall for an alert
// collection, which stores the options in *aq.
func listOptions(aq **alertQuery) func(*http.Request) error {
	return func(r *http.Request) (err error) {
		*aq, err = parseAlertQuery(r)
		return err
	}
}

// alertQuery reads the OData options of an alert collection: $filter,
// $top (≤ 10,000; pageSize too), $skip, $select, $orderby, $count,
// $expand=evidence, $skiptoken (a cursor this service gave).
type alertQuery struct {
	q        *odata.Query
	top      int
	after    *readmodel.AlertCursor
	evidence bool
}

func parseAlertQuery(r *http.Request) (*alertQuery, error) {
	q, err := odata.ParseQuery(wire.AlertSchema, r.URL.RawQuery, odata.Options{MaxTop: MaxPage})
	if err != nil {
		return nil, ODataError(err)
	}
	aq := &alertQuery{q: q, top: MaxPage}
	switch {
	case q.Top >= 0:
		aq.top = q.Top
	case q.PageSize > 0:
		aq.top = q.PageSize
	}
	if aq.evidence, err = expandEvidence(q); err != nil {
		return nil, err
	}
	if q.SkipToken != "" {
		c, ok := readmodel.ParseAlertCursor(q.SkipToken)
		if !ok || q.OrderBy != nil {
			return nil, openatp.CodedErrorf(openatp.Invalid, "ODataError", "$skiptoken: not a token this service gave in @odata.nextLink")
		}
		aq.after = &c
	}
	return aq, nil
}

// expandEvidence reads $expand: evidence (any case) or nothing.
func expandEvidence(q *odata.Query) (bool, error) {
	switch {
	case q.Expand == "":
		return false, nil
	case strings.EqualFold(strings.TrimSpace(q.Expand), "evidence"):
		return true, nil
	}
	return false, openatp.CodedErrorf(openatp.Invalid, "ODataError", "$expand: the Alert entity can expand evidence only, not '%s'", ClipID(q.Expand))
}

// serveAlerts answers an alert collection of view: the alerts of base
// (the Caller's access and the route's restriction) that q's options
// select, with evidence when asked, or always when evidence is set.
func serveAlerts(w http.ResponseWriter, r *http.Request, view *readmodel.View, base readmodel.AlertQuery, aq *alertQuery, evidence bool) {
	q := aq.q
	base.Filter, base.OrderBy, base.After, base.Skip, base.Top, base.Count = q.Filter, q.OrderBy, aq.after, q.Skip, aq.top, q.Count
	page, more, total := view.QueryAlerts(base)
	next := ""
	if more && aq.top > 0 {
		if q.OrderBy == nil {
			next = NextLink(r, "$skiptoken", view.AlertCursorOf(page[len(page)-1]).String())
		} else {
			next = NextLink(r, "$skip", strconv.Itoa(q.Skip+len(page)))
		}
	}
	writeAlertPage(w, r, view, page, q.Select, evidence || aq.evidence, q.Count, total, next)
}

// handleAlerts serves GET /api/alerts: the tenant's alerts (those of
// machines the Caller may see), ordered by lastUpdateTime then id, with
// OData $filter, $top, $skip, $select, $orderby, $count, $expand=evidence
// (evidence is [] without it), and @odata.nextLink while more match.
func handleAlerts(model *readmodel.Model, cache *answercache.Cache, authn *httpserve.Authenticator, limiter httpserve.Limiter) http.Handler {
	return httpserve.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		var aq *alertQuery
		p, view, access, err := readCall(r, model, authn, limiter, "alerts", RequireAlertRead, listOptions(&aq))
		if err != nil {
			return err
		}
		defer view.Release()
		return keptOnSecond(cache, w, r, p.TenantID, access, view, viewDeps(view), func(w http.ResponseWriter) error {
			serveAlerts(w, r, view, readmodel.AlertQuery{Access: access}, aq, false)
			return nil
		})
	})
}

// visibleAlert finds alert id in view, if the Caller (access) may see it.
func visibleAlert(view *readmodel.View, access *openatp.Access, id string) (uint32, error) {
	s, ok := view.Alert(id)
	if !ok || access != nil && !access.CanSee(view.AlertGroupID(s)) {
		return 0, alertNotFound(id)
	}
	return s, nil
}

// entityOptions reads the query options of a single alert: $select and
// $expand=evidence (its evidence is always written); others are refused.
func entityOptions(r *http.Request) ([]int, error) {
	if r.URL.RawQuery == "" {
		return nil, nil
	}
	q, err := odata.ParseQuery(wire.AlertSchema, r.URL.RawQuery, odata.Options{})
	if err != nil {
		return nil, ODataError(err)
	}
	if q.Filter != nil || q.Top >= 0 || q.Skip > 0 || q.OrderBy != nil || q.Count || q.SkipToken != "" || q.PageSize > 0 {
		return nil, openatp.CodedErrorf(openatp.Invalid, "ODataError", "A single alert takes $select and $expand only.")
	}
	if _, err := expandEvidence(q); err != nil {
		return nil, err
	}
	return q.Select, nil
}

// handleAlert serves GET /api/alerts/{id}: one alert, with its evidence
// (as the live service answers it).
func handleAlert(model *readmodel.Model, authn *httpserve.Authenticator, limiter httpserve.Limiter) http.Handler {
	return httpserve.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		var sel []int
		_, view, access, err := readCall(r, model, authn, limiter, "alerts", RequireAlertRead, func(r *http.Request) (err error) {
			sel, err = entityOptions(r)
			return err
		})
		if err != nil {
			return err
		}
		defer view.Release()
		s, err := visibleAlert(view, access, r.PathValue("id"))
		if err != nil {
			return err
		}
		writeAlertEntity(w, r, view, s, sel)
		return nil
	})
}

// handleMachineAlerts serves GET /api/machines/{id}/alerts (and, with
// count, GET /api/machines/{id}/alerts/$count: the number alone): the
// alerts of one machine (by id or computer name), with their evidence, and
// the list's OData options.
func handleMachineAlerts(model *readmodel.Model, authn *httpserve.Authenticator, limiter httpserve.Limiter, count bool) http.Handler {
	return httpserve.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		var aq *alertQuery
		_, view, access, err := readCall(r, model, authn, limiter, "machines/alerts", RequireAlertRead, listOptions(&aq))
		if err != nil {
			return err
		}
		defer view.Release()
		id := r.PathValue("id")
		m, ok := view.Machine(id)
		if !ok || access != nil && !access.CanSee(view.GroupID(m)) {
			return MachineNotFound(id)
		}
		base := readmodel.AlertQuery{Access: access, Machine: &m}
		if count {
			base.Filter, base.Count = aq.q.Filter, true
			_, _, total := view.QueryAlerts(base)
			writeCount(w, total)
			return nil
		}
		serveAlerts(w, r, view, base, aq, true)
		return nil
	})
}

// handleUserAlerts serves GET /api/users/{id}/alerts: the alerts whose
// related user {id} names (an account name, or domain\name), with their
// evidence. A user the Caller knows of no logon or alert of gets the
// unknown-user answer of /api/users/{id}/machines.
func handleUserAlerts(model *readmodel.Model, authn *httpserve.Authenticator, limiter httpserve.Limiter, unknownEmpty bool) http.Handler {
	return httpserve.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		var aq *alertQuery
		_, view, access, err := readCall(r, model, authn, limiter, "users/alerts", RequireAlertRead, listOptions(&aq))
		if err != nil {
			return err
		}
		defer view.Release()
		ref, hint := parseUserID(r.PathValue("id"))
		if ref.Name == "" || !view.UserKnown(ref, access) {
			if unknownEmpty {
				writeAlertPage(w, r, view, nil, nil, false, false, 0, "")
				return nil
			}
			msg := "User " + ClipID(r.PathValue("id")) + " was not found"
			if hint != "" {
				msg += ". The user id is the account name, not the UPN: use " + hint
			}
			return openatp.CodedErrorf(openatp.NotFound, "ResourceNotFound", "%s", msg)
		}
		serveAlerts(w, r, view, readmodel.AlertQuery{Access: access, User: &ref}, aq, true)
		return nil
	})
}

// handleAlertMachine serves GET /api/alerts/{id}/machine: the alert's
// machine (Machine permissions).
func handleAlertMachine(model *readmodel.Model, authn *httpserve.Authenticator, limiter httpserve.Limiter) http.Handler {
	return httpserve.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		_, view, access, err := readCall(r, model, authn, limiter, "alerts/machine", RequireMachineRead, NoQuery)
		if err != nil {
			return err
		}
		defer view.Release()
		s, err := visibleAlert(view, access, r.PathValue("id"))
		if err != nil {
			return err
		}
		writeMachineEntity(w, r, view, view.AlertMachine(s))
		return nil
	})
}

// handleAlertUser serves GET /api/alerts/{id}/user: the alert's related
// user as a User entity (User.Read.All), made from the user's logons on
// the machines the Caller may see.
func handleAlertUser(model *readmodel.Model, store openatp.Store, authn *httpserve.Authenticator, limiter httpserve.Limiter) http.Handler {
	return httpserve.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		p, view, access, err := readCall(r, model, authn, limiter, "alerts/user", requireUserRead, NoQuery)
		if err != nil {
			return err
		}
		defer view.Release()
		id := r.PathValue("id")
		s, err := visibleAlert(view, access, id)
		if err != nil {
			return err
		}
		noUser := openatp.CodedErrorf(openatp.NotFound, "ResourceNotFound", "There is no User related to alert %s", ClipID(id))
		if _, _, ok := view.AlertRelatedUser(s); !ok {
			return noUser
		}
		a, err := store.Alert(r.Context(), p.TenantID, view.AlertID(s))
		if openatp.IsKind(err, openatp.NotFound) || err == nil && a.RelatedUser == nil {
			return noUser // changed meanwhile
		}
		if err != nil {
			return err
		}
		ref := openatp.UserRef{Name: a.RelatedUser.Name}
		if a.RelatedUser.Domain != nil {
			ref.Domain = *a.RelatedUser.Domain
		}
		rels, err := store.UserRelations(r.Context(), p.TenantID, ref)
		if err != nil {
			return err
		}
		visible := rels[:0]
		for _, rel := range rels {
			if m, ok := view.Machine(rel.MachineID); ok && view.MachineID(m) == rel.MachineID && (access == nil || access.CanSee(view.GroupID(m))) {
				visible = append(visible, rel)
			}
		}
		b := append([]byte(`{"@odata.context":`), AppendMetadataURL(nil, r, "Users/$entity")...)
		b = append(b, ',')
		u := wire.AppendAlertUser(nil, a.RelatedUser, visible)
		WriteOData(w, append(b, u[1:]...))
		return nil
	})
}
