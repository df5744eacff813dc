package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// Help is one way for every command: "-h", "-help", "--help" (and
// "openatp help COMMAND") print the command's usage on stdout and exit 0.
// A command with subcommands prints them; a subcommand, or a command
// without any, prints what it does and its flags.

// usage is the program's: its commands, what they do, and where to read more.
const usage = `openatp — a stand-in for Microsoft Defender for Endpoint's REST API: machines, users,
logon events, alerts, device groups and RBAC, the Entra ID sign-in its clients use, and fault
rules and a request journal for testing those clients.

Usage: openatp <command> [flags]

Commands:
  serve              run the server (--demo creates and seeds the demo tenant)
  demo-credentials   print the demo tenant's credentials as JSON
  tenant create|list|trust  manage tenants; trust an external OIDC issuer
  app create|list    manage application registrations of a tenant
  action list|get|cancel  machine actions of a tenant (isolations, scans, ...)
  user create|update|list          directory users who sign in (delegated tokens)
  usergroup create|list            user groups (the stand-in for Entra security groups)
  role create|update|list|delete   RBAC roles and their user groups
  group create|update|list|delete  device groups: rules, rank, user-group access
  seed               generate a realistic tenant of any size: machines, users, logons, alerts
  import             load machines, logon events, alerts or machine actions from JSON Lines, JSON or CSV files
  export             write a tenant's machines, logon events, alerts or machine actions as JSON Lines
  token              mint an access token for an app of a tenant
  fault add|list|delete   fault rules of the running server (latency, errors, resets, truncated bodies)
  journal            the running server's record of a tenant's requests (--follow streams it)
  version            print the version and the commit it was built from
  help [command]     print this, or a command's usage

Every command takes --data (default ./openatp-data) and --db; each flag is
also read from the environment as OPENATP_<FLAG> (e.g. OPENATP_TLS_ADDR).
Run "openatp <command> -h" for a command's flags.
`

// isHelpArg reports whether an argument asks for help.
func isHelpArg(s string) bool {
	return s == "-h" || s == "-help" || s == "--help" || s == "help"
}

// subcommand splits off the subcommand of the command name, one of known.
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

// commandDocs says what each flag set's command does, by the flag set's
// name, and the arguments it takes after its flags.
var commandDocs = map[string]struct{ args, doc string }{
	"serve":            {"", "Run the server: the MDE API (machines, users, alerts, device groups), its Entra ID sign-in, and the admin API. --demo creates and seeds the demo tenant if absent and prints how to call it."},
	"demo-credentials": {"", "Print the demo tenant's credentials as JSON: those a running serve --demo wrote, else the stored ones."},
	"tenant create":    {"", "Create a tenant named --name; prints its id."},
	"tenant list":      {"", "Print the tenants."},
	"tenant trust":     {"", "Have the tenant accept tokens of an external OIDC issuer (--issuer, --jwks-url)."},
	"app create":       {"", "Register an application of the tenant with the permissions --role (application) and --scope (delegated); prints its client id and secret."},
	"app list":         {"", "Print the tenant's applications."},
	"action list":      {"", "Print the tenant's machine actions, the most recently updated first, selected by --status and --machine."},
	"action get":       {"", "Print the tenant's machine action --id."},
	"action cancel":    {"", "Cancel the tenant's machine action --id (Pending or InProgress), as POST /api/machineactions/{id}/cancel does; prints it."},
	"user create":      {"", "Create a directory user who signs in for delegated tokens; prints its password when generated."},
	"user update":      {"", "Change a directory user: only the flags given."},
	"user list":        {"", "Print the tenant's directory users."},
	"usergroup create": {"", "Create a user group (the stand-in for an Entra security group)."},
	"usergroup list":   {"", "Print the tenant's user groups."},
	"role create":      {"", "Create an RBAC role with its permissions and user groups."},
	"role update":      {"", "Change an RBAC role: only the flags given."},
	"role list":        {"", "Print the tenant's RBAC roles."},
	"role delete":      {"", "Delete the RBAC role --name."},
	"group create":     {"", "Create a device group: its rule, rank and the user groups that may see its machines."},
	"group update":     {"", "Change a device group: only the flags given."},
	"group list":       {"", "Print the tenant's device groups."},
	"group delete":     {"", "Delete the device group --id."},
	"seed":             {"", "Fill a tenant (created if absent) with a realistic generated fleet (machines, users, logon events, alerts, machine actions) laid out over the days before now, the same for the same arguments; with --live, write new and updated alerts one by one for a poll loop to pick up."},
	"import":           {" FILE...", "Load machines, logon events, alerts or machine actions from JSON Lines, JSON or CSV files (\"-\" is standard input) into a tenant, created if absent once the files are checked."},
	"export":           {"", "Write a tenant's machines, logon events, alerts or machine actions as JSON Lines."},
	"token":            {"", "Mint an access token for an application of a tenant (or, with --user, a delegated one)."},
	"fault add":        {"", "Add a fault rule to the running server (the flags below, or --json '{...}'); prints it."},
	"fault list":       {"", "Print the running server's fault rules, with their hits and whether they are active."},
	"fault delete":     {"", "Delete the fault rule --id (or every rule with --all)."},
	"journal":          {"", "Print the running server's record of a tenant's requests, selected by the filters; --follow streams it."},
}

// commandGroups are the commands with subcommands, and what they manage.
var commandGroups = map[string]struct {
	subs []string
	doc  string
}{
	"tenant":    {[]string{"create", "list", "trust"}, "Manage tenants; trust an external OIDC issuer."},
	"app":       {[]string{"create", "list"}, "Manage the application registrations of a tenant."},
	"action":    {[]string{"list", "get", "cancel"}, "Read and cancel the machine actions of a tenant (isolations, scans, ...), in the store."},
	"user":      {[]string{"create", "update", "list"}, "Manage the directory users who sign in for delegated tokens."},
	"usergroup": {[]string{"create", "list"}, "Manage user groups (the stand-in for Entra security groups)."},
	"role":      {[]string{"create", "update", "list", "delete"}, "Manage RBAC roles and their user groups."},
	"group":     {[]string{"create", "update", "list", "delete"}, "Manage device groups: rules, rank, user-group access."},
	"fault":     {[]string{"add", "list", "delete"}, "Manage the fault rules of the running server (latency, errors, resets, truncated bodies); docs/testing.md."},
}

// printCommandUsage writes the usage of a flag set's command to w.
func printCommandUsage(w io.Writer, fs *flag.FlagSet) {
	d := commandDocs[fs.Name()]
	fmt.Fprintf(w, "usage: openatp %s [flags]%s\n", fs.Name(), d.args)
	if d.doc != "" {
		fmt.Fprintf(w, "\n%s\n", wrap(d.doc, 78))
	}
	fmt.Fprintln(w, "\nFlags (--name and -name are the same; each also read from OPENATP_<NAME>):")
	out := fs.Output()
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(out)
}

// printGroupUsage writes the usage of a command with subcommands to w.
func printGroupUsage(w io.Writer, name string) {
	g := commandGroups[name]
	fmt.Fprintf(w, "usage: openatp %s %s [flags]\n\n%s\n\n", name, strings.Join(g.subs, "|"), wrap(g.doc, 78))
	for _, s := range g.subs {
		fmt.Fprintf(w, "  %-8s %s\n", s, commandDocs[name+" "+s].doc)
	}
	fmt.Fprintf(w, "\nRun \"openatp %s <subcommand> -h\" for a subcommand's flags.\n", name)
}

// help answers the requests for help that no flag set sees: a command
// with subcommands asked for help instead of a subcommand, and "version
// -h". It reports whether it answered.
func help(w io.Writer, cmd string, rest []string) bool {
	if len(rest) == 0 || !isHelpArg(rest[0]) {
		return false
	}
	if cmd == "version" {
		fmt.Fprint(w, "usage: openatp version\n\nPrint the version.\n")
		return true
	}
	if _, ok := commandGroups[cmd]; ok {
		printGroupUsage(w, cmd)
		return true
	}
	return false
}

// wrap breaks s into lines of at most width characters.
func wrap(s string, width int) string {
	var b strings.Builder
	n := 0
	for i, word := range strings.Fields(s) {
		if i > 0 {
			if n+1+len(word) > width {
				b.WriteByte('\n')
				n = 0
			} else {
				b.WriteByte(' ')
				n++
			}
		}
		b.WriteString(word)
		n += len(word)
	}
	return b.String()
}
