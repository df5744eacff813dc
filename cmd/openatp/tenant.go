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
		tenant := fs.String("tenant", "", "tenant id or name")
		issuer := fs.String("issuer", "", "issuer URL of the external OIDC provider (the tokens' iss)")
		jwks := fs.String("jwks-url", "", "URL of the provider's JWKS")
		tid := fs.String("tid", "", "optional: the tid claim tokens must carry (an Entra ID tenant id)")
		if err := parseFlags(env, fs, args[1:]); err != nil {
			return err
		}
		store, err := sf.open(ctx)
		if err != nil {
			return err
		}
		defer store.Close()
		svc, err := auth.New(ctx, store, auth.Options{})
		if err != nil {
			return err
		}
		x := auth.ExternalIssuer{TenantID: *tenant, Issuer: *issuer, JWKSURL: *jwks, Tid: *tid}
		if err := svc.TrustIssuer(ctx, x); err != nil {
			return err
		}
		t, _ := store.Tenant(ctx, *tenant)
		x.TenantID = t.ID
		return printJSON(env.stdout, x)
	}
	return fmt.Errorf("tenant: unknown subcommand %q (create, list, trust)", args[0])
}

func tenantJSON(t openatp.Tenant) map[string]string {
	return map[string]string{"tenant": t.ID, "name": t.Name, "created": t.Created.UTC().Format(time.RFC3339)}
}

// runApp: openatp app create --tenant T --name N [--role R]... [--scope S]... | app list --tenant T.
func runApp(ctx context.Context, env *cliEnv, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("app: give a subcommand: create or list")
	}
	var sf storeFlags
	fs := newFlagSet(env, "app "+args[0])
	sf.register(fs)
	tenant := fs.String("tenant", "", "tenant id or name")
	switch args[0] {
	case "create":
		name := fs.String("name", "", "application name")
		var roles, scopes multiFlag
		fs.Var(&roles, "role", "application permission to grant (repeatable): Machine.Read.All, Machine.ReadWrite.All")
		fs.Var(&scopes, "scope", "delegated permission to grant (repeatable): Machine.Read, Machine.ReadWrite")
		if err := parseFlags(env, fs, args[1:]); err != nil {
			return err
		}
		store, err := sf.open(ctx)
		if err != nil {
			return err
		}
		defer store.Close()
		t, err := store.Tenant(ctx, *tenant)
		if err != nil {
			return fmt.Errorf("tenant %q: %w", *tenant, err)
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
	case "list":
		if err := parseFlags(env, fs, args[1:]); err != nil {
			return err
		}
		store, err := sf.open(ctx)
		if err != nil {
			return err
		}
		defer store.Close()
		t, err := store.Tenant(ctx, *tenant)
		if err != nil {
			return fmt.Errorf("tenant %q: %w", *tenant, err)
		}
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
	return fmt.Errorf("app: unknown subcommand %q (create, list)", args[0])
}
