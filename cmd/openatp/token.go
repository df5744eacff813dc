package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/openatp/openatp/auth"
)

// runToken mints a token for an application of a tenant, for scripts.
func runToken(ctx context.Context, env *cliEnv, args []string) error {
	c := newTenantCmd(env, "token")
	fs := c.fs
	clientID := fs.String("app", "", "client id of the application")
	resource := fs.String("resource", "https://api.securitycenter.microsoft.com", "audience of the token")
	base := fs.String("base-url", "http://127.0.0.1:8080", "scheme://host[:port] the issuer claim is built on (the server's address)")
	version := fs.Int("version", 1, "token version: 1 or 2")
	user := fs.String("user", "", "user name of a directory user: mint a delegated token (scp: the app's delegated permissions)")
	store, t, err := c.open(ctx, env, args)
	if err != nil {
		return err
	}
	defer store.Close()
	if *version != 1 && *version != 2 {
		return fmt.Errorf("--version must be 1 or 2")
	}
	a, err := store.App(ctx, t.ID, *clientID)
	if err != nil {
		return fmt.Errorf("app %q: %w", *clientID, err)
	}
	svc, err := auth.New(ctx, store, auth.Options{})
	if err != nil {
		return err
	}
	defer svc.Close()
	aud, ok := auth.NormalizeAudience(*resource)
	if !ok {
		return fmt.Errorf("--resource %q is not an accepted audience (%s)", *resource, strings.Join(auth.Audiences, ", "))
	}
	req := auth.MintRequest{Tenant: t, App: a, BaseURL: strings.TrimSuffix(*base, "/"), Version: *version, Audience: aud}
	if *user != "" {
		u, err := store.DirectoryUser(ctx, t.ID, *user)
		if err != nil {
			return fmt.Errorf("user %q: %w", *user, err)
		}
		req.User = &u
	}
	tok, _, err := svc.Mint(ctx, req)
	if err != nil {
		return err
	}
	fmt.Fprintln(env.stdout, tok)
	return nil
}
