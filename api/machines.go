package api

import (
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/openatp/openatp"
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
func handleUserMachines(store openatp.Store, idx *index, authn *authenticator, limiter Limiter, unknownEmpty bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := authn.principal(r)
		if err != nil {
			writeError(w, r, err)
			return
		}
		if err := requireMachineRead(p); err != nil {
			writeError(w, r, err)
			return
		}
		if !limit(limiter, w, r, p, "users/machines") {
			return
		}
		if err := noQuery(r); err != nil {
			writeError(w, r, err)
			return
		}
		ti, err := idx.lookup(r.Context(), p.TenantID)
		if err != nil {
			writeError(w, r, err)
			return
		}
		var access *openatp.Access // nil: the whole tenant (application tokens)
		if p.Delegated {
			rbac := rbacConfig{}
			if ti != nil {
				rbac = ti.rbac
			} else if rbac, err = loadRBAC(r.Context(), store, p.TenantID); err != nil {
				writeError(w, r, err)
				return
			}
			if access, err = rbac.access(p); err != nil {
				writeError(w, r, err)
				return
			}
		}
		ref, hint := parseUserID(r.PathValue("id"))
		unknown := func() {
			if unknownEmpty {
				writeCollection(w, r, nil)
				return
			}
			msg := "User " + clipID(r.PathValue("id")) + " was not found"
			if hint != "" {
				msg += ". The user id is the account name, not the UPN: use " + hint
			}
			writeErrorBody(w, r, http.StatusNotFound, "ResourceNotFound", msg)
		}
		if ref.Name == "" {
			unknown()
			return
		}
		if ti != nil {
			list, ok := ti.userMachines(ref, nil)
			if ok && access != nil {
				list = ti.visible(list, access)
				ok = len(list) > 0
			}
			if !ok {
				unknown()
				return
			}
			writeIndexed(w, r, ti, list)
			return
		}
		ms, err := store.UserMachines(r.Context(), p.TenantID, ref)
		if err == nil && access != nil {
			ms = slices.DeleteFunc(ms, func(m openatp.Machine) bool { return !access.CanSee(m.RBACGroupID) })
			if len(ms) == 0 {
				err = openatp.Errorf(openatp.NotFound, "no visible machine")
			}
		}
		if openatp.IsKind(err, openatp.NotFound) {
			unknown()
			return
		}
		if err != nil {
			writeError(w, r, err)
			return
		}
		writeCollection(w, r, func(b []byte) []byte {
			for i := range ms {
				if i > 0 {
					b = append(b, ',')
				}
				b = appendMachine(b, &ms[i])
			}
			return b
		})
	})
}

// writeIndexed writes the collection of the listed machines of ti. Small
// answers are assembled in one pooled buffer of the exact size and written
// at once; large ones (a service account on thousands of machines) are
// streamed from the index without a copy of the whole.
func writeIndexed(w http.ResponseWriter, r *http.Request, ti *tenantIndex, list []uint32) {
	defer runtime.KeepAlive(ti) // the JSON lives in ti's off-heap arena
	sp := bufPool.Get().(*[]byte)
	defer bufPool.Put(sp)
	head := append((*sp)[:0], `{"@odata.context":`...)
	head = appendString(head, baseURL(r)+"/api/$metadata#Machines")
	head = append(head, `,"value":[`...)
	size := len(head) + len("]}") + max(len(list)-1, 0) // envelope and commas
	for _, mi := range list {
		h, g, t := ti.machineParts(mi)
		size += len(h) + len(g) + len(t)
	}
	h := w.Header()
	h["Content-Type"] = odataContentType
	h["Odata-Version"] = odataVersion
	h["Content-Length"] = []string{strconv.Itoa(size)}
	w.WriteHeader(http.StatusOK)
	if size <= maxBuffered {
		b := slices.Grow(head, size-len(head))
		for i, mi := range list {
			if i > 0 {
				b = append(b, ',')
			}
			h, g, t := ti.machineParts(mi)
			b = append(append(append(b, h...), g...), t...)
		}
		b = append(b, "]}"...)
		_, _ = w.Write(b)
		*sp = b[:0]
		return
	}
	if _, err := w.Write(head); err != nil {
		return
	}
	comma := []byte{','}
	for i, mi := range list {
		if i > 0 {
			if _, err := w.Write(comma); err != nil {
				return
			}
		}
		h, g, t := ti.machineParts(mi)
		for _, part := range [][]byte{h, g, t} {
			if _, err := w.Write(part); err != nil {
				return
			}
		}
	}
	_, _ = w.Write([]byte("]}"))
	*sp = head[:0]
}

// maxBuffered is the largest answer assembled in memory before writing.
const maxBuffered = 256 << 10

// writeCollection writes the OData collection envelope of Machines; items
// appends the comma-separated entities.
func writeCollection(w http.ResponseWriter, r *http.Request, items func([]byte) []byte) {
	sp := bufPool.Get().(*[]byte)
	b := (*sp)[:0]
	b = append(b, `{"@odata.context":`...)
	b = appendString(b, baseURL(r)+"/api/$metadata#Machines")
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

// baseURL is scheme://host of the request, as the client called it.
func baseURL(r *http.Request) string {
	if r.TLS != nil {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}

func requireMachineRead(p *openatp.Principal) error {
	if p.Delegated {
		if !p.HasAny(delegatedMachineRead...) {
			return openatp.CodedErrorf(openatp.Forbidden, "Forbidden",
				"Missing delegated permissions. API required permissions: %s, delegated permissions: %s.",
				strings.Join(delegatedMachineRead, ","), strings.Join(p.Scopes, ","))
		}
		return nil // the user's role is checked against the tenant's RBAC
	}
	if !p.HasAny(appMachineRead...) {
		return openatp.CodedErrorf(openatp.Forbidden, "Forbidden",
			"Missing application roles. API required roles: %s, application roles: %s.",
			strings.Join(appMachineRead, ","), strings.Join(p.Roles, ","))
	}
	return nil
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
func clipID(s string) string {
	const max = 100
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}
