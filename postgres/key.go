package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/sqlstore"
)

// AddSigningKey stores a key; a zero Created becomes db.Now(). When k.Active,
// the other keys are deactivated in the same transaction. Invalid if the id
// is empty, Conflict if a key has the same id.
func (db *DB) AddSigningKey(ctx context.Context, k openatp.SigningKey) error {
	if k.ID == "" {
		return openatp.CodedErrorf(openatp.Invalid, "InvalidInput", "a signing key needs an id")
	}
	if k.Created.IsZero() {
		k.Created = db.now()
	}
	created, err := sqlstore.Nanos("created", k.Created)
	if err != nil {
		return err
	}
	if k.PrivatePEM == nil {
		k.PrivatePEM = []byte{}
	}
	ctx, cancel := withTimeout(ctx, queryTimeout)
	defer cancel()
	return db.inTx(ctx, func(tx pgx.Tx) (bool, error) {
		if k.Active {
			if _, err := tx.Exec(ctx, "UPDATE signing_keys SET active = false WHERE active"); err != nil {
				return false, storeError(err, "cannot deactivate signing keys")
			}
		}
		_, err := tx.Exec(ctx, "INSERT INTO signing_keys (id, private_pem, created, active) VALUES ($1, $2, $3, $4)",
			k.ID, k.PrivatePEM, created, k.Active)
		if err != nil {
			err = storeError(err, "cannot store the signing key")
			if openatp.IsKind(err, openatp.Conflict) {
				return false, &openatp.Error{Kind: openatp.Conflict, Message: "a signing key with id " + sqlstore.Quote(k.ID) + " exists already", Err: err}
			}
			return false, err
		}
		return true, nil
	})
}

// SetSettingIfAbsent stores value under name unless a value exists, and
// returns the value now stored. It is atomic across replicas: of concurrent
// callers, one value wins and all of them get it back (an INSERT that meets
// a concurrent one waits for it to commit, then does nothing; the SELECT
// after it, a new statement, sees the winner).
func (db *DB) SetSettingIfAbsent(ctx context.Context, name, value string) (string, error) {
	ctx, cancel := withTimeout(ctx, queryTimeout)
	defer cancel()
	var v string
	err := db.inTx(ctx, func(tx pgx.Tx) (bool, error) {
		tag, err := tx.Exec(ctx, "INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING", name, value)
		if err != nil {
			return false, storeError(err, "cannot store the setting")
		}
		if err := tx.QueryRow(ctx, "SELECT value FROM settings WHERE name = $1", name).Scan(&v); err != nil {
			return false, storeError(err, "cannot read the setting")
		}
		return tag.RowsAffected() > 0, nil
	})
	return v, err
}

// SetSetting stores value under name, replacing any previous value.
func (db *DB) SetSetting(ctx context.Context, name, value string) error {
	ctx, cancel := withTimeout(ctx, queryTimeout)
	defer cancel()
	return db.inTx(ctx, func(tx pgx.Tx) (bool, error) {
		_, err := tx.Exec(ctx, "INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value", name, value)
		if err != nil {
			return false, storeError(err, "cannot store the setting")
		}
		return true, nil
	})
}
