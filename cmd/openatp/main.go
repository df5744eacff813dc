// Command openatp runs and manages an openatp server: a stand-in for the
// Microsoft Defender for Endpoint API (machines, users, alerts) with its
// Entra ID-shaped token issuer. It serves (serve), fills a data folder
// (seed, import, export, tenant, app, action and the RBAC commands), issues tokens
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
	if err := runCLI(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "openatp:", err)
		os.Exit(1)
	}
}

// runCLI is the whole program; main only calls it.
func runCLI(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("no command given")
	}
	env := &cliEnv{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr, self: selfCommand(os.Args[0])}
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
	if help(env.stdout, cmd, rest) {
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
	case "action":
		return runAction(ctx, env, rest)
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
