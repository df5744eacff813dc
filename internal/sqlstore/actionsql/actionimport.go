package actionsql

import (
	"context"
	"slices"
	"sort"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/sqlstore"
)

// ImportMachineActions stores actions read from an export in one
// transaction, stamped by the tenant's action clock (see
// openatp.MachineActionStore): the same SQL in both engines.
func (d Store) ImportMachineActions(ctx context.Context, tenantID string, as []openatp.MachineAction) ([]openatp.MachineAction, error) {
	now := d.w.Time().UTC().Round(openatp.TimePrecision)
	norm, err := normalizeImport(as, now)
	if err != nil {
		return nil, err
	}
	// The order of the stamps: the order of the given update times, ties
	// in the order given.
	order := make([]int, len(norm))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(i, j int) bool {
		return norm[order[i]].LastUpdateDateTimeUTC.Before(norm[order[j]].LastUpdateDateTimeUTC)
	})
	var out []openatp.MachineAction
	err = d.w.TenantTx(ctx, tenantID, func(x sqlstore.Execer, seq int64) error {
		// A transaction may run again: it stamps a copy.
		norm := slices.Clone(norm)
		out = make([]openatp.MachineAction, len(norm))
		if len(norm) == 0 {
			return nil
		}
		// Taking the clock's row first orders this write among the
		// tenant's action writes, as actionStamp does.
		last, err := sqlstore.Get(ctx, x, "cannot read the action clock", func() error { return openatp.Errorf(openatp.Internal, "no action clock") }, sqlstore.ScanInt64,
			`INSERT INTO tenant_action_clock (tenant_seq, t) VALUES (?, 0)
			ON CONFLICT (tenant_seq) DO UPDATE SET t = tenant_action_clock.t RETURNING t`, seq)
		if err != nil {
			return err
		}
		stored := make([]*openatp.MachineAction, len(norm))
		unchanged := make([]bool, len(norm))
		// The machines and the stored actions, read a chunk of ids per
		// query: inside a transaction each query text is a statement kept
		// until the commit, which one query per action would pile up.
		machines, err := importMachines(ctx, x, seq, norm)
		if err != nil {
			return err
		}
		old, err := importStored(ctx, x, seq, norm)
		if err != nil {
			return err
		}
		for i := range norm {
			a := &norm[i]
			if !machines[a.MachineID] {
				return sqlstore.InvalidItem("machine action", i, openatp.InvalidField("machineId", "the tenant has no machine %s", a.MachineID))
			}
			o, ok := old[a.ID]
			if !ok {
				continue
			}
			stored[i] = &o
			if sameAction(&o, a) {
				unchanged[i], out[i] = true, o
				continue
			}
			if o.Type != a.Type || o.MachineID != a.MachineID || o.Requestor != a.Requestor ||
				o.RequestorComment != a.RequestorComment || !o.CreationDateTimeUTC.Equal(a.CreationDateTimeUTC) {
				return sqlstore.InvalidItem("machine action", i, openatp.InvalidField("id",
					"the tenant's machine action %s has another type, machine, requestor, comment or creation time: an import may change only what its lifecycle changes (status, errorHResult, cancellation, commands, troubleshootInfo)", a.ID))
			}
		}
		if err := importBusy(ctx, x, seq, norm, unchanged); err != nil {
			return err
		}
		prev := last
		for _, i := range order {
			if unchanged[i] {
				continue
			}
			a := &norm[i]
			prev = sqlstore.NextStamp(prev, minTimeOf(a.LastUpdateDateTimeUTC, now))
			a.LastUpdateDateTimeUTC = sqlstore.FromNanos(prev)
		}
		if prev != last {
			if _, err := sqlstore.Exec(ctx, x, "cannot advance the action clock", "UPDATE tenant_action_clock SET t = ? WHERE tenant_seq = ?", prev, seq); err != nil {
				return err
			}
		}
		for _, i := range order {
			if unchanged[i] {
				continue
			}
			a := &norm[i]
			args, err := actionArgs(a)
			if err != nil {
				return sqlstore.InvalidItem("machine action", i, err)
			}
			if stored[i] != nil {
				if _, err := sqlstore.Exec(ctx, x, "cannot store the machine action", "DELETE FROM machine_actions WHERE tenant_seq = ? AND id = ?", seq, a.ID); err != nil {
					return err
				}
			}
			if _, err := sqlstore.Exec(ctx, x, "cannot store the machine action", insertAction, append([]any{seq}, args...)...); err != nil {
				return err
			}
			if a.Status == openatp.ActionSucceeded && openatp.ChangesState(a.Type) && (stored[i] == nil || stored[i].Status != openatp.ActionSucceeded) {
				if err := applyActionEffect(ctx, x, seq, a, a.LastUpdateDateTimeUTC); err != nil {
					return err
				}
			}
			out[i] = *a
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// importMachines returns which of the machines of the actions the tenant
// has.
func importMachines(ctx context.Context, x sqlstore.Execer, seq int64, norm []openatp.MachineAction) (map[string]bool, error) {
	ids := make([]string, len(norm))
	for i := range norm {
		ids[i] = norm[i].MachineID
	}
	have := map[string]bool{}
	err := sqlstore.InChunks(ids, func(list string, args []any) error {
		found, err := sqlstore.List(ctx, x, "cannot read the machines", sqlstore.ScanString, "SELECT id FROM machines WHERE tenant_seq = ? AND id IN "+list, append([]any{seq}, args...)...)
		for _, id := range found {
			have[id] = true
		}
		return err
	})
	return have, err
}

// importStored returns the tenant's actions of the ids of the actions, by
// id.
func importStored(ctx context.Context, x sqlstore.Execer, seq int64, norm []openatp.MachineAction) (map[string]openatp.MachineAction, error) {
	ids := make([]string, len(norm))
	for i := range norm {
		ids[i] = norm[i].ID
	}
	old := map[string]openatp.MachineAction{}
	err := sqlstore.InChunks(ids, func(list string, args []any) error {
		found, err := sqlstore.List(ctx, x, "cannot read the machine actions", ScanAction, "SELECT "+ActionColumns+
			" FROM machine_actions WHERE tenant_seq = ? AND id IN "+list, append([]any{seq}, args...)...)
		for _, a := range found {
			old[a.ID] = a
		}
		return err
	})
	return old, err
}

// normalizeImport returns normalized copies of the actions of an import,
// checked as ImportMachineActions says, before any transaction.
func normalizeImport(as []openatp.MachineAction, now time.Time) ([]openatp.MachineAction, error) {
	norm := make([]openatp.MachineAction, len(as))
	ids := make(map[string]int, len(as))
	for i := range as {
		a := as[i]
		a.Commands = append([]openatp.ActionCommand(nil), as[i].Commands...)
		bad := func(field, format string, args ...any) error {
			return sqlstore.InvalidItem("machine action", i, openatp.InvalidField(field, format, args...))
		}
		if err := a.Normalize(); err != nil {
			return nil, sqlstore.InvalidItem("machine action", i, err)
		}
		switch {
		case a.CreationDateTimeUTC.IsZero():
			return nil, bad("creationDateTimeUtc", "is required")
		case a.LastUpdateDateTimeUTC.IsZero():
			return nil, bad("lastUpdateDateTimeUtc", "is required")
		case a.CreationDateTimeUTC.After(a.LastUpdateDateTimeUTC):
			return nil, bad("creationDateTimeUtc", "is later than lastUpdateDateTimeUtc")
		case a.CreationDateTimeUTC.After(now):
			return nil, bad("creationDateTimeUtc", "is in the future")
		case a.CancellationDateTimeUTC != nil && a.CancellationDateTimeUTC.After(now):
			return nil, bad("cancellationDateTimeUtc", "is in the future")
		}
		if j, ok := ids[a.ID]; ok {
			return nil, bad("id", "machine action %d has this id already", j)
		}
		ids[a.ID] = i
		if _, err := actionArgs(&a); err != nil {
			return nil, sqlstore.InvalidItem("machine action", i, err)
		}
		norm[i] = a
	}
	return norm, nil
}

// sameAction reports whether a and b store the same row: the same
// values of ActionColumns (strings, integers and pointers to them).
func sameAction(a, b *openatp.MachineAction) bool {
	x, err1 := actionArgs(a)
	y, err2 := actionArgs(b)
	if err1 != nil || err2 != nil || len(x) != len(y) {
		return false
	}
	for i := range x {
		switch v := x[i].(type) {
		case *string:
			w := y[i].(*string)
			if (v == nil) != (w == nil) || v != nil && *v != *w {
				return false
			}
		case *int64:
			w := y[i].(*int64)
			if (v == nil) != (w == nil) || v != nil && *v != *w {
				return false
			}
		default: // string, int64
			if x[i] != y[i] {
				return false
			}
		}
	}
	return true
}

// importBusy applies the busy rule to the live actions of an import that
// it writes: against the stored live actions of their machines (but those
// the import replaces) and the actions given before them.
func importBusy(ctx context.Context, x sqlstore.Execer, seq int64, norm []openatp.MachineAction, unchanged []bool) error {
	given := make(map[string]bool, len(norm))
	for i := range norm {
		given[norm[i].ID] = true
	}
	storedLive := map[string][]openatp.MachineAction{}
	for i := range norm {
		a := &norm[i]
		if a.Final() || unchanged[i] {
			continue
		}
		stored, ok := storedLive[a.MachineID]
		if !ok {
			all, err := sqlstore.List(ctx, x, "cannot read the machine's actions", ScanAction, "SELECT "+ActionColumns+
				" FROM machine_actions WHERE tenant_seq = ? AND machine_id = ? AND status IN "+liveStatuses, seq, a.MachineID)
			if err != nil {
				return err
			}
			for _, s := range all {
				if !given[s.ID] {
					stored = append(stored, s)
				}
			}
			storedLive[a.MachineID] = stored
		}
		live := stored
		for j := range norm[:i] {
			if norm[j].MachineID == a.MachineID && !norm[j].Final() {
				live = append(live[:len(live):len(live)], norm[j])
			}
		}
		if err := openatp.BusyError(a, live); err != nil {
			return sqlstore.InvalidItem("machine action", i, openatp.InvalidField("status",
				"a live %s action of machine %s is there already: a machine has one live action of a kind at a time", openatp.ActionKind(a.Type), a.MachineID))
		}
	}
	return nil
}

// minTimeOf is the earlier of a and b.
func minTimeOf(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
