package actions_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/actions"
)

func TestControlsOutcome(t *testing.T) {
	var c actions.Controls
	m1, m2 := "00000000000000000000000000000000000000a1", "00000000000000000000000000000000000000a2"
	a := &openatp.MachineAction{ID: openatp.NewGUID(), Type: openatp.ActionIsolate, MachineID: m1}
	other := &openatp.MachineAction{ID: openatp.NewGUID(), Type: openatp.ActionIsolate, MachineID: m1}
	check := func(what string, tenant string, x *openatp.MachineAction, want openatp.ActionOutcome) {
		t.Helper()
		if got := c.Outcome(tenant, x); got != want {
			t.Errorf("%s: outcome %+v, want %+v", what, got, want)
		}
	}
	check("nothing set", "t1", a, openatp.ActionOutcome{})
	c.SetUnreachable("t1", "00000000000000000000000000000000000000A1", true)
	check("unreachable", "t1", a, openatp.ActionOutcome{Unreachable: true})
	check("another tenant", "t2", a, openatp.ActionOutcome{})
	for _, f := range []actions.Failure{{Type: "isolate", HResult: 3}, {MachineID: m1, HResult: 2}, {ActionID: a.ID, HResult: 1}} {
		if _, err := c.AddFailure("t1", f); err != nil {
			t.Fatal(err)
		}
	}
	// The action's own failure, then its machine's, then its type's.
	check("own failure", "t1", a, openatp.ActionOutcome{Unreachable: true, FailHResult: 1})
	check("machine's failure", "t1", other, openatp.ActionOutcome{Unreachable: true, FailHResult: 2})
	check("type's failure", "t1", &openatp.MachineAction{ID: openatp.NewGUID(), Type: openatp.ActionIsolate, MachineID: m2},
		openatp.ActionOutcome{FailHResult: 3})
	check("another type", "t1", &openatp.MachineAction{ID: openatp.NewGUID(), Type: openatp.ActionOffboard, MachineID: m2}, openatp.ActionOutcome{})
	if got := c.Failures("t1"); len(got) != 3 || got[0].ActionID != a.ID || got[1].MachineID != m1 || got[2].Type != openatp.ActionIsolate {
		t.Errorf("failures %+v", got)
	}
	c.ClearFailures("t1")
	c.SetUnreachable("t1", m1, false)
	check("cleared", "t1", a, openatp.ActionOutcome{})
	if got := c.Unreachable("t1"); len(got) != 0 {
		t.Errorf("unreachable %v after clearing", got)
	}

	for _, f := range []actions.Failure{{HResult: 1}, {Type: "Isolate", MachineID: m1, HResult: 1}, {Type: "Reboot", HResult: 1},
		{Type: "Isolate"}, {ActionID: "nope", HResult: 1}, {MachineID: "m1", HResult: 1}} {
		if _, err := c.AddFailure("t1", f); !openatp.IsKind(err, openatp.Invalid) {
			t.Errorf("AddFailure(%+v): %v, want Invalid", f, err)
		}
	}
}

func TestControlsTimings(t *testing.T) {
	var c actions.Controls
	scan := &openatp.MachineAction{Type: openatp.ActionRunAntiVirusScan, Scope: openatp.Ptr("Full")}
	if got, want := c.Timing("t1", scan), openatp.DefaultActionTiming(scan.Type, scan.Scope); got != want {
		t.Errorf("default timing %+v, want %+v", got, want)
	}
	every := openatp.ActionTiming{TimeOut: time.Hour}
	c.Timings.Set("t1", "", every)
	c.Timings.Set("t2", openatp.ActionRunAntiVirusScan, openatp.ActionTiming{})
	if got := c.Timing("t1", scan); got != every {
		t.Errorf("tenant timing %+v, want %+v", got, every)
	}
	if got := c.Timings.TenantTimings("t1"); len(got) != 1 || got[""] != every {
		t.Errorf("TenantTimings %v", got)
	}
	c.Timings.ClearTenant("t1")
	if got, want := c.Timing("t1", scan), openatp.DefaultActionTiming(scan.Type, scan.Scope); got != want {
		t.Errorf("cleared timing %+v, want %+v", got, want)
	}
	if got := c.Timing("t2", scan); got != (openatp.ActionTiming{}) {
		t.Errorf("the other tenant's timing %+v, want zero", got)
	}
}

// Runner runs GetFile of a placed file and RunScript of a set script
// under the controls, the rest with the runner it wraps; Result keeps
// what ran, for the newest MaxKeptResults actions.
func TestControlsRunner(t *testing.T) {
	var c actions.Controls
	m1 := "00000000000000000000000000000000000000a1"
	next := func(_ context.Context, _ string, _ *openatp.MachineAction, cmd *openatp.LiveResponseCommand) string {
		if cmd.Type == openatp.CommandGetFile {
			return "not found"
		}
		return ""
	}
	run := c.Runner(next)
	if _, err := c.PlaceFile("t1", strings.ToUpper(m1), `C:\x.log`, []byte("bytes")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SetScript("t1", actions.Script{Name: "S.ps1", ExitCode: 2, Output: "o"}); err != nil {
		t.Fatal(err)
	}
	action := func(cs ...openatp.LiveResponseCommand) *openatp.MachineAction {
		a := &openatp.MachineAction{ID: openatp.NewGUID(), Type: openatp.ActionLiveResponse, MachineID: m1}
		for i, cmd := range cs {
			a.Commands = append(a.Commands, openatp.ActionCommand{Index: i, Command: cmd})
		}
		return a
	}
	get := func(p string) openatp.LiveResponseCommand {
		return openatp.LiveResponseCommand{Type: openatp.CommandGetFile, Params: []openatp.CommandParam{{Key: "Path", Value: p}}}
	}
	script := func(n string) openatp.LiveResponseCommand {
		return openatp.LiveResponseCommand{Type: openatp.CommandRunScript, Params: []openatp.CommandParam{{Key: "ScriptName", Value: n}}}
	}
	a := action(script("s.ps1"), script("other.ps1"), get(`c:\X.LOG`), get(`C:\y`))
	var msgs []string
	for i := range a.Commands {
		msgs = append(msgs, run(context.Background(), "t1", a, &a.Commands[i].Command))
	}
	if fmt.Sprint(msgs) != "[   not found]" {
		t.Errorf("messages %q", msgs)
	}
	for i, want := range []string{`{"script_name":"s.ps1","exit_code":2,"script_output":"o","script_errors":""}`, "", "bytes", ""} {
		b, ok := c.Result("t1", a, i)
		if string(b) != want || ok != (want != "") {
			t.Errorf("result %d: %q %v, want %q", i, b, ok, want)
		}
	}
	if _, ok := c.Result("t2", a, 0); ok {
		t.Error("another tenant's result")
	}
	// Another tenant's machine has no file.
	if msg := run(context.Background(), "t2", a, &a.Commands[2].Command); msg != "not found" {
		t.Errorf("another tenant: %q", msg)
	}
	// The oldest results are forgotten.
	for range actions.MaxKeptResults {
		b := action(get(`C:\x.log`))
		run(context.Background(), "t1", b, &b.Commands[0].Command)
	}
	if _, ok := c.Result("t1", a, 2); ok {
		t.Errorf("a result kept beyond %d actions", actions.MaxKeptResults)
	}
	for _, s := range []actions.Script{{Name: ""}, {Name: "a/b"}, {Name: "x", Output: strings.Repeat("x", actions.MaxScriptText+1)}} {
		if _, err := c.SetScript("t1", s); !openatp.IsKind(err, openatp.Invalid) {
			t.Errorf("SetScript(%.20v): %v", s, err)
		}
	}
	if _, err := c.PlaceFile("t1", m1, "", nil); !openatp.IsKind(err, openatp.Invalid) {
		t.Errorf("an empty path: %v", err)
	}
	if !c.RemoveFile("t1", m1, `C:\X.LOG`) || c.RemoveFile("t1", m1, `C:\X.LOG`) || len(c.Files("t1", m1)) != 0 {
		t.Error("RemoveFile")
	}
}

// InvestigationAt: an investigation over its run time ends in the state
// of its own outcome, else its machine's, else Benign; an outcome set
// after the run time ended does not apply; open states have no end.
func TestControlsInvestigationAt(t *testing.T) {
	var c actions.Controls
	m1, m2 := "00000000000000000000000000000000000000a1", "00000000000000000000000000000000000000a2"
	const run = time.Minute
	start := time.Now().Add(-2 * run) // ended a minute ago
	inv := func(id, m string, start time.Time) openatp.Investigation {
		return openatp.Investigation{ID: id, MachineID: m, State: openatp.InvestigationRunning, StartTime: start}
	}
	check := func(what string, i openatp.Investigation, state string, ended bool) {
		t.Helper()
		got := c.InvestigationAt("t1", i, time.Now(), run)
		if got.State != state || (got.EndTime != nil) != ended {
			t.Errorf("%s: %s (end %v), want %s (ended %v)", what, got.State, got.EndTime, state, ended)
		}
	}
	old := inv("1", m1, start)
	check("no outcome", old, "Benign", true)
	for _, o := range []actions.InvestigationOutcome{{MachineID: strings.ToUpper(m1), State: "failed"}, {InvestigationID: "2", State: "pendingapproval"}} {
		if _, err := c.SetInvestigationOutcome("t1", o); err != nil {
			t.Fatal(err)
		}
	}
	check("ended before the outcome", old, "Benign", true)
	now := time.Now()
	check("running", inv("3", m1, now), "Running", false)
	check("its machine's", inv("3", m1, now.Add(-run)), "Failed", true)
	check("its own, open", inv("2", m1, now.Add(-run)), "PendingApproval", false)
	check("another machine", inv("4", m2, now.Add(-run)), "Benign", true)
	if got := c.InvestigationOutcomes("t1"); len(got) != 2 || got[0].InvestigationID != "2" || got[1].MachineID != m1 || got[1].State != "Failed" {
		t.Errorf("outcomes %+v", got)
	}
	if got := c.InvestigationOutcomes("t2"); len(got) != 0 {
		t.Errorf("another tenant's outcomes %+v", got)
	}
	c.ClearInvestigationOutcomes("t1")
	check("cleared", inv("3", m1, now.Add(-run)), "Benign", true)
	for _, o := range []actions.InvestigationOutcome{{State: "Failed"}, {InvestigationID: "1", MachineID: m1, State: "Failed"},
		{InvestigationID: "a", State: "Failed"}, {MachineID: "m1", State: "Failed"}, {InvestigationID: "1", State: "Done"}, {InvestigationID: "1"}} {
		if _, err := c.SetInvestigationOutcome("t1", o); !openatp.IsKind(err, openatp.Invalid) {
			t.Errorf("SetInvestigationOutcome(%+v): %v, want Invalid", o, err)
		}
	}
}
