package openatp

import "time"

// MachineState is what succeeded machine actions did to a machine: an
// isolation isolates it (with its isolation type) until an unisolation, a
// restriction restricts its code execution until an unrestriction, an
// offboarding offboards it for good. The store changes it in the write
// that makes such an action Succeeded (MachineActionStore); a machine no
// action changed has the zero state.
type MachineState struct {
	MachineID     string
	Isolated      bool
	IsolationType *string // Full, Selective or UnManagedDevice while isolated; else nil
	Restricted    bool
	Offboarded    bool
	// LastActionID and Updated are the action that changed the state
	// last and the stamp of its success; nil when none did.
	LastActionID *string
	Updated      *time.Time
}

// OffboardedHealthStatus is the healthStatus an offboarded machine takes:
// it no longer reports.
const OffboardedHealthStatus = "Inactive"

// ChangesState reports whether a succeeded action of type typ changes its
// machine's state.
func ChangesState(typ string) bool {
	switch typ {
	case ActionIsolate, ActionUnisolate, ActionRestrictCodeExecution, ActionUnrestrictCodeExecution, ActionOffboard:
		return true
	}
	return false
}

// Apply changes the state as action a, which succeeded at stamp, does;
// it reports whether a changes states (ChangesState).
func (s *MachineState) Apply(a *MachineAction, stamp time.Time) bool {
	switch a.Type {
	case ActionIsolate:
		s.Isolated, s.IsolationType = true, a.Scope
		if s.IsolationType == nil {
			s.IsolationType = Ptr("Full")
		}
	case ActionUnisolate:
		s.Isolated, s.IsolationType = false, nil
	case ActionRestrictCodeExecution:
		s.Restricted = true
	case ActionUnrestrictCodeExecution:
		s.Restricted = false
	case ActionOffboard:
		s.Offboarded = true
	default:
		return false
	}
	s.LastActionID, s.Updated = &a.ID, &stamp
	return true
}
