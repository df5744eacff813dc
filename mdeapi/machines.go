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

// The Machine API beyond GET /api/users/{id}/machines: the list with OData,
// one machine by id or name, find by tag and by IP. Every read is answered
// from the read model (never a SQL scan), scoped to the Caller's device
// groups: a machine a delegated Caller may not see is answered exactly as
// one that does not exist.

// handleMachines serves GET /api/machines: the tenant's machines (those the
// Caller may see) with OData $filter, $top, $skip, $select, $orderby,
// $count, and @odata.nextLink while more match.
func handleMachines(model *readmodel.Model, cache *answercache.Cache, authn *httpserve.Authenticator, limiter httpserve.Limiter) http.Handler {
	return httpserve.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		p, err := Caller(r, authn, limiter, "machines", RequireMachineRead)
		if err != nil {
			return err
		}
		q, err := odata.ParseQuery(wire.MachineSchema, r.URL.RawQuery, odata.Options{MaxTop: MaxPage})
		if err != nil {
			return ODataError(err)
		}
		if q.Expand != "" {
			return openatp.CodedErrorf(openatp.Invalid, "ODataError", "$expand: the Machine entity has no navigation property to expand")
		}
		after := ""
		if q.SkipToken != "" {
			if !openatp.ValidMachineID(q.SkipToken) || q.OrderBy != nil {
				return openatp.CodedErrorf(openatp.Invalid, "ODataError", "$skiptoken: not a token this service gave in @odata.nextLink")
			}
			after = q.SkipToken
		}
		top := MaxPage
		switch {
		case q.Top >= 0:
			top = q.Top
		case q.PageSize > 0:
			top = q.PageSize
		}
		view, access, err := MachineScope(r.Context(), model, p)
		if err != nil {
			return err
		}
		defer view.Release()
		return kept(cache, w, r, p.TenantID, access, view, viewDeps(view), func(w http.ResponseWriter) error {
			page, more, total := view.QueryMachines(readmodel.MachineQuery{Filter: q.Filter, OrderBy: q.OrderBy, After: after,
				Skip: q.Skip, Top: top, Access: access, Count: q.Count})
			next := ""
			if more && top > 0 {
				if q.OrderBy == nil {
					next = NextLink(r, "$skiptoken", view.MachineID(page[len(page)-1]))
				} else {
					next = NextLink(r, "$skip", strconv.Itoa(q.Skip+len(page)))
				}
			}
			writeMachinePage(w, r, view, page, q.Select, q.Count, total, next)
			return nil
		})
	})
}

// handleMachine serves GET /api/machines/{id}: one machine by id or by
// computer name, and the function findbyip(ip='…',timestamp=…), which the
// router hands here as an {id}.
func handleMachine(model *readmodel.Model, cache *answercache.Cache, store openatp.Store, authn *httpserve.Authenticator, limiter httpserve.Limiter) http.Handler {
	return httpserve.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		p, err := authn.Principal(r)
		if err != nil {
			return err
		}
		if err := RequireMachineRead(p); err != nil {
			return err
		}
		id := r.PathValue("id")
		if strings.HasPrefix(strings.ToLower(id), "findbyip(") {
			return findByIP(w, r, model, store, p, limiter, id)
		}
		if err := httpserve.Limit(limiter, r, p, "machines"); err != nil {
			return err
		}
		if err := NoQuery(r); err != nil {
			return err
		}
		view, access, err := MachineScope(r.Context(), model, p)
		if err != nil {
			return err
		}
		defer view.Release()
		s, ok := view.Machine(id)
		if !ok || access != nil && !access.CanSee(view.GroupID(s)) {
			return MachineNotFound(id)
		}
		return kept(cache, w, r, p.TenantID, access, view, func() []uint64 { return machineDeps(view, []uint32{s}) }, func(w http.ResponseWriter) error {
			writeMachineEntity(w, r, view, s)
			return nil
		})
	})
}

// handleFindByTag serves GET /api/machines/findbytag?tag=…&useStartsWithFilter=….
func handleFindByTag(model *readmodel.Model, authn *httpserve.Authenticator, limiter httpserve.Limiter) http.Handler {
	return httpserve.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		p, err := Caller(r, authn, limiter, "machines/findbytag", RequireMachineRead)
		if err != nil {
			return err
		}
		q := r.URL.Query()
		tag := q.Get("tag")
		if tag == "" {
			return openatp.CodedErrorf(openatp.Invalid, "InvalidInput", "The query parameter 'tag' is required.")
		}
		prefix := false
		if v := q.Get("useStartsWithFilter"); v != "" {
			if prefix, err = strconv.ParseBool(v); err != nil {
				return openatp.CodedErrorf(openatp.Invalid, "InvalidInput", "useStartsWithFilter: %q is not true or false", ClipID(v))
			}
		}
		lit := "'" + strings.ReplaceAll(tag, "'", "''") + "'"
		expr := "machineTags/any(t: t eq " + lit + ")"
		if prefix {
			expr = "machineTags/any(t: startswith(t," + lit + "))"
		}
		f, err := odata.Parse(wire.MachineSchema, expr)
		if err != nil {
			return openatp.CodedErrorf(openatp.Invalid, "InvalidInput", "tag: %q cannot be searched for", ClipID(tag))
		}
		view, access, err := MachineScope(r.Context(), model, p)
		if err != nil {
			return err
		}
		defer view.Release()
		page, _, _ := view.QueryMachines(readmodel.MachineQuery{Filter: f, Top: MaxPage * 100, Access: access})
		writeMachinePage(w, r, view, page, nil, false, 0, "")
		return nil
	})
}
