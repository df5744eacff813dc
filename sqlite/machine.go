package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/sqlstore"
)

// The head and tail of the multi-row UPSERT of UpsertMachines.
var (
	machineHead = "INSERT INTO machines (tenant_seq, " + sqlstore.MachineInsertColumns + ")"
	machineTail = "ON CONFLICT (tenant_seq, id) DO UPDATE SET " + sqlstore.MachineUpdateSet
)

// machineWidth is the number of parameters of a row of machineHead.
const machineWidth = 23

// UpsertMachines inserts or replaces machines by id in one transaction: all
// or nothing. A later machine of the batch replaces an earlier one with the
// same id (and keeps its relations). Each machine is normalized (a copy; ms
// is not changed), and each address it reports is recorded in the IP
// history (of every machine of the batch, replaced or not). Invalid, naming
// the index of the machine (in the message and an openatp.ItemError), if
// one does not normalize or has a time out of range; NotFound if the tenant
// does not exist.
func (db *DB) UpsertMachines(ctx context.Context, tenantID string, ms []openatp.Machine) error {
	// Validate and encode before taking the write lock.
	e, err := encodeMachines(ms, db.now())
	if err != nil {
		return err
	}
	return db.inTx(ctx, func(tx *sql.Tx, q conn) error {
		seq, err := sqlstore.TenantSeq(ctx, q, tenantID)
		if err != nil || len(ms) == 0 {
			return err
		}
		if err := writeMachines(ctx, tx, seq, e); err != nil {
			return err
		}
		var log sqlstore.ChangeLog
		e.log(&log)
		return bumpContent(ctx, tx, seq, &log)
	})
}

// encoded is a batch of machines ready to be written: the parameters of
// their rows of machineHead (but for each row's tenant), and their rows of
// the IP history, sorted.
type encoded struct {
	n    int
	args []any
	ips  []sqlstore.IPSeen
}

// add encodes the normalized machine m; now is when it is written.
func (e *encoded) add(m *openatp.Machine, now time.Time) error {
	start := len(e.args)
	e.args = append(e.args, make([]any, machineWidth)...)
	if err := machineArgs(e.args[start:], m); err != nil {
		e.args = e.args[:start]
		return err
	}
	ips, err := sqlstore.AppendIPs(e.ips, m, now)
	if err != nil {
		e.args = e.args[:start]
		return err
	}
	e.ips = ips
	e.n++
	return nil
}

// log records the machines of e in the change feed.
func (e *encoded) log(log *sqlstore.ChangeLog) {
	for i := range e.n {
		log.Machine(e.args[i*machineWidth+1].(string))
	}
}

// encodeMachines normalizes copies of ms and encodes them, written at
// now. Invalid, naming the index of the machine, if one does not normalize
// or has a time out of range.
func encodeMachines(ms []openatp.Machine, now time.Time) (*encoded, error) {
	e := &encoded{args: make([]any, 0, machineWidth*len(ms)), ips: make([]sqlstore.IPSeen, 0, len(ms))}
	for i := range ms {
		m := ms[i]
		if err := m.Normalize(); err != nil {
			return nil, sqlstore.InvalidItem("machine", i, err)
		}
		if err := e.add(&m, now); err != nil {
			return nil, sqlstore.InvalidItem("machine", i, err)
		}
	}
	e.ips = sqlstore.SortIPs(e.ips)
	return e, nil
}

// The multi-row insert of the IP history: a row written again is skipped.
const (
	ipHead = `INSERT INTO machine_ips (tenant_seq, ip, seen, machine_id)`
	ipTail = `ON CONFLICT DO NOTHING`
)

// writeMachines upserts the machines of e, and adds their IP history, in
// tx.
func writeMachines(ctx context.Context, tx *sql.Tx, tenantSeq int64, e *encoded) error {
	b := newBulk(tx, machineHead, machineWidth, machineTail)
	for i := range e.n {
		row := e.args[i*machineWidth : (i+1)*machineWidth]
		row[0] = tenantSeq
		if err := b.add(ctx, row...); err != nil {
			return storeError(err, "cannot store machines")
		}
	}
	if err := b.flush(ctx); err != nil {
		return storeError(err, "cannot store machines")
	}
	b = newBulk(tx, ipHead, 4, ipTail)
	for _, r := range e.ips {
		if err := b.add(ctx, tenantSeq, r.IP, r.Seen, r.MachineID); err != nil {
			return storeError(err, "cannot store the IP history")
		}
	}
	if err := b.flush(ctx); err != nil {
		return storeError(err, "cannot store the IP history")
	}
	return nil
}

// machineArgs fills args with the parameters of one row of machineHead,
// but for args[0], the tenant.
func machineArgs(args []any, m *openatp.Machine) error {
	cells, err := sqlstore.EncodeMachine(m)
	if err != nil {
		return err
	}
	var aad sql.NullBool
	if m.IsAADJoined != nil {
		aad = sql.NullBool{Bool: *m.IsAADJoined, Valid: true}
	}
	copy(args, []any{nil, m.ID, str(m.ComputerDNSName), nullInt(cells.FirstSeen), nullInt(cells.LastSeen), str(m.OSPlatform),
		str(m.OSVersion), str(m.OSProcessor), str(m.Version), str(m.LastIPAddress), str(m.LastExternalIPAddress),
		str(m.AgentVersion), nullInt(m.OSBuild), str(m.HealthStatus), str(m.OnboardingStatus), str(m.RiskScore),
		str(m.ExposureLevel), aad, str(m.AADDeviceID), cells.Tags, str(m.DeviceValue), cells.IPAddresses,
		str(m.OSArchitecture)})
	return nil
}

// nullInt converts an optional integer for storage.
func nullInt(n *int64) sql.NullInt64 {
	if n == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: *n, Valid: true}
}

// str converts an optional string for storage.
func str(s *string) sql.NullString {
	if s == nil {
		return sql.NullString{}
	}
	return sql.NullString{String: *s, Valid: true}
}

// scanMachines returns a scan of rows of sqlstore.MachineColumns.
func scanMachines() func(sqlstore.Scanner) (openatp.Machine, error) {
	var s machineScanner
	return s.scan
}

// machineScanner reads rows of sqlstore.MachineColumns, reusing its buffers.
type machineScanner struct {
	dns, platform, osVersion, processor, version, ip, extIP, agent sql.NullString
	health, onboarding, risk, exposure, aadID, value, arch         sql.NullString
	first, last, build                                             sql.NullInt64
	aad                                                            sql.NullBool
	tags, ips                                                      []byte
	dest                                                           []any
}

func (s *machineScanner) scan(row sqlstore.Scanner) (openatp.Machine, error) {
	var m openatp.Machine
	if s.dest == nil {
		s.dest = []any{nil, &s.dns, &s.first, &s.last, &s.platform, &s.osVersion, &s.processor, &s.version,
			&s.ip, &s.extIP, &s.agent, &s.build, &s.health, &s.onboarding, &s.risk, &s.exposure, &s.aad, &s.aadID,
			&s.tags, &s.value, &s.ips, &s.arch}
	}
	s.dest[0] = &m.ID
	if err := row.Scan(s.dest...); err != nil {
		return m, err
	}
	m.ComputerDNSName = ptr(s.dns)
	m.FirstSeen = timePtr(s.first)
	m.LastSeen = timePtr(s.last)
	m.OSPlatform = ptr(s.platform)
	m.OSVersion = ptr(s.osVersion)
	m.OSProcessor = ptr(s.processor)
	m.Version = ptr(s.version)
	m.LastIPAddress = ptr(s.ip)
	m.LastExternalIPAddress = ptr(s.extIP)
	m.AgentVersion = ptr(s.agent)
	if s.build.Valid {
		m.OSBuild = openatp.Ptr(s.build.Int64)
	}
	m.HealthStatus = ptr(s.health)
	m.OnboardingStatus = ptr(s.onboarding)
	m.RiskScore = ptr(s.risk)
	m.ExposureLevel = ptr(s.exposure)
	if s.aad.Valid {
		m.IsAADJoined = openatp.Ptr(s.aad.Bool)
	}
	m.AADDeviceID = ptr(s.aadID)
	var err error
	if m.MachineTags, err = sqlstore.DecodeTags(s.tags); err != nil {
		return m, internal(err, "bad machine_tags of machine "+m.ID)
	}
	m.DeviceValue = ptr(s.value)
	if m.IPAddresses, err = sqlstore.DecodeIPAddresses(s.ips); err != nil {
		return m, internal(err, "bad ip_addresses of machine "+m.ID)
	}
	m.OSArchitecture = ptr(s.arch)
	return m, nil
}

func ptr(s sql.NullString) *string {
	if !s.Valid {
		return nil
	}
	return &s.String
}

func timePtr(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := sqlstore.FromNanos(n.Int64)
	return &t
}
