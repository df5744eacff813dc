package readmodel

import (
	"encoding/hex"
	"iter"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unsafe"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/odata"
	"github.com/openatp/openatp/readmodel/alertrec"
	"github.com/openatp/openatp/wire"
)

// alertEntity is an alert of a view as odata sees it; one is reused for
// every alert a query tests, so that Match does not allocate. Its strings
// point into the arena or its scratch: odata compares them and keeps none.
type alertEntity struct {
	as  *alertSet
	s   *alertSlot
	hex [40]byte // scratch for the machine id
}

func (e *alertEntity) String(prop int) (string, bool) {
	p := &e.s.p
	switch prop {
	case wire.AID:
		return e.as.id(e.s), true
	case wire.AMachineID:
		hex.Encode(e.hex[:], e.s.machine[:])
		return unsafe.String(&e.hex[0], len(e.hex)), true
	case wire.AAssignedTo:
		return e.as.strings(e.s).assignedTo, p.nulls&nullAssignedTo == 0
	case wire.ADetectionSource:
		return e.as.strings(e.s).source, p.nulls&nullSource == 0
	case wire.ACategory:
		return e.as.strings(e.s).category, p.nulls&nullCategory == 0
	case wire.ASeverity:
		return enumValue(openatp.AlertSeverities, p.severity)
	case wire.AStatus:
		return enumValue(openatp.AlertStatuses, p.status)
	}
	return "", false
}

func (e *alertEntity) Int(prop int) (int64, bool) {
	p := &e.s.p
	switch prop {
	case wire.AIncidentID:
		return p.incident, p.nulls&nullIncident == 0
	case wire.AInvestigationID:
		return p.investigation, p.nulls&nullInvestigation == 0
	}
	return 0, false
}

func (e *alertEntity) Time(prop int) (int64, bool) {
	p := &e.s.p
	switch prop {
	case wire.ALastUpdateTime:
		return p.updated, true
	case wire.AAlertCreationTime:
		return p.created, p.nulls&nullCreated == 0
	case wire.ALastEventTime:
		return p.lastEvent, p.nulls&nullLastEvent == 0
	}
	return 0, false
}

func (e *alertEntity) Bool(int) (bool, bool) { return false, false }
func (e *alertEntity) Strings(int) []string  { return nil }

// AlertCursor is a position in the alert list's order (lastUpdateTime,
// then id): where a page ended, for keyset paging.
type AlertCursor struct {
	Updated int64 // Unix ns
	ID      string
}

// String is the cursor as a $skiptoken: "<Unix ns>_<id>".
func (c AlertCursor) String() string { return strconv.FormatInt(c.Updated, 10) + "_" + c.ID }

// ParseAlertCursor reads AlertCursor.String; ok is false for anything else.
func ParseAlertCursor(s string) (AlertCursor, bool) {
	n, id, ok := strings.Cut(s, "_")
	if !ok || !openatp.ValidAlertID(id) {
		return AlertCursor{}, false
	}
	u, err := strconv.ParseInt(n, 10, 64)
	if err != nil {
		return AlertCursor{}, false
	}
	return AlertCursor{u, id}, true
}

// AlertQuery is a query of a view's alerts.
type AlertQuery struct {
	Filter  *odata.Filter    // nil: every alert
	OrderBy []odata.OrderKey // nil: by lastUpdateTime, then id
	// After continues a listing in the default order after this cursor
	// (exclusive); only without OrderBy.
	After *AlertCursor
	Skip  int
	Top   int // the most alerts to return
	// Access limits the alerts to those of machines in the device groups
	// a delegated caller may see; nil means every alert.
	Access *openatp.Access
	// Count asks for the number of matching alerts, whatever Skip, Top
	// and After.
	Count bool
	// Machine, when set, limits the alerts to those of this machine slot.
	Machine *uint32
	// User, when set, limits the alerts to those whose related user it
	// names (account name, and domain when given, ignoring case).
	User *openatp.UserRef
}

// QueryAlerts returns the alerts of q's page as slots, whether more match
// after it, and (with q.Count) how many match in all.
func (v *View) QueryAlerts(q AlertQuery) (page []uint32, more bool, total int) {
	as := v.c.alerts
	candidates := as.order // in the default order
	var picked []uint32
	restricted := true
	switch ids, byID := q.Filter.EqualityOn(wire.AID); {
	case q.Machine != nil:
		picked, _ = as.byMachine.get(v.c.slots.at(*q.Machine).id)
	case q.User != nil:
		list, _ := as.byUser.get(openatp.NameKey(q.User.Name))
		dom := openatp.NameKey(q.User.Domain)
		for _, s := range list {
			if dom == "" || as.strings(as.slots.at(s)).userDomainKey == dom {
				picked = append(picked, s)
			}
		}
	case byID && as.upper == 0:
		// Ids compare without ASCII case (the values are folded): while
		// no id has upper-case letters, the index finds every match.
		for _, id := range ids {
			if s, ok := as.findID(id); ok {
				picked = append(picked, s)
			}
		}
	default:
		restricted = false
	}
	if restricted {
		candidates = slices.Clone(picked)
		slices.SortFunc(candidates, as.compare)
		candidates = slices.Compact(candidates)
	}
	start, end := 0, len(candidates)
	if lo, hi, ok := q.Filter.TimeRange(wire.ALastUpdateTime); ok {
		start = sort.Search(len(candidates), func(i int) bool { return as.slots.at(candidates[i]).p.updated >= lo })
		end = sort.Search(len(candidates), func(i int) bool { return as.slots.at(candidates[i]).p.updated > hi })
		end = max(start, end)
		if q.Filter.OnlyTimeRangeOn(wire.ALastUpdateTime) {
			q.Filter = nil // the poll: the range is exactly the matches
		}
	}
	candidates = candidates[start:end]
	from := 0
	if q.After != nil && q.OrderBy == nil {
		from = sort.Search(len(candidates), func(i int) bool {
			s := as.slots.at(candidates[i])
			return s.p.updated > q.After.Updated || s.p.updated == q.After.Updated && as.id(s) > q.After.ID
		})
	}
	e := &alertEntity{as: as}
	match := func(slot uint32) bool {
		if q.Access == nil && q.Filter == nil {
			return true
		}
		e.s = as.slots.at(slot)
		if q.Access != nil && !q.Access.CanSee(v.GroupID(e.s.mslot)) {
			return false
		}
		return q.Filter == nil || q.Filter.Match(e)
	}
	if q.OrderBy != nil {
		x, y := &alertEntity{as: as}, &alertEntity{as: as}
		return sortedPage(candidates, match, func(a, b uint32) int {
			x.s, y.s = as.slots.at(a), as.slots.at(b)
			return wire.AlertSchema.Compare(q.OrderBy, x, y)
		}, q.Skip, q.Top)
	}
	return scanPage(candidates, from, q.Count, q.Skip, q.Top, match)
}

// Alert finds an alert by id; ok is false if there is none.
func (v *View) Alert(id string) (slot uint32, ok bool) { return v.c.alerts.findID(id) }

// Alerts returns the number of alerts.
func (v *View) Alerts() int { return len(v.c.alerts.order) }

// AlertSlots yields the slot of every live alert in the default order
// (an updated alert has a new slot, a deleted one none: the slots are not
// 0..Alerts()-1 once one changed).
func (v *View) AlertSlots() iter.Seq[uint32] { return slices.Values(v.c.alerts.order) }

// AlertID returns the id of alert slot a.
func (v *View) AlertID(a uint32) string {
	as := v.c.alerts
	return strings.Clone(as.id(as.slots.at(a)))
}

// AlertMachine returns the machine slot of alert a.
func (v *View) AlertMachine(a uint32) uint32 { return v.c.alerts.slots.at(a).mslot }

// AlertGroupID returns the device group id of alert a's machine.
func (v *View) AlertGroupID(a uint32) int64 { return v.GroupID(v.c.alerts.slots.at(a).mslot) }

// AlertCursorOf returns the position of alert a in the default order.
func (v *View) AlertCursorOf(a uint32) AlertCursor {
	as := v.c.alerts
	s := as.slots.at(a)
	return AlertCursor{s.p.updated, strings.Clone(as.id(s))}
}

// AlertRelatedUser returns the keys of alert a's related user, ok false
// when it has none.
func (v *View) AlertRelatedUser(a uint32) (nameKey, domainKey string, ok bool) {
	as := v.c.alerts
	str := as.strings(as.slots.at(a))
	return strings.Clone(str.userKey), strings.Clone(str.userDomainKey), str.userKey != ""
}

// AppendAlert appends the JSON of alert a to b: with its evidence, or
// with evidence false an empty list. Its computerDnsName is its machine's
// name now, its rbacGroupName the view's group of its machine.
func (v *View) AppendAlert(b []byte, a uint32, evidence bool) []byte {
	as := v.c.alerts
	s := as.slots.at(a)
	rec := as.arena.get(s.rec)
	b = alertrec.Unpack(b, rec[s.head:s.tail], as)
	b = append(b, `,"computerDnsName":`...)
	if name := v.c.nameOf(s.mslot); name != "" {
		b = wire.AppendString(b, name)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, v.alertFrags[*v.group.at(s.mslot)]...)
	b = alertrec.Unpack(b, rec[s.tail:s.ev], as)
	b = append(b, `,"evidence":`...)
	if evidence && s.evSize > 0 {
		b = alertrec.Unpack(b, rec[s.ev:], as)
	} else {
		b = append(b, "[]"...)
	}
	return append(b, '}')
}

// AlertSize returns the length of AppendAlert's JSON of alert a.
func (v *View) AlertSize(a uint32, evidence bool) int {
	s := v.c.alerts.slots.at(a)
	name := len("null")
	if n := v.c.nameOf(s.mslot); n != "" {
		var scratch [128]byte
		name = len(wire.AppendString(scratch[:0], n))
	}
	n := int(s.size) + len(`,"computerDnsName":`) + name + len(v.alertFrags[*v.group.at(s.mslot)]) + len(`,"evidence":[]}`)
	if evidence && s.evSize > 0 {
		n += int(s.evSize) - len("[]")
	}
	return n
}

// SelectAlert appends the JSON of alert a with only the properties keep
// reports (by wire.AlertSchema index).
func (v *View) SelectAlert(b []byte, a uint32, evidence bool, keep func(int) bool) []byte {
	return wire.SelectProperties(b, v.AppendAlert(nil, a, evidence), keep)
}

// UserKnown reports whether the view knows a user u names: one with a
// logon on a machine, or the related user of an alert, that a (nil: the
// whole tenant) may see.
func (v *View) UserKnown(u openatp.UserRef, a *openatp.Access) bool {
	if list, ok := v.UserMachines(u, nil); ok && (a == nil || len(v.Visible(list, a)) > 0) {
		return true
	}
	page, _, _ := v.QueryAlerts(AlertQuery{User: &u, Access: a, Top: 1})
	return len(page) > 0
}
