package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/sqlstore"
)

// Changes returns what changed in the tenant's content after content
// version since, read in one REPEATABLE READ, read-only transaction (see
// openatp.ChangeStore). NotFound if the tenant does not exist.
func (db *DB) Changes(ctx context.Context, tenantID string, since uint64, limit int) (openatp.Changes, error) {
	tx, err := db.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return openatp.Changes{}, storeError(err, "cannot begin a transaction")
	}
	defer rollback(ctx, tx)
	var tseq, legacy, v int64
	err = tx.QueryRow(ctx, `SELECT t.seq, coalesce((SELECT c.v FROM tenant_content_version c WHERE c.tenant_seq = t.seq), 0),
		(SELECT d.c FROM data_version d) FROM tenants t WHERE t.id = $1`, tenantID).Scan(&tseq, &v, &legacy)
	if errors.Is(err, pgx.ErrNoRows) {
		return openatp.Changes{}, sqlstore.TenantNotFound(tenantID)
	}
	if err != nil {
		return openatp.Changes{}, storeError(err, "cannot read the content version")
	}
	return db.Reader.Changes(ctx, inTxReader(tx), tseq, legacy, v, since, limit)
}

// ScanTenant streams the tenant from Snapshot, whose order (machines by
// id; relations by user, then machine id) PostgreSQL reads without a
// lookup per row: each user's relations are gathered into one
// ScannedUser, each machine by its position in the scan.
func (db *DB) ScanTenant(ctx context.Context, tenantID string, machine func(openatp.Machine) error, user func(openatp.ScannedUser) error) error {
	positions := map[string]uint32{}
	var (
		cur          openatp.ScannedUser
		name, domain string // cur's keys
		have         bool
	)
	flush := func() error {
		if !have {
			return nil
		}
		have = false
		return user(cur)
	}
	err := db.Snapshot(ctx, tenantID, func(m openatp.Machine) error {
		positions[m.ID] = uint32(len(positions))
		return machine(m)
	}, func(r openatp.UserMachine) error {
		n, d := openatp.NameKey(r.AccountName), openatp.NameKey(r.AccountDomain)
		if !have || n != name || d != domain {
			if err := flush(); err != nil {
				return err
			}
			cur, name, domain, have = openatp.ScannedUser{AccountName: r.AccountName, AccountDomain: r.AccountDomain, AccountSID: r.AccountSID}, n, d, true
		}
		p, ok := positions[r.MachineID]
		if !ok {
			return openatp.Errorf(openatp.Internal, "a relation names machine %s, which the scan did not give", r.MachineID)
		}
		cur.Machines = append(cur.Machines, p)
		return nil
	})
	if err != nil {
		return err
	}
	return flush()
}
