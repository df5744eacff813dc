package postgres

import (
	"context"
	"encoding/json"

	"github.com/jackc/pgx/v5"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/sqlstore"
)

// CreateTenant stores a new tenant; a zero Created becomes db.Now().
// Invalid if the id or name is empty, Conflict if a tenant has the same id
// or the same name ignoring case.
func (db *DB) CreateTenant(ctx context.Context, t openatp.Tenant) error {
	if t.ID == "" || t.Name == "" {
		return openatp.CodedErrorf(openatp.Invalid, "InvalidInput", "a tenant needs an id and a name")
	}
	if t.Created.IsZero() {
		t.Created = db.now()
	}
	created, err := sqlstore.Nanos("created", t.Created)
	if err != nil {
		return err
	}
	ctx, cancel := withTimeout(ctx, queryTimeout)
	defer cancel()
	return db.inTx(ctx, func(tx pgx.Tx) (bool, error) {
		_, err := tx.Exec(ctx, "INSERT INTO tenants (id, name, name_key, created) VALUES ($1, $2, $3, $4)",
			t.ID, t.Name, openatp.NameKey(t.Name), created)
		if err != nil {
			err = storeError(err, "cannot store the tenant")
			if openatp.IsKind(err, openatp.Conflict) {
				return false, &openatp.Error{Kind: openatp.Conflict, Message: "a tenant with id " + sqlstore.Quote(t.ID) + " or name " + sqlstore.Quote(t.Name) + " exists already", Err: err}
			}
			return false, err
		}
		return true, nil
	})
}

// CreateApp stores a new application registration; a zero Created becomes
// db.Now(). Invalid if the client id is empty, NotFound if the tenant does
// not exist, Conflict if an application (of any tenant) has the client id.
func (db *DB) CreateApp(ctx context.Context, a openatp.App) error {
	if a.ClientID == "" {
		return openatp.CodedErrorf(openatp.Invalid, "InvalidInput", "an application needs a client id")
	}
	if a.Created.IsZero() {
		a.Created = db.now()
	}
	created, err := sqlstore.Nanos("created", a.Created)
	if err != nil {
		return err
	}
	roles, _ := json.Marshal(a.Roles)
	scopes, _ := json.Marshal(a.Scopes)
	if a.SecretHash == nil {
		a.SecretHash = []byte{}
	}
	ctx, cancel := withTimeout(ctx, queryTimeout)
	defer cancel()
	return db.inTx(ctx, func(tx pgx.Tx) (bool, error) {
		seq, err := tenantSeq(ctx, tx, a.TenantID, true)
		if err != nil {
			return false, err
		}
		_, err = tx.Exec(ctx, `INSERT INTO apps (client_id, tenant_seq, object_id, name, secret_hash, roles, scopes, created)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, a.ClientID, seq, a.ObjectID, a.Name, a.SecretHash, string(roles), string(scopes), created)
		if err != nil {
			err = storeError(err, "cannot store the application")
			if openatp.IsKind(err, openatp.Conflict) {
				return false, &openatp.Error{Kind: openatp.Conflict, Message: "an application with client id " + sqlstore.Quote(a.ClientID) + " exists already", Err: err}
			}
			return false, err
		}
		return true, nil
	})
}

// collect reads every row of rows (the result of a query that returned
// err) with scan and closes rows; the list is never nil. Errors are the
// store's "msg" (an *openatp.Error of scan, such as a bad stored list, as
// it is).
func collect[T any](rows pgx.Rows, err error, msg string, scan func(sqlstore.Scanner) (T, error)) ([]T, error) {
	if err != nil {
		return nil, storeError(err, msg)
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, storeError(err, msg)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, storeError(err, msg)
	}
	return out, nil
}
