package demo

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/openatp/openatp"
)

// streamAction is the random stream of the machine actions: action i is
// drawn from its own PCG, like machines, users and alerts.
const streamAction = streamAlert + 1

// HistoryTypes are the action types of a generated history: those the API
// starts (live response is not served yet).
var HistoryTypes = []string{openatp.ActionIsolate, openatp.ActionUnisolate, openatp.ActionRunAntiVirusScan,
	openatp.ActionRestrictCodeExecution, openatp.ActionUnrestrictCodeExecution, openatp.ActionCollectInvestigationPackage,
	openatp.ActionStopAndQuarantineFile, openatp.ActionOffboard}

// historyStatuses are the final statuses of a generated history, in the
// order action i takes them (i/len(HistoryTypes) modulo 4): every type
// has every final status from 32 actions on.
var historyStatuses = []string{openatp.ActionSucceeded, openatp.ActionFailed, openatp.ActionCancelled, openatp.ActionTimeOut}

// Requestors of generated actions: analysts and the client id of a SOAR
// application.
var actionRequestors = []string{"analyst@contoso.com", "secops@contoso.com", "ir-lead@fabrikam.com", "4a1f5e2b-7c3d-4e8f-9a0b-1c2d3e4f5a6b"}

// GenerateActions emits n final machine actions (a history) on the
// machines Generate emits for o, created over the 30 days before o.Start
// in order and last updated before it: action i is of type
// HistoryTypes[i%8] and ends Succeeded, Failed, Cancelled or TimeOut in
// turn (an offboarding that would have succeeded is cancelled instead:
// the demo's machines are onboarded). The same o and n give the same
// actions; every one passes Normalize unchanged. A history does not
// change its machines.
func GenerateActions(o Options, n int, emit func(openatp.MachineAction) error) error {
	if n < 0 {
		return fmt.Errorf("demo: negative count of actions")
	}
	g, err := newGen(o)
	if err != nil {
		return err
	}
	for i := range n {
		if err := emit(g.action(i, n)); err != nil {
			return err
		}
	}
	return nil
}

// action returns history action i of n.
func (g *gen) action(i, n int) openatp.MachineAction {
	src := rand.NewPCG(0, 0) // its own: g.machine uses g.mr
	g.reseed(src, streamAction, i)
	r := rand.New(src)
	typ := HistoryTypes[i%len(HistoryTypes)]
	status := historyStatuses[(i/len(HistoryTypes))%len(historyStatuses)]
	if typ == openatp.ActionOffboard && status == openatp.ActionSucceeded {
		status = openatp.ActionCancelled
	}
	m := g.machine(r.IntN(g.o.Machines))
	const span = 30 * 24 * time.Hour
	created := g.o.Start.Add(-span + time.Duration(int64(span)/int64(max(n, 1))*int64(i))).Add(ticks(r, 0, time.Minute))
	a := openatp.MachineAction{
		ID: guid(r), Type: typ, Requestor: actionRequestors[r.IntN(len(actionRequestors))],
		RequestorComment: actionComments[typ][r.IntN(2)], Status: status, MachineID: m.ID, ComputerDNSName: m.ComputerDNSName,
		CreationDateTimeUTC: created, RequestSource: openatp.Ptr(openatp.ActionRequestSource), Commands: []openatp.ActionCommand{},
	}
	switch typ {
	case openatp.ActionIsolate:
		a.Scope = openatp.Ptr(openatp.IsolationTypes[r.IntN(2)])
	case openatp.ActionRunAntiVirusScan:
		a.Scope = openatp.Ptr(openatp.ScanTypes[r.IntN(2)])
	case openatp.ActionStopAndQuarantineFile:
		a.RelatedFileInfo = &openatp.RelatedFileInfo{FileIdentifier: fmt.Sprintf("%016x%016x%08x", r.Uint64(), r.Uint64(), r.Uint32()), FileIdentifierType: "Sha1"}
	}
	t := openatp.DefaultActionTiming(typ, a.Scope)
	var updated time.Time
	switch status {
	case openatp.ActionSucceeded, openatp.ActionFailed:
		updated = created.Add(t.Pending + t.InProgress).Add(ticks(r, 0, 30*time.Second))
		if status == openatp.ActionFailed {
			a.ErrorHResult = failHResults[r.IntN(len(failHResults))]
		}
	case openatp.ActionTimeOut:
		updated = created.Add(t.TimeOut)
	case openatp.ActionCancelled:
		updated = created.Add(ticks(r, time.Second, t.Pending+t.InProgress))
		a.CancellationRequestor = &a.Requestor
		a.CancellationComment = openatp.Ptr("Started on the wrong machine")
		a.CancellationDateTimeUTC = &updated
	}
	if updated.After(g.o.Start) {
		updated = g.o.Start.Add(-time.Duration(n-i) * openatp.TimePrecision)
		if a.CancellationDateTimeUTC != nil {
			a.CancellationDateTimeUTC = &updated
		}
	}
	a.LastUpdateDateTimeUTC = updated
	return a
}

// failHResults are errorHResults of failed actions: E_FAIL, access
// denied, timeout, the device not reachable.
var failHResults = []int32{-2147467259, -2147024891, -2147023436, -2147019873}

// actionComments are the requestor comments of generated actions, two per
// type.
var actionComments = map[string][2]string{
	openatp.ActionIsolate:                     {"Isolating: credential dumping observed", "Contain pending investigation"},
	openatp.ActionUnisolate:                   {"Investigation closed, releasing", "False positive, release from isolation"},
	openatp.ActionRunAntiVirusScan:            {"Scan after malware alert", "Routine scan requested by SOC"},
	openatp.ActionRestrictCodeExecution:       {"Restrict app execution during triage", "Block unsigned binaries"},
	openatp.ActionUnrestrictCodeExecution:     {"Triage done, lifting restriction", "Restriction no longer needed"},
	openatp.ActionCollectInvestigationPackage: {"Collect forensics for incident", "Package for the IR team"},
	openatp.ActionStopAndQuarantineFile:       {"Quarantine the dropped payload", "Stop and quarantine suspicious file"},
	openatp.ActionOffboard:                    {"Machine decommissioned", "Offboard before reimage"},
}

// DocAction returns the documentation's example MachineAction
// (mde-reference §12.3.1.1, 5382f7ea-7557-4ab7-9782-d50480024a4e: a
// selective isolation of desktop-test that succeeded) with the properties
// the example leaves out as the live service sends them, and its machine
// with plausible properties.
func DocAction() (openatp.Machine, openatp.MachineAction) {
	tm := func(s string) time.Time {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			panic(err)
		}
		return t
	}
	p := openatp.Ptr[string]
	seen := tm("2019-01-02T14:30:12.1234567Z")
	m := openatp.Machine{
		ID: "7b1f4967d9728e5aa3c06a9e617a22a4a5a17378", ComputerDNSName: p("desktop-test"),
		FirstSeen: openatp.Ptr(tm("2018-11-20T09:12:44.5678901Z")), LastSeen: &seen,
		OSPlatform: p("Windows10"), OSVersion: p("10.0.17763.195"), OSProcessor: p("x64"), Version: p("1809"),
		LastIPAddress: p("10.0.0.14"), LastExternalIPAddress: p("167.220.196.71"), AgentVersion: p("10.6.17763.195"),
		OSBuild: openatp.Ptr(int64(17763)), HealthStatus: p("Active"), OnboardingStatus: p("Onboarded"), RiskScore: p("Low"),
		ExposureLevel: p("Low"), IsAADJoined: openatp.Ptr(false), MachineTags: []string{}, DeviceValue: p("Normal"), OSArchitecture: p("64-bit"),
		IPAddresses: []openatp.IPAddress{{IPAddress: "10.0.0.14", MACAddress: p("00155D2A3B5E"), Type: p("Ethernet"), OperationalStatus: p("Up")}},
	}
	a := openatp.MachineAction{
		ID: "5382f7ea-7557-4ab7-9782-d50480024a4e", Type: openatp.ActionIsolate, Scope: p("Selective"),
		Requestor: "Analyst@TestPrd.onmicrosoft.com", RequestorComment: "test for docs", Status: openatp.ActionSucceeded,
		MachineID: m.ID, ComputerDNSName: p("desktop-test"),
		CreationDateTimeUTC:   tm("2019-01-02T14:39:38.2262283Z"),
		LastUpdateDateTimeUTC: tm("2019-01-02T14:40:44.6596267Z"),
		RequestSource:         p(openatp.ActionRequestSource), Commands: []openatp.ActionCommand{},
	}
	return m, a
}
