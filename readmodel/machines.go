package readmodel

import (
	"encoding/hex"
	"slices"
	"strings"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/odata"
	"github.com/openatp/openatp/wire"
)

// slotProps are the filterable properties of a machine that its match key
// does not hold (see wire.MachineSchema).
type slotProps struct {
	lastSeen    int64 // Unix nanoseconds, if hasLastSeen
	hasLastSeen bool
	health      uint8 // index+1 in openatp.HealthStatuses; 0 for null
	onboarding  uint8
	risk        uint8
	exposure    uint8
	value       uint8
}

func enumIndex(values []string, v *string) uint8 {
	if v == nil {
		return 0
	}
	return uint8(slices.Index(values, *v) + 1)
}

func propsOf(m *openatp.Machine) slotProps {
	p := slotProps{
		health: enumIndex(openatp.HealthStatuses, m.HealthStatus), onboarding: enumIndex(openatp.OnboardingStatuses, m.OnboardingStatus),
		risk: enumIndex(openatp.RiskScores, m.RiskScore), exposure: enumIndex(openatp.ExposureLevels, m.ExposureLevel),
		value: enumIndex(openatp.DeviceValues, m.DeviceValue),
	}
	if m.LastSeen != nil {
		p.lastSeen, p.hasLastSeen = m.LastSeen.UnixNano(), true
	}
	return p
}

// entity is a machine of a view as odata sees it. Its strings point into
// the view's arena: odata compares them and keeps none.
type entity struct {
	v    *View
	slot uint32
	s    *machineSlot
	tags *[]string // scratch for Strings, shared by the entities of a query
}

func enumValue(values []string, i uint8) (string, bool) {
	if i == 0 {
		return "", false
	}
	return values[i-1], true
}

func optional(s string) (string, bool) { return s, s != "" }

func (e entity) String(prop int) (string, bool) {
	s := e.s
	switch prop {
	case wire.MID:
		return hex.EncodeToString(s.id[:]), true
	case wire.MComputerDNSName:
		return optional(e.v.c.strings(s).name)
	case wire.MOSPlatform:
		return optional(e.v.c.strings(s).os)
	case wire.MVersion:
		return optional(e.v.c.strings(s).version)
	case wire.MLastIPAddress:
		return optional(e.v.c.strings(s).lastIP)
	case wire.MAADDeviceID:
		return optional(e.v.c.strings(s).aadID)
	case wire.MHealthStatus:
		return enumValue(openatp.HealthStatuses, s.props.health)
	case wire.MOnboardingStatus:
		return enumValue(openatp.OnboardingStatuses, s.props.onboarding)
	case wire.MRiskScore:
		return enumValue(openatp.RiskScores, s.props.risk)
	case wire.MExposureLevel:
		return enumValue(openatp.ExposureLevels, s.props.exposure)
	case wire.MDeviceValue:
		return enumValue(openatp.DeviceValues, s.props.value)
	}
	return "", false
}

func (e entity) Int(prop int) (int64, bool) {
	if prop == wire.MRBACGroupID {
		return e.v.GroupID(e.slot), true
	}
	return 0, false
}

func (e entity) Time(prop int) (int64, bool) {
	if prop == wire.MLastSeen {
		return e.s.props.lastSeen, e.s.props.hasLastSeen
	}
	return 0, false
}

func (e entity) Bool(int) (bool, bool) { return false, false }

func (e entity) Strings(prop int) []string {
	if prop == wire.MMachineTags {
		*e.tags = e.v.c.strings(e.s).appendTags((*e.tags)[:0])
		return *e.tags
	}
	return nil
}

// MachineQuery is a query of a view's machines.
type MachineQuery struct {
	Filter  *odata.Filter    // nil: every machine
	OrderBy []odata.OrderKey // nil: by id
	// After continues a listing in id order after the machine with this
	// id (exclusive); only without OrderBy.
	After string
	Skip  int
	Top   int // the most machines to return
	// Access limits the machines to the device groups a delegated caller
	// may see; nil means every machine.
	Access *openatp.Access
	// Count asks for the number of matching machines, whatever Skip and Top.
	Count bool
}

// QueryMachines returns the machines of q's page as slots, whether more
// match after it, and (with q.Count) how many match in all.
func (v *View) QueryMachines(q MachineQuery) (page []uint32, more bool, total int) {
	candidates := v.c.order
	if ids, ok := q.Filter.EqualityOn(wire.MID); ok {
		candidates = v.lookupIDs(ids)
		if q.Filter.OnlyEqualityOn(wire.MID) {
			q.Filter = nil // the index found exactly the matches
		}
	} else if names, ok := q.Filter.EqualityOn(wire.MComputerDNSName); ok {
		candidates = v.lookupNames(names)
		if q.Filter.OnlyEqualityOn(wire.MComputerDNSName) {
			q.Filter = nil
		}
	}
	start := 0
	if q.After != "" && q.OrderBy == nil {
		var id [20]byte
		if len(q.After) == 40 {
			_, _ = hex.Decode(id[:], []byte(q.After))
		}
		start, _ = slices.BinarySearchFunc(candidates, id, func(s uint32, id [20]byte) int {
			return compareID(v.c.slots.at(s).id, id)
		})
		for start < len(candidates) && v.c.slots.at(candidates[start]).id == id {
			start++
		}
	}
	var tags, tagsB []string // the entities' scratch
	match := func(s uint32) bool {
		if q.Access != nil && !q.Access.CanSee(v.GroupID(s)) {
			return false
		}
		return q.Filter == nil || q.Filter.Match(entity{v, s, v.c.slots.at(s), &tags})
	}
	if q.OrderBy != nil {
		return sortedPage(candidates, match, func(a, b uint32) int {
			return wire.MachineSchema.Compare(q.OrderBy, entity{v, a, v.c.slots.at(a), &tags}, entity{v, b, v.c.slots.at(b), &tagsB})
		}, q.Skip, q.Top)
	}
	// One pass: the machines before the continuation point only count.
	return scanPage(candidates, start, q.Count, q.Skip, q.Top, match)
}

func compareID(a, b [20]byte) int { return strings.Compare(string(a[:]), string(b[:])) }

// lookupIDs returns the live slots of the given ids (any case), in id order.
func (v *View) lookupIDs(ids []string) []uint32 {
	var out []uint32
	for _, id := range ids {
		if s, ok := v.c.find(strings.ToLower(id)); ok {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, v.c.compareSlots)
	return slices.Compact(out)
}

// lookupNames returns the live slots of the given computer names (ASCII
// case ignored), in id order.
func (v *View) lookupNames(names []string) []uint32 {
	var out []uint32
	for _, n := range names {
		out = v.c.names.Lookup(odata.Fold(n), v.c.nameOf, out)
	}
	slices.SortFunc(out, v.c.compareSlots)
	return slices.Compact(out)
}

// Machine finds a machine by id, or by computer name (ASCII case ignored;
// of several machines of one name, the one seen last, then the greatest
// id). ok is false if there is none.
func (v *View) Machine(idOrName string) (slot uint32, ok bool) {
	if s, ok := v.c.find(strings.ToLower(idOrName)); ok {
		return s, true
	}
	list := v.lookupNames([]string{idOrName})
	if len(list) == 0 {
		return 0, false
	}
	best := list[0]
	for _, s := range list[1:] {
		a, b := &v.c.slots.at(best).props, &v.c.slots.at(s).props
		if !a.hasLastSeen || b.hasLastSeen && b.lastSeen >= a.lastSeen {
			best = s
		}
	}
	return best, true
}

// MachineID returns the id of machine slot s.
func (v *View) MachineID(s uint32) string { return hex.EncodeToString(v.c.slots.at(s).id[:]) }

// SelectMachine appends the JSON of machine s with only the properties
// keep reports (by wire.MachineSchema index).
func (v *View) SelectMachine(b []byte, s uint32, keep func(int) bool) []byte {
	full := v.AppendMachine(nil, s)
	return wire.SelectProperties(b, full, keep)
}
