package actions

import (
	"cmp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/openatp/openatp"
)

// InvestigationOutcome makes investigations end in State instead of
// Benign, when their run time has passed: the investigation
// InvestigationID, or else every investigation of machine MachineID
// (exactly one is set). State is any documented investigation state;
// Running, PendingApproval, PendingResource and Queued leave the
// investigation without an end time (it is not over), the others end it.
type InvestigationOutcome struct {
	InvestigationID string `json:"investigationId,omitempty"`
	MachineID       string `json:"machineId,omitempty"`
	State           string `json:"state"`
}

// openStates are the investigation states of one that is not over.
var openStates = []string{openatp.InvestigationRunning, "PendingApproval", "PendingResource", "Queued"}

// Check validates o and canonicalizes it in place (the machine id
// lower-cased, the state in its documented spelling). Invalid, naming the
// field, unless exactly one of InvestigationID and MachineID is set, well
// formed, and State is a documented state.
func (o *InvestigationOutcome) Check() error {
	if (o.InvestigationID == "") == (o.MachineID == "") {
		return openatp.InvalidField("investigationId", "an outcome names exactly one of investigationId and machineId")
	}
	if o.InvestigationID != "" {
		if len(o.InvestigationID) > 19 || strings.Trim(o.InvestigationID, "0123456789") != "" {
			return openatp.InvalidField("investigationId", "must be an investigation's id, a decimal number such as \"63004\", got %q", openatp.Clip(o.InvestigationID, 100))
		}
	} else {
		o.MachineID = strings.ToLower(o.MachineID)
		if !openatp.ValidMachineID(o.MachineID) {
			return openatp.InvalidField("machineId", "must be 40 hexadecimal characters, got %q", openatp.Clip(o.MachineID, 100))
		}
	}
	s, ok := openatp.CanonicalEnum(openatp.InvestigationStates, o.State)
	if !ok {
		return openatp.InvalidField("state", "%q is not an investigation state (%s)", openatp.Clip(o.State, 100), strings.Join(openatp.InvestigationStates, ", "))
	}
	o.State = s
	return nil
}

// investigationControls are the investigation outcomes of Controls.
type investigationControls struct {
	mu       sync.RWMutex
	outcomes map[failureKey]setOutcome // rank 0 an investigation, 1 a machine
}

type setOutcome struct {
	state string
	set   time.Time
}

// SetInvestigationOutcome sets (or replaces: one per investigation or
// machine) an investigation outcome of a tenant, after Check. It applies
// to the investigations whose run time ends from now on: one that has
// already ended keeps its state.
func (c *Controls) SetInvestigationOutcome(tenantID string, o InvestigationOutcome) (InvestigationOutcome, error) {
	if err := o.Check(); err != nil {
		return o, err
	}
	k := failureKey{tenantID, 1, o.MachineID}
	if o.InvestigationID != "" {
		k = failureKey{tenantID, 0, o.InvestigationID}
	}
	iv := &c.investigations
	iv.mu.Lock()
	defer iv.mu.Unlock()
	if iv.outcomes == nil {
		iv.outcomes = map[failureKey]setOutcome{}
	}
	iv.outcomes[k] = setOutcome{o.State, time.Now()}
	return o, nil
}

// InvestigationOutcomes returns the investigation outcomes of a tenant:
// those of investigations, then machines, each sorted.
func (c *Controls) InvestigationOutcomes(tenantID string) []InvestigationOutcome {
	iv := &c.investigations
	iv.mu.RLock()
	defer iv.mu.RUnlock()
	var keys []failureKey
	for k := range iv.outcomes {
		if k.tenant == tenantID {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b failureKey) int {
		return cmp.Or(cmp.Compare(a.rank, b.rank), cmp.Compare(len(a.value), len(b.value)), cmp.Compare(a.value, b.value))
	})
	out := []InvestigationOutcome{}
	for _, k := range keys {
		o := InvestigationOutcome{State: iv.outcomes[k].state}
		if k.rank == 0 {
			o.InvestigationID = k.value
		} else {
			o.MachineID = k.value
		}
		out = append(out, o)
	}
	return out
}

// ClearInvestigationOutcomes removes the investigation outcomes of a
// tenant: its investigations read Benign again once over.
func (c *Controls) ClearInvestigationOutcomes(tenantID string) {
	iv := &c.investigations
	iv.mu.Lock()
	defer iv.mu.Unlock()
	for k := range iv.outcomes {
		if k.tenant == tenantID {
			delete(iv.outcomes, k)
		}
	}
}

// InvestigationAt is a Config.Investigations: investigation inv of a
// tenant as it is at now, if it runs for run (openatp.Investigation.At),
// ending in the state its outcome names (its own before its machine's)
// when that outcome was set before its run time ended.
func (c *Controls) InvestigationAt(tenantID string, inv openatp.Investigation, now time.Time, run time.Duration) openatp.Investigation {
	at := inv.At(now, run)
	if at.State == inv.State {
		return at // running still, or ended already as stored
	}
	end := inv.StartTime.Add(run)
	iv := &c.investigations
	iv.mu.RLock()
	defer iv.mu.RUnlock()
	for _, k := range []failureKey{{tenantID, 0, inv.ID}, {tenantID, 1, inv.MachineID}} {
		o, ok := iv.outcomes[k]
		if !ok {
			continue
		}
		if o.set.After(end) {
			return at
		}
		at.State = o.state
		if slices.Contains(openStates, o.state) {
			at.EndTime = nil
		}
		return at
	}
	return at
}

// InvestigationAt returns investigation inv of a tenant as it is at now,
// if it runs for run: as Config.Investigations has it, else
// openatp.Investigation.At.
func (c *Clock) InvestigationAt(tenantID string, inv openatp.Investigation, now time.Time, run time.Duration) openatp.Investigation {
	if c.cfg.Investigations == nil {
		return inv.At(now, run)
	}
	return c.cfg.Investigations(tenantID, inv, now, run)
}
