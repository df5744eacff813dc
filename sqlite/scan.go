package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/sqlstore"
)

// ScanTenant streams the whole tenant in the order SQLite reads fastest
// (see openatp.MachineStore.ScanTenant): the machines in table order, a
// sequential scan rather than a lookup per machine from the id index;
// then the users with the machines they logged on to (readUsers). The
// table is read in two halves by seq, each on its own connection and
// decoded on its own goroutine, their machines interleaved batch by
// batch; the users meanwhile on a third connection. All at the same
// snapshot: a second transaction is used only if it sees the same content
// version as the first (every content write bumps it), else its part is
// read after the first half on the first transaction.
// NotFound if the tenant does not exist.
func (db *DB) ScanTenant(ctx context.Context, tenantID string, machine func(openatp.Machine) error, user func(openatp.ScannedUser) error) error {
	tx, err := db.rdb.BeginTx(ctx, nil)
	if err != nil {
		return storeError(err, "cannot begin a transaction")
	}
	defer tx.Rollback()
	q := conn{c: db.r, tx: tx}
	// The first read fixes the transaction's snapshot.
	var tseq, legacy, cv int64
	err = q.queryRow(ctx, []any{&tseq, &cv, &legacy}, `SELECT seq, content_version, (SELECT v FROM content_version WHERE id = 1)
		FROM tenants WHERE id = ?`, tenantID)
	if errors.Is(err, sql.ErrNoRows) {
		return openatp.CodedErrorf(openatp.NotFound, "ResourceNotFound", "tenant %s not found", sqlstore.Quote(tenantID))
	}
	if err != nil {
		return storeError(err, "cannot read the tenant")
	}
	version := sqlstore.ContentVersion(legacy, cv)
	side, cancel := context.WithCancel(ctx)
	usersRead := make(chan scannedUsers, 1)
	go func() { usersRead <- db.readUsersBeside(side, tseq, version) }()
	waited := false
	defer func() { // the side reads are over when ScanTenant returns
		if !waited {
			cancel()
			<-usersRead
		}
	}()
	groups, err := groups(ctx, q, tenantID)
	if err != nil {
		return err
	}
	// The halves split the table's seqs (all tenants': the scan reads
	// every row and keeps the tenant's), so they cost SQLite the same.
	var first, last int64
	if err := tx.QueryRowContext(ctx, "SELECT ifnull(min(seq), 0), ifnull(max(seq), 0) FROM machines").Scan(&first, &last); err != nil {
		return storeError(err, "cannot read machines")
	}
	e := &emitter{fn: machine}
	mid := int64(math.MaxInt64) // the first seq of the second half
	var halfRead chan error
	if last-first >= scanSplitMin {
		mid = first + (last-first)/2 + 1
		halfRead = make(chan error, 1)
		go func() { halfRead <- db.readHalfBeside(side, tseq, version, groups, mid, e) }()
		defer func() {
			if halfRead != nil {
				cancel()
				<-halfRead
			}
		}()
	}
	if err := readMachines(ctx, tx, tseq, groups, math.MinInt64, mid-1, e); err != nil {
		return err
	}
	if halfRead != nil {
		err := <-halfRead
		halfRead = nil
		if err == errMoved {
			err = readMachines(ctx, tx, tseq, groups, mid, math.MaxInt64, e)
		}
		if err != nil {
			return err
		}
	}
	us := <-usersRead
	waited = true
	cancel()
	if us.err == errMoved {
		us = readUsers(ctx, tx, tseq)
	}
	if us.err != nil {
		return us.err
	}
	positions := newPositions(e.seqs)
	for _, u := range us.users {
		ms, err := positions.list(u.machines)
		if err != nil {
			return err
		}
		if err := user(openatp.ScannedUser{AccountName: u.name, AccountDomain: u.domain, AccountSID: u.sid, Machines: ms}); err != nil {
			return err
		}
	}
	return nil
}

// scanSplitMin is the least span of the table's seqs that ScanTenant
// reads in two halves (a test sets it lower).
var scanSplitMin int64 = 1 << 14

// emitter passes the machines of a scan's halves to its callback, one
// batch at a time, never two calls at once; the position of a machine in
// the scan is its place in seqs.
type emitter struct {
	mu   sync.Mutex
	fn   func(openatp.Machine) error
	seqs []int64 // seqs[i] is the machine at position i
	err  error   // the callback's first error: every later batch returns it
}

func (e *emitter) emit(seqs []int64, ms []openatp.Machine) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.err != nil {
		return e.err
	}
	for i := range ms {
		if err := e.fn(ms[i]); err != nil {
			e.err = err
			return err
		}
		e.seqs = append(e.seqs, seqs[i])
	}
	return nil
}

const emitBatch = 64

// readMachines reads the tenant's machines with seqs from..to (table
// order) on tx and emits them.
func readMachines(ctx context.Context, tx *sql.Tx, tseq int64, groups []openatp.DeviceGroup, from, to int64, e *emitter) error {
	// "+m.tenant_seq" keeps SQLite from the (tenant_seq, id) index: rows
	// come in seq order, each read once.
	rows, err := tx.QueryContext(ctx, "SELECT "+packedColumn+" FROM machines m WHERE m.seq BETWEEN ? AND ? AND +m.tenant_seq = ?", from, to, tseq)
	if err != nil {
		return storeError(err, "cannot read machines")
	}
	defer rows.Close()
	var (
		ps   packedScanner
		seqs = make([]int64, 0, emitBatch)
		ms   = make([]openatp.Machine, 0, emitBatch)
	)
	for rows.Next() {
		seq, m, err := ps.scan(rows)
		if err == errUnpacked { // a value holds the separator: read the row as it is
			var s machineScanner
			m, err = s.scan(tx.QueryRowContext(ctx, "SELECT "+sqlstore.MachineColumns+" FROM machines m WHERE m.seq = ?", seq))
		}
		if err != nil {
			return storeError(err, "cannot read machines")
		}
		openatp.AssignGroup(groups, &m)
		seqs, ms = append(seqs, seq), append(ms, m)
		if len(ms) == emitBatch {
			if err := e.emit(seqs, ms); err != nil {
				return err
			}
			clear(ms)
			seqs, ms = seqs[:0], ms[:0]
		}
	}
	if err := rows.Close(); err != nil {
		return storeError(err, "cannot read machines")
	}
	return e.emit(seqs, ms)
}

// scannedUsers is what readUsers read: each user with a logon, and the
// machine seqs of its relations as SQLite's group_concat gives them.
type scannedUsers struct {
	users []userRow
	err   error
}

type userRow struct{ nameKey, domainKey, name, domain, sid, machines string }

// errMoved says a second connection of a ScanTenant could not read at
// the first one's snapshot.
var errMoved = errors.New("the content changed between the scan's transactions")

// beforeSideRead and beforeHalfRead, when set by a test, run before the
// transaction of a ScanTenant's users, and of its second half, begins.
var beforeSideRead, beforeHalfRead func()

// readUsersBeside reads the users on a transaction of its own, if it sees
// content version version of tenant tseq; else errMoved.
func (db *DB) readUsersBeside(ctx context.Context, tseq int64, version uint64) scannedUsers {
	if beforeSideRead != nil {
		beforeSideRead()
	}
	var us scannedUsers
	us.err = db.beside(ctx, tseq, version, func(tx *sql.Tx) error {
		us = readUsers(ctx, tx, tseq)
		return us.err
	})
	return us
}

// readHalfBeside reads the machines from seq from on on a transaction of
// its own, if it sees content version version of tenant tseq; else
// errMoved, before emitting any.
func (db *DB) readHalfBeside(ctx context.Context, tseq int64, version uint64, groups []openatp.DeviceGroup, from int64, e *emitter) error {
	if beforeHalfRead != nil {
		beforeHalfRead()
	}
	return db.beside(ctx, tseq, version, func(tx *sql.Tx) error {
		return readMachines(ctx, tx, tseq, groups, from, math.MaxInt64, e)
	})
}

// beside runs read on a transaction of its own if it sees content version
// version of tenant tseq; else errMoved.
func (db *DB) beside(ctx context.Context, tseq int64, version uint64, read func(*sql.Tx) error) error {
	// The connection is closed after the read rather than kept in the
	// pool: its page cache and what SQLite allocated for the read (tens
	// of MB for a million machines) are given back.
	c, err := db.rdb.Conn(ctx)
	if err != nil {
		return storeError(err, "cannot open a connection")
	}
	defer func() {
		_ = c.Raw(func(any) error { return driver.ErrBadConn }) // closes it
		c.Close()
	}()
	tx, err := c.BeginTx(ctx, nil)
	if err != nil {
		return storeError(err, "cannot begin a transaction")
	}
	defer tx.Rollback()
	var legacy, cv int64
	err = tx.QueryRowContext(ctx, `SELECT content_version, (SELECT v FROM content_version WHERE id = 1) FROM tenants WHERE seq = ?`, tseq).Scan(&cv, &legacy)
	if err != nil || sqlstore.ContentVersion(legacy, cv) != version {
		return errMoved // a tenant deleted meanwhile too: the first transaction answers
	}
	return read(tx)
}

// readUsers reads the users in the order of their primary key, merged with
// their relations grouped by SQLite in the same order (user_machines'
// primary key starts with the user's keys, so GROUP BY reads it in order,
// without a sort): the relations, most of the tenant's rows, cost SQLite
// one row per user and Go no row at all.
func readUsers(ctx context.Context, tx *sql.Tx, tseq int64) scannedUsers {
	// Counted first, so that the rows go into one allocation: growing a
	// slice of a few hundred thousand rows by doubling costs more, in
	// fresh memory, than the count.
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE tenant_seq = ?`, tseq).Scan(&n); err != nil {
		return scannedUsers{err: storeError(err, "cannot count users")}
	}
	users := make([]userRow, 0, n)
	rows, err := tx.QueryContext(ctx, `SELECT name_key, domain_key, account_name, account_domain, sid FROM users
		WHERE tenant_seq = ? ORDER BY name_key, domain_key`, tseq)
	if err != nil {
		return scannedUsers{err: storeError(err, "cannot read users")}
	}
	for rows.Next() {
		var u userRow
		if err := rows.Scan(&u.nameKey, &u.domainKey, &u.name, &u.domain, &u.sid); err != nil {
			rows.Close()
			return scannedUsers{err: storeError(err, "cannot read users")}
		}
		users = append(users, u)
	}
	if err := rows.Close(); err != nil {
		return scannedUsers{err: storeError(err, "cannot read users")}
	}
	byKey := func(a, b userRow) int {
		if c := strings.Compare(a.nameKey, b.nameKey); c != 0 {
			return c
		}
		return strings.Compare(a.domainKey, b.domainKey)
	}
	if !slices.IsSortedFunc(users, byKey) {
		return scannedUsers{err: internal(nil, "users were not read in key order")}
	}
	rows, err = tx.QueryContext(ctx, `SELECT name_key, domain_key, group_concat(machine_seq) FROM user_machines
		WHERE tenant_seq = ? GROUP BY name_key, domain_key ORDER BY name_key, domain_key`, tseq)
	if err != nil {
		return scannedUsers{err: storeError(err, "cannot read user machines")}
	}
	defer rows.Close()
	var (
		key userRow // of the relations
		ui  int     // the next user to look at
		w   int     // users[:w] are the users with relations, in place
	)
	for rows.Next() {
		if err := rows.Scan(&key.nameKey, &key.domainKey, &key.machines); err != nil {
			return scannedUsers{err: storeError(err, "cannot read user machines")}
		}
		for ui < len(users) && byKey(users[ui], key) < 0 {
			ui++
		}
		if ui == len(users) || byKey(users[ui], key) != 0 {
			return scannedUsers{err: internal(nil, "relations name a user the tenant does not have, or were not read in key order")}
		}
		users[w] = users[ui]
		users[w].machines = key.machines
		ui++
		w++
	}
	if err := rows.Err(); err != nil {
		return scannedUsers{err: storeError(err, "cannot read user machines")}
	}
	clear(users[w:])
	return scannedUsers{users: users[:w]}
}

// positions maps the seqs of a scan's machines (in the order the scan
// gave them, which its halves interleave) to their positions in it:
// through a table indexed by seq when the seqs are dense enough (the
// usual case: a tenant's machines are mostly written together), else by
// binary search over them sorted.
type positions struct {
	seqs  []int64  // sorted; nil with table
	pos   []uint32 // pos[i] is the position of seqs[i]
	min   int64
	table []uint32 // position+1 of seq min+i, 0 for none; nil: search seqs
}

func newPositions(seqs []int64) positions {
	var p positions
	if len(seqs) == 0 {
		return p
	}
	p.min = slices.Min(seqs)
	if span := slices.Max(seqs) - p.min + 1; span <= 4*int64(len(seqs))+1024 {
		p.table = make([]uint32, span)
		for i, s := range seqs {
			p.table[s-p.min] = uint32(i) + 1
		}
		return p
	}
	p.pos = make([]uint32, len(seqs))
	for i := range p.pos {
		p.pos[i] = uint32(i)
	}
	slices.SortFunc(p.pos, func(a, b uint32) int { return cmp.Compare(seqs[a], seqs[b]) })
	p.seqs = make([]int64, len(seqs))
	for i, k := range p.pos {
		p.seqs[i] = seqs[k]
	}
	return p
}

func (p *positions) of(seq int64) (uint32, bool) {
	if p.table != nil {
		if i := seq - p.min; i >= 0 && i < int64(len(p.table)) && p.table[i] != 0 {
			return p.table[i] - 1, true
		}
		return 0, false
	}
	if i, ok := slices.BinarySearch(p.seqs, seq); ok {
		return p.pos[i], true
	}
	return 0, false
}

// list maps a group_concat of machine seqs ("12,7,30") to positions.
func (p *positions) list(s string) ([]uint32, error) {
	out := make([]uint32, 0, strings.Count(s, ",")+1)
	var n int64
	digits := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] >= '0' && s[i] <= '9' && digits < 18 {
			n = n*10 + int64(s[i]-'0')
			digits++
			continue
		}
		if digits == 0 || i < len(s) && s[i] != ',' {
			return nil, internal(nil, "malformed list of machine seqs "+openatp.Clip(s, 40))
		}
		pos, ok := p.of(n)
		if !ok {
			return nil, internal(nil, "a relation names a machine the tenant does not have")
		}
		out = append(out, pos)
		n, digits = 0, 0
	}
	return out, nil
}

// packedColumn is a machine row as ScanTenant reads it: every column
// packed into one text, which costs SQLite a little and saves the driver
// most of its work per column (a type check, a copy, an allocation and
// two or three calls under the connection's lock each) and database/sql
// its conversion per column. Each value is "=" and the value as text, or
// "" for NULL, joined by US (0x1f); a row whose values hold that
// character splits into too many parts and is read again unpacked. The
// seq comes first: it always reads.
var packedColumn = func() string {
	parts := make([]string, len(packedHead)+len(packedTexts))
	for i, c := range append(packedHead[:], packedTexts[:]...) {
		parts[i] = "ifnull('='||m." + c + ", '')"
	}
	return "concat_ws(char(31), " + strings.Join(parts, ", ") + ")"
}()

// packedHead are the columns before the texts, read by their place in
// packedScanner.scan: seq, id, the numbers, the tags and the addresses.
var packedHead = [...]string{"seq", "id", "first_seen", "last_seen", "os_build", "is_aad_joined", "machine_tags", "ip_addresses"}

var packedTexts = [...]string{"computer_dns_name", "os_platform", "os_version", "os_processor", "version", "last_ip_address",
	"last_external_ip_address", "agent_version", "health_status", "onboarding_status", "risk_score", "exposure_level",
	"aad_device_id", "device_value", "os_architecture"}

var errUnpacked = errors.New("a packed value holds the separator")

type packedScanner struct {
	packed string
}

// scan reads a row of packedColumn: its seq and machine. errUnpacked
// (with the seq) when the packed values do not split as they should.
func (s *packedScanner) scan(rows *sql.Rows) (int64, openatp.Machine, error) {
	var m openatp.Machine
	if err := rows.Scan(&s.packed); err != nil {
		return 0, m, err
	}
	const nn = len(packedHead)
	var parts [nn + len(packedTexts)]string
	n, ok := 0, true
	for rest := s.packed; ; n++ {
		part, more, found := strings.Cut(rest, "\x1f")
		if n < len(parts) {
			parts[n] = part
			ok = ok && (part == "" || part[0] == '=')
		}
		if !found {
			n++
			break
		}
		rest = more
	}
	seq, err := strconv.ParseInt(strings.TrimPrefix(parts[0], "="), 10, 64)
	if err != nil {
		return 0, m, internal(err, "a machine row without its seq")
	}
	if !ok || n != len(parts) || parts[1] == "" || parts[6] == "" || parts[7] == "" {
		return seq, m, errUnpacked
	}
	// One allocation holds every optional value (parts of the packed
	// text, which is the only copy of the row).
	block := new(struct {
		v     [len(packedTexts)]string
		t     [2]time.Time
		build int64
		aad   bool
	})
	m.ID = parts[1][1:]
	texts := [...]**string{&m.ComputerDNSName, &m.OSPlatform, &m.OSVersion, &m.OSProcessor, &m.Version, &m.LastIPAddress,
		&m.LastExternalIPAddress, &m.AgentVersion, &m.HealthStatus, &m.OnboardingStatus, &m.RiskScore, &m.ExposureLevel,
		&m.AADDeviceID, &m.DeviceValue, &m.OSArchitecture}
	for i, f := range texts {
		if v := parts[nn+i]; v != "" {
			block.v[i] = v[1:]
			*f = &block.v[i]
		}
	}
	// A number that does not read as one is read again unpacked, which
	// says what is wrong with it.
	for i, t := range [...]**time.Time{&m.FirstSeen, &m.LastSeen} {
		if v := parts[2+i]; v != "" {
			ns, err := strconv.ParseInt(v[1:], 10, 64)
			if err != nil {
				return seq, m, errUnpacked
			}
			block.t[i] = sqlstore.FromNanos(ns)
			*t = &block.t[i]
		}
	}
	if v := parts[4]; v != "" {
		if block.build, err = strconv.ParseInt(v[1:], 10, 64); err != nil {
			return seq, m, errUnpacked
		}
		m.OSBuild = &block.build
	}
	if v := parts[5]; v != "" {
		if block.aad, err = strconv.ParseBool(v[1:]); err != nil {
			return seq, m, errUnpacked
		}
		m.IsAADJoined = &block.aad
	}
	if m.MachineTags, err = sqlstore.DecodeTags(parts[6][1:]); err != nil {
		return seq, m, internal(err, "bad machine_tags of machine "+m.ID)
	}
	if m.IPAddresses, err = sqlstore.DecodeIPAddresses(parts[7][1:]); err != nil {
		return seq, m, internal(err, "bad ip_addresses of machine "+m.ID)
	}
	return seq, m, nil
}
