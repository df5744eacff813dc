// Package manage is what the CLI and the admin API both do to manage a
// tenant's RBAC configuration: user groups, directory users, roles and
// device groups. Both front ends parse their input, call these functions
// and print the same JSON views.
package manage

import (
	"context"
	"slices"
	"strings"

	"github.com/openatp/openatp"
	pwhash "github.com/openatp/openatp/internal/password"
)

// UserGroupView, UserView, RoleView and GroupView are the JSON both front
// ends print.
type (
	UserGroupView struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	UserView struct {
		ID          string   `json:"id"`
		UserName    string   `json:"username"`
		DisplayName string   `json:"display_name"`
		Groups      []string `json:"groups"`
		Password    string   `json:"password,omitempty"` // only when generated
	}
	RoleView struct {
		Name        string   `json:"name"`
		Permissions []string `json:"permissions"`
		UserGroups  []string `json:"user_groups"`
	}
	RuleView struct {
		Property openatp.RuleProperty `json:"property"`
		Values   []string             `json:"values"`
	}
	GroupView struct {
		ID          int64      `json:"id"`
		Name        string     `json:"name"`
		Description string     `json:"description"`
		Rank        int        `json:"rank"`
		Rules       []RuleView `json:"rules"`
		UserGroups  []string   `json:"user_groups"`
	}
)

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// ViewUser is the view of a directory user (never its password hash).
func ViewUser(u openatp.DirectoryUser) UserView {
	return UserView{ID: u.ID, UserName: u.UserName, DisplayName: u.DisplayName, Groups: nonNil(u.Groups)}
}

// ViewRole is the view of a role.
func ViewRole(r openatp.Role) RoleView {
	return RoleView{Name: r.Name, Permissions: nonNil(r.Permissions), UserGroups: nonNil(r.UserGroups)}
}

// ViewGroup is the view of a device group.
func ViewGroup(g openatp.DeviceGroup) GroupView {
	v := GroupView{ID: g.ID, Name: g.Name, Description: g.Description, Rank: g.Rank, Rules: []RuleView{}, UserGroups: nonNil(g.UserGroups)}
	for _, r := range g.Rules {
		v.Rules = append(v.Rules, RuleView{Property: r.Property, Values: nonNil(r.Values)})
	}
	return v
}

// Groups lists the tenant's device groups, the default group last.
func Groups(ctx context.Context, store openatp.Store, tenantID string) ([]GroupView, error) {
	gs, err := store.Groups(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	out := []GroupView{}
	for _, g := range gs {
		out = append(out, ViewGroup(g))
	}
	return append(out, ViewGroup(openatp.DeviceGroup{ID: openatp.DefaultGroupID, Name: openatp.DefaultGroupName, Rank: len(gs) + 1})), nil
}

// ResolveUserGroups maps user group ids or names (ignoring case) to ids.
// Invalid if one does not exist.
func ResolveUserGroups(ctx context.Context, store openatp.Store, tenantID string, refs []string) ([]string, error) {
	all, err := store.UserGroups(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	ids := []string{}
	for _, ref := range refs {
		i := slices.IndexFunc(all, func(g openatp.UserGroup) bool { return g.ID == ref || strings.EqualFold(g.Name, ref) })
		if i < 0 {
			return nil, openatp.CodedErrorf(openatp.Invalid, "InvalidInput", "user group %q does not exist", clip(ref))
		}
		ids = append(ids, all[i].ID)
	}
	return ids, nil
}

func clip(s string) string {
	if len(s) > 100 {
		return s[:100] + "…"
	}
	return s
}

// CreateUserGroup stores a user group; an empty id becomes a new GUID.
func CreateUserGroup(ctx context.Context, store openatp.Store, tenantID, id, name string) (UserGroupView, error) {
	if id == "" {
		id = openatp.NewGUID()
	}
	g := openatp.UserGroup{ID: id, Name: name}
	if err := store.PutUserGroup(ctx, tenantID, g); err != nil {
		return UserGroupView{}, err
	}
	return UserGroupView{ID: g.ID, Name: g.Name}, nil
}

// UserGroups lists the tenant's user groups.
func UserGroups(ctx context.Context, store openatp.Store, tenantID string) ([]UserGroupView, error) {
	gs, err := store.UserGroups(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	out := []UserGroupView{}
	for _, g := range gs {
		out = append(out, UserGroupView{ID: g.ID, Name: g.Name})
	}
	return out, nil
}

// UserChange is a new directory user, or the changes to one: nil fields
// are left as they are (on creation, a nil password is generated and
// returned in the view).
type UserChange struct {
	Name        string
	Password    *string
	DisplayName *string
	Groups      *[]string // user group ids or names
}

// CreateUser stores a directory user.
func CreateUser(ctx context.Context, store openatp.Store, tenantID string, c UserChange) (UserView, error) {
	if err := openatp.ValidateUserName(c.Name); err != nil {
		return UserView{}, err
	}
	generated := c.Password == nil
	pw := ""
	if generated {
		pw = openatp.NewSecret()[:20]
	} else {
		pw = *c.Password
	}
	u := openatp.DirectoryUser{ID: openatp.NewGUID(), UserName: c.Name, Groups: []string{}}
	if err := apply(ctx, store, tenantID, &u, UserChange{Password: &pw, DisplayName: c.DisplayName, Groups: c.Groups}); err != nil {
		return UserView{}, err
	}
	if err := store.CreateDirectoryUser(ctx, tenantID, u); err != nil {
		return UserView{}, err
	}
	v := ViewUser(u)
	if generated {
		v.Password = pw
	}
	return v, nil
}

// UpdateUser changes a directory user found by name.
func UpdateUser(ctx context.Context, store openatp.Store, tenantID string, c UserChange) (UserView, error) {
	u, err := store.DirectoryUser(ctx, tenantID, c.Name)
	if err != nil {
		return UserView{}, err
	}
	if err := apply(ctx, store, tenantID, &u, c); err != nil {
		return UserView{}, err
	}
	if err := store.UpdateDirectoryUser(ctx, tenantID, u); err != nil {
		return UserView{}, err
	}
	return ViewUser(u), nil
}

func apply(ctx context.Context, store openatp.Store, tenantID string, u *openatp.DirectoryUser, c UserChange) error {
	if c.Password != nil {
		if err := openatp.ValidatePassword(*c.Password); err != nil {
			return err
		}
		hash, err := pwhash.Hash(*c.Password)
		if err != nil {
			return err
		}
		u.PasswordHash = hash
	}
	if c.DisplayName != nil {
		u.DisplayName = *c.DisplayName
	}
	if c.Groups != nil {
		ids, err := ResolveUserGroups(ctx, store, tenantID, *c.Groups)
		if err != nil {
			return err
		}
		u.Groups = ids
	}
	return nil
}

// Users lists the tenant's directory users.
func Users(ctx context.Context, store openatp.Store, tenantID string) ([]UserView, error) {
	us, err := store.DirectoryUsers(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	out := []UserView{}
	for _, u := range us {
		out = append(out, ViewUser(u))
	}
	return out, nil
}

// RoleChange is a role to store: nil fields keep the values of an existing
// role of that name (or are empty for a new one).
type RoleChange struct {
	Name        string
	Permissions *[]string
	UserGroups  *[]string // ids or names
}

// PutRole creates a role or, when it exists, changes it. With mustExist,
// NotFound if it does not.
func PutRole(ctx context.Context, store openatp.Store, tenantID string, c RoleChange, mustExist bool) (RoleView, error) {
	rs, err := store.Roles(ctx, tenantID)
	if err != nil {
		return RoleView{}, err
	}
	r := openatp.Role{Name: c.Name, Permissions: []string{}, UserGroups: []string{}}
	if i := slices.IndexFunc(rs, func(x openatp.Role) bool { return strings.EqualFold(x.Name, c.Name) }); i >= 0 {
		r = rs[i]
		r.Name = c.Name
	} else if mustExist {
		return RoleView{}, openatp.CodedErrorf(openatp.NotFound, "ResourceNotFound", "role %q does not exist", clip(c.Name))
	}
	if c.Permissions != nil {
		r.Permissions = nonNil(*c.Permissions)
	}
	if c.UserGroups != nil {
		if r.UserGroups, err = ResolveUserGroups(ctx, store, tenantID, *c.UserGroups); err != nil {
			return RoleView{}, err
		}
	}
	if err := store.PutRole(ctx, tenantID, r); err != nil {
		return RoleView{}, err
	}
	return ViewRole(r), nil
}

// Roles lists the tenant's roles.
func Roles(ctx context.Context, store openatp.Store, tenantID string) ([]RoleView, error) {
	rs, err := store.Roles(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	out := []RoleView{}
	for _, r := range rs {
		out = append(out, ViewRole(r))
	}
	return out, nil
}

// GroupChange is a device group to create, or the changes to one: nil
// fields are left as they are (on creation: the next free id, the last
// rank, no rules, no user groups).
type GroupChange struct {
	ID          *int64
	Name        *string
	Description *string
	Rank        *int
	Rules       *[]openatp.RuleRow
	UserGroups  *[]string // ids or names
}

// CreateGroup stores a new device group; a given rank places it there and
// renumbers the others.
func CreateGroup(ctx context.Context, store openatp.Store, tenantID string, c GroupChange) (GroupView, error) {
	gs, err := store.Groups(ctx, tenantID)
	if err != nil {
		return GroupView{}, err
	}
	g := openatp.DeviceGroup{ID: 1, Rank: len(gs) + 1}
	for _, x := range gs {
		g.ID = max(g.ID, x.ID+1)
	}
	if c.ID != nil {
		g.ID = *c.ID
	}
	if err := applyGroup(ctx, store, tenantID, &g, c); err != nil {
		return GroupView{}, err
	}
	if err := store.CreateGroup(ctx, tenantID, g); err != nil {
		return GroupView{}, err
	}
	if c.Rank != nil {
		if err := store.UpdateGroup(ctx, tenantID, g); err != nil {
			return GroupView{}, err
		}
	}
	return ViewGroup(g), nil
}

// UpdateGroup changes the device group with id; a rank moves it.
func UpdateGroup(ctx context.Context, store openatp.Store, tenantID string, id int64, c GroupChange) (GroupView, error) {
	gs, err := store.Groups(ctx, tenantID)
	if err != nil {
		return GroupView{}, err
	}
	i := slices.IndexFunc(gs, func(g openatp.DeviceGroup) bool { return g.ID == id })
	if i < 0 {
		if id == openatp.DefaultGroupID {
			return GroupView{}, openatp.Errorf(openatp.Conflict, "the default device group cannot be changed")
		}
		return GroupView{}, openatp.CodedErrorf(openatp.NotFound, "ResourceNotFound", "device group %d does not exist", id)
	}
	g := gs[i]
	if err := applyGroup(ctx, store, tenantID, &g, c); err != nil {
		return GroupView{}, err
	}
	if err := store.UpdateGroup(ctx, tenantID, g); err != nil {
		return GroupView{}, err
	}
	return ViewGroup(g), nil
}

func applyGroup(ctx context.Context, store openatp.Store, tenantID string, g *openatp.DeviceGroup, c GroupChange) error {
	if c.Name != nil {
		g.Name = *c.Name
	}
	if c.Description != nil {
		g.Description = *c.Description
	}
	if c.Rank != nil {
		g.Rank = *c.Rank
	}
	if c.Rules != nil {
		g.Rules = *c.Rules
	}
	if c.UserGroups != nil {
		ids, err := ResolveUserGroups(ctx, store, tenantID, *c.UserGroups)
		if err != nil {
			return err
		}
		g.UserGroups = ids
	}
	return nil
}
