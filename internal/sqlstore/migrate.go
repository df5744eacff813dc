package sqlstore

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"time"

	"github.com/openatp/openatp"
)

// MigrationNames returns the names of an engine's migrations, the files
// migrations/*.sql of fsys, in the order they apply in (by name).
func MigrationNames(fsys fs.FS) ([]string, error) {
	names, err := fs.Glob(fsys, "migrations/*.sql")
	for i := range names {
		names[i] = path.Base(names[i])
	}
	return names, err
}

// Migrate applies, in x, the migrations of fsys (MigrationNames) not yet
// recorded in the table schema_migrations (name, applied), which the
// engine has created in x, and records them. script runs the text of a
// migration: several statements, no placeholders. The engine commits x.
func Migrate(ctx context.Context, x Execer, fsys fs.FS, script func(ctx context.Context, text string) error) error {
	names, err := MigrationNames(fsys)
	if err != nil {
		return Internal(err, "listing migrations")
	}
	for _, name := range names {
		n, err := Get(ctx, x, "reading schema_migrations", func() error { return openatp.Errorf(openatp.Internal, "no count of schema_migrations") },
			ScanInt64, "SELECT count(*) FROM schema_migrations WHERE name = ?", name)
		if err != nil {
			return err
		}
		if n > 0 {
			continue
		}
		text, err := fs.ReadFile(fsys, "migrations/"+name)
		if err != nil {
			return Internal(err, "reading migration "+name)
		}
		if err := script(ctx, string(text)); err != nil {
			return x.Error(err, "applying migration "+name)
		}
		if _, err := Exec(ctx, x, "recording migration "+name, "INSERT INTO schema_migrations (name, applied) VALUES (?, ?)", name, time.Now().UnixNano()); err != nil {
			return err
		}
	}
	return nil
}

// CheckMigrations returns an error unless the table schema_migrations, read
// with q, records exactly the migrations of fsys.
func CheckMigrations(ctx context.Context, q Querier, fsys fs.FS) error {
	want, err := MigrationNames(fsys)
	if err != nil {
		return err
	}
	got, err := List(ctx, q, "cannot read schema_migrations", ScanString, "SELECT name FROM schema_migrations ORDER BY name")
	if err != nil {
		return err
	}
	if !slices.Equal(got, want) {
		return fmt.Errorf("applied migrations %v, want %v", got, want)
	}
	return nil
}
