package postgres

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/sqlstore"
)

// upsertMachines inserts or replaces a batch of machines given as one array
// per column: one statement and one round trip for the whole batch.
var upsertMachines = "INSERT INTO machines AS m (tenant_seq, " + sqlstore.MachineInsertColumns + `)
SELECT $1, * FROM unnest($2::text[], $3::text[], $4::int8[], $5::int8[], $6::text[], $7::text[], $8::text[],
	$9::text[], $10::text[], $11::text[], $12::text[], $13::int8[], $14::text[], $15::text[], $16::text[],
	$17::text[], $18::bool[], $19::text[], $20::text[], $21::text[], $22::text[], $23::text[])
ON CONFLICT (tenant_seq, id) DO UPDATE SET ` + sqlstore.MachineUpdateSet

// chunkRows is how many rows one array statement carries: large enough that
// per-statement costs vanish, small enough to keep one message modest.
const chunkRows = 10000

// machineCols holds a batch of machines as one slice per column, and
// their rows of the IP history, sorted.
type machineCols struct {
	history []sqlstore.IPSeen

	id                                                      []string
	dns, platform, osVersion, processor, version, ip, extIP []*string
	agent, health, onboarding, risk, exposure, aadID        []*string
	tags, value, ips, arch                                  []*string
	first, last, build                                      []*int64
	aad                                                     []*bool
}

func (c *machineCols) add(m *openatp.Machine) error {
	cells, err := sqlstore.EncodeMachine(m)
	if err != nil {
		return err
	}
	c.id = append(c.id, m.ID)
	c.dns = append(c.dns, m.ComputerDNSName)
	c.first = append(c.first, cells.FirstSeen)
	c.last = append(c.last, cells.LastSeen)
	c.platform = append(c.platform, m.OSPlatform)
	c.osVersion = append(c.osVersion, m.OSVersion)
	c.processor = append(c.processor, m.OSProcessor)
	c.version = append(c.version, m.Version)
	c.ip = append(c.ip, m.LastIPAddress)
	c.extIP = append(c.extIP, m.LastExternalIPAddress)
	c.agent = append(c.agent, m.AgentVersion)
	c.build = append(c.build, m.OSBuild)
	c.health = append(c.health, m.HealthStatus)
	c.onboarding = append(c.onboarding, m.OnboardingStatus)
	c.risk = append(c.risk, m.RiskScore)
	c.exposure = append(c.exposure, m.ExposureLevel)
	c.aad = append(c.aad, m.IsAADJoined)
	c.aadID = append(c.aadID, m.AADDeviceID)
	c.tags = append(c.tags, &cells.Tags)
	c.value = append(c.value, m.DeviceValue)
	c.ips = append(c.ips, &cells.IPAddresses)
	c.arch = append(c.arch, m.OSArchitecture)
	return nil
}

// args returns the parameters of upsertMachines for rows [i, j).
func (c *machineCols) args(tenantSeq int64, i, j int) []any {
	return []any{tenantSeq, c.id[i:j], c.dns[i:j], c.first[i:j], c.last[i:j], c.platform[i:j], c.osVersion[i:j],
		c.processor[i:j], c.version[i:j], c.ip[i:j], c.extIP[i:j], c.agent[i:j], c.build[i:j], c.health[i:j],
		c.onboarding[i:j], c.risk[i:j], c.exposure[i:j], c.aad[i:j], c.aadID[i:j], c.tags[i:j], c.value[i:j],
		c.ips[i:j], c.arch[i:j]}
}

// UpsertMachines inserts or replaces machines by id in one transaction: all
// or nothing. A later machine of the batch replaces an earlier one with the
// same id (and keeps its relations). Each machine is normalized (a copy; ms
// is not changed), and each address it reports is recorded in the IP
// history (of every machine of the batch, replaced or not). Invalid, naming
// the index of the machine (in the message and an openatp.ItemError), if
// one does not normalize or has a time out of range; NotFound if the tenant
// does not exist.
func (db *DB) UpsertMachines(ctx context.Context, tenantID string, ms []openatp.Machine) error {
	cols, err := encodeMachines(ms, db.now())
	if err != nil {
		return err
	}
	return db.inTx(ctx, func(tx pgx.Tx) (bool, error) {
		seq, err := tenantSeq(ctx, tx, tenantID, true)
		if err != nil || cols.len() == 0 {
			return false, err
		}
		if err := lockContent(ctx, tx, seq, false); err != nil {
			return false, err
		}
		if err := writeMachines(ctx, tx, seq, cols); err != nil {
			return false, err
		}
		var log sqlstore.ChangeLog
		for _, id := range cols.id {
			log.Machine(id)
		}
		return true, bumpContent(ctx, tx, seq, &log)
	})
}

// encodeMachines normalizes copies of ms and returns them as columns,
// written at now. One statement cannot update a row twice: only the last
// machine of each id is kept (the IP history has the addresses of all).
// Rows are in id order, so that concurrent batches lock rows in one order.
// Invalid, naming the index of the machine, if one does not normalize or
// has a time out of range.
func encodeMachines(ms []openatp.Machine, now time.Time) (*machineCols, error) {
	last := make(map[string]int, len(ms))
	norm := make([]openatp.Machine, len(ms))
	cols := &machineCols{history: make([]sqlstore.IPSeen, 0, len(ms))}
	for i := range ms {
		norm[i] = ms[i]
		if err := norm[i].Normalize(); err != nil {
			return nil, sqlstore.InvalidItem("machine", i, err)
		}
		last[norm[i].ID] = i
		var err error
		if cols.history, err = sqlstore.AppendIPs(cols.history, &norm[i], now); err != nil {
			return nil, sqlstore.InvalidItem("machine", i, err)
		}
	}
	cols.history = sqlstore.SortIPs(cols.history)
	order := make([]int, 0, len(last))
	for i := range norm {
		if last[norm[i].ID] == i {
			order = append(order, i)
		}
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(norm[a].ID, norm[b].ID) })
	for _, i := range order {
		if err := cols.add(&norm[i]); err != nil {
			return nil, sqlstore.InvalidItem("machine", i, err)
		}
	}
	return cols, nil
}

func (c *machineCols) len() int { return len(c.id) }

// insertIPs adds rows to the IP history; a row written again is skipped.
const insertIPs = `INSERT INTO machine_ips (tenant_seq, ip, seen, machine_id)
SELECT $1, * FROM unnest($2::text[], $3::int8[], $4::text[])
ON CONFLICT DO NOTHING`

// writeMachines upserts machines encoded by encodeMachines in tx, and adds
// their IP history, in chunks of chunkRows rows.
func writeMachines(ctx context.Context, tx pgx.Tx, tenantSeq int64, cols *machineCols) error {
	for i := 0; i < cols.len(); i += chunkRows {
		j := min(i+chunkRows, cols.len())
		if _, err := tx.Exec(ctx, upsertMachines, cols.args(tenantSeq, i, j)...); err != nil {
			return storeError(err, "cannot store machines")
		}
	}
	for part := range slices.Chunk(cols.history, chunkRows) {
		ips, seen, ids := make([]string, len(part)), make([]int64, len(part)), make([]string, len(part))
		for k, r := range part {
			ips[k], seen[k], ids[k] = r.IP, r.Seen, r.MachineID
		}
		if _, err := tx.Exec(ctx, insertIPs, tenantSeq, ips, seen, ids); err != nil {
			return storeError(err, "cannot store the IP history")
		}
	}
	return nil
}

// machineScanner reads rows of sqlstore.MachineColumns.
type machineScanner struct {
	first, last *int64
	tags, ips   []byte
	dest        []any
}

func (s *machineScanner) scan(row sqlstore.Scanner) (openatp.Machine, error) {
	var m openatp.Machine
	s.first, s.last = nil, nil
	s.dest = append(s.dest[:0], &m.ID, &m.ComputerDNSName, &s.first, &s.last, &m.OSPlatform, &m.OSVersion,
		&m.OSProcessor, &m.Version, &m.LastIPAddress, &m.LastExternalIPAddress, &m.AgentVersion, &m.OSBuild,
		&m.HealthStatus, &m.OnboardingStatus, &m.RiskScore, &m.ExposureLevel, &m.IsAADJoined, &m.AADDeviceID,
		&s.tags, &m.DeviceValue, &s.ips, &m.OSArchitecture)
	if err := row.Scan(s.dest...); err != nil {
		return m, err
	}
	if s.first != nil {
		m.FirstSeen = openatp.Ptr(sqlstore.FromNanos(*s.first))
	}
	if s.last != nil {
		m.LastSeen = openatp.Ptr(sqlstore.FromNanos(*s.last))
	}
	var err error
	if m.MachineTags, err = sqlstore.DecodeTags(s.tags); err != nil {
		return m, internal(err, "bad machine_tags of machine "+m.ID)
	}
	if m.IPAddresses, err = sqlstore.DecodeIPAddresses(s.ips); err != nil {
		return m, internal(err, "bad ip_addresses of machine "+m.ID)
	}
	return m, nil
}
