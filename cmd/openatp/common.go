package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/postgres"
	"github.com/openatp/openatp/sqlite"
)

// cliEnv is the outside world of one run: environment and standard streams.
type cliEnv struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	// listenHook, if set, opens serve's listeners instead of net.Listen
	// (tests give them faults).
	listenHook func(network, address string) (net.Listener, error)
	// self is how the lines printed for the user run this program again
	// (selfCommand); empty means "openatp".
	self string
}

// selfCmd is how the lines printed for the user run this program again.
func (e *cliEnv) selfCmd() string {
	if e.self == "" {
		return "openatp"
	}
	return e.self
}

// listen opens a listener of serve.
func (e *cliEnv) listen(network, address string) (net.Listener, error) {
	if e.listenHook != nil {
		return e.listenHook(network, address)
	}
	return net.Listen(network, address)
}

// storeFlags are the flags every command shares.
type storeFlags struct {
	data   string
	db     string
	config string
}

func (s *storeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&s.data, "data", "./openatp-data", "data directory (SQLite file, TLS files, demo credentials)")
	fs.StringVar(&s.db, "db", "", "database: a SQLite file path (default <data>/openatp.db), or postgres://user:pass@host:port/db for PostgreSQL")
	fs.StringVar(&s.config, "config", "", "JSON file of flag values ({\"addr\": \":8080\", ...}); flags and OPENATP_<FLAG> variables override it")
}

// isPostgres reports whether a --db value names a PostgreSQL database.
func isPostgres(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

func (s *storeFlags) dbPath() string {
	if s.db != "" {
		return s.db
	}
	return filepath.Join(s.data, "openatp.db")
}

// open creates the data directory if needed and opens the store.
func (s *storeFlags) open(ctx context.Context) (openatp.Store, error) {
	if err := os.MkdirAll(s.data, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	if isPostgres(s.db) {
		return postgres.Open(ctx, s.db)
	}
	return sqlite.Open(ctx, s.dbPath())
}

// newFlagSet returns a flag set that reports errors to env.stderr. Its
// usage says what the command does (commandDocs) and lists its flags.
func newFlagSet(env *cliEnv, name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	fs.Usage = func() { printCommandUsage(fs.Output(), fs) }
	return fs
}

// parseFlags parses args, then fills every flag not given on the command
// line from the environment variable OPENATP_<NAME>, and every flag set by
// neither from the config file (--config, or OPENATP_CONFIG), if any.
//
// Asked for help (-h, --help), it prints the usage on stdout and returns
// flag.ErrHelp, which runCLI turns into success; after a bad flag, it prints
// the usage on stderr.
func parseFlags(env *cliEnv, fs *flag.FlagSet, args []string) error {
	usage := fs.Usage
	fs.Usage = func() {}
	err := fs.Parse(args)
	fs.Usage = usage
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(env.stdout)
		fs.Usage()
		fs.SetOutput(env.stderr)
		return err
	}
	if err != nil {
		fs.Usage()
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || err != nil {
			return
		}
		key := "OPENATP_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v := env.getenv(key); v != "" {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("%s: %w", key, e)
			}
			set[f.Name] = true
		}
	})
	if err != nil {
		return err
	}
	if f := fs.Lookup("config"); f != nil && f.Value.String() != "" {
		return applyConfig(fs, f.Value.String(), set)
	}
	return nil
}

// applyConfig sets the flags of fs not in set from the config file at
// path: one JSON object whose keys are flag names and whose values are
// strings, numbers, booleans, or arrays of those for repeatable flags. Keys
// that name no flag of this command are ignored, so that one file can
// serve every command.
func applyConfig(fs *flag.FlagSet, path string, set map[string]bool) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("--config: %w", err)
	}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return fmt.Errorf("--config %s: not a JSON object: %w", path, err)
	}
	names := make([]string, 0, len(m))
	for name := range m {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if fs.Lookup(name) == nil || set[name] || name == "config" {
			continue
		}
		_, objects := fs.Lookup(name).Value.(*jsonFlag)
		values, ok := configValues(m[name], objects)
		if !ok {
			return fmt.Errorf("--config %s: %q: want a string, number, boolean, object (a fault rule) or array of them", path, name)
		}
		for _, v := range values {
			if err := fs.Set(name, v); err != nil {
				return fmt.Errorf("--config %s: %q: %w", path, name, err)
			}
		}
	}
	return nil
}

// configValues returns the flag values of one config file value. Objects
// are taken for a jsonFlag only, given to it as their JSON text.
func configValues(v any, objects bool) ([]string, bool) {
	switch v := v.(type) {
	case nil:
		return nil, true
	case map[string]any:
		b, err := json.Marshal(v)
		return []string{string(b)}, objects && err == nil
	case string:
		return []string{v}, true
	case json.Number:
		return []string{v.String()}, true
	case bool:
		return []string{strconv.FormatBool(v)}, true
	case []any:
		var out []string
		for _, e := range v {
			if _, isList := e.([]any); isList {
				return nil, false
			}
			vs, ok := configValues(e, objects)
			if !ok {
				return nil, false
			}
			out = append(out, vs...)
		}
		return out, true
	}
	return nil, false
}

// printJSON writes v as one indented JSON object.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printed prints a result as JSON, or returns the error.
func printed(env *cliEnv, v any, err error) error {
	if err != nil {
		return err
	}
	return printJSON(env.stdout, v)
}

// jsonFlag is a repeatable flag whose values are JSON objects, kept whole
// as text; in the config file, its values are objects.
type jsonFlag []string

func (l *jsonFlag) String() string     { return strings.Join(*l, " ") }
func (l *jsonFlag) Set(v string) error { *l = append(*l, v); return nil }

// multiFlag is a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error {
	for p := range strings.SplitSeq(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*m = append(*m, p)
		}
	}
	return nil
}

// timeFlag is a flag of an RFC 3339 time; the zero time when not given.
type timeFlag struct{ t time.Time }

func (f *timeFlag) String() string {
	if f == nil || f.t.IsZero() {
		return ""
	}
	return f.t.Format(time.RFC3339Nano)
}

func (f *timeFlag) Set(s string) error {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("%q is not an RFC 3339 time such as 2026-01-01T00:00:00Z", s)
	}
	f.t = t
	return nil
}

// tenantAppStore is the part of the store that reads tenants and apps.
type tenantAppStore interface {
	Tenant(ctx context.Context, idOrName string) (openatp.Tenant, error)
	App(ctx context.Context, tenantID, clientID string) (openatp.App, error)
}

// tenantCmd holds what every command about one tenant parses: the store
// and the tenant.
type tenantCmd struct {
	sf     storeFlags
	tenant string
	fs     *flag.FlagSet
}

func newTenantCmd(env *cliEnv, name string) *tenantCmd {
	c := &tenantCmd{fs: newFlagSet(env, name)}
	c.sf.register(c.fs)
	c.fs.StringVar(&c.tenant, "tenant", "", "tenant id or name")
	return c
}

// open parses args, opens the store and resolves the tenant.
func (c *tenantCmd) open(ctx context.Context, env *cliEnv, args []string) (openatp.Store, openatp.Tenant, error) {
	if err := parseFlags(env, c.fs, args); err != nil {
		return nil, openatp.Tenant{}, err
	}
	store, err := c.sf.open(ctx)
	if err != nil {
		return nil, openatp.Tenant{}, err
	}
	t, err := store.Tenant(ctx, c.tenant)
	if err != nil {
		store.Close()
		return nil, openatp.Tenant{}, tenantError(c.tenant, err)
	}
	return store, t, nil
}

// tenantError is the error of looking up tenant idOrName: the store's
// NotFound already names it ("tenant "x" not found"), other errors do not.
func tenantError(idOrName string, err error) error {
	if openatp.IsKind(err, openatp.NotFound) {
		return fmt.Errorf("%w (openatp tenant list shows the tenants)", err)
	}
	return fmt.Errorf("tenant %q: %w", idOrName, err)
}

// given reports which flags the command line set.
func (c *tenantCmd) given() map[string]bool {
	set := map[string]bool{}
	c.fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set
}

// ptr returns &v when the flag was given, else nil (leave it as it is).
func ptr[T any](set map[string]bool, name string, v T) *T {
	if !set[name] {
		return nil
	}
	return &v
}

// startCPUProfile writes a Go CPU profile of the rest of the run to path
// (diagnostics; nothing when path is empty). The returned func stops it.
func startCPUProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}
