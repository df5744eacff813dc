package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"github.com/openatp/openatp/internal/demotenant"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The fault and journal commands talk to a running server's admin API
// (fault rules and the journal live in the server's memory) and print the
// admin API's JSON.

// adminClient is how a command reaches the admin API: the server's base
// URL and the admin key, read from the store when not given.
type adminClient struct {
	sf      storeFlags
	baseURL string
	from    string // where baseURL came from, for errors
	key     string
	http    *http.Client
}

// defaultAdminURL is where the admin API is looked for when neither
// --base-url nor the data folder names it: serve's default --addr.
const defaultAdminURL = "http://127.0.0.1:8080"

func (c *adminClient) register(fs *flag.FlagSet) {
	c.sf.register(fs)
	fs.StringVar(&c.baseURL, "base-url", "", "where the running server serves the admin API, scheme://host:port (its --addr, or --admin-addr); default: the admin_url of <data>/demo-credentials.json, else "+defaultAdminURL)
	fs.StringVar(&c.key, "admin-key", "", "the admin key (default: read from the store of --data/--db)")
}

// resolveBaseURL chooses the admin API's address: --base-url, else the
// admin_url a `serve --demo` of the data folder wrote to its
// demo-credentials.json, else defaultAdminURL.
func (c *adminClient) resolveBaseURL() {
	if c.baseURL != "" {
		c.from = "--base-url"
		return
	}
	file := filepath.Join(c.sf.data, demotenant.CredFile)
	if b, err := os.ReadFile(file); err == nil {
		var dc demotenant.Credentials
		if json.Unmarshal(b, &dc) == nil && dc.AdminURL != "" {
			c.baseURL, c.from = dc.AdminURL, "the admin_url of "+file
			return
		}
	}
	c.baseURL, c.from = defaultAdminURL, "the default; "+file+" names no admin_url"
}

// ready chooses the server's address and reads the admin key from the
// store unless it was given.
func (c *adminClient) ready(ctx context.Context) error {
	c.resolveBaseURL()
	c.baseURL = strings.TrimSuffix(c.baseURL, "/")
	c.http = &http.Client{Timeout: 30 * time.Second}
	if c.key != "" {
		return nil
	}
	store, err := c.sf.open(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	if c.key, err = store.Setting(ctx, demotenant.AdminKeySetting); err != nil {
		return fmt.Errorf("the admin key of %s: %w (start the server once, or give --admin-key)", c.sf.data, err)
	}
	return nil
}

// do sends a request to the admin API and returns the body of a 2xx
// answer; any other answer is an error with the API's message.
func (c *adminClient) do(ctx context.Context, method, path string, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.baseURL+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-Openatp-Admin-Key", c.key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		return nil, fmt.Errorf("the server's admin API was not reached at %s (%s): %w\n"+
			"give its address with --base-url (the \"admin\" line serve prints), or --data the data folder of the `serve --demo` to reach", c.baseURL, c.from, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	if res.StatusCode/100 != 2 {
		var e struct {
			Error struct{ Code, Message string }
		}
		if json.Unmarshal(b, &e) == nil && e.Error.Code != "" {
			return nil, fmt.Errorf("%s %s: %d %s: %s", method, path, res.StatusCode, e.Error.Code, e.Error.Message)
		}
		return nil, fmt.Errorf("%s %s: %s", method, path, res.Status)
	}
	return b, nil
}

// printBody writes a JSON answer indented, as the other commands print.
func printBody(w io.Writer, b []byte) error {
	var out bytes.Buffer
	if err := json.Indent(&out, bytes.TrimSpace(b), "", "  "); err != nil {
		return err
	}
	out.WriteByte('\n')
	_, err := w.Write(out.Bytes())
	return err
}

const faultUsage = `usage: openatp fault add|list|delete [flags]

  add      add a fault rule (the flags below, or --json '{...}'); prints it
  list     print the rules, with their hits and whether they are active
  delete   delete the rule --id (or every rule with --all)

Rules live in the running server, whose admin API --base-url names (default:
the admin_url of <data>/demo-credentials.json, else http://127.0.0.1:8080); docs/testing.md.`

// runFault: openatp fault add|list|delete.
func runFault(ctx context.Context, env *cliEnv, args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(env.stderr, faultUsage)
		return fmt.Errorf("fault: no subcommand")
	}
	var c adminClient
	fs := newFlagSet(env, "fault "+args[0])
	c.register(fs)
	switch args[0] {
	case "add":
		return runFaultAdd(ctx, env, &c, fs, args[1:])
	case "list":
		if err := parseFlags(env, fs, args[1:]); err != nil {
			return err
		}
		return c.print(ctx, env, "GET", "/_openatp/faults", nil)
	case "delete":
		id := fs.String("id", "", "the rule's id")
		all := fs.Bool("all", false, "delete every rule")
		if err := parseFlags(env, fs, args[1:]); err != nil {
			return err
		}
		if (*id == "") == !*all {
			return fmt.Errorf("fault delete: give --id or --all")
		}
		path := "/_openatp/faults"
		if !*all {
			path += "/" + url.PathEscape(*id)
		}
		if err := c.ready(ctx); err != nil {
			return err
		}
		_, err := c.do(ctx, "DELETE", path, nil)
		return err
	}
	fmt.Fprintln(env.stderr, faultUsage)
	return fmt.Errorf("fault: unknown subcommand %q", args[0])
}

// print sends a request and prints the answer.
func (c *adminClient) print(ctx context.Context, env *cliEnv, method, path string, body []byte) error {
	if err := c.ready(ctx); err != nil {
		return err
	}
	b, err := c.do(ctx, method, path, body)
	if err != nil {
		return err
	}
	return printBody(env.stdout, b)
}

// runFaultAdd builds the rule's JSON from the flags given (the server
// fills in the rest) and posts it.
func runFaultAdd(ctx context.Context, env *cliEnv, c *adminClient, fs *flag.FlagSet, args []string) error {
	raw := fs.String("json", "", "the whole rule as the admin API takes it; the other flags are added to it")
	str := map[string]*string{}
	for _, f := range []struct{ name, usage string }{
		{"id", "the rule's id (default: fault-N)"},
		{"kind", "latency, error, reset, truncate or fail-action (the machine action the request creates ends Failed)"},
		{"route", `the requests' method and path pattern, e.g. "GET /api/users/{id}/machines" or "POST /{tenant}/oauth2/v2.0/token" (default: every /api/ request)`},
		{"tenant", "only the requests of this tenant (id or name)"},
		{"app", "only the requests of this application (client id)"},
		{"user", "only the requests of this signed-in user (delegated tokens)"},
		{"code", "error: the MDE error code (default: the status's own)"},
		{"message", "error: the message (default: the status's own)"},
	} {
		str[f.name] = fs.String(f.name, "", f.usage)
	}
	// The numbers, durations and times go into the rule only when given.
	fs.Duration("delay", 0, "a delay before the answer, e.g. 250ms (the least, with --delay-max)")
	fs.Duration("delay-max", 0, "the delay is uniform between --delay and this")
	fs.Var(new(timeFlag), "expires", "the rule stops applying at this RFC 3339 `time`")
	fs.Float64("probability", 1, "of applying to a matching request, 0 to 1")
	fs.Uint64("seed", 0, "of the rule's generator (default: random, shown): the same seed, the same sequence")
	fs.Int("status", 0, "error: the HTTP status, e.g. 429 or 503")
	fs.Int("retry-after", 0, "error: Retry-After in seconds (default 1 for 429 and 503; -1 for none)")
	fs.Int64("truncate-after", 0, "truncate: body bytes sent before the cut")
	fs.Int64("max-hits", 0, "the rule stops applying after this many hits (default: never)")
	fs.Int("aadsts", 0, "error on a sign-in endpoint: the AADSTS code (default: Entra's for the status)")
	fs.Int64("error-hresult", 0, "fail-action: the action's errorHResult, signed, unsigned or hex (default 0x80004005, E_FAIL)")
	num := map[string]bool{"probability": true, "seed": true, "status": true, "retry-after": true, "truncate-after": true, "max-hits": true, "aadsts": true,
		"error-hresult": true}
	if err := parseFlags(env, fs, args); err != nil {
		return err
	}
	rule := map[string]any{}
	if *raw != "" {
		dec := json.NewDecoder(strings.NewReader(*raw))
		dec.UseNumber()
		if err := dec.Decode(&rule); err != nil {
			return fmt.Errorf("--json: %w", err)
		}
	}
	key := func(flagName string) string { return strings.ReplaceAll(flagName, "-", "_") }
	for name, v := range str {
		if *v != "" {
			rule[key(name)] = *v
		}
	}
	fs.Visit(func(f *flag.Flag) {
		switch {
		case num[f.Name]:
			rule[key(f.Name)] = f.Value.(flag.Getter).Get()
		case f.Name == "delay" || f.Name == "delay-max" || f.Name == "expires":
			rule[key(f.Name)] = f.Value.String()
		}
	})
	body, err := json.Marshal(rule)
	if err != nil {
		return err
	}
	return c.print(ctx, env, "POST", "/_openatp/faults", body)
}

// runJournal: openatp journal --tenant T [filters] [--count|--clear|--follow].
func runJournal(ctx context.Context, env *cliEnv, args []string) error {
	var c adminClient
	fs := newFlagSet(env, "journal")
	c.register(fs)
	tenant := fs.String("tenant", "", "tenant id or name")
	filters := map[string]*string{}
	for _, f := range []struct{ name, usage string }{
		{"route", `only requests of this method and path pattern, e.g. "GET /api/machines/{id}"`},
		{"status", "only answers of this status (429) or class (5xx)"},
		{"app", "only requests of this application (client id)"},
		{"user", "only requests of this signed-in user"},
		{"since", "only requests at or after this RFC 3339 time"},
		{"request-id", "only the request with this id"},
		{"fault", "true: only requests a fault rule applied to; false: only others; or a rule's id"},
	} {
		filters[f.name] = fs.String(f.name, "", f.usage)
	}
	fs.Uint64("after", 0, "only requests after this sequence number")
	fs.Int("limit", 0, "only the newest N")
	count := fs.Bool("count", false, "print {\"count\": N} of the requests selected")
	clearAll := fs.Bool("clear", false, "forget the tenant's requests")
	follow := fs.Bool("follow", false, "print each request selected as one JSON line, then go on printing new ones until interrupted")
	every := fs.Duration("interval", 250*time.Millisecond, "with --follow: how often to ask for new requests")
	if err := parseFlags(env, fs, args); err != nil {
		return err
	}
	if *tenant == "" {
		return fmt.Errorf("journal: --tenant is required")
	}
	if *count && *clearAll || *count && *follow || *clearAll && *follow {
		return fmt.Errorf("journal: give at most one of --count, --clear and --follow")
	}
	q := url.Values{}
	for name, v := range filters {
		if *v != "" {
			q.Set(strings.ReplaceAll(name, "-", "_"), *v)
		}
	}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "after" || f.Name == "limit" {
			q.Set(f.Name, f.Value.String())
		}
	})
	path := "/_openatp/tenants/" + url.PathEscape(*tenant) + "/journal"
	switch {
	case *clearAll:
		if err := c.ready(ctx); err != nil {
			return err
		}
		_, err := c.do(ctx, "DELETE", path, nil)
		return err
	case *count:
		return c.print(ctx, env, "GET", withQuery(path+"/count", q), nil)
	case !*follow:
		return c.print(ctx, env, "GET", withQuery(path, q), nil)
	}
	if err := c.ready(ctx); err != nil {
		return err
	}
	return c.follow(ctx, env.stdout, path, q, *every)
}

func withQuery(path string, q url.Values) string {
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

// follow prints the journal's selected entries as JSON lines, then asks
// every interval for those after the last printed, until ctx ends.
func (c *adminClient) follow(ctx context.Context, w io.Writer, path string, q url.Values, every time.Duration) error {
	var after uint64
	if v := q.Get("after"); v != "" {
		after, _ = strconv.ParseUint(v, 10, 64)
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		q.Set("after", strconv.FormatUint(after, 10))
		b, err := c.do(ctx, "GET", withQuery(path, q), nil)
		if ctx.Err() != nil {
			return nil // interrupted: a normal end
		}
		if err != nil {
			return err
		}
		var entries []json.RawMessage
		if err := json.Unmarshal(b, &entries); err != nil {
			return err
		}
		for _, e := range entries {
			var s struct{ Seq uint64 }
			if err := json.Unmarshal(e, &s); err != nil {
				return err
			}
			after = max(after, s.Seq)
			if _, err := fmt.Fprintf(w, "%s\n", e); err != nil {
				return err
			}
		}
		q.Del("limit") // the newest N once; then every new one
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}
