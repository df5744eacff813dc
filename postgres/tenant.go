package postgres

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/storeutil"
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
	created, err := storeutil.Nanos("created", t.Created)
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
				return false, &openatp.Error{Kind: openatp.Conflict, Message: "a tenant with id " + storeutil.Quote(t.ID) + " or name " + storeutil.Quote(t.Name) + " exists already", Err: err}
			}
			return false, err
		}
		return true, nil
	})
}

// Tenant finds a tenant by id, or else by name ignoring case. NotFound if
// none.
func (db *DB) Tenant(ctx context.Context, idOrName string) (openatp.Tenant, error) {
	ctx, cancel := withTimeout(ctx, queryTimeout)
	defer cancel()
	var t openatp.Tenant
	var created int64
	err := db.pool.QueryRow(ctx, `SELECT id, name, created FROM tenants
		WHERE id = $1 OR name_key = $2 ORDER BY id = $1 DESC LIMIT 1`, idOrName, openatp.NameKey(idOrName)).Scan(&t.ID, &t.Name, &created)
	if errors.Is(err, pgx.ErrNoRows) {
		return t, openatp.CodedErrorf(openatp.NotFound, "ResourceNotFound", "tenant %s not found", storeutil.Quote(idOrName))
	}
	if err != nil {
		return t, storeError(err, "cannot read the tenant")
	}
	t.Created = storeutil.FromNanos(created)
	return t, nil
}

// Tenants lists all tenants ordered by name (byte order), then id.
func (db *DB) Tenants(ctx context.Context) ([]openatp.Tenant, error) {
	ctx, cancel := withTimeout(ctx, queryTimeout)
	defer cancel()
	rows, err := db.pool.Query(ctx, "SELECT id, name, created FROM tenants ORDER BY name, id")
	return collect(rows, err, "cannot list tenants", storeutil.ScanTenant)
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
	created, err := storeutil.Nanos("created", a.Created)
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
				return false, &openatp.Error{Kind: openatp.Conflict, Message: "an application with client id " + storeutil.Quote(a.ClientID) + " exists already", Err: err}
			}
			return false, err
		}
		return true, nil
	})
}

// App finds an application of a tenant by client id. NotFound if the tenant
// has none with that id.
func (db *DB) App(ctx context.Context, tenantID, clientID string) (openatp.App, error) {
	ctx, cancel := withTimeout(ctx, queryTimeout)
	defer cancel()
	a, err := storeutil.ScanApp(db.pool.QueryRow(ctx, "SELECT "+storeutil.AppColumns+` FROM apps a JOIN tenants t ON t.seq = a.tenant_seq
		WHERE a.client_id = $1 AND t.id = $2`, clientID, tenantID))
	if errors.Is(err, pgx.ErrNoRows) {
		return a, openatp.CodedErrorf(openatp.NotFound, "ResourceNotFound", "application %s not found in tenant %s", storeutil.Quote(clientID), storeutil.Quote(tenantID))
	}
	if err != nil {
		return a, storeError(err, "cannot read the application")
	}
	return a, nil
}

// Apps lists the applications of a tenant ordered by name (byte order),
// then client id. NotFound if the tenant does not exist.
func (db *DB) Apps(ctx context.Context, tenantID string) ([]openatp.App, error) {
	ctx, cancel := withTimeout(ctx, queryTimeout)
	defer cancel()
	if _, err := tenantSeq(ctx, db.pool, tenantID, false); err != nil {
		return nil, err
	}
	rows, err := db.pool.Query(ctx, "SELECT "+storeutil.AppColumns+` FROM apps a JOIN tenants t ON t.seq = a.tenant_seq
		WHERE t.id = $1 ORDER BY a.name, a.client_id`, tenantID)
	return collect(rows, err, "cannot list applications", storeutil.ScanApp)
}

// collect reads every row of rows (the result of a query that returned
// err) with scan and closes rows; the list is never nil. Errors are the
// store's "msg" (an *openatp.Error of scan, such as a bad stored list, as
// it is).
func collect[T any](rows pgx.Rows, err error, msg string, scan func(storeutil.Scanner) (T, error)) ([]T, error) {
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
