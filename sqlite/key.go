package sqlite

import (
	"context"
	"database/sql"

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
	return db.inTx(ctx, func(tx *sql.Tx, q conn) error {
		if k.Active {
			if _, err := tx.ExecContext(ctx, "UPDATE signing_keys SET active = 0 WHERE active"); err != nil {
				return storeError(err, "cannot deactivate signing keys")
			}
		}
		_, err := tx.ExecContext(ctx, "INSERT INTO signing_keys (id, private_pem, created, active) VALUES (?, ?, ?, ?)",
			k.ID, k.PrivatePEM, created, k.Active)
		if isUniqueViolation(err) {
			return &openatp.Error{Kind: openatp.Conflict, Message: "a signing key with id " + sqlstore.Quote(k.ID) + " exists already", Err: err}
		}
		if err != nil {
			return storeError(err, "cannot store the signing key")
		}
		return nil
	})
}

// SetSettingIfAbsent stores value under name unless a value exists, and
// returns the value now stored. It is atomic across processes: of concurrent
// callers, one value wins and all of them get it back.
func (db *DB) SetSettingIfAbsent(ctx context.Context, name, value string) (string, error) {
	var v string
	err := db.inTx(ctx, func(tx *sql.Tx, q conn) error {
		if _, err := tx.ExecContext(ctx, "INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING", name, value); err != nil {
			return storeError(err, "cannot store the setting")
		}
		if err := tx.QueryRowContext(ctx, "SELECT value FROM settings WHERE name = ?", name).Scan(&v); err != nil {
			return storeError(err, "cannot read the setting")
		}
		return nil
	})
	return v, err
}

// SetSetting stores value under name, replacing any previous value.
func (db *DB) SetSetting(ctx context.Context, name, value string) error {
	_, err := db.wdb.ExecContext(ctx, "INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value", name, value)
	if err != nil {
		return storeError(err, "cannot store the setting")
	}
	return nil
}
