package main

import (
	"bytes"
	"context"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// TestHelpWalk asks every command, and every subcommand, for help in every
// way: each prints its usage on stdout, nothing on stderr, and succeeds.
// Flags are typed as what they take.
func TestHelpWalk(t *testing.T) {
	t.Parallel()
	type call struct {
		args []string
		want string // the usage's first line starts so
	}
	var calls []call
	for _, h := range []string{"help", "-h", "-help", "--help"} {
		calls = append(calls, call{[]string{h}, "openatp — a stand-in for Microsoft Defender for Endpoint's REST API"})
	}
	singles := []string{"serve", "demo-credentials", "seed", "import", "export", "token", "journal", "version"}
	for _, c := range singles {
		for _, h := range []string{"-h", "--help"} {
			calls = append(calls, call{[]string{c, h}, "usage: openatp " + c})
		}
		calls = append(calls, call{[]string{"help", c}, "usage: openatp " + c})
	}
	var groups []string
	for g := range commandGroups {
		groups = append(groups, g)
	}
	sort.Strings(groups)
	for _, g := range groups {
		for _, h := range []string{"-h", "--help", "help"} {
			calls = append(calls, call{[]string{g, h}, "usage: openatp " + g + " " + strings.Join(commandGroups[g].subs, "|")})
		}
		for _, s := range commandGroups[g].subs {
			for _, h := range []string{"-h", "--help"} {
				calls = append(calls, call{[]string{g, s, h}, "usage: openatp " + g + " " + s + " [flags]"})
			}
		}
	}
	// Every documented flag set is walked.
	walked := map[string]bool{}
	for _, c := range calls {
		walked[strings.Join(c.args[:len(c.args)-1], " ")] = true
	}
	for name := range commandDocs {
		if !walked[name] {
			t.Errorf("%q has a usage but no help call", name)
		}
	}

	flagLine := regexp.MustCompile(`(?m)^  -([a-z-]+)(?: ([a-z]+))?$`)
	types := map[string]map[string]string{} // command → flag → placeholder
	for _, c := range calls {
		var out, errb bytes.Buffer
		err := runCLI(context.Background(), c.args, noEnv, strings.NewReader(""), &out, &errb)
		name := strings.Join(c.args, " ")
		if err != nil || errb.Len() > 0 {
			t.Errorf("openatp %s: %v, stderr %q", name, err, errb.String())
			continue
		}
		if !strings.HasPrefix(out.String(), c.want) {
			t.Errorf("openatp %s printed:\n%s\nwant a usage starting %q", name, out.String(), c.want)
		}
		if strings.Contains(out.String(), "`") || strings.Contains(out.String(), "help requested") {
			t.Errorf("openatp %s printed:\n%s", name, out.String())
		}
		cmd := strings.Join(c.args[:len(c.args)-1], " ")
		if types[cmd] == nil {
			types[cmd] = map[string]string{}
		}
		for _, m := range flagLine.FindAllStringSubmatch(out.String(), -1) {
			types[cmd][m[1]] = m[2]
		}
	}
	for cmd, want := range map[string]map[string]string{
		"fault add": {"probability": "float", "seed": "uint", "status": "int", "retry-after": "int", "truncate-after": "int",
			"max-hits": "int", "delay": "duration", "delay-max": "duration", "expires": "time", "route": "string"},
		"journal":      {"after": "uint", "limit": "int", "interval": "duration", "follow": ""},
		"seed":         {"machines": "int", "users": "int", "logons": "int", "alerts": "int", "seed": "int", "end": "time", "out": "string", "every": "duration"},
		"import":       {"batch-size": "int", "chunk-size": "int", "max-record": "int", "dry-run": ""},
		"token":        {"version": "int"},
		"serve":        {"lockout-threshold": "int", "max-connections": "int", "journal-size": "int", "shutdown-timeout": "duration"},
		"group create": {"id": "int", "rank": "int"},
	} {
		for f, typ := range want {
			if got, ok := types[cmd][f]; !ok || got != typ {
				t.Errorf("openatp %s -h: -%s shown as %q (listed %v), want %q", cmd, f, got, ok, typ)
			}
		}
	}
	// What the help says of the commands.
	for _, c := range []struct {
		args      []string
		want, not string
	}{
		{[]string{"help"}, "alerts", "machines API"},
		{[]string{"help"}, "import             load machines, logon events, alerts or machine actions", ""},
		{[]string{"help"}, "export             write a tenant's machines, logon events, alerts or machine actions", ""},
		{[]string{"import", "-h"}, "Load machines, logon events, alerts or machine actions", ""},
		{[]string{"export", "-h"}, "machines, logon events, alerts or machine actions", ""},
		{[]string{"seed", "-h"}, "  -out string\n", "-out openatp"},
	} {
		var out bytes.Buffer
		_ = runCLI(context.Background(), c.args, noEnv, strings.NewReader(""), &out, &out)
		if !strings.Contains(out.String(), c.want) || c.not != "" && strings.Contains(out.String(), c.not) {
			t.Errorf("openatp %s printed:\n%s\nwant %q in it, and not %q", strings.Join(c.args, " "), out.String(), c.want, c.not)
		}
	}
}

// A bad flag still fails, with the usage on stderr.
func TestBadFlagUsage(t *testing.T) {
	t.Parallel()
	var out, errb bytes.Buffer
	err := runCLI(context.Background(), []string{"seed", "--nosuch"}, noEnv, strings.NewReader(""), &out, &errb)
	if err == nil || out.Len() > 0 || !strings.Contains(errb.String(), "flag provided but not defined: -nosuch") || !strings.Contains(errb.String(), "usage: openatp seed [flags]") {
		t.Errorf("seed --nosuch: %v, stdout %q, stderr %q", err, out.String(), errb.String())
	}
}
