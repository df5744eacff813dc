package mdeapi

import (
	"net/http"
	"slices"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/httpserve"
	"github.com/openatp/openatp/internal/answercache"
	"github.com/openatp/openatp/readmodel"
	"github.com/openatp/openatp/wire"
)

// handleUserMachines serves GET /api/users/{id}/machines: the machines the
// user has logged on to, ordered by machine id.
func handleUserMachines(store openatp.Store, model *readmodel.Model, cache *answercache.Cache, authn *httpserve.Authenticator, limiter httpserve.Limiter, unknownEmpty bool) http.Handler {
	return httpserve.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		p, err := Caller(r, authn, limiter, "users/machines", RequireMachineRead)
		if err != nil {
			return err
		}
		if err := NoQuery(r); err != nil {
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
			msg := "User " + ClipID(r.PathValue("id")) + " was not found"
			if hint != "" {
				msg += ". The user id is the account name, not the UPN: use " + hint
			}
			return openatp.CodedErrorf(openatp.NotFound, "ResourceNotFound", "%s", msg)
		}
		if ref.Name == "" {
			return unknown()
		}
		if view != nil {
			// The answer depends on the user's machines (the key holds
			// the caller's device groups): an answer kept is one that
			// had a visible machine, and still has. At the version it
			// was kept at, the user is not even looked up.
			var list []uint32
			looked, ok := false, false
			lookup := func() []uint32 {
				if !looked {
					list, ok = view.UserMachines(ref, nil)
					looked = true
				}
				return list
			}
			return kept(cache, w, r, p.TenantID, access, view, func() []uint64 { return machineDeps(view, lookup()) }, func(w http.ResponseWriter) error {
				if lookup(); !ok {
					return unknown()
				}
				if access != nil {
					if list = view.Visible(list, access); len(list) == 0 {
						return unknown()
					}
				}
				writeMachinePage(w, r, view, list, nil, false, 0, "")
				return nil
			})
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
