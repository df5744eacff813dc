package actionrequest_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/actionrequest"
)

func TestRequestValidate(t *testing.T) {
	sha := strings.Repeat("Ab", 20)
	for _, c := range []struct {
		name      string
		r         actionrequest.Request
		code      string // "" for valid
		field     string
		canonical actionrequest.Request // when valid
	}{
		{name: "isolate default Full", r: actionrequest.Request{Type: "Isolate", Comment: "c"},
			canonical: actionrequest.Request{Type: "Isolate", Comment: "c", IsolationType: "Full"}},
		{name: "isolate any case", r: actionrequest.Request{Type: "Isolate", Comment: "c", IsolationType: "selective"},
			canonical: actionrequest.Request{Type: "Isolate", Comment: "c", IsolationType: "Selective"}},
		{name: "isolate unmanaged", r: actionrequest.Request{Type: "Isolate", Comment: "c", IsolationType: "UnManagedDevice"},
			canonical: actionrequest.Request{Type: "Isolate", Comment: "c", IsolationType: "UnManagedDevice"}},
		{name: "isolate bad type", r: actionrequest.Request{Type: "Isolate", Comment: "c", IsolationType: "Partial"}, code: "InvalidRequestBody", field: "IsolationType"},
		{name: "no comment", r: actionrequest.Request{Type: "Unisolate"}, code: "MissingRequiredParameter", field: "Comment"},
		{name: "scan", r: actionrequest.Request{Type: "RunAntiVirusScan", Comment: "c", ScanType: "full"},
			canonical: actionrequest.Request{Type: "RunAntiVirusScan", Comment: "c", ScanType: "Full"}},
		{name: "scan missing type", r: actionrequest.Request{Type: "RunAntiVirusScan", Comment: "c"}, code: "MissingRequiredParameter", field: "ScanType"},
		{name: "scan bad type", r: actionrequest.Request{Type: "RunAntiVirusScan", Comment: "c", ScanType: "Deep"}, code: "InvalidRequestBody", field: "ScanType"},
		{name: "quarantine", r: actionrequest.Request{Type: "StopAndQuarantineFile", Comment: "c", Sha1: sha},
			canonical: actionrequest.Request{Type: "StopAndQuarantineFile", Comment: "c", Sha1: strings.ToLower(sha)}},
		{name: "quarantine no hash", r: actionrequest.Request{Type: "StopAndQuarantineFile", Comment: "c"}, code: "MissingRequiredParameter", field: "Sha1"},
		{name: "quarantine short hash", r: actionrequest.Request{Type: "StopAndQuarantineFile", Comment: "c", Sha1: "abc"}, code: "InvalidHashValue", field: "Sha1"},
		{name: "quarantine non-hex hash", r: actionrequest.Request{Type: "StopAndQuarantineFile", Comment: "c", Sha1: strings.Repeat("g", 40)}, code: "InvalidHashValue", field: "Sha1"},
		{name: "unknown type", r: actionrequest.Request{Type: "Reboot", Comment: "c"}, code: "InvalidRequestBody", field: "type"},
		{name: "restrict ignores other fields", r: actionrequest.Request{Type: "RestrictCodeExecution", Comment: "c", ScanType: "x"},
			canonical: actionrequest.Request{Type: "RestrictCodeExecution", Comment: "c", ScanType: "x"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := c.r
			err := r.Validate()
			if c.code == "" {
				if err != nil {
					t.Fatal(err)
				}
				if r != c.canonical {
					t.Errorf("canonical %+v, want %+v", r, c.canonical)
				}
				return
			}
			var e *openatp.Error
			var fe *openatp.FieldError
			if !errors.As(err, &e) || e.Kind != openatp.Invalid || e.Code != c.code || !errors.As(err, &fe) || fe.Field != c.field {
				t.Fatalf("got %#v, want Invalid %s naming %s", err, c.code, c.field)
			}
		})
	}
	var e *openatp.Error
	if !errors.As((&actionrequest.Request{Type: "Isolate"}).Validate(), &e) {
		t.Fatal("no *Error")
	}
	if got, want := e.Message, "Parameter Comment is missing."; got != want {
		t.Errorf("message %q, want %q", got, want)
	}
}

func TestRequestAction(t *testing.T) {
	m := &openatp.Machine{ID: strings.Repeat("a", 40), ComputerDNSName: openatp.Ptr("pc.contoso.com")}
	a, err := actionrequest.Request{Type: "Isolate", Comment: "go", IsolationType: "selective"}.Action(m, "app-id", openatp.ActionRequestSource)
	if err != nil {
		t.Fatal(err)
	}
	if !openatp.IsGUID(a.ID) || a.Type != "Isolate" || a.Status != "Pending" || *a.Scope != "Selective" || a.Requestor != "app-id" ||
		a.RequestorComment != "go" || a.MachineID != m.ID || *a.ComputerDNSName != "pc.contoso.com" || *a.RequestSource != "PublicApi" ||
		a.RelatedFileInfo != nil || a.Commands == nil {
		t.Errorf("action %+v", a)
	}
	if err := a.Normalize(); err != nil {
		t.Errorf("a new action does not normalize: %v", err)
	}
	q, err := actionrequest.Request{Type: "StopAndQuarantineFile", Comment: "go", Sha1: strings.Repeat("F", 40)}.Action(m, "u@contoso.com", "")
	if err != nil {
		t.Fatal(err)
	}
	if q.Scope != nil || q.RequestSource != nil || *q.RelatedFileInfo != (openatp.RelatedFileInfo{FileIdentifier: strings.Repeat("f", 40), FileIdentifierType: "Sha1"}) {
		t.Errorf("quarantine %+v", q)
	}
	if _, err := (actionrequest.Request{Type: "Isolate"}).Action(m, "x", ""); !openatp.IsKind(err, openatp.Invalid) {
		t.Errorf("an invalid request made an action: %v", err)
	}
}

func cmd(typ string, kv ...string) openatp.LiveResponseCommand {
	c := openatp.LiveResponseCommand{Type: typ}
	for i := 0; i+1 < len(kv); i += 2 {
		c.Params = append(c.Params, openatp.CommandParam{Key: kv[i], Value: kv[i+1]})
	}
	return c
}

func TestLiveResponseValidate(t *testing.T) {
	r := actionrequest.LiveResponse{Comment: "c", Commands: []openatp.LiveResponseCommand{
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
		r     actionrequest.LiveResponse
		field string
	}{
		{actionrequest.LiveResponse{Commands: []openatp.LiveResponseCommand{cmd("GetFile", "Path", "p")}}, "Comment"},
		{actionrequest.LiveResponse{Comment: "c"}, "Commands"},
		{actionrequest.LiveResponse{Comment: "c", Commands: []openatp.LiveResponseCommand{cmd("RunScript", "ScriptName", "s"), cmd("PutFile", "FileName", "f")}}, "Commands"},
		{actionrequest.LiveResponse{Comment: "c", Commands: []openatp.LiveResponseCommand{cmd("RunScript", "Args", "a")}}, "Commands[0].params.ScriptName"},
		{actionrequest.LiveResponse{Comment: "c", Commands: []openatp.LiveResponseCommand{cmd("Dir")}}, "Commands[0].type"},
		{actionrequest.LiveResponse{Comment: "c", Commands: []openatp.LiveResponseCommand{cmd("GetFile", "Path", "p", "Colour", "red")}}, "Commands[0].params"},
	} {
		err := c.r.Validate()
		var fe *openatp.FieldError
		if !openatp.IsKind(err, openatp.Invalid) || !errors.As(err, &fe) || fe.Field != c.field {
			t.Errorf("%+v: error %v, want Invalid naming %s", c.r, err, c.field)
		}
	}
}
