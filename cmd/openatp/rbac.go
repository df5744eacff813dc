package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/manage"
)

// runUser: openatp user create|update|list — directory users who sign in
// for delegated tokens.
func runUser(ctx context.Context, env *cliEnv, args []string) error {
	sub, rest, err := subcommand("user", args, "create", "update", "list")
	if err != nil {
		return err
	}
	c := newTenantCmd(env, "user "+sub)
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
	set := c.given()
	change := manage.UserChange{Name: *name, Password: ptr(set, "password", *password),
		DisplayName: ptr(set, "display-name", *display), Groups: ptr(set, "group", []string(groups))}
	switch sub {
	case "list":
		v, err := manage.Users(ctx, store, t.ID)
		return printed(env, v, err)
	case "create":
		v, err := manage.CreateUser(ctx, store, t.ID, change)
		return printed(env, v, err)
	}
	v, err := manage.UpdateUser(ctx, store, t.ID, change)
	return printed(env, v, err)
}

// runUserGroup: openatp usergroup create|list — the stand-in for Entra
// security groups.
func runUserGroup(ctx context.Context, env *cliEnv, args []string) error {
	sub, rest, err := subcommand("usergroup", args, "create", "list")
	if err != nil {
		return err
	}
	c := newTenantCmd(env, "usergroup "+sub)
	name := c.fs.String("name", "", "group name")
	id := c.fs.String("id", "", "group id (default: a new GUID)")
	store, t, err := c.open(ctx, env, rest)
	if err != nil {
		return err
	}
	defer store.Close()
	if sub == "list" {
		v, err := manage.UserGroups(ctx, store, t.ID)
		return printed(env, v, err)
	}
	v, err := manage.CreateUserGroup(ctx, store, t.ID, *id, *name)
	return printed(env, v, err)
}

// runRole: openatp role create|update|list|delete.
func runRole(ctx context.Context, env *cliEnv, args []string) error {
	sub, rest, err := subcommand("role", args, "create", "update", "list", "delete")
	if err != nil {
		return err
	}
	c := newTenantCmd(env, "role "+sub)
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
		v, err := manage.Roles(ctx, store, t.ID)
		return printed(env, v, err)
	case "delete":
		return printed(env, map[string]string{"deleted": *name}, store.DeleteRole(ctx, t.ID, *name))
	}
	set := c.given()
	v, err := manage.PutRole(ctx, store, t.ID, manage.RoleChange{Name: *name,
		Permissions: ptr(set, "permission", []string(perms)), UserGroups: ptr(set, "user-group", []string(groups))}, sub == "update")
	return printed(env, v, err)
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
	for x := range strings.SplitSeq(vals, ",") {
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
	c := newTenantCmd(env, "group "+sub)
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
	switch sub {
	case "list":
		v, err := manage.Groups(ctx, store, t.ID)
		return printed(env, v, err)
	case "delete":
		return printed(env, map[string]string{"deleted": strconv.FormatInt(*id, 10)}, store.DeleteGroup(ctx, t.ID, *id))
	}
	set := c.given()
	change := manage.GroupChange{ID: ptr(set, "id", *id), Name: ptr(set, "name", *name), Description: ptr(set, "description", *desc),
		Rank: ptr(set, "rank", *rank), Rules: ptr(set, "rule", []openatp.RuleRow(rules)), UserGroups: ptr(set, "user-group", []string(groups))}
	if sub == "create" {
		if !set["name"] {
			change.Name = name // required: the store says so
		}
		v, err := manage.CreateGroup(ctx, store, t.ID, change)
		return printed(env, v, err)
	}
	v, err := manage.UpdateGroup(ctx, store, t.ID, *id, change)
	return printed(env, v, err)
}
