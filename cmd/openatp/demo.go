package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/demotenant"
)

// runDemoCredentials prints the demo tenant's credentials: those a running
// `serve --demo` wrote, else the stored ones with the default addresses.
func runDemoCredentials(ctx context.Context, env *cliEnv, args []string) error {
	var sf storeFlags
	fs := newFlagSet(env, "demo-credentials")
	sf.register(fs)
	if err := parseFlags(env, fs, args); err != nil {
		return err
	}
	if b, err := os.ReadFile(filepath.Join(sf.data, demotenant.CredFile)); err == nil {
		var c demotenant.Credentials
		if err := json.Unmarshal(b, &c); err != nil {
			return fmt.Errorf("%s: %w", filepath.Join(sf.data, demotenant.CredFile), err)
		}
		return printJSON(env.stdout, c)
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	store, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	v, err := store.Setting(ctx, demotenant.Setting)
	if openatp.IsKind(err, openatp.NotFound) {
		return fmt.Errorf("no demo tenant in %s: run '%s serve --demo --data %s' first", sf.data, env.selfCmd(), sf.data)
	}
	if err != nil {
		return err
	}
	var c demotenant.Credentials
	if err := json.Unmarshal([]byte(v), &c); err != nil {
		return err
	}
	if c.AdminKey, err = demotenant.EnsureAdminKey(ctx, store); err != nil {
		return err
	}
	c.BaseURL, c.TLSBaseURL = "http://127.0.0.1:8080", "https://127.0.0.1:8443"
	c.CAFile, _ = filepath.Abs(filepath.Join(sf.data, "tls", "ca.pem"))
	return printJSON(env.stdout, c)
}
