package main

import (
	"context"
	"fmt"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/auth"
)

// runTenant: openatp tenant create --name N | openatp tenant list.
func runTenant(ctx context.Context, env *cliEnv, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("tenant: give a subcommand: create, list or trust")
	}
	var sf storeFlags
	fs := newFlagSet(env, "tenant "+args[0])
	sf.register(fs)
	switch args[0] {
	case "create":
		name := fs.String("name", "", "tenant name (e.g. contoso.onmicrosoft.com)")
		if err := parseFlags(env, fs, args[1:]); err != nil {
			return err
		}
		t, err := openatp.NewTenant(*name, time.Now())
		if err != nil {
			return err
		}
		store, err := sf.open(ctx)
		if err != nil {
			return err
		}
		defer store.Close()
		if err := store.CreateTenant(ctx, t); err != nil {
			return err
		}
		return printJSON(env.stdout, tenantJSON(t))
	case "list":
		if err := parseFlags(env, fs, args[1:]); err != nil {
			return err
		}
		store, err := sf.open(ctx)
		if err != nil {
			return err
		}
		defer store.Close()
		ts, err := store.Tenants(ctx)
		if err != nil {
			return err
		}
		out := []map[string]string{}
		for _, t := range ts {
			out = append(out, tenantJSON(t))
		}
		return printJSON(env.stdout, out)
	case "trust":
		return runTenantTrust(ctx, env, args[1:])
	}
	return fmt.Errorf("tenant: unknown subcommand %q (create, list, trust)", args[0])
}

func tenantJSON(t openatp.Tenant) map[string]string {
	return map[string]string{"tenant": t.ID, "name": t.Name, "created": t.Created.UTC().Format(time.RFC3339)}
}

// runTenantTrust: openatp tenant trust --tenant T --issuer URL --jwks-url URL [--tid GUID].
func runTenantTrust(ctx context.Context, env *cliEnv, args []string) error {
	c := newTenantCmd(env, "tenant trust")
	issuer := c.fs.String("issuer", "", "issuer URL of the external OIDC provider (the tokens' iss)")
	jwks := c.fs.String("jwks-url", "", "URL of the provider's JWKS")
	tid := c.fs.String("tid", "", "optional: the tid claim tokens must carry (an Entra ID tenant id)")
	store, t, err := c.open(ctx, env, args)
	if err != nil {
		return err
	}
	defer store.Close()
	svc, err := auth.New(ctx, store, auth.Options{})
	if err != nil {
		return err
	}
	defer svc.Close()
	x := auth.ExternalIssuer{TenantID: t.ID, Issuer: *issuer, JWKSURL: *jwks, Tid: *tid}
	return printed(env, x, svc.TrustIssuer(ctx, x))
}

// runApp: openatp app create --tenant T --name N [--role R]... [--scope S]... | app list --tenant T.
func runApp(ctx context.Context, env *cliEnv, args []string) error {
	sub, rest, err := subcommand("app", args, "create", "list")
	if err != nil {
		return err
	}
	c := newTenantCmd(env, "app "+sub)
	name := c.fs.String("name", "", "application name")
	var roles, scopes multiFlag
	c.fs.Var(&roles, "role", "application permission to grant (repeatable): Machine.Read.All, Machine.ReadWrite.All")
	c.fs.Var(&scopes, "scope", "delegated permission to grant (repeatable): Machine.Read, Machine.ReadWrite")
	store, t, err := c.open(ctx, env, rest)
	if err != nil {
		return err
	}
	defer store.Close()
	if sub == "list" {
		apps, err := store.Apps(ctx, t.ID)
		if err != nil {
			return err
		}
		out := []map[string]any{}
		for _, a := range apps {
			out = append(out, map[string]any{"client_id": a.ClientID, "name": a.Name, "roles": a.Roles, "scopes": a.Scopes})
		}
		return printJSON(env.stdout, out)
	}
	a, secret, err := openatp.NewApp(t.ID, *name, roles, scopes, time.Now())
	if err != nil {
		return err
	}
	if err := store.CreateApp(ctx, a); err != nil {
		return err
	}
	return printJSON(env.stdout, map[string]any{
		"tenant": t.ID, "client_id": a.ClientID, "client_secret": secret, "name": a.Name,
		"roles": a.Roles, "scopes": a.Scopes,
	})
}
