// Package keeper keeps the read model's checkpoints in a directory, one
// file per tenant (readmodel/checkpoint's format): it loads them at start,
// before the tenants are built, and writes those whose content moved,
// every interval and once more at Close. A checkpoint that cannot be
// loaded is logged and left to the next write; the tenant is built from
// the store as without one.
package keeper

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/lifetime"
	"github.com/openatp/openatp/readmodel"
)

// Flags are serve's flags of checkpoints.
type Flags struct {
	Dir      string // a directory, "auto" or "off"
	Interval time.Duration
}

// Register defines --checkpoint and --checkpoint-interval.
func (f *Flags) Register(fs *flag.FlagSet) {
	fs.StringVar(&f.Dir, "checkpoint", "auto", "directory of the read model's checkpoints, loaded at start and written every --checkpoint-interval and at shutdown; auto: <db>.checkpoints beside a SQLite file, none with PostgreSQL; off: none")
	fs.DurationVar(&f.Interval, "checkpoint-interval", 5*time.Minute, "how often the checkpoints of the tenants whose content changed are written")
}

// Start starts the keeper the flags ask for, of the store whose SQLite
// file is dbPath (unless postgres): nil for none (a nil Keeper loads and
// writes nothing).
func (f *Flags) Start(ctx context.Context, dbPath string, postgres bool, cfg Config) (*Keeper, error) {
	if f.Interval <= 0 {
		return nil, fmt.Errorf("--checkpoint-interval must be more than 0, not %v", f.Interval)
	}
	switch cfg.Dir, cfg.Interval = f.Dir, f.Interval; {
	case f.Dir == "off" || f.Dir == "auto" && postgres:
		return nil, nil
	case f.Dir == "auto":
		cfg.Dir = dbPath + ".checkpoints"
	}
	k, err := Start(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("--checkpoint: %w", err)
	}
	return k, nil
}

// Config is what a Keeper keeps.
type Config struct {
	Dir      string // created if missing
	Interval time.Duration
	Model    *readmodel.Model
	Store    openatp.TenantStore
	Logger   *slog.Logger
}

// Keeper writes checkpoints until Close.
type Keeper struct {
	cfg  Config
	g    *lifetime.Group
	mu   sync.Mutex        // one write at a time; guards done
	done map[string]uint64 // tenant → the content version written last
}

// Start starts writing the model's checkpoints every cfg.Interval.
func Start(ctx context.Context, cfg Config) (*Keeper, error) {
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	k := &Keeper{cfg: cfg, g: lifetime.New(ctx), done: map[string]uint64{}}
	k.g.Go(func(ctx context.Context) error {
		t := time.NewTicker(cfg.Interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
				k.WriteAll(ctx)
			}
		}
	})
	return k, nil
}

// Path is the file of a tenant's checkpoint.
func (k *Keeper) Path(tenantID string) string { return File(k.cfg.Dir, tenantID) }

// File is the file of a tenant's checkpoint in dir.
func File(dir, tenantID string) string {
	sum := sha256.Sum256([]byte(tenantID))
	return filepath.Join(dir, hex.EncodeToString(sum[:16])+".checkpoint")
}

// Load loads the checkpoint of every tenant that has one.
func (k *Keeper) Load(ctx context.Context) {
	if k == nil {
		return
	}
	ts, err := k.cfg.Store.Tenants(ctx)
	if err != nil {
		return
	}
	for _, t := range ts {
		v, err := k.cfg.Model.LoadCheckpoint(ctx, t.ID, k.Path(t.ID))
		switch {
		case err == nil && v != 0:
			k.mu.Lock()
			k.done[t.ID] = v // not written again until it moves
			k.mu.Unlock()
		case errors.Is(err, os.ErrNotExist) || ctx.Err() != nil:
		case err != nil:
			k.cfg.Logger.Warn("index checkpoint ignored: the tenant is built from the store", "tenant", t.ID, "reason", err)
		}
	}
}

// WriteAll writes the checkpoint of every tenant whose view's content
// moved since the last one written.
func (k *Keeper) WriteAll(ctx context.Context) {
	ts, err := k.cfg.Store.Tenants(ctx)
	if err != nil {
		k.cfg.Logger.Warn("index checkpoints not written: the tenants cannot be listed", "error", err)
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, t := range ts {
		start := time.Now()
		v, err := k.cfg.Model.WriteCheckpoint(ctx, t.ID, k.Path(t.ID), k.done[t.ID])
		switch {
		case err != nil:
			k.cfg.Logger.Warn("index checkpoint not written", "tenant", t.ID, "error", err)
		case v != k.done[t.ID]:
			k.done[t.ID] = v
			k.cfg.Logger.Info("index checkpoint written", "tenant", t.ID, "content_version", v, "duration", time.Since(start))
		}
	}
}

// Close stops the periodic writes and writes every checkpoint once more.
func (k *Keeper) Close() error {
	if k == nil {
		return nil
	}
	err := k.g.Close()
	k.WriteAll(context.Background())
	return err
}

// Warm loads k's checkpoints (none for a nil Keeper), then builds every
// tenant's index now rather than on its first request (answers come from
// the store until then), until ctx ends.
func Warm(ctx context.Context, k *Keeper, store openatp.TenantStore, model *readmodel.Model) {
	k.Load(ctx)
	ts, err := store.Tenants(ctx)
	if err != nil {
		return
	}
	for _, t := range ts {
		if err := model.Warm(ctx, t.ID); err != nil {
			return
		}
	}
}
