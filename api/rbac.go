package api

import (
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/openatp/openatp"
)

// rbacConfig is a tenant's roles and device groups, as of one data
// version, with the access of each distinct set of user groups computed
// once.
type rbacConfig struct {
	roles  []openatp.Role
	groups []openatp.DeviceGroup
	cache  *sync.Map // strings.Join(sorted groups, "\n") → *openatp.Access
}

func loadRBAC(ctx context.Context, store openatp.Store, tenantID string) (rbacConfig, error) {
	roles, err := store.Roles(ctx, tenantID)
	if err != nil {
		return rbacConfig{}, err
	}
	groups, err := store.Groups(ctx, tenantID)
	if err != nil {
		return rbacConfig{}, err
	}
	return rbacConfig{roles: roles, groups: groups, cache: &sync.Map{}}, nil
}

// access resolves a delegated caller's access from the user groups of its
// token, and refuses callers without the View Data permission.
func (c rbacConfig) access(p *openatp.Principal) (*openatp.Access, error) {
	key := strings.Join(p.Groups, "\n")
	if !slices.IsSorted(p.Groups) {
		gs := slices.Clone(p.Groups)
		slices.Sort(gs)
		key = strings.Join(gs, "\n")
	}
	var a *openatp.Access
	if c.cache != nil {
		if v, ok := c.cache.Load(key); ok {
			a = v.(*openatp.Access)
		}
	}
	if a == nil {
		resolved := openatp.ResolveAccess(p.Groups, c.roles, c.groups)
		a = &resolved
		if c.cache != nil {
			c.cache.Store(key, a)
		}
	}
	if !a.Has(openatp.PermViewData) {
		return nil, openatp.CodedErrorf(openatp.Forbidden, "Forbidden",
			"The user %s has no role with the '%s' permission.", clipID(p.UserName), openatp.PermViewData)
	}
	return a, nil
}

// visible returns the machines of list that a may see, in order.
func (ti *tenantIndex) visible(list []uint32, a *openatp.Access) []uint32 {
	if a.AllGroups {
		return list
	}
	out := make([]uint32, 0, len(list))
	for _, i := range list {
		if a.CanSee(ti.groupID(i)) {
			out = append(out, i)
		}
	}
	return out
}
