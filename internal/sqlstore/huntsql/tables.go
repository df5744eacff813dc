package huntsql

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/sqlstore"
	"github.com/openatp/openatp/kql"
)

// Scope is whose rows the hunting tables hold: a tenant's, with
// Timestamp in [From, To) (a zero time does not bound), of the machines
// whose seq (machines.seq) Machines has, or of every machine the events
// name if Every (no condition on the machine: the caller sees all of the
// tenant's machines and the tenant has no events of a deleted one).
type Scope struct {
	TenantID string
	From, To time.Time
	Machines Seqs
	Every    bool
}

// Seqs is a set of machines by their seq: ranges [lo, hi] in order.
type Seqs [][2]int64

// SeqsOf returns the set of seqs, given in ascending order.
func SeqsOf(seqs []int64) Seqs {
	var s Seqs
	for _, q := range seqs {
		if n := len(s); n > 0 && s[n-1][1]+1 == q {
			s[n-1][1] = q
			continue
		}
		s = append(s, [2]int64{q, q})
	}
	return s
}

// maxRanges is the most ranges a statement lists; a set of more is one
// list argument (Dialect.InList).
const maxRanges = 16

// Cond is the condition that x is in s, and its arguments.
func (s Seqs) Cond(d Dialect, x string) (string, []any) {
	if len(s) == 0 {
		return "1 = 0", nil
	}
	if len(s) <= maxRanges {
		parts := make([]string, len(s))
		args := make([]any, 0, 2*len(s))
		for i, r := range s {
			parts[i] = x + " BETWEEN ? AND ?"
			args = append(args, r[0], r[1])
		}
		return "(" + strings.Join(parts, " OR ") + ")", args
	}
	var list []int64
	for _, r := range s {
		for q := r[0]; q <= r[1]; q++ {
			list = append(list, q)
		}
	}
	return fmt.Sprintf(d.InList, x), []any{d.List(list)}
}

// MachineSeqs is the statement of the tenant's machines: seq and id, by
// seq.
func MachineSeqs(tenantID string) Query {
	return Query{SQL: `SELECT m.seq, m.id FROM machines m WHERE m.tenant_seq = (SELECT seq FROM tenants WHERE id = ?)
		ORDER BY m.seq`, Args: []any{tenantID}, Width: 2}
}

// Generation is the statement of the tenant's generation, which its
// resets and the deletions of its machines increase (both engines): while
// it is 0 no machine of the tenant has been deleted, and every event of
// the tenant is of one of its machines.
func Generation(tenantID string) Query {
	return Query{SQL: "SELECT generation AS c0 FROM tenants WHERE id = ?", Args: []any{tenantID}, Width: 1}
}

// tenantSeq is the condition on a table's tenant_seq.
const tenantSeq = "{t}.tenant_seq = (SELECT seq FROM tenants WHERE id = ?)"

// window returns s's time window as a Window on column col, its bounds
// rounded up to a 100 ns tick if tick (for a time read at ticks).
func (s Scope) window(col string, tick bool) Window {
	w := Window{Column: col, Lo: math.MinInt64, Hi: math.MaxInt64}
	bound := func(t time.Time) int64 {
		n := sqlstore.ClampNanos(t)
		if tick && n%100 != 0 {
			n += 100 - n%100
		}
		return n
	}
	if !s.From.IsZero() {
		w.Lo = bound(s.From)
	}
	if !s.To.IsZero() {
		w.Hi = bound(s.To)
	}
	return w
}

// fill maps the columns of cols that m does not: an empty string, or a
// null of the column's type.
func fill(m map[string]Column, cols []kql.Column) map[string]Column {
	for _, c := range cols {
		if _, ok := m[c.Name]; ok {
			continue
		}
		if c.Type == kql.String || c.Type == kql.Guid {
			m[c.Name] = Column{SQL: "''"}
		} else if c.Type != kql.Dynamic && c.Type != kql.Real {
			m[c.Name] = Column{SQL: "CAST(NULL AS BIGINT)"}
		}
	}
	return m
}

// LogonEvents is DeviceLogonEvents (of columns cols) in s: a row a row of
// logon_events, in time order (events of one instant in an order of
// their own).
func LogonEvents(d Dialect, s Scope, cols []kql.Column) Table {
	where, args := tenantSeq, []any{s.TenantID}
	if !s.Every {
		mcond, margs := s.Machines.Cond(d, "{t}.machine_seq")
		where += " AND " + mcond
		args = append(args, margs...)
	}
	var types strings.Builder
	types.WriteString("CASE {t}.logon_type")
	for _, name := range openatp.LogonTypes {
		types.WriteString(" WHEN " + strconv.FormatInt(sqlstore.LogonTypeBits[name], 10) + " THEN '" + name + "'")
	}
	types.WriteString(" ELSE '' END")
	return Table{
		From:   "logon_events {t}",
		Where:  where,
		Args:   args,
		Window: s.window("Timestamp", false),
		Columns: fill(map[string]Column{
			"Timestamp":     {SQL: "{t}.ts"},
			"DeviceId":      {SQL: "(SELECT m.id FROM machines m WHERE m.seq = {t}.machine_seq)", Key: "{t}.machine_seq"},
			"DeviceName":    {SQL: "coalesce((SELECT m.computer_dns_name FROM machines m WHERE m.seq = {t}.machine_seq), '')"},
			"ActionType":    {SQL: "'LogonSuccess'"},
			"LogonType":     {SQL: types.String()},
			"AccountDomain": {SQL: "{t}.account_domain"},
			"AccountName":   {SQL: "{t}.account_name"},
			"AccountSid":    {SQL: "{t}.account_sid"},
		}, cols),
		Order: "{t}.ts",
	}
}

// Machines is DeviceInfo in s (all: of every machine of the tenant): a
// row a machine last seen in the window, in the order of their seq; only
// the columns the machines table holds as the read model gives them (a
// plan that names another is refused).
func Machines(d Dialect, s Scope, all bool) Table {
	where := tenantSeq + " AND {t}.last_seen IS NOT NULL" // a machine never seen has no row
	args := []any{s.TenantID}
	if !all {
		mcond, margs := s.Machines.Cond(d, "{t}.seq")
		where += " AND " + mcond
		args = append(args, margs...)
	}
	text := func(c string) Column { return Column{SQL: "coalesce({t}." + c + ", '')"} }
	return Table{
		From:   "machines {t}",
		Where:  where,
		Args:   args,
		Window: s.window("Timestamp", true),
		Columns: map[string]Column{
			"Timestamp":      {SQL: "{t}.last_seen"},
			"DeviceId":       {SQL: "{t}.id", Key: "{t}.seq"},
			"DeviceName":     text("computer_dns_name"),
			"ClientVersion":  text("agent_version"),
			"PublicIP":       text("last_external_ip_address"),
			"OSArchitecture": text("os_architecture"),
			"OSPlatform":     text("os_platform"),
			"OSVersion":      text("os_version"),
			"OSBuild":        {SQL: "{t}.os_build"},
		},
		Order: "{t}.seq",
	}
}
