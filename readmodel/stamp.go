package readmodel

import "sync/atomic"

// What an answer built from a view depends on, for the answers kept by
// their bytes (internal/answercache): a view's epoch and content version,
// and a machine's stamp. Equal values in two views mean equal bytes.

// epochs numbers the epochs of views: a build starts one, and so does a
// sync that changes the device groups (the groups and their names are in
// every machine's JSON).
var epochs atomic.Uint64

// Version returns the view's epoch and content version: two views with
// the same pair hold the same machines, users, relations, alerts and
// device groups, so every answer built from one is the answer of the
// other.
func (v *View) Version() (epoch, content uint64) { return v.epoch, v.c.version }

// MachineStamp returns what machine slot s's JSON is made of in the view:
// within one epoch, a machine whose stamp did not change writes the same
// bytes (a changed machine is stored anew in the append-only arena, at a
// new place; a deleted one changes its stamp too). Its device group is
// covered by the epoch: a machine changes group only when it changes or
// when the groups change.
func (v *View) MachineStamp(s uint32) uint64 {
	sl := v.c.slots.at(s)
	if !sl.alive {
		return ^uint64(sl.json)
	}
	return uint64(sl.json)
}
