package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/sqlite"
)

// cliEnv is the outside world of one run: environment and standard streams.
type cliEnv struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

func versionString() string { return openatp.Version }

// storeFlags are the flags every command shares.
type storeFlags struct {
	data string
	db   string
}

func (s *storeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&s.data, "data", "./openatp-data", "data directory (SQLite file, TLS files, demo credentials)")
	fs.StringVar(&s.db, "db", "", "database: a SQLite file path (default <data>/openatp.db)")
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
	if strings.HasPrefix(s.db, "postgres://") || strings.HasPrefix(s.db, "postgresql://") {
		return nil, fmt.Errorf("--db %s: PostgreSQL is not supported by this version yet", "postgres://…")
	}
	return sqlite.Open(ctx, s.dbPath())
}

// newFlagSet returns a flag set that reports errors to env.stderr.
func newFlagSet(env *cliEnv, name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	return fs
}

// parseFlags parses args, then fills every flag not given on the command
// line from the environment variable OPENATP_<NAME>.
func parseFlags(env *cliEnv, fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || err != nil {
			return
		}
		key := "OPENATP_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v := env.getenv(key); v != "" {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("%s: %w", key, e)
			}
		}
	})
	return err
}

// printJSON writes v as one indented JSON object.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

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

// tenantAppStore is the part of the store that reads tenants and apps.
type tenantAppStore interface {
	Tenant(ctx context.Context, idOrName string) (openatp.Tenant, error)
	App(ctx context.Context, tenantID, clientID string) (openatp.App, error)
}
