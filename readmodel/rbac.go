package readmodel

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/openatp/openatp"
)

// RBAC is a tenant's roles and device groups as read at one moment, with
// the access of each distinct set of user groups resolved once. The cache
// is bounded: tokens choose its keys.
type RBAC struct {
	roles  []openatp.Role
	groups []openatp.DeviceGroup

	mu    sync.Mutex
	cache map[string]*openatp.Access // strings.Join(sorted groups, "\n") → access
}

// maxAccessCache is the most user-group sets an RBAC remembers; beyond it
// the cache starts over.
const maxAccessCache = 1024

// LoadRBAC reads the tenant's roles and device groups.
func LoadRBAC(ctx context.Context, store openatp.Store, tenantID string) (*RBAC, error) {
	roles, err := store.Roles(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	groups, err := store.Groups(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	return &RBAC{roles: roles, groups: groups}, nil
}

// same reports whether c and d hold the same roles and groups.
func (c *RBAC) same(d *RBAC) bool {
	return reflect.DeepEqual(c.roles, d.roles) && reflect.DeepEqual(c.groups, d.groups)
}

// Groups returns the device groups, ordered by rank, without the default.
func (c *RBAC) Groups() []openatp.DeviceGroup { return c.groups }

// Access resolves a delegated caller's access from the user groups of its
// token. Forbidden for a caller without the View Data permission.
func (c *RBAC) Access(p *openatp.Principal) (*openatp.Access, error) {
	gs := p.Groups
	if !slices.IsSorted(gs) {
		gs = slices.Clone(gs)
		slices.Sort(gs)
	}
	key := strings.Join(gs, "\n")
	c.mu.Lock()
	a := c.cache[key]
	c.mu.Unlock()
	if a == nil {
		resolved := openatp.ResolveAccess(p.Groups, c.roles, c.groups)
		a = &resolved
		c.mu.Lock()
		if c.cache == nil || len(c.cache) >= maxAccessCache {
			c.cache = map[string]*openatp.Access{}
		}
		c.cache[key] = a
		c.mu.Unlock()
	}
	if !a.Has(openatp.PermViewData) {
		return nil, openatp.CodedErrorf(openatp.Forbidden, "Forbidden",
			"The user %s has no role with the '%s' permission.", openatp.Clip(p.UserName, 100), openatp.PermViewData)
	}
	return a, nil
}
