package openatp

import (
	"context"
	"errors"
	"strconv"
)

// BatchWriter writes into the one transaction of Store.WriteBatch. Each
// call follows the rules of the Store method of the same name (all of its
// items are valid or the call fails); the slice is not kept after the call
// returns, so the caller may reuse it.
type BatchWriter interface {
	// UpsertMachines is MachineStore.UpsertMachines inside the batch.
	UpsertMachines(ms []Machine) error
	// AddLogons is MachineStore.AddLogons inside the batch; the events may
	// name machines written earlier in the same batch.
	AddLogons(ls []Logon) error
	// UpsertAlerts is AlertStore.UpsertAlerts inside the batch.
	UpsertAlerts(as []Alert) error
}

// ItemError locates the item of a batch that an Invalid error of
// UpsertMachines, AddLogons, UpsertAlerts or a BatchWriter is about: its index in the
// slice given to that call. Stores put it in Error.Err.
type ItemError struct {
	Index int
	Err   error // the underlying cause, if any
}

func (e *ItemError) Error() string {
	if e.Err != nil {
		return "item " + strconv.Itoa(e.Index) + " of the batch: " + e.Err.Error()
	}
	return "item " + strconv.Itoa(e.Index) + " of the batch"
}

func (e *ItemError) Unwrap() error { return e.Err }

// ItemIndex returns the index of the item err is about, if it says.
func ItemIndex(err error) (int, bool) {
	var ie *ItemError
	if errors.As(err, &ie) {
		return ie.Index, true
	}
	return 0, false
}

// TenantStats counts what a tenant holds.
type TenantStats struct {
	Machines int64
	// Users are the accounts seen in logon events (not directory users).
	Users int64
	// Relations are the (user, machine) pairs: logon events are merged
	// into them, not kept one by one.
	Relations int64
	// Groups are the device groups, without the default group.
	Groups int64
	// Alerts are the alerts of the tenant's machines.
	Alerts int64
}

// BatchStore is the part of MachineStore that loads and removes data in
// bulk: imports and the admin API.
type BatchStore interface {
	// WriteBatch runs f in one write transaction: everything f writes
	// through w is stored together when f returns nil, and nothing of it
	// when f or a write returns an error (which WriteBatch returns). It is
	// for batches too large to hold in memory at once: f may call w any
	// number of times. Other writers of the tenant's content wait while f
	// runs (an engine may make every writer wait), so f should only feed
	// the batch; it must not call the store itself. The index of an
	// Invalid error's ItemError is within the slice of the failing call.
	// NotFound if the tenant does not exist (f is then not called).
	WriteBatch(ctx context.Context, tenantID string, f func(w BatchWriter) error) error

	// DeleteMachine deletes a machine with its (user, machine) relations
	// and its alerts; users left without any relation are deleted too. NotFound if the
	// tenant has no machine with that id.
	DeleteMachine(ctx context.Context, tenantID, id string) error

	// TenantStats counts the tenant's machines, users, relations and
	// device groups. NotFound if the tenant does not exist.
	TenantStats(ctx context.Context, tenantID string) (TenantStats, error)
}
