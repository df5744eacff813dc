// Command openatp runs and manages an openatp server: a stand-in for the
// Microsoft Defender for Endpoint API (machines, users, alerts) with its
// Entra ID-shaped token issuer. It serves (serve), fills a data folder
// (seed, import, export, tenant, app and the RBAC commands), issues tokens
// (token), and drives a running server's test double (fault, journal).
// serve composes the packages: the store engine, the read model, the token
// service, the HTTP handlers and their listeners (docs/architecture.md).
//
// Usage: openatp <command> [flags]; run "openatp help" for the commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "openatp:", err)
		os.Exit(1)
	}
}

const usage = `openatp — a stand-in for Microsoft Defender for Endpoint's REST API: machines, users,
logon events, alerts, device groups and RBAC, the Entra ID sign-in its clients use, and fault
rules and a request journal for testing those clients.

Usage: openatp <command> [flags]

Commands:
  serve              run the server (--demo creates and seeds the demo tenant)
  demo-credentials   print the demo tenant's credentials as JSON
  tenant create|list|trust  manage tenants; trust an external OIDC issuer
  app create|list    manage application registrations of a tenant
  user create|update|list          directory users who sign in (delegated tokens)
  usergroup create|list            user groups (the stand-in for Entra security groups)
  role create|update|list|delete   RBAC roles and their user groups
  group create|update|list|delete  device groups: rules, rank, user-group access
  seed               generate a realistic tenant of any size: machines, users, logons, alerts
  import             load machines, logon events or alerts from JSON Lines, JSON or CSV files
  export             write a tenant's machines, logon events or alerts as JSON Lines
  token              mint an access token for an app of a tenant
  fault add|list|delete   fault rules of the running server (latency, errors, resets, truncated bodies)
  journal            the running server's record of a tenant's requests (--follow streams it)
  version            print the version and the commit it was built from
  help [command]     print this, or a command's usage

Every command takes --data (default ./openatp-data) and --db; each flag is
also read from the environment as OPENATP_<FLAG> (e.g. OPENATP_TLS_ADDR).
Run "openatp <command> -h" for a command's flags.
`

// run is the whole program; main only calls it.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("no command given")
	}
	env := &cliEnv{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	err := runCommand(ctx, env, args[0], args[1:])
	if errors.Is(err, flag.ErrHelp) { // the usage asked for is printed
		return nil
	}
	return err
}

// runCommand runs one command; "openatp help COMMAND" is "COMMAND -h".
func runCommand(ctx context.Context, env *cliEnv, cmd string, rest []string) error {
	if cmd == "help" && len(rest) > 0 && !isHelpArg(rest[0]) {
		cmd, rest = rest[0], []string{"-h"}
	}
	if help(env, cmd, rest) {
		return nil
	}
	switch cmd {
	case "serve":
		return runServe(ctx, env, rest)
	case "demo-credentials":
		return runDemoCredentials(ctx, env, rest)
	case "tenant":
		return runTenant(ctx, env, rest)
	case "app":
		return runApp(ctx, env, rest)
	case "user":
		return runUser(ctx, env, rest)
	case "usergroup":
		return runUserGroup(ctx, env, rest)
	case "role":
		return runRole(ctx, env, rest)
	case "group":
		return runGroup(ctx, env, rest)
	case "seed":
		return runSeed(ctx, env, rest)
	case "import":
		return runImport(ctx, env, rest)
	case "export":
		return runExport(ctx, env, rest)
	case "token":
		return runToken(ctx, env, rest)
	case "fault":
		return runFault(ctx, env, rest)
	case "journal":
		return runJournal(ctx, env, rest)
	case "version":
		fmt.Fprint(env.stdout, readBuildInfo().long())
		return nil
	case "help", "-h", "-help", "--help":
		fmt.Fprint(env.stdout, usage)
		return nil
	}
	fmt.Fprint(env.stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}
