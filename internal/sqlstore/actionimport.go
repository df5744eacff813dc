package sqlstore

import (
	"context"
	"sort"
	"time"

	"github.com/openatp/openatp"
)

// ImportMachineActions stores actions read from an export in one
// transaction, stamped by the tenant's action clock (see
// openatp.MachineActionStore): the same SQL in both engines.
func (w Writer) ImportMachineActions(ctx context.Context, tenantID string, as []openatp.MachineAction) ([]openatp.MachineAction, error) {
	now := w.e.Now().UTC().Round(openatp.TimePrecision)
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
	err = w.tenantTx(ctx, tenantID, func(x Execer, seq int64) error {
		out = make([]openatp.MachineAction, len(norm))
		if len(norm) == 0 {
			return nil
		}
		// Taking the clock's row first orders this write among the
		// tenant's action writes, as actionStamp does.
		last, err := Get(ctx, x, "cannot read the action clock", func() error { return openatp.Errorf(openatp.Internal, "no action clock") }, scanInt64,
			`INSERT INTO tenant_action_clock (tenant_seq, t) VALUES (?, 0)
			ON CONFLICT (tenant_seq) DO UPDATE SET t = tenant_action_clock.t RETURNING t`, seq)
		if err != nil {
			return err
		}
		stored := make([]*openatp.MachineAction, len(norm))
		unchanged := make([]bool, len(norm))
		known := map[string]bool{}
		for i := range norm {
			a := &norm[i]
			if !known[a.MachineID] {
				_, err := Get(ctx, x, "cannot read the machine", func() error {
					return InvalidItem("machine action", i, openatp.InvalidField("machineId", "the tenant has no machine %s", a.MachineID))
				}, scanNullString, "SELECT computer_dns_name FROM machines WHERE tenant_seq = ? AND id = ?", seq, a.MachineID)
				if err != nil {
					return err
				}
				known[a.MachineID] = true
			}
			old, err := Get(ctx, x, "cannot read the machine action", func() error { return errNoAction }, ScanAction,
				"SELECT "+ActionColumns+" FROM machine_actions WHERE tenant_seq = ? AND id = ?", seq, a.ID)
			if err == errNoAction {
				continue
			}
			if err != nil {
				return err
			}
			stored[i] = &old
			if sameAction(&old, a) {
				unchanged[i], out[i] = true, old
				continue
			}
			if old.Type != a.Type || old.MachineID != a.MachineID || old.Requestor != a.Requestor ||
				old.RequestorComment != a.RequestorComment || !old.CreationDateTimeUTC.Equal(a.CreationDateTimeUTC) {
				return InvalidItem("machine action", i, openatp.InvalidField("id",
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
			prev = NextStamp(prev, minTimeOf(a.LastUpdateDateTimeUTC, now))
			a.LastUpdateDateTimeUTC = FromNanos(prev)
		}
		if prev != last {
			if _, err := exec(ctx, x, "cannot advance the action clock", "UPDATE tenant_action_clock SET t = ? WHERE tenant_seq = ?", prev, seq); err != nil {
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
				return InvalidItem("machine action", i, err)
			}
			if stored[i] != nil {
				if _, err := exec(ctx, x, "cannot store the machine action", "DELETE FROM machine_actions WHERE tenant_seq = ? AND id = ?", seq, a.ID); err != nil {
					return err
				}
			}
			if _, err := exec(ctx, x, "cannot store the machine action", insertAction, append([]any{seq}, args...)...); err != nil {
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

// errNoAction is what reading an action id the tenant does not have
// answers inside an import.
var errNoAction = openatp.Errorf(openatp.NotFound, "no machine action")

// normalizeImport returns normalized copies of the actions of an import,
// checked as ImportMachineActions says, before any transaction.
func normalizeImport(as []openatp.MachineAction, now time.Time) ([]openatp.MachineAction, error) {
	norm := make([]openatp.MachineAction, len(as))
	ids := make(map[string]int, len(as))
	for i := range as {
		a := as[i]
		a.Commands = append([]openatp.ActionCommand(nil), as[i].Commands...)
		bad := func(field, format string, args ...any) error {
			return InvalidItem("machine action", i, openatp.InvalidField(field, format, args...))
		}
		if err := a.Normalize(); err != nil {
			return nil, InvalidItem("machine action", i, err)
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
		}
		if j, ok := ids[a.ID]; ok {
			return nil, bad("id", "machine action %d has this id already", j)
		}
		ids[a.ID] = i
		if _, err := actionArgs(&a); err != nil {
			return nil, InvalidItem("machine action", i, err)
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
func importBusy(ctx context.Context, x Execer, seq int64, norm []openatp.MachineAction, unchanged []bool) error {
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
			all, err := List(ctx, x, "cannot read the machine's actions", ScanAction, "SELECT "+ActionColumns+
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
			return InvalidItem("machine action", i, openatp.InvalidField("status",
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
