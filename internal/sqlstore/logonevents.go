package sqlstore

import (
	"context"
	"math"
	"math/bits"
	"time"

	"github.com/openatp/openatp"
)

// The logon events kept as rows (hunting.LogonEventStore): table
// logon_events, written by each engine's logon write in the transaction
// of the relations (its bulk path is its own), read and expired here.

// LogonEventRow is the row of logon_events of event l of a batch that
// Aggregate accepted: its time in nanoseconds and its type's bit.
func LogonEventRow(l *openatp.Logon) (ts, typ int64) {
	return ClampNanos(l.Timestamp), LogonTypeBits[l.LogonType]
}

// logonTypeName is the logon type of a bit of LogonTypeBits ("" for 0).
func logonTypeName(bit int64) string {
	if bit <= 0 {
		return ""
	}
	i := bits.TrailingZeros64(uint64(bit))
	if i >= len(openatp.LogonTypes) {
		return ""
	}
	return openatp.LogonTypes[i]
}

// LogonEvents calls yield with the tenant's logon events whose time is
// in [from, to) (a zero time does not bound), in time order, of machines
// the tenant has, reading them as they are yielded. q must not bound the
// read's length: the caller's ctx does. NotFound if the tenant does not
// exist.
func LogonEvents(ctx context.Context, q Querier, tenantID string, from, to time.Time, yield func(openatp.Logon) error) error {
	seq, err := TenantSeq(ctx, q, tenantID)
	if err != nil {
		return err
	}
	lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
	if !from.IsZero() {
		lo = ClampNanos(from)
	}
	if !to.IsZero() {
		hi = ClampNanos(to)
	}
	// The ids of the machines the read touches, read once: the row read
	// then needs no join to machines (a join per event costs more than
	// the read itself). An event of a machine not in ids (deleted, or
	// written after this read) is skipped, as the join would.
	ids := make(map[int64]string)
	err = Each(ctx, q, "cannot read the logon events' machines", func(s Scanner) (seqID, error) {
		var r seqID
		return r, s.Scan(&r.seq, &r.id)
	}, func(r seqID) error { ids[r.seq] = r.id; return nil },
		`SELECT m.seq, m.id FROM machines m WHERE m.tenant_seq = ? AND m.seq IN (
			SELECT e.machine_seq FROM logon_events e WHERE e.tenant_seq = ? AND e.ts >= ? AND e.ts < ?)`, seq, seq, lo, hi)
	if err != nil {
		return err
	}
	return Each(ctx, q, "cannot read the logon events", func(s Scanner) (logonRow, error) {
		var r logonRow
		var ts, typ int64
		err := s.Scan(&r.machineSeq, &ts, &r.l.AccountName, &r.l.AccountDomain, &r.l.AccountSID, &typ)
		r.l.Timestamp, r.l.LogonType = FromNanos(ts), logonTypeName(typ)
		return r, err
	}, func(r logonRow) error {
		id, ok := ids[r.machineSeq]
		if !ok {
			return nil
		}
		r.l.MachineID = id
		return yield(r.l)
	}, `SELECT e.machine_seq, e.ts, e.account_name, e.account_domain, e.account_sid, e.logon_type
		FROM logon_events e WHERE e.tenant_seq = ? AND e.ts >= ? AND e.ts < ? ORDER BY e.ts`, seq, lo, hi)
}

// seqID is a machine's sequence number and id.
type seqID struct {
	seq int64
	id  string
}

// logonRow is a row of logon_events: its machine's sequence number and
// the event without its machine's id.
type logonRow struct {
	machineSeq int64
	l          openatp.Logon
}

// deleteLogonEventsBefore deletes the logon events older than cut, tenant
// by tenant (the primary key leads with the tenant and the time),
// deleteChunk rows a transaction, and returns how many it deleted.
func (w Writer) deleteLogonEventsBefore(ctx context.Context, cut int64) (int64, error) {
	var seqs []int64
	err := w.e.Tx(ctx, func(x Execer) (bool, error) {
		var err error
		seqs, err = List(ctx, x, "cannot read the tenants", ScanInt64, "SELECT seq FROM tenants ORDER BY seq")
		return false, err
	})
	if err != nil {
		return 0, err
	}
	var total int64
	for _, seq := range seqs {
		for {
			var n int64
			err := w.e.Tx(ctx, func(x Execer) (bool, error) {
				var err error
				n, err = Exec(ctx, x, "cannot delete expired logon events", `DELETE FROM logon_events
					WHERE (tenant_seq, ts, machine_seq, account_name, account_domain, logon_type) IN (
						SELECT tenant_seq, ts, machine_seq, account_name, account_domain, logon_type FROM logon_events
						WHERE tenant_seq = ? AND ts < ? ORDER BY ts LIMIT ?)`, seq, cut, deleteChunk)
				return n > 0, err
			})
			if err != nil {
				return total, err
			}
			if total += n; n < deleteChunk {
				break
			}
		}
	}
	return total, nil
}
