package huntables

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/openatp/openatp/internal/sqlstore/huntsql"
	"github.com/openatp/openatp/kql"
)

// Push returns the rows of plan p run by the store in SQL (huntsql), or
// false if the store is not a SQL store or cannot run p: DeviceLogonEvents
// and DeviceInfo (the columns the machines table holds as the view gives
// them) of the source's tenant, window and, for a delegated caller, device
// groups, as Rows reads them. rows calls yield with each row until yield
// returns an error, which it returns as it is.
func (s *Source) Push(p *kql.Plan) (rows func(ctx context.Context, yield func([]any) error) error, ok bool) {
	st, ok := s.Logons.(huntsql.Store)
	if !ok {
		return nil, false
	}
	if _, _, ok := huntsql.Translate(st.HuntDialect(), s.sqlTables(st, huntsql.Scope{}), p); !ok {
		return nil, false
	}
	return func(ctx context.Context, yield func([]any) error) error {
		sc, err := s.pushScope(ctx, st)
		if err != nil {
			return err
		}
		q, conv, _ := huntsql.Translate(st.HuntDialect(), s.sqlTables(st, sc), p)
		return st.HuntRows(ctx, q, func(row []any) error { return yield(conv(row)) })
	}, true
}

// sqlTables are the tables a plan may name, of the machines of sc (its
// Machines and Every).
func (s *Source) sqlTables(st huntsql.Store, sc huntsql.Scope) huntsql.Tables {
	sc.TenantID, sc.From, sc.To = s.TenantID, s.From, s.To
	return func(name string) (huntsql.Table, bool) {
		switch name {
		case "DeviceLogonEvents":
			return huntsql.LogonEvents(st.HuntDialect(), sc, logonKQLColumns), true
		case "DeviceInfo":
			return huntsql.Machines(st.HuntDialect(), sc, s.Access == nil || s.Access.AllGroups), true
		}
		return huntsql.Table{}, false
	}
}

// logonKQLColumns are DeviceLogonEvents' columns as kql types them.
var logonKQLColumns = func() []kql.Column {
	types := map[string]kql.Type{"string": kql.String, "long": kql.Long, "int": kql.Int, "bool": kql.Bool,
		"datetime": kql.DateTime, "real": kql.Real, "dynamic": kql.Dynamic}
	cols := make([]kql.Column, len(deviceLogonEventsColumns))
	for i, c := range deviceLogonEventsColumns {
		cols[i] = kql.Column{Name: c.Name, Type: types[c.Type]}
	}
	return cols
}()

// pushScope returns the machines the source's rows may be of as a Scope's
// Machines and Every: every machine the events name for an application
// while the tenant has had no machine deleted (its generation is 0: the
// events of a deleted machine stay until the retention, and no table
// shows them), else machineSeqs. The generation is read for each query:
// one row by the tenant's key.
func (s *Source) pushScope(ctx context.Context, st huntsql.Store) (huntsql.Scope, error) {
	if s.Access == nil || s.Access.AllGroups {
		var gen any
		err := st.HuntRows(ctx, huntsql.Generation(s.TenantID), func(row []any) error { gen = row[0]; return nil })
		if err != nil {
			return huntsql.Scope{}, err
		}
		if n, ok := gen.(int64); ok && n == 0 {
			return huntsql.Scope{Every: true}, nil
		}
	}
	seqs, err := s.machineSeqs(ctx, st)
	return huntsql.Scope{Machines: seqs}, err
}

// seqCache keeps the machines (their seq in the store) a caller's rows
// may be of, by tenant, view version and the device groups the caller
// sees: read once for the queries of a version of the tenant's data.
var seqCache struct {
	mu    sync.Mutex
	keys  []string
	items map[string]huntsql.Seqs
}

// seqCacheSize is how many sets seqCache keeps, the least recently made
// dropped first.
const seqCacheSize = 16

// machineSeqs returns the machines the source's rows may be of: the
// tenant's, those of the caller's device groups for a delegated caller.
func (s *Source) machineSeqs(ctx context.Context, st huntsql.Store) (huntsql.Seqs, error) {
	epoch, content := s.View.Version()
	var key strings.Builder
	key.WriteString(s.TenantID + "\x00" + strconv.FormatUint(epoch, 10) + "." + strconv.FormatUint(content, 10))
	if a := s.Access; a != nil && !a.AllGroups {
		var gs []int64
		for g, ok := range a.Groups {
			if ok {
				gs = append(gs, g)
			}
		}
		slices.Sort(gs)
		for _, g := range gs {
			key.WriteString("," + strconv.FormatInt(g, 10))
		}
	}
	k := key.String()
	seqCache.mu.Lock()
	seqs, ok := seqCache.items[k]
	seqCache.mu.Unlock()
	if ok {
		return seqs, nil
	}
	var list []int64
	n := 0
	err := st.HuntRows(ctx, huntsql.MachineSeqs(s.TenantID), func(row []any) error {
		if n++; n%checkEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		seq, _ := row[0].(int64)
		if s.Access != nil && !s.Access.AllGroups {
			id, _ := row[1].(string)
			if b, ok := row[1].([]byte); ok {
				id = string(b)
			}
			if slot, ok := s.View.Machine(id); !ok || s.View.MachineID(slot) != id || !s.visible(s.View.GroupID(slot)) {
				return nil
			}
		}
		list = append(list, seq)
		return nil
	})
	if err != nil {
		return nil, err
	}
	seqs = huntsql.SeqsOf(list)
	seqCache.mu.Lock()
	defer seqCache.mu.Unlock()
	if seqCache.items == nil {
		seqCache.items = map[string]huntsql.Seqs{}
	}
	if _, ok := seqCache.items[k]; !ok {
		seqCache.keys = append(seqCache.keys, k)
		if len(seqCache.keys) > seqCacheSize {
			delete(seqCache.items, seqCache.keys[0])
			seqCache.keys = seqCache.keys[1:]
		}
	}
	seqCache.items[k] = seqs
	return seqs, nil
}
