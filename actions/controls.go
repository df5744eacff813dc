package actions

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/openatp/openatp"
)

// Controls are what a test sets of the lifecycle, per tenant: the
// durations of each action type (Timings), the machines that do not
// answer (their actions stay Pending until they time out), the forced
// failures (an action, a machine's actions or a type's actions end Failed
// with an errorHResult), what RunScript answers and the files GetFile
// fetches (liveresults.go), and the states investigations end in
// (investigations.go). Its Timing, Outcome, Runner, Result and
// InvestigationAt methods are a Config's hooks; the admin API sets it. It is kept in memory by the serving
// process, as the fault rules are. The zero value is ready; it is safe
// for concurrent use.
//
// A change applies to a tracked action at its next step; the caller
// tracks the actions it concerns again (Clock.Track) for it to apply now.
type Controls struct {
	Timings Timings

	mu          sync.RWMutex
	unreachable map[[2]string]bool // tenant, machine id
	failures    map[failureKey]int32

	live           liveControls          // scripts, placed files, kept results (liveresults.go)
	investigations investigationControls // investigation outcomes (investigations.go)
}

// Failure makes actions end Failed with HResult instead of Succeeded: the
// action ActionID, or else every action of machine MachineID, or else
// every action of type Type (exactly one is set).
type Failure struct {
	ActionID  string `json:"actionId,omitempty"`
	MachineID string `json:"machineId,omitempty"`
	Type      string `json:"type,omitempty"`
	HResult   int32  `json:"errorHResult"`
}

// failureKey is a failure's tenant and what it names: rank 0 an action,
// 1 a machine, 2 a type.
type failureKey struct {
	tenant string
	rank   int
	value  string
}

// Check validates f and canonicalizes it in place (ids lower-cased, the
// type in its documented spelling). Invalid, naming the field, unless
// exactly one of ActionID, MachineID and Type is set, well formed, and
// HResult is not zero.
func (f *Failure) Check() error {
	n := 0
	for _, s := range []string{f.ActionID, f.MachineID, f.Type} {
		if s != "" {
			n++
		}
	}
	if n != 1 {
		return openatp.InvalidField("actionId", "a failure names exactly one of actionId, machineId and type")
	}
	switch {
	case f.ActionID != "":
		if !openatp.IsGUID(f.ActionID) {
			return openatp.InvalidField("actionId", "must be a GUID, got %q", openatp.Clip(f.ActionID, 100))
		}
		f.ActionID = strings.ToLower(f.ActionID)
	case f.MachineID != "":
		f.MachineID = strings.ToLower(f.MachineID)
		if !openatp.ValidMachineID(f.MachineID) {
			return openatp.InvalidField("machineId", "must be 40 hexadecimal characters, got %q", openatp.Clip(f.MachineID, 100))
		}
	default:
		t, ok := openatp.CanonicalEnum(openatp.ActionTypes, f.Type)
		if !ok {
			return openatp.InvalidField("type", "%q is not an action type", openatp.Clip(f.Type, 100))
		}
		f.Type = t
	}
	if f.HResult == 0 {
		return openatp.InvalidField("errorHResult", "a failure's errorHResult is not 0")
	}
	return nil
}

func (f *Failure) key(tenantID string) failureKey {
	switch {
	case f.ActionID != "":
		return failureKey{tenantID, 0, f.ActionID}
	case f.MachineID != "":
		return failureKey{tenantID, 1, f.MachineID}
	}
	return failureKey{tenantID, 2, f.Type}
}

// SetUnreachable marks a machine of a tenant as not answering (on) or
// answering again.
func (c *Controls) SetUnreachable(tenantID, machineID string, on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := [2]string{tenantID, strings.ToLower(machineID)}
	if !on {
		delete(c.unreachable, k)
		return
	}
	if c.unreachable == nil {
		c.unreachable = map[[2]string]bool{}
	}
	c.unreachable[k] = true
}

// Unreachable returns the machines of a tenant marked as not answering,
// sorted.
func (c *Controls) Unreachable(tenantID string) []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := []string{}
	for k := range c.unreachable {
		if k[0] == tenantID {
			out = append(out, k[1])
		}
	}
	slices.Sort(out)
	return out
}

// AddFailure adds (or replaces: one per action, machine or type) a forced
// failure of a tenant, after Check.
func (c *Controls) AddFailure(tenantID string, f Failure) (Failure, error) {
	if err := f.Check(); err != nil {
		return f, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.failures == nil {
		c.failures = map[failureKey]int32{}
	}
	c.failures[f.key(tenantID)] = f.HResult
	return f, nil
}

// Failures returns the forced failures of a tenant: those of actions,
// then machines, then types, each sorted.
func (c *Controls) Failures(tenantID string) []Failure {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var keys []failureKey
	for k := range c.failures {
		if k.tenant == tenantID {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b failureKey) int { return cmp.Or(cmp.Compare(a.rank, b.rank), cmp.Compare(a.value, b.value)) })
	out := []Failure{}
	for _, k := range keys {
		f := Failure{HResult: c.failures[k]}
		switch k.rank {
		case 0:
			f.ActionID = k.value
		case 1:
			f.MachineID = k.value
		default:
			f.Type = k.value
		}
		out = append(out, f)
	}
	return out
}

// ClearFailures removes the forced failures of a tenant.
func (c *Controls) ClearFailures(tenantID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.failures {
		if k.tenant == tenantID {
			delete(c.failures, k)
		}
	}
}

// Timing is a Config.Timing: c.Timings' timing of the action.
func (c *Controls) Timing(tenantID string, a *openatp.MachineAction) openatp.ActionTiming {
	return c.Timings.Timing(tenantID, a)
}

// Outcome is a Config.Outcome: the action's machine does not answer if
// it is marked so; the action fails with the errorHResult of the failure
// that names it, the action's own before its machine's before its type's.
func (c *Controls) Outcome(tenantID string, a *openatp.MachineAction) openatp.ActionOutcome {
	c.mu.RLock()
	defer c.mu.RUnlock()
	o := openatp.ActionOutcome{Unreachable: c.unreachable[[2]string{tenantID, a.MachineID}]}
	for _, k := range []failureKey{{tenantID, 0, a.ID}, {tenantID, 1, a.MachineID}, {tenantID, 2, a.Type}} {
		if h, ok := c.failures[k]; ok {
			o.FailHResult = h
			break
		}
	}
	return o
}

// TenantTimings returns the timings set for a tenant (not those set for
// every tenant), by action type ("" for every type).
func (t *Timings) TenantTimings(tenantID string) map[string]openatp.ActionTiming {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := map[string]openatp.ActionTiming{}
	for k, d := range t.m {
		if k[0] == tenantID {
			out[k[1]] = d
		}
	}
	return out
}

// ClearTenant removes the timings set for a tenant: its actions take the
// timings set for every tenant, or the defaults.
func (t *Timings) ClearTenant(tenantID string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k := range t.m {
		if k[0] == tenantID {
			delete(t.m, k)
		}
	}
}

// OffboardedHealth returns a Config.Succeeded hook that makes the machine
// of a succeeded offboarding stop reporting: its healthStatus becomes
// openatp.OffboardedHealthStatus (Inactive) in store (machines writes
// through store, which may refresh a read model). A machine deleted
// meanwhile is no error.
func OffboardedHealth(store openatp.MachineAPIStore) func(ctx context.Context, tenantID string, a openatp.MachineAction) error {
	return func(ctx context.Context, tenantID string, a openatp.MachineAction) error {
		if a.Type != openatp.ActionOffboard {
			return nil
		}
		_, err := store.UpdateMachine(ctx, tenantID, a.MachineID, func(m *openatp.Machine) error {
			m.HealthStatus = openatp.Ptr(openatp.OffboardedHealthStatus)
			return nil
		})
		if openatp.IsKind(err, openatp.NotFound) {
			return nil
		}
		return err
	}
}
