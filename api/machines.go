package api

import (
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/readmodel"
	"github.com/openatp/openatp/wire"
)

// maxUserIDLen is the longest {id} looked up; longer ones cannot name a
// user and get the unknown-user answer without a lookup.
const maxUserIDLen = 512

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 8<<10); return &b }}

// readMachinePerms are the permissions that allow reading machines.
var (
	appMachineRead       = []string{openatp.PermMachineReadAll, openatp.PermMachineReadWriteAll}
	delegatedMachineRead = []string{openatp.PermMachineRead, openatp.PermMachineReadWrite}
)

// handleUserMachines serves GET /api/users/{id}/machines: the machines the
// user has logged on to, ordered by machine id.
func handleUserMachines(store openatp.Store, model *readmodel.Model, authn *authenticator, limiter Limiter, unknownEmpty bool) http.Handler {
	return handlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		p, err := caller(r, authn, limiter, "users/machines", requireMachineRead)
		if err != nil {
			return err
		}
		if err := noQuery(r); err != nil {
			return err
		}
		view, err := model.View(r.Context(), p.TenantID)
		if err != nil {
			return err
		}
		if view != nil {
			defer view.Release()
		}
		var access *openatp.Access // nil: the whole tenant (application tokens)
		if p.Delegated {
			var rbac *readmodel.RBAC
			if view != nil {
				rbac = view.RBAC()
			} else if rbac, err = readmodel.LoadRBAC(r.Context(), store, p.TenantID); err != nil {
				return err
			}
			if access, err = rbac.Access(p); err != nil {
				return err
			}
		}
		ref, hint := parseUserID(r.PathValue("id"))
		unknown := func() error {
			if unknownEmpty {
				writeCollection(w, r, nil)
				return nil
			}
			msg := "User " + clipID(r.PathValue("id")) + " was not found"
			if hint != "" {
				msg += ". The user id is the account name, not the UPN: use " + hint
			}
			return openatp.CodedErrorf(openatp.NotFound, "ResourceNotFound", "%s", msg)
		}
		if ref.Name == "" {
			return unknown()
		}
		if view != nil {
			list, ok := view.UserMachines(ref, nil)
			if ok && access != nil {
				list = view.Visible(list, access)
				ok = len(list) > 0
			}
			if !ok {
				return unknown()
			}
			writeMachinePage(w, r, view, list, nil, false, 0, "")
			return nil
		}
		ms, err := store.UserMachines(r.Context(), p.TenantID, ref)
		if err == nil && access != nil {
			ms = slices.DeleteFunc(ms, func(m openatp.Machine) bool { return !access.CanSee(m.RBACGroupID) })
			if len(ms) == 0 {
				err = openatp.Errorf(openatp.NotFound, "no visible machine")
			}
		}
		if openatp.IsKind(err, openatp.NotFound) {
			return unknown()
		}
		if err != nil {
			return err
		}
		writeCollection(w, r, func(b []byte) []byte {
			for i := range ms {
				if i > 0 {
					b = append(b, ',')
				}
				b = wire.AppendMachine(b, &ms[i])
			}
			return b
		})
		return nil
	})
}

// writeCollection writes the OData collection envelope of Machines; items
// appends the comma-separated entities.
func writeCollection(w http.ResponseWriter, r *http.Request, items func([]byte) []byte) {
	sp := bufPool.Get().(*[]byte)
	b := (*sp)[:0]
	b = append(b, `{"@odata.context":`...)
	b = appendMetadataURL(b, r, "Machines")
	b = append(b, `,"value":[`...)
	if items != nil {
		b = items(b)
	}
	b = append(b, "]}"...)
	h := w.Header()
	h["Content-Type"] = odataContentType
	h["Odata-Version"] = odataVersion
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
	if cap(b) <= 1<<20 {
		*sp = b
		bufPool.Put(sp)
	}
}

var (
	odataContentType = []string{"application/json; odata.metadata=minimal"}
	odataVersion     = []string{"4.0"}
)

// appendMetadataURL appends the JSON string of the @odata.context of an
// entity set, baseURL(r)+"/api/$metadata#"+entitySet, without building
// it first (two allocations on every answer).
func appendMetadataURL(b []byte, r *http.Request, entitySet string) []byte {
	scheme, host := baseOf(r)
	b = append(b, '"')
	b = append(b, scheme...)
	b = appendStringBody(b, host)
	b = append(b, "/api/$metadata#"...)
	b = appendStringBody(b, entitySet)
	return append(b, '"')
}

// appendStringBody appends s escaped as in a JSON string, without the
// quotes.
func appendStringBody(b []byte, s string) []byte {
	n := len(b)
	b = wire.AppendString(b, s)
	copy(b[n:], b[n+1:len(b)-1])
	return b[:len(b)-2]
}

// baseURL is scheme://host of the request, as the client called it, or
// the public URL when one is configured.
func baseURL(r *http.Request) string {
	scheme, host := baseOf(r)
	return scheme + host
}

// baseOf is baseURL in two parts, to write without joining them: the
// scheme and "://" (empty for a public URL), and the rest.
func baseOf(r *http.Request) (scheme, rest string) {
	if ri := infoOf(r); ri != nil && ri.base != "" {
		return "", ri.base
	}
	if r.TLS != nil {
		return "https://", r.Host
	}
	return "http://", r.Host
}

func requireMachineRead(p *openatp.Principal) error {
	return requirePermissions(p, appMachineRead, delegatedMachineRead)
}

// noQuery refuses query options: the endpoint documents none.
func noQuery(r *http.Request) error {
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
		return openatp.CodedErrorf(openatp.Invalid, "ODataError", "The query option '%s' is not supported by this endpoint.", clipID(k))
	}
	return openatp.CodedErrorf(openatp.Invalid, "InvalidInput", "The query parameter '%s' is not supported by this endpoint.", clipID(q[0]))
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

// clipID shortens an echoed id so error messages stay small.
func clipID(s string) string { return openatp.Clip(s, 100) }
