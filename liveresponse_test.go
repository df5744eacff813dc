package openatp_test

import (
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/actionrequest"
)

func cmd(typ string, kv ...string) openatp.LiveResponseCommand {
	c := openatp.LiveResponseCommand{Type: typ}
	for i := 0; i+1 < len(kv); i += 2 {
		c.Params = append(c.Params, openatp.CommandParam{Key: kv[i], Value: kv[i+1]})
	}
	return c
}

func TestRunCommands(t *testing.T) {
	r := actionrequest.LiveResponse{Comment: "c", Commands: []openatp.LiveResponseCommand{
		cmd("PutFile", "FileName", "a.exe"), cmd("RunScript", "ScriptName", "gone.ps1"), cmd("GetFile", "Path", "p")}}
	a, err := r.Action(&openatp.Machine{ID: "0000000000000000000000000000000000000001"}, "app", openatp.ActionRequestSource)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range a.Commands {
		if c.Index != i || c.CommandStatus != openatp.CommandCreated || c.StartTime != nil || len(c.Errors) != 0 {
			t.Errorf("new command %d: %+v", i, c)
		}
	}
	stamp := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	pending := a
	pending.RunCommands(stamp, func(*openatp.LiveResponseCommand) string { t.Error("ran a command of a Pending action"); return "" })
	a.Status = openatp.ActionSucceeded
	a.RunCommands(stamp, func(c *openatp.LiveResponseCommand) string {
		if c.LibraryName() == "gone.ps1" {
			return "File gone.ps1 was not found in the library"
		}
		return ""
	})
	if a.Status != openatp.ActionFailed || a.ErrorHResult != openatp.LiveResponseFailHResult {
		t.Errorf("action %s %d, want Failed with the hresult", a.Status, a.ErrorHResult)
	}
	c := a.Commands
	if c[0].CommandStatus != openatp.CommandCompleted || !c[0].EndTime.Equal(stamp) || c[1].CommandStatus != openatp.CommandFailed ||
		len(c[1].Errors) != 1 || c[2].CommandStatus != openatp.CommandCreated || c[2].StartTime != nil {
		t.Errorf("commands %+v", c)
	}
	tr := a.Transcript(&c[1].Command)
	if got := string(openatp.MarshalTranscript(tr)); got != `{"script_name":"gone.ps1","exit_code":0,"script_output":"Ran gone.ps1 on 0000000000000000000000000000000000000001\n","script_errors":""}` {
		t.Errorf("transcript %s", got)
	}
}
