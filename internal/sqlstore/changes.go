package sqlstore

import (
	"context"
	"slices"
	"strings"

	"github.com/openatp/openatp"
)

// The change feed (openatp.ChangeStore) is kept the same way by both SQL
// engines: a content_changes table of rows (tenant, version, machine id,
// name key, domain key, alert id) written by the transaction that bumps
// the tenant's content version to version. A row with an alert id is an
// alert change (its other keys are empty); else a row with an empty name
// key is a machine change; one with a name key a relation change; one with
// every key empty a rebuild marker (the transaction changed more than the
// feed records one by one, or reset the tenant). Rows are compacted as
// versions go on.

// MaxLoggedChanges is the most machines, relations and alerts one transaction
// records in the feed; a transaction that changes more records a rebuild
// marker instead, so a bulk import costs the feed one row.
const MaxLoggedChanges = 50_000

// FeedRetention is how many content versions of a tenant the feed keeps:
// every CompactEvery versions, rows older than FeedRetention versions are
// deleted. Changes since an older version answer Rebuild.
const (
	FeedRetention = 1024
	CompactEvery  = 64
)

// ChangeLog collects what a write transaction changes, for the feed.
type ChangeLog struct {
	Machines map[string]struct{}
	Rels     map[RelChange]struct{}
	Alerts   map[string]struct{}
	// Rebuild is set once more than MaxLoggedChanges were collected, or
	// by a reset: the transaction then records one marker.
	Rebuild bool
}

// RelChange is a relation named in the feed.
type RelChange struct{ NameKey, DomainKey, MachineID string }

// Machine records a change of machine id.
func (c *ChangeLog) Machine(id string) {
	if c.Rebuild {
		return
	}
	if c.Machines == nil {
		c.Machines = map[string]struct{}{}
	}
	c.Machines[id] = struct{}{}
	c.checkSize()
}

// Rel records a change of a relation.
func (c *ChangeLog) Rel(nameKey, domainKey, machineID string) {
	if c.Rebuild {
		return
	}
	if c.Rels == nil {
		c.Rels = map[RelChange]struct{}{}
	}
	c.Rels[RelChange{nameKey, domainKey, machineID}] = struct{}{}
	c.checkSize()
}

// Alert records a change of alert id.
func (c *ChangeLog) Alert(id string) {
	if c.Rebuild {
		return
	}
	if c.Alerts == nil {
		c.Alerts = map[string]struct{}{}
	}
	c.Alerts[id] = struct{}{}
	c.checkSize()
}

// Logons records the relations of a merged batch of logons.
func (c *ChangeLog) Logons(b *Batch) {
	if c.Rebuild || len(b.Rels)+c.size() > MaxLoggedChanges {
		c.SetRebuild()
		return
	}
	for _, r := range b.Rels {
		c.Rel(r.User.NameKey, r.User.DomainKey, r.MachineID)
	}
}

// SetRebuild makes the transaction record a rebuild marker only.
func (c *ChangeLog) SetRebuild() { c.Rebuild, c.Machines, c.Rels, c.Alerts = true, nil, nil, nil }

func (c *ChangeLog) size() int { return len(c.Machines) + len(c.Rels) + len(c.Alerts) }

func (c *ChangeLog) checkSize() {
	if c.size() > MaxLoggedChanges {
		c.SetRebuild()
	}
}

// Rows returns the feed rows of the transaction, (machine id, name key,
// domain key, alert id) each, in key order; a rebuild marker is
// ("", "", "", "").
func (c *ChangeLog) Rows() [][4]string {
	if c.Rebuild {
		return [][4]string{{"", "", "", ""}}
	}
	rows := make([][4]string, 0, c.size())
	for id := range c.Machines {
		rows = append(rows, [4]string{id, "", "", ""})
	}
	for r := range c.Rels {
		rows = append(rows, [4]string{r.MachineID, r.NameKey, r.DomainKey, ""})
	}
	for id := range c.Alerts {
		rows = append(rows, [4]string{"", "", "", id})
	}
	slices.SortFunc(rows, func(a, b [4]string) int {
		for _, i := range [...]int{3, 1, 2, 0} {
			if c := strings.Compare(a[i], b[i]); c != 0 {
				return c
			}
		}
		return 0
	})
	return rows
}

// FeedSince turns the since of a Changes call into the tenant's own feed
// version, given the counters read with the answer (see ContentVersion):
// ok is false when the feed cannot answer from since (the counter of the
// previous schema moved, since is ahead of the tenant's counter, or it is
// older than the feed keeps).
func FeedSince(since uint64, legacy, tenant int64) (raw int64, ok bool) {
	r := since - uint64(legacy)*0x9e3779b97f4a7c15
	if r > uint64(tenant) || uint64(tenant)-r > FeedRetention {
		return 0, false
	}
	return int64(r), true
}

// CompactBelow returns the version at and below which a transaction that
// bumped the tenant's counter to v deletes feed rows, or 0 for none.
func CompactBelow(v int64) int64 {
	if v%CompactEvery != 0 || v <= FeedRetention {
		return 0
	}
	return v - FeedRetention
}

// Changes answers openatp.ChangeStore.Changes for the tenant of row tseq
// in q, one read transaction of the engine, given the tenant's content
// counter tenant and the counter of the previous schema legacy, as the
// engine read them in q (see ContentVersion).
func (r Reader) Changes(ctx context.Context, q Querier, tseq, legacy, tenant int64, since uint64, limit int) (openatp.Changes, error) {
	ch := openatp.Changes{Version: ContentVersion(legacy, tenant)}
	if ch.Version == since {
		return ch, nil
	}
	raw, ok := FeedSince(since, legacy, tenant)
	if !ok {
		ch.Rebuild = true
		return ch, nil
	}
	const msg = "cannot read the change feed"
	counts, err := Get(ctx, q, msg, func() error { return openatp.Errorf(openatp.Internal, "no count of the change feed") },
		func(s Scanner) (c [2]int64, err error) { return c, s.Scan(&c[0], &c[1]) },
		`SELECT count(*), count(*) FILTER (WHERE machine_id = '' AND alert_id = '') FROM content_changes
		WHERE tenant_seq = ? AND version > ?`, tseq, raw)
	if err != nil {
		return ch, err
	}
	if counts[1] > 0 || counts[0] > int64(limit) {
		ch.Rebuild = true
		return ch, nil
	}
	// The machines, alerts and relations named after raw: those that
	// exist, and the ids of those that do not.
	const (
		machines = `SELECT machine_id FROM content_changes
		WHERE tenant_seq = ?1 AND version > ?2 AND name_key = '' AND machine_id != ''`
		alerts = `SELECT alert_id FROM content_changes WHERE tenant_seq = ?1 AND version > ?2 AND alert_id != ''`
	)
	appendTo := func(list *[]string) func(string) error {
		return func(id string) error { *list = append(*list, id); return nil }
	}
	err = Each(ctx, q, msg, r.machines(), func(m openatp.Machine) error { ch.Machines = append(ch.Machines, m); return nil },
		"SELECT "+MachineColumns+" FROM machines m WHERE m.tenant_seq = ?1 AND m.id IN ("+machines+") ORDER BY m.id", tseq, raw)
	if err == nil {
		err = Each(ctx, q, msg, ScanString, appendTo(&ch.Deleted), "SELECT DISTINCT machine_id FROM ("+machines+`) c
		WHERE NOT EXISTS (SELECT 1 FROM machines m WHERE m.tenant_seq = ?1 AND m.id = c.machine_id)
		ORDER BY machine_id`, tseq, raw)
	}
	if err == nil {
		var row AlertRow
		ch.Alerts, err = List(ctx, q, msg, func(s Scanner) (openatp.Alert, error) { return row.Scan(s, false, nil) },
			"SELECT "+AlertColumns+" FROM alerts a WHERE a.tenant_seq = ?1 AND a.id IN ("+alerts+") ORDER BY a.id", tseq, raw)
	}
	if err == nil {
		err = Each(ctx, q, msg, ScanString, appendTo(&ch.DeletedAlerts), "SELECT DISTINCT alert_id FROM ("+alerts+`) c
		WHERE NOT EXISTS (SELECT 1 FROM alerts a WHERE a.tenant_seq = ?1 AND a.id = c.alert_id)
		ORDER BY alert_id`, tseq, raw)
	}
	if err == nil {
		err = Each(ctx, q, msg, func(s Scanner) (r openatp.RelationChange, err error) {
			return r, s.Scan(&r.NameKey, &r.DomainKey, &r.MachineID, &r.Exists)
		}, func(r openatp.RelationChange) error { ch.Relations = append(ch.Relations, r); return nil }, `SELECT DISTINCT c.name_key, c.domain_key, c.machine_id,
		EXISTS (SELECT 1 FROM machines m JOIN user_machines um ON um.tenant_seq = m.tenant_seq
			AND um.name_key = c.name_key AND um.domain_key = c.domain_key AND um.machine_seq = m.seq
			WHERE m.tenant_seq = c.tenant_seq AND m.id = c.machine_id)
		FROM content_changes c WHERE c.tenant_seq = ? AND c.version > ? AND c.name_key != ''
		ORDER BY 1, 2, 3`, tseq, raw)
	}
	return ch, err
}
