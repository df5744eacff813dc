package openatp

import (
	"context"
	"slices"
	"strings"
	"time"
)

// MachineAction is a response action on a machine (isolate, scan, ...),
// with the properties of the MDE MachineAction entity as the live service
// sends them (mde-reference §12.3.1.1): lastUpdateDateTimeUtc, not the
// misprinted lastUpdateTimeUtc; the status Cancelled. Nil pointers are
// null.
type MachineAction struct {
	ID               string // a GUID
	Type             string // one of ActionTypes
	Title            *string
	Requestor        string // the application's client id or the user's UPN
	RequestorComment string
	Status           string // one of ActionStatuses
	MachineID        string
	ComputerDNSName  *string // the machine's name when the action was created
	// CreationDateTimeUTC and LastUpdateDateTimeUTC are stamped by the
	// store (see MachineActionStore).
	CreationDateTimeUTC     time.Time
	LastUpdateDateTimeUTC   time.Time
	CancellationRequestor   *string
	CancellationComment     *string
	CancellationDateTimeUTC *time.Time
	ErrorHResult            int32 // 0 unless the action failed
	Scope                   *string
	ExternalID              *string
	RequestSource           *string
	RelatedFileInfo         *RelatedFileInfo
	Commands                []ActionCommand // live response commands; empty for the other types
	TroubleshootInfo        *string
}

// RelatedFileInfo is the file an action is about (StopAndQuarantineFile).
type RelatedFileInfo struct {
	FileIdentifier     string
	FileIdentifierType string // Sha1, Sha256 or Md5
}

// ActionCommand is one command of a live response action, with its
// progress.
type ActionCommand struct {
	Index         int
	StartTime     *time.Time
	EndTime       *time.Time
	CommandStatus string // Created, Completed or Failed
	Errors        []string
	Command       LiveResponseCommand
}

// LiveResponseCommand is a live response command as requested: PutFile,
// RunScript or GetFile with its parameters.
type LiveResponseCommand struct {
	Type   string
	Params []CommandParam
}

// CommandParam is a parameter of a live response command, such as
// {"ScriptName", "x.ps1"}.
type CommandParam struct {
	Key   string
	Value string
}

// ActionPermission returns the permission that starting an action of
// type typ takes.
func ActionPermission(typ string) string {
	switch typ {
	case ActionIsolate, ActionUnisolate:
		return PermMachineIsolate
	case ActionRunAntiVirusScan:
		return PermMachineScan
	case ActionRestrictCodeExecution, ActionUnrestrictCodeExecution:
		return PermMachineRestrictExecution
	case ActionCollectInvestigationPackage:
		return PermMachineCollectForensics
	case ActionStopAndQuarantineFile:
		return PermMachineStopAndQuarantine
	case ActionOffboard:
		return PermMachineOffboard
	case ActionLiveResponse:
		return PermMachineLiveResponse
	}
	return ""
}

// The action types, as the type property spells them.
const (
	ActionRunAntiVirusScan            = "RunAntiVirusScan"
	ActionOffboard                    = "Offboard"
	ActionLiveResponse                = "LiveResponse"
	ActionCollectInvestigationPackage = "CollectInvestigationPackage"
	ActionIsolate                     = "Isolate"
	ActionUnisolate                   = "Unisolate"
	ActionStopAndQuarantineFile       = "StopAndQuarantineFile"
	ActionRestrictCodeExecution       = "RestrictCodeExecution"
	ActionUnrestrictCodeExecution     = "UnrestrictCodeExecution"
)

// ActionTypes are the action types in their documented order.
var ActionTypes = []string{ActionRunAntiVirusScan, ActionOffboard, ActionLiveResponse, ActionCollectInvestigationPackage,
	ActionIsolate, ActionUnisolate, ActionStopAndQuarantineFile, ActionRestrictCodeExecution, ActionUnrestrictCodeExecution}

// The action statuses. Pending and InProgress are live; the others final.
const (
	ActionPending    = "Pending"
	ActionInProgress = "InProgress"
	ActionSucceeded  = "Succeeded"
	ActionFailed     = "Failed"
	ActionTimeOut    = "TimeOut"
	ActionCancelled  = "Cancelled"
)

// ActionStatuses are the statuses in their documented order.
var ActionStatuses = []string{ActionPending, ActionInProgress, ActionSucceeded, ActionFailed, ActionTimeOut, ActionCancelled}

// ActionRequestSource is the requestSource of an action requested through
// the API.
const ActionRequestSource = "PublicApi"

// FinalActionStatus reports whether an action in status s is over: it
// changes no more and cannot be cancelled.
func FinalActionStatus(s string) bool { return s != ActionPending && s != ActionInProgress }

// Final reports whether the action is over.
func (a *MachineAction) Final() bool { return FinalActionStatus(a.Status) }

// ActionKind returns the kind of an action type for the busy rule: while
// an action is not final, no other action of its kind may start on its
// machine. Isolate and Unisolate are one kind, RestrictCodeExecution and
// UnrestrictCodeExecution another; every other type is a kind of its own
// (so one live response session per machine).
func ActionKind(typ string) string {
	switch typ {
	case ActionIsolate, ActionUnisolate:
		return "Isolation"
	case ActionRestrictCodeExecution, ActionUnrestrictCodeExecution:
		return "CodeExecution"
	}
	return typ
}

// Blocks reports whether a, an action of the same tenant, keeps b from
// starting: a is not final, on b's machine, of b's kind.
func (a *MachineAction) Blocks(b *MachineAction) bool {
	return !a.Final() && a.MachineID == b.MachineID && ActionKind(a.Type) == ActionKind(b.Type)
}

// BusyError returns the error of an action that another blocks (the busy
// rule): 400 ActiveRequestAlreadyExists "Action is already in progress",
// the code three clients match and the message a fourth matches; nil if
// none of live blocks a.
func BusyError(a *MachineAction, live []MachineAction) error {
	for i := range live {
		if live[i].ID != a.ID && live[i].Blocks(a) {
			return &Error{Kind: Invalid, Code: "ActiveRequestAlreadyExists", Message: "Action is already in progress"}
		}
	}
	return nil
}

// MaxLiveResponseSessions is the documented bound on the live response
// sessions (live LiveResponse actions) of a tenant.
const MaxLiveResponseSessions = 25

// SessionLimitError returns the error of a live response action that
// would be the tenant's session beyond MaxLiveResponseSessions (live is
// the number of its live sessions), nil if there is room: TooManyRequests,
// as the service answers a call over a limit.
func SessionLimitError(a *MachineAction, live int) error {
	if a.Type != ActionLiveResponse || live < MaxLiveResponseSessions {
		return nil
	}
	return CodedErrorf(TooManyRequests, "TooManyRequests",
		"The tenant has %d live response sessions running, the most allowed. Try again later.", MaxLiveResponseSessions)
}

// The isolation and scan types a request may ask for.
var (
	IsolationTypes = []string{"Full", "Selective", "UnManagedDevice"}
	ScanTypes      = []string{"Quick", "Full"}
)

// ActionTiming is how long an action takes, from state to state. A zero
// duration makes the step due at once (for tests); the defaults
// (DefaultActionTiming) look like the service's.
type ActionTiming struct {
	Pending    time.Duration // from creation to InProgress, on a machine that answers
	InProgress time.Duration // from InProgress to Succeeded (or Failed)
	TimeOut    time.Duration // from creation to TimeOut, on a machine that does not answer
}

// DefaultActionTiming returns the default timing of an action of type typ
// and scope (the scan type of a scan): seconds for an isolation or a
// restriction, a minute for a quick scan, ten for a full one; an action
// on a machine that does not answer times out after a day (a live
// response, queued up to three days as documented, after three).
func DefaultActionTiming(typ string, scope *string) ActionTiming {
	t := ActionTiming{Pending: 2 * time.Second, InProgress: 5 * time.Second, TimeOut: 24 * time.Hour}
	switch typ {
	case ActionIsolate, ActionUnisolate, ActionRestrictCodeExecution, ActionUnrestrictCodeExecution:
		t.InProgress = 10 * time.Second
	case ActionRunAntiVirusScan:
		t.InProgress = time.Minute
		if scope != nil && *scope == "Full" {
			t.InProgress = 10 * time.Minute
		}
	case ActionCollectInvestigationPackage:
		t.InProgress = 2 * time.Minute
	case ActionLiveResponse:
		t.InProgress = 30 * time.Second
		t.TimeOut = 3 * 24 * time.Hour
	case ActionOffboard, ActionStopAndQuarantineFile:
		t.InProgress = 15 * time.Second
	}
	return t
}

// ActionOutcome is what becomes of a live action: whether its machine
// answers, and whether it fails.
type ActionOutcome struct {
	// Unreachable keeps the action Pending until it times out.
	Unreachable bool
	// FailHResult, when nonzero, makes the action end Failed with this
	// errorHResult instead of Succeeded.
	FailHResult int32
}

// ActionStep is the next change of a live action: its status and when it
// is due.
type ActionStep struct {
	Status string
	Due    time.Time
}

// NextStep returns the next step of the action under timing t and outcome
// o; ok is false for a final action. A Pending action becomes InProgress
// t.Pending after its creation, or, on a machine that does not answer,
// TimeOut t.TimeOut after its creation; an InProgress one becomes
// Succeeded (Failed, with o.FailHResult) t.InProgress after it started
// (its last update).
func (a *MachineAction) NextStep(t ActionTiming, o ActionOutcome) (step ActionStep, ok bool) {
	switch a.Status {
	case ActionPending:
		if o.Unreachable {
			return ActionStep{ActionTimeOut, a.CreationDateTimeUTC.Add(t.TimeOut)}, true
		}
		return ActionStep{ActionInProgress, a.CreationDateTimeUTC.Add(t.Pending)}, true
	case ActionInProgress:
		if o.FailHResult != 0 {
			return ActionStep{ActionFailed, a.LastUpdateDateTimeUTC.Add(t.InProgress)}, true
		}
		return ActionStep{ActionSucceeded, a.LastUpdateDateTimeUTC.Add(t.InProgress)}, true
	}
	return ActionStep{}, false
}

// Advance moves the action to status to, as the lifecycle does: Pending
// to InProgress or TimeOut, InProgress to Succeeded, Failed (with the
// errorHResult hresult, which must be nonzero) or TimeOut. Any other move
// is refused with a Conflict (the action has moved on, such as a
// cancelled one); the store stamps LastUpdateDateTimeUTC.
func (a *MachineAction) Advance(to string, hresult int32) error {
	ok := false
	switch a.Status {
	case ActionPending:
		ok = to == ActionInProgress || to == ActionTimeOut
	case ActionInProgress:
		ok = to == ActionSucceeded || to == ActionTimeOut || (to == ActionFailed && hresult != 0)
	}
	if !ok {
		return Errorf(Conflict, "machine action %s cannot move from %s to %s", a.ID, a.Status, to)
	}
	a.Status = to
	if to == ActionFailed {
		a.ErrorHResult = hresult
	}
	return nil
}

// Cancel cancels a live action at stamp, on behalf of requestor with the
// given comment. A final action cannot be cancelled: Invalid (400), code
// BadRequest.
func (a *MachineAction) Cancel(requestor, comment string, stamp time.Time) error {
	if a.Final() {
		return CodedErrorf(Invalid, "BadRequest", "Action %s is in a final state (%s) and cannot be cancelled", a.ID, a.Status)
	}
	if err := checkText("Comment", &comment); err != nil {
		return err
	}
	a.Status = ActionCancelled
	a.CancellationRequestor, a.CancellationDateTimeUTC = &requestor, &stamp
	if comment != "" {
		a.CancellationComment = &comment
	}
	return nil
}

// ActionNotFound is the NotFound error of a machine action id.
func ActionNotFound(id string) error {
	return CodedErrorf(NotFound, "ResourceNotFound", "Machine action %s was not found", clip(id))
}

// TimeRange bounds a time: each bound that is not nil applies (After: gt,
// From: ge, Before: lt, Until: le).
type TimeRange struct {
	After, From, Before, Until *time.Time
}

// MachineActionFilter selects and orders machine actions: each list that
// is not empty keeps the actions whose property is one of its values
// (exactly), each time range the actions whose time is in it.
type MachineActionFilter struct {
	IDs, Statuses, MachineIDs, Types, Requestors []string
	Created, Updated                             TimeRange
	// OrderBy is "lastUpdateDateTimeUtc" (the default: stamps are unique
	// in a tenant, so a poll by pages sees every action once) or
	// "creationDateTimeUtc" (ties by id); Desc reverses it.
	OrderBy string
	Desc    bool
	// Skip and Top page the result (Top 0: every action).
	Skip, Top int
}

// MachineActionStore keeps the machine actions of tenants. Every call
// names its tenant; nothing of one tenant is ever visible through another.
//
// Each tenant has an action clock, as the alert clock of AlertStore: every
// write stamps the action it changes (its LastUpdateDateTimeUTC; and its
// CreationDateTimeUTC, when it creates it) with a time later than every
// stamp of the tenant's actions before it (the current time, or 100 ns
// after the previous stamp when the clock has not moved on), taken inside
// the write transaction, so that stamps are unique in the tenant and
// writes commit in the order of their stamps: a client that polls
// "lastUpdateDateTimeUtc gt <the greatest it has seen>" sees every change
// once.
type MachineActionStore interface {
	// CreateMachineAction stores a new Pending action, stamped, with the
	// name of its machine, unless a live action of its kind on its
	// machine blocks it (BusyError: Invalid, code
	// ActiveRequestAlreadyExists), or, for a live response action, unless
	// the tenant has MaxLiveResponseSessions live ones (TooManyRequests,
	// SessionLimitError): both checked in the same transaction.
	// Invalid for a malformed action; NotFound (ResourceNotFound) if the
	// tenant has no machine a.MachineID; Conflict if the id exists.
	CreateMachineAction(ctx context.Context, tenantID string, a MachineAction) (MachineAction, error)

	// MachineAction returns one action. NotFound (ResourceNotFound) if
	// the tenant has none of that id.
	MachineAction(ctx context.Context, tenantID, id string) (MachineAction, error)

	// MachineActions returns the tenant's actions that f selects, in its
	// order, paged; an empty list when none. NotFound if the tenant does
	// not exist.
	MachineActions(ctx context.Context, tenantID string, f MachineActionFilter) ([]MachineAction, error)

	// CountMachineActions counts the actions f selects, ignoring its
	// paging. NotFound if the tenant does not exist.
	CountMachineActions(ctx context.Context, tenantID string, f MachineActionFilter) (int, error)

	// UpdateMachineAction changes an action in one write transaction:
	// it reads the action, calls f with it and the stamp of the write,
	// stamps what f left (LastUpdateDateTimeUTC) and stores it. f may
	// change only the status, errorHResult, cancellation, commands and
	// troubleshootInfo (Advance, Cancel); when it makes the action
	// Succeeded, the action's effect on its machine (MachineState.Apply)
	// is written in the same transaction. It runs while other writers of
	// the tenant's actions wait and may run more than once. An error of
	// f is returned as it is and nothing is written. NotFound
	// (ResourceNotFound) if the tenant has no action of that id; Invalid
	// if f changed another property.
	UpdateMachineAction(ctx context.Context, tenantID, id string, f func(a *MachineAction, stamp time.Time) error) (MachineAction, error)

	// UpdateMachineActions is UpdateMachineAction for several actions of
	// a tenant in one write transaction (the action clock takes the steps
	// that fell due together so: one commit for many). Each action is
	// read, stamped after the one before it and passed to f in the order
	// of ids; refused[i] is the answer UpdateMachineAction would give for
	// ids[i] (f's error, NotFound, Invalid), and then nothing of that
	// action is written (its stamp may be spent); updated[i] is the action
	// as stored otherwise. err is a failure of the store: then nothing is
	// written at all. NotFound if the tenant does not exist.
	UpdateMachineActions(ctx context.Context, tenantID string, ids []string, f func(a *MachineAction, stamp time.Time) error) (updated []MachineAction, refused []error, err error)

	// MachineState returns what the tenant's succeeded actions did to a
	// machine (the zero state, with its id, if none did). UpdateMachineAction
	// changes it in the write that makes an action that ChangesState
	// Succeeded. NotFound (ResourceNotFound) if the tenant has no machine
	// of that id.
	MachineState(ctx context.Context, tenantID, machineID string) (MachineState, error)
	// PutMachineActions stores actions as they are, status and times
	// included, each replacing the tenant's action of its id, in one
	// transaction: a history (the demo tenant's, `openatp seed`'s, an
	// import). It checks neither the busy rule nor the lifecycle, and
	// advances the tenant's action clock to the latest
	// LastUpdateDateTimeUTC among them, so that later writes stamp after
	// them. Invalid, naming the index of the action (an ItemError), if one
	// does not normalize or has no creation or update time; NotFound if
	// the tenant, or the machine of an action, does not exist.
	PutMachineActions(ctx context.Context, tenantID string, as []MachineAction) error

	// ImportMachineActions stores actions read from an export (`openatp
	// import`, the admin API) in one transaction, all or nothing, and
	// returns them as stored, in the order given. Unlike
	// PutMachineActions it keeps the action clock's promise: each action
	// is stamped by the tenant's clock as a write taking its
	// LastUpdateDateTimeUTC for "now" (the given time when it is later
	// than every stamp of the tenant's actions and not in the future,
	// else the next stamp), in the order of the given times, so that a
	// poller of "lastUpdateDateTimeUtc gt X" sees each imported action
	// once. An action equal to the stored one of its id is left as it is
	// (re-importing an input changes nothing); one that differs replaces
	// it, as a lifecycle write would: only its status, errorHResult,
	// cancellation, commands and troubleshootInfo may differ. A live
	// action is subject to the busy rule, against the stored actions and
	// the others given; a Succeeded action that ChangesState changes its
	// machine's state when the stored one was not Succeeded. Invalid,
	// naming the index of the action and the field (an ItemError over a
	// FieldError), for an action that does not normalize, lacks its
	// creation or update time, was created after its update or in the
	// future, repeats an id, names a machine the tenant does not have or
	// breaks the rules above; NotFound if the tenant does not exist.
	ImportMachineActions(ctx context.Context, tenantID string, as []MachineAction) ([]MachineAction, error)
	// MachineActionEpoch returns what changes when the tenant's actions
	// change other than by CreateMachineAction and UpdateMachineAction,
	// whose writes stamp after every stamp before them: while it is the
	// same, the actions changed since a reader last read them are exactly
	// those stamped after the greatest stamp it read (the poll of GET
	// /api/machineactions is answered from memory so). NotFound if the
	// tenant does not exist.
	MachineActionEpoch(ctx context.Context, tenantID string) (ActionEpoch, error)

	// LiveMachineActions streams every action, of every tenant, that is
	// not final, with its tenant's id, in no particular order: what the
	// lifecycle's clock resumes after a restart.
	LiveMachineActions(ctx context.Context, f func(tenantID string, a MachineAction) error) error
}

// ActionEpoch is a tenant's MachineActionEpoch: its row in the store (a
// tenant deleted and created again has another), its resets
// (ResetTenant) and its PutMachineActions, which store the stamps they are
// given.
type ActionEpoch struct{ Tenant, Resets, Puts int64 }

// CheckActionUpdate returns an Invalid error if b, a changed by an
// UpdateMachineAction function, differs from a in a property that the
// function may not change.
func CheckActionUpdate(a, b *MachineAction) error {
	if a.ID != b.ID || a.Type != b.Type || a.MachineID != b.MachineID || a.Requestor != b.Requestor ||
		a.RequestorComment != b.RequestorComment || !a.CreationDateTimeUTC.Equal(b.CreationDateTimeUTC) {
		return CodedErrorf(Invalid, "InvalidInput", "machine action %s: only its status, cancellation, commands and troubleshooting may change", a.ID)
	}
	if !slices.Contains(ActionStatuses, b.Status) {
		return InvalidField("status", "%q is not one of %s", clip(b.Status), strings.Join(ActionStatuses, ", "))
	}
	return nil
}

// Normalize validates an action before the store keeps it: a GUID id, a
// known type and status, a machine id, texts of valid UTF-8 and bounded
// length; nil commands become empty, times UTC at TimePrecision. The
// error is of kind Invalid and names the field.
func (a *MachineAction) Normalize() error {
	if !IsGUID(a.ID) {
		return InvalidField("id", "must be a GUID, got %q", clip(a.ID))
	}
	if !slices.Contains(ActionTypes, a.Type) {
		return InvalidField("type", "%q is not one of %s", clip(a.Type), strings.Join(ActionTypes, ", "))
	}
	if !slices.Contains(ActionStatuses, a.Status) {
		return InvalidField("status", "%q is not one of %s", clip(a.Status), strings.Join(ActionStatuses, ", "))
	}
	a.MachineID = strings.ToLower(a.MachineID)
	if !ValidMachineID(a.MachineID) {
		return InvalidField("machineId", "must be 40 hexadecimal characters, got %q", clip(a.MachineID))
	}
	for _, s := range []struct {
		name string
		v    *string
	}{
		{"title", a.Title}, {"requestor", &a.Requestor}, {"requestorComment", &a.RequestorComment},
		{"computerDnsName", a.ComputerDNSName}, {"cancellationRequestor", a.CancellationRequestor},
		{"cancellationComment", a.CancellationComment}, {"scope", a.Scope}, {"externalId", a.ExternalID},
		{"requestSource", a.RequestSource}, {"troubleshootInfo", a.TroubleshootInfo},
	} {
		if err := checkText(s.name, s.v); err != nil {
			return err
		}
	}
	a.CreationDateTimeUTC = a.CreationDateTimeUTC.UTC().Round(TimePrecision)
	a.LastUpdateDateTimeUTC = a.LastUpdateDateTimeUTC.UTC().Round(TimePrecision)
	roundTime(&a.CancellationDateTimeUTC)
	if a.Commands == nil {
		a.Commands = []ActionCommand{}
	}
	if len(a.Commands) > MaxAlertItems {
		return InvalidField("commands", "an action has at most %d", MaxAlertItems)
	}
	for i := range a.Commands {
		c := &a.Commands[i]
		roundTime(&c.StartTime)
		roundTime(&c.EndTime)
		if c.Errors == nil {
			c.Errors = []string{}
		}
		if c.Command.Params == nil {
			c.Command.Params = []CommandParam{}
		}
	}
	return nil
}

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
