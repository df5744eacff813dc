package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/auth"
)

// rbacCmd holds what every RBAC subcommand parses: the store and the tenant.
type rbacCmd struct {
	sf     storeFlags
	tenant string
	fs     *flag.FlagSet
}

func newRBACCmd(env *cliEnv, name string) *rbacCmd {
	c := &rbacCmd{fs: newFlagSet(env, name)}
	c.sf.register(c.fs)
	c.fs.StringVar(&c.tenant, "tenant", "", "tenant id or name")
	return c
}

// open parses args, opens the store and resolves the tenant.
func (c *rbacCmd) open(ctx context.Context, env *cliEnv, args []string) (openatp.Store, openatp.Tenant, error) {
	if err := parseFlags(env, c.fs, args); err != nil {
		return nil, openatp.Tenant{}, err
	}
	store, err := c.sf.open(ctx)
	if err != nil {
		return nil, openatp.Tenant{}, err
	}
	t, err := store.Tenant(ctx, c.tenant)
	if err != nil {
		store.Close()
		return nil, openatp.Tenant{}, fmt.Errorf("tenant %q: %w", c.tenant, err)
	}
	return store, t, nil
}

func subcommand(name string, args []string, known ...string) (string, []string, error) {
	if len(args) == 0 {
		return "", nil, fmt.Errorf("%s: give a subcommand: %s", name, strings.Join(known, ", "))
	}
	for _, k := range known {
		if args[0] == k {
			return k, args[1:], nil
		}
	}
	return "", nil, fmt.Errorf("%s: unknown subcommand %q (%s)", name, args[0], strings.Join(known, ", "))
}

// runUser: openatp user create|update|list — directory users who sign in
// for delegated tokens.
func runUser(ctx context.Context, env *cliEnv, args []string) error {
	sub, rest, err := subcommand("user", args, "create", "update", "list")
	if err != nil {
		return err
	}
	c := newRBACCmd(env, "user "+sub)
	name := c.fs.String("name", "", "user name (sign-in name), e.g. alice@contoso.com")
	password := c.fs.String("password", "", "password (create: generated and printed when absent)")
	display := c.fs.String("display-name", "", "display name")
	var groups multiFlag
	c.fs.Var(&groups, "group", "user group id or name the user belongs to (repeatable; on update, replaces the list)")
	store, t, err := c.open(ctx, env, rest)
	if err != nil {
		return err
	}
	defer store.Close()
	switch sub {
	case "list":
		us, err := store.DirectoryUsers(ctx, t.ID)
		if err != nil {
			return err
		}
		out := []map[string]any{}
		for _, u := range us {
			out = append(out, map[string]any{"id": u.ID, "username": u.UserName, "display_name": u.DisplayName, "groups": u.Groups})
		}
		return printJSON(env.stdout, out)
	case "create":
		if err := openatp.ValidateUserName(*name); err != nil {
			return err
		}
		pw := *password
		if pw == "" {
			pw = openatp.NewSecret()[:20]
		}
		if err := openatp.ValidatePassword(pw); err != nil {
			return err
		}
		ids, err := resolveUserGroups(ctx, store, t.ID, groups)
		if err != nil {
			return err
		}
		hash, err := auth.HashPassword(pw)
		if err != nil {
			return err
		}
		u := openatp.DirectoryUser{ID: openatp.NewGUID(), UserName: *name, DisplayName: *display, PasswordHash: hash, Groups: ids}
		if err := store.CreateDirectoryUser(ctx, t.ID, u); err != nil {
			return err
		}
		return printJSON(env.stdout, map[string]any{"id": u.ID, "username": u.UserName, "password": pw, "groups": u.Groups})
	default: // update
		u, err := store.DirectoryUser(ctx, t.ID, *name)
		if err != nil {
			return err
		}
		set := map[string]bool{}
		c.fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if set["password"] {
			if err := openatp.ValidatePassword(*password); err != nil {
				return err
			}
			if u.PasswordHash, err = auth.HashPassword(*password); err != nil {
				return err
			}
		}
		if set["display-name"] {
			u.DisplayName = *display
		}
		if set["group"] {
			if u.Groups, err = resolveUserGroups(ctx, store, t.ID, groups); err != nil {
				return err
			}
		}
		if err := store.UpdateDirectoryUser(ctx, t.ID, u); err != nil {
			return err
		}
		return printJSON(env.stdout, map[string]any{"id": u.ID, "username": u.UserName, "display_name": u.DisplayName, "groups": u.Groups})
	}
}

// resolveUserGroups maps user group ids or names to ids; each must exist.
func resolveUserGroups(ctx context.Context, store openatp.Store, tenantID string, refs []string) ([]string, error) {
	all, err := store.UserGroups(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	ids := []string{}
	for _, ref := range refs {
		found := ""
		for _, g := range all {
			if g.ID == ref || strings.EqualFold(g.Name, ref) {
				found = g.ID
				break
			}
		}
		if found == "" {
			return nil, fmt.Errorf("user group %q does not exist (openatp usergroup create)", ref)
		}
		ids = append(ids, found)
	}
	return ids, nil
}

// runUserGroup: openatp usergroup create|list — the stand-in for Entra
// security groups.
func runUserGroup(ctx context.Context, env *cliEnv, args []string) error {
	sub, rest, err := subcommand("usergroup", args, "create", "list")
	if err != nil {
		return err
	}
	c := newRBACCmd(env, "usergroup "+sub)
	name := c.fs.String("name", "", "group name")
	id := c.fs.String("id", "", "group id (default: a new GUID)")
	store, t, err := c.open(ctx, env, rest)
	if err != nil {
		return err
	}
	defer store.Close()
	if sub == "list" {
		gs, err := store.UserGroups(ctx, t.ID)
		if err != nil {
			return err
		}
		out := []map[string]string{}
		for _, g := range gs {
			out = append(out, map[string]string{"id": g.ID, "name": g.Name})
		}
		return printJSON(env.stdout, out)
	}
	g := openatp.UserGroup{ID: *id, Name: *name}
	if g.ID == "" {
		g.ID = openatp.NewGUID()
	}
	if err := store.PutUserGroup(ctx, t.ID, g); err != nil {
		return err
	}
	return printJSON(env.stdout, map[string]string{"id": g.ID, "name": g.Name})
}

// runRole: openatp role create|update|list|delete.
func runRole(ctx context.Context, env *cliEnv, args []string) error {
	sub, rest, err := subcommand("role", args, "create", "update", "list", "delete")
	if err != nil {
		return err
	}
	c := newRBACCmd(env, "role "+sub)
	name := c.fs.String("name", "", "role name")
	var perms, groups multiFlag
	c.fs.Var(&perms, "permission", "permission (repeatable): "+strings.Join(openatp.RolePermissions, ", "))
	c.fs.Var(&groups, "user-group", "user group id or name assigned the role (repeatable)")
	store, t, err := c.open(ctx, env, rest)
	if err != nil {
		return err
	}
	defer store.Close()
	switch sub {
	case "list":
		rs, err := store.Roles(ctx, t.ID)
		if err != nil {
			return err
		}
		out := []map[string]any{}
		for _, r := range rs {
			out = append(out, roleJSON(r))
		}
		return printJSON(env.stdout, out)
	case "delete":
		if err := store.DeleteRole(ctx, t.ID, *name); err != nil {
			return err
		}
		return printJSON(env.stdout, map[string]string{"deleted": *name})
	}
	ids, err := resolveUserGroups(ctx, store, t.ID, groups)
	if err != nil {
		return err
	}
	r := openatp.Role{Name: *name, Permissions: perms, UserGroups: ids}
	if r.Permissions == nil {
		r.Permissions = []string{}
	}
	if sub == "update" {
		rs, err := store.Roles(ctx, t.ID)
		if err != nil {
			return err
		}
		found := false
		set := map[string]bool{}
		c.fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		for _, old := range rs {
			if strings.EqualFold(old.Name, *name) {
				found = true
				if !set["permission"] {
					r.Permissions = old.Permissions
				}
				if !set["user-group"] {
					r.UserGroups = old.UserGroups
				}
			}
		}
		if !found {
			return fmt.Errorf("role %q does not exist", *name)
		}
	}
	if err := store.PutRole(ctx, t.ID, r); err != nil {
		return err
	}
	return printJSON(env.stdout, roleJSON(r))
}

func roleJSON(r openatp.Role) map[string]any {
	return map[string]any{"name": r.Name, "permissions": r.Permissions, "user_groups": r.UserGroups}
}

// ruleFlag parses --rule property=value[,value...] (repeatable).
type ruleFlag []openatp.RuleRow

func (r *ruleFlag) String() string { return fmt.Sprint(*r) }
func (r *ruleFlag) Set(v string) error {
	prop, vals, ok := strings.Cut(v, "=")
	if !ok || vals == "" {
		return fmt.Errorf("want property=value[,value...], e.g. tag=vip or domain=contoso.com")
	}
	var values []string
	for _, x := range strings.Split(vals, ",") {
		if x = strings.TrimSpace(x); x != "" {
			values = append(values, x)
		}
	}
	*r = append(*r, openatp.RuleRow{Property: openatp.RuleProperty(prop), Values: values})
	return nil
}

// runGroup: openatp group create|update|list|delete — device groups.
func runGroup(ctx context.Context, env *cliEnv, args []string) error {
	sub, rest, err := subcommand("group", args, "create", "update", "list", "delete")
	if err != nil {
		return err
	}
	c := newRBACCmd(env, "group "+sub)
	id := c.fs.Int64("id", 0, "group id (create: default the next free id)")
	name := c.fs.String("name", "", "group name")
	desc := c.fs.String("description", "", "description")
	rank := c.fs.Int("rank", 0, "rank, 1 = highest (create: default last)")
	var rules ruleFlag
	c.fs.Var(&rules, "rule", "matching rule row property=value[,value...] with property name, domain, tag or osPlatform (repeatable; on update, replaces the rule)")
	var groups multiFlag
	c.fs.Var(&groups, "user-group", "user group id or name that may see the group's machines (repeatable; none: every user with View Data)")
	store, t, err := c.open(ctx, env, rest)
	if err != nil {
		return err
	}
	defer store.Close()
	gs, err := store.Groups(ctx, t.ID)
	if err != nil {
		return err
	}
	switch sub {
	case "list":
		out := []map[string]any{}
		for _, g := range gs {
			out = append(out, groupJSON(g))
		}
		out = append(out, groupJSON(openatp.DeviceGroup{ID: openatp.DefaultGroupID, Name: openatp.DefaultGroupName, Rank: len(gs) + 1}))
		return printJSON(env.stdout, out)
	case "delete":
		if err := store.DeleteGroup(ctx, t.ID, *id); err != nil {
			return err
		}
		return printJSON(env.stdout, map[string]string{"deleted": strconv.FormatInt(*id, 10)})
	}
	set := map[string]bool{}
	c.fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var ids []string
	if set["user-group"] {
		if ids, err = resolveUserGroups(ctx, store, t.ID, groups); err != nil {
			return err
		}
	}
	if sub == "create" {
		g := openatp.DeviceGroup{ID: *id, Name: *name, Description: *desc, Rank: *rank, Rules: rules, UserGroups: ids}
		if !set["id"] {
			g.ID = 1
			for _, x := range gs {
				g.ID = max(g.ID, x.ID+1)
			}
		}
		if !set["rank"] {
			g.Rank = len(gs) + 1
		}
		if err := store.CreateGroup(ctx, t.ID, g); err != nil {
			return err
		}
		if set["rank"] { // place it exactly, renumbering the others
			if err := store.UpdateGroup(ctx, t.ID, g); err != nil {
				return err
			}
		}
		return printJSON(env.stdout, groupJSON(g))
	}
	var g *openatp.DeviceGroup
	for i := range gs {
		if gs[i].ID == *id {
			g = &gs[i]
		}
	}
	if g == nil {
		return fmt.Errorf("device group %d does not exist", *id)
	}
	if set["name"] {
		g.Name = *name
	}
	if set["description"] {
		g.Description = *desc
	}
	if set["rank"] {
		g.Rank = *rank
	}
	if set["rule"] {
		g.Rules = rules
	}
	if set["user-group"] {
		g.UserGroups = ids
	}
	if err := store.UpdateGroup(ctx, t.ID, *g); err != nil {
		return err
	}
	return printJSON(env.stdout, groupJSON(*g))
}

func groupJSON(g openatp.DeviceGroup) map[string]any {
	rules := []map[string]any{}
	for _, r := range g.Rules {
		rules = append(rules, map[string]any{"property": r.Property, "values": r.Values})
	}
	ug := g.UserGroups
	if ug == nil {
		ug = []string{}
	}
	return map[string]any{"id": g.ID, "name": g.Name, "description": g.Description, "rank": g.Rank, "rules": rules, "user_groups": ug}
}
