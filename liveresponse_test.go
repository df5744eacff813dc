package openatp_test

import (
	"errors"
	"testing"
	"time"

	"github.com/openatp/openatp"
)

func cmd(typ string, kv ...string) openatp.LiveResponseCommand {
	c := openatp.LiveResponseCommand{Type: typ}
	for i := 0; i+1 < len(kv); i += 2 {
		c.Params = append(c.Params, openatp.CommandParam{Key: kv[i], Value: kv[i+1]})
	}
	return c
}

func TestLiveResponseValidate(t *testing.T) {
	r := openatp.LiveResponseRequest{Comment: "c", Commands: []openatp.LiveResponseCommand{
		cmd("putfile", "filename", "a.exe"), cmd("PutFile", "FileName", "b.exe"), cmd("RUNSCRIPT", "scriptName", "s.ps1", "ARGS", "-x"),
		cmd("getFile", "path", `C:\x`)}}
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"PutFile FileName", "PutFile FileName", "RunScript ScriptName", "GetFile Path"} {
		if c := r.Commands[i]; c.Type+" "+c.Params[0].Key != want {
			t.Errorf("command %d: %s %s, want %s", i, c.Type, c.Params[0].Key, want)
		}
	}
	if r.Commands[2].Param("Args") != "-x" || r.Commands[2].LibraryName() != "s.ps1" || r.Commands[3].LibraryName() != "" {
		t.Errorf("params %+v", r.Commands)
	}
	for _, c := range []struct {
		r     openatp.LiveResponseRequest
		field string
	}{
		{openatp.LiveResponseRequest{Commands: []openatp.LiveResponseCommand{cmd("GetFile", "Path", "p")}}, "Comment"},
		{openatp.LiveResponseRequest{Comment: "c"}, "Commands"},
		{openatp.LiveResponseRequest{Comment: "c", Commands: []openatp.LiveResponseCommand{cmd("RunScript", "ScriptName", "s"), cmd("PutFile", "FileName", "f")}}, "Commands"},
		{openatp.LiveResponseRequest{Comment: "c", Commands: []openatp.LiveResponseCommand{cmd("RunScript", "Args", "a")}}, "Commands[0].params.ScriptName"},
		{openatp.LiveResponseRequest{Comment: "c", Commands: []openatp.LiveResponseCommand{cmd("Dir")}}, "Commands[0].type"},
		{openatp.LiveResponseRequest{Comment: "c", Commands: []openatp.LiveResponseCommand{cmd("GetFile", "Path", "p", "Colour", "red")}}, "Commands[0].params"},
	} {
		err := c.r.Validate()
		var fe *openatp.FieldError
		if !openatp.IsKind(err, openatp.Invalid) || !errors.As(err, &fe) || fe.Field != c.field {
			t.Errorf("%+v: error %v, want Invalid naming %s", c.r, err, c.field)
		}
	}
}

func TestRunCommands(t *testing.T) {
	r := openatp.LiveResponseRequest{Comment: "c", Commands: []openatp.LiveResponseCommand{
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
