package ingest

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/wire"
)

// readActions reads every record of input as machine actions.
func readActions(t *testing.T, input string, o Options) ([]openatp.MachineAction, *Reader, error) {
	t.Helper()
	r := NewReader(strings.NewReader(input), o)
	var as []openatp.MachineAction
	for {
		err := r.Next()
		if err == io.EOF {
			return as, r, nil
		}
		if err != nil {
			return as, r, err
		}
		if r.Kind() != Actions {
			t.Fatalf("record of kind %v", r.Kind())
		}
		as = append(as, r.Action())
	}
}

// A page of GET /api/machineactions, as openatp writes it: a cancelled
// isolation, a live response with its commands, a pending quarantine.
const actionsPage = `{"@odata.context":"https://api.securitycenter.microsoft.com/api/$metadata#MachineActions","value":[
{"id":"7327b54f-e1c4-4a8d-a4b6-bc9e1fc8b4c0","type":"Isolate","title":null,"requestor":"c2d0b1a8-6a9c-4a2d-8b2e-6d8f3f1c9e11","requestorComment":"isolate it","status":"Cancelled","machineId":"1e5bc9d7e413ddd7902c2932e418702b84d0cc07","computerDnsName":"desktop-1.contoso.com","creationDateTimeUtc":"2026-11-02T10:00:00.1234567Z","lastUpdateDateTimeUtc":"2026-11-02T10:00:05.0000000Z","cancellationRequestor":"admin@contoso.com","cancellationComment":"wrong machine","cancellationDateTimeUtc":"2026-11-02T10:00:05.0000000Z","errorHResult":0,"scope":"Selective","externalId":null,"requestSource":"PublicApi","relatedFileInfo":null,"commands":[],"troubleshootInfo":null},
{"id":"5382f7ea-7557-4ab7-9782-d50480024a4e","type":"LiveResponse","title":null,"requestor":"analyst@contoso.com","requestorComment":"collect","status":"Failed","machineId":"1e5bc9d7e413ddd7902c2932e418702b84d0cc07","computerDnsName":null,"creationDateTimeUtc":"2026-11-02T11:00:00.0000000Z","lastUpdateDateTimeUtc":"2026-11-02T11:00:35.0000000Z","cancellationRequestor":null,"cancellationComment":null,"cancellationDateTimeUtc":null,"errorHResult":-2147024894,"scope":null,"externalId":"x-1","requestSource":"PublicApi","relatedFileInfo":null,"commands":[{"index":0,"startTime":"2026-11-02T11:00:02.0000000Z","endTime":"2026-11-02T11:00:35.0000000Z","commandStatus":"Completed","errors":[],"command":{"type":"RunScript","params":[{"key":"ScriptName","value":"a.ps1"},{"key":"Args","value":"-v"}]}},{"index":1,"startTime":"2026-11-02T11:00:02.0000000Z","endTime":"2026-11-02T11:00:35.0000000Z","commandStatus":"Failed","errors":["File not found"],"command":{"type":"GetFile","params":[{"key":"Path","value":"C:\\x.txt"}]}}],"troubleshootInfo":null},
{"id":"b6cde35e-2fc6-4c2a-b9a3-2b8e1a3e0e56","type":"StopAndQuarantineFile","title":null,"requestor":"analyst@contoso.com","requestorComment":"stop it","status":"Pending","machineId":"1e5bc9d7e413ddd7902c2932e418702b84d0cc07","computerDnsName":null,"creationDateTimeUtc":"2026-11-02T12:00:00.0000000Z","lastUpdateDateTimeUtc":"2026-11-02T12:00:00.0000000Z","cancellationRequestor":null,"cancellationComment":null,"cancellationDateTimeUtc":null,"errorHResult":0,"scope":null,"externalId":null,"requestSource":"PublicApi","relatedFileInfo":{"fileIdentifier":"87662bc3d60e4200ceaf7aae249d1c343f4b83c9","fileIdentifierType":"Sha1"},"commands":[],"troubleshootInfo":null}
]}`

// pageItems returns the items of a page, each compact.
func pageItems(t *testing.T, page string) []string {
	t.Helper()
	var env struct{ Value []json.RawMessage }
	if err := json.Unmarshal([]byte(page), &env); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, raw := range env.Value {
		var b bytes.Buffer
		if err := json.Compact(&b, raw); err != nil {
			t.Fatal(err)
		}
		out = append(out, b.String())
	}
	return out
}

// A page of the API reads as actions whose JSON, written again, is the
// page's items; so do the same items as JSON Lines, the kind told from
// requestor.
func TestActionsPage(t *testing.T) {
	as, r, err := readActions(t, actionsPage, Options{Name: "page.json"})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Ignored()) != 0 {
		t.Errorf("ignored %v", r.Ignored())
	}
	want := pageItems(t, actionsPage)
	if len(as) != len(want) {
		t.Fatalf("%d actions, want %d", len(as), len(want))
	}
	for i := range as {
		if got := string(wire.AppendMachineAction(nil, &as[i])); got != want[i] {
			t.Errorf("action %d written again:\n got %s\nwant %s", i, got, want[i])
		}
	}
	again, r, err := readActions(t, strings.Join(want, "\n")+"\n", Options{Format: JSONL})
	if err != nil || len(again) != 3 || r.Kind() != Actions {
		t.Fatalf("JSON Lines: %d actions, %v", len(again), err)
	}
	// An entity as GET /api/machineactions/{id} answers it: its
	// @odata.context is counted, not refused.
	one := want[0][:len(want[0])-1] + `,"@odata.context":"x"}`
	if _, r, err := readActions(t, one, Options{Kind: Actions}); err != nil || r.Ignored()["@odata.context"] != 1 {
		t.Errorf("single entity: %v, ignored %v", err, r.Ignored())
	}
}

func TestActionRecordErrors(t *testing.T) {
	items := pageItems(t, actionsPage)
	cancelled, live, quarantine := items[0], items[1], items[2]
	// with replaces the first occurrence of old in record.
	with := func(record, old, new string) string {
		if !strings.Contains(record, old) {
			t.Fatalf("%q is not in %s", old, record)
		}
		return strings.Replace(record, old, new, 1)
	}
	without := func(record, prop string) string {
		i := strings.Index(record, `"`+prop+`":`)
		j := strings.IndexAny(record[i:], ",}")
		return record[:i] + record[i+j+1:]
	}
	for _, c := range []struct{ input, want string }{
		{with(cancelled, `"Isolate"`, `"Reboot"`), `line 1: type: "Reboot" is not one of RunAntiVirusScan, Offboard,`},
		{with(cancelled, `"Cancelled"`, `"Done"`), `line 1: status: "Done" is not one of Pending, InProgress,`},
		{with(cancelled, `"7327b54f-e1c4-4a8d-a4b6-bc9e1fc8b4c0"`, `"42"`), `line 1: id: must be a GUID, got "42"`},
		{with(cancelled, `"1e5bc9d7e413ddd7902c2932e418702b84d0cc07"`, `"zz"`), `line 1: machineId: must be 40 hexadecimal characters`},
		{without(cancelled, "requestor"), "line 1: requestor: is required"},
		{without(cancelled, "lastUpdateDateTimeUtc"), "line 1: lastUpdateDateTimeUtc: is required"},
		{with(cancelled, `"requestorComment":"isolate it"`, `"requestorComment":null`), "line 1: requestorComment: must not be null"},
		{with(cancelled, `"2026-11-02T10:00:00.1234567Z"`, `"2 Nov 2026"`), `line 1: creationDateTimeUtc: "2 Nov 2026" is not an RFC 3339 timestamp`},
		{with(cancelled, `"creationDateTimeUtc":"2026-11-02T10:00:00.1234567Z"`, `"creationDateTimeUtc":null`), "line 1: creationDateTimeUtc: must not be null"},
		{with(cancelled, `"2026-11-02T10:00:00.1234567Z"`, `"2026-11-03T10:00:00.0000000Z"`), "line 1: creationDateTimeUtc: is later than lastUpdateDateTimeUtc"},
		{with(cancelled, `"cancellationRequestor":"admin@contoso.com"`, `"cancellationRequestor":null`), "line 1: cancellationRequestor: a Cancelled action names who cancelled it"},
		{with(cancelled, `"cancellationDateTimeUtc":"2026-11-02T10:00:05.0000000Z"`, `"cancellationDateTimeUtc":null`), "line 1: cancellationDateTimeUtc: a Cancelled action has the time"},
		{with(cancelled, `"cancellationDateTimeUtc":"2026-11-02T10:00:05.0000000Z"`, `"cancellationDateTimeUtc":"2026-11-01T10:00:05.0000000Z"`), "line 1: cancellationDateTimeUtc: is not between"},
		{with(cancelled, `"Cancelled"`, `"Succeeded"`), "line 1: cancellationRequestor: must be null: the action is Succeeded, not Cancelled"},
		{with(cancelled, `"Selective"`, `"Partial"`), `line 1: scope: "Partial" is not one of Full, Selective, UnManagedDevice`},
		{with(cancelled, `"errorHResult":0`, `"errorHResult":"0"`), "line 1: errorHResult: must be an integer or null"},
		{with(cancelled, `"errorHResult":0`, `"errorHResult":4294967296`), "line 1: errorHResult: must be a 32-bit integer"},
		{with(cancelled, `"commands":[]`, `"commands":[{"index":0,"commandStatus":"Created","command":{"type":"RunScript","params":[]}}]`), "line 1: commands: must be empty: only a LiveResponse action has commands"},
		{with(cancelled, `"title":null`, `"Title":null`), `line 1: Title: unknown property; did you mean "title"?`},
		{with(cancelled, `"title":null`, `"status":"Pending"`), "line 1: status: appears twice in the record"},
		{with(live, `-2147024894`, `0`), "line 1: errorHResult: a Failed action has the nonzero code of its failure"},
		{with(live, `"commandStatus":"Failed"`, `"commandStatus":"Lost"`), `line 1: commands[1].commandStatus: "Lost" is not one of Created, Completed, Failed`},
		{with(live, `"index":1`, `"index":3`), "line 1: commands[1].index: is 3, want 1"},
		{with(live, `"type":"GetFile"`, `"type":"Reboot"`), `line 1: commands[1].command.type: "Reboot" is not one of PutFile, RunScript, GetFile`},
		{with(live, `"endTime":"2026-11-02T11:00:35.0000000Z","commandStatus":"Completed"`, `"endTime":"2026-11-02T10:00:35.0000000Z","commandStatus":"Completed"`), "line 1: commands[0].endTime: is earlier than startTime"},
		{with(live, `"index":0,`, ``), "line 1: commands[0].index: is required"},
		{with(live, `{"key":"Args","value":"-v"}`, `{"key":"Args"}`), "line 1: commands[0].command.params.value: is required"},
		{with(live, `"errors":[]`, `"errors":[1]`), "line 1: commands[0].errors: must be a string"},
		{with(live, `"errors":[]`, `"Errors":[]`), `line 1: commands[0].Errors: unknown property; did you mean "errors"?`},
		{with(live, `"commands":[{`, `"commands":[],"x":[{`), "line 1: commands: a LiveResponse action has at least one command"},
		{with(quarantine, `"Pending"`, `"InProgress"`) + "\n" + with(quarantine, `"errorHResult":0`, `"errorHResult":5`), "line 2: errorHResult: must be 0: the action is Pending, it has not failed"},
		{with(quarantine, `"relatedFileInfo":{"fileIdentifier":"87662bc3d60e4200ceaf7aae249d1c343f4b83c9","fileIdentifierType":"Sha1"}`, `"relatedFileInfo":null`), "line 1: relatedFileInfo: a StopAndQuarantineFile action names its file"},
		{with(quarantine, `"Sha1"`, `"Sha512"`), `line 1: relatedFileInfo.fileIdentifierType: "Sha512" is not one of Sha1, Sha256, Md5`},
		{with(quarantine, `"Sha1"`, `"Sha256"`), "line 1: relatedFileInfo.fileIdentifier: must be 64 hexadecimal digits (a Sha256)"},
		{cancelled + "\n" + live + "\n" + with(quarantine, `"b6cde35e-2fc6-4c2a-b9a3-2b8e1a3e0e56"`, `"7327b54f-e1c4-4a8d-a4b6-bc9e1fc8b4c0"`), "line 3: id: the action of line 1 has this id already"},
		{cancelled + "\n" + `{"id":"x","machineId":"y"}`, `line 2: type: is required`},
	} {
		_, _, err := readActions(t, c.input, Options{Format: JSONL, Kind: Actions})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s:\nerror %v,\nwant %q", c.input, err, c.want)
		}
	}
	// Properties of nested objects that the entity does not have are
	// counted with their object's name.
	_, r, err := readActions(t, with(quarantine, `"fileIdentifierType":"Sha1"`, `"fileIdentifierType":"Sha1","size":1`), Options{Format: JSONL})
	if err != nil || r.Ignored()["relatedFileInfo.size"] != 1 {
		t.Errorf("unknown property of relatedFileInfo: %v, ignored %v", err, r.Ignored())
	}
	if _, _, err := readActions(t, "id,requestor,machineId\na,b,c\n", Options{Format: CSV}); err == nil || !strings.Contains(err.Error(), "line 1: actions are imported from JSON or JSON Lines, not CSV") {
		t.Errorf("actions in CSV: %v", err)
	}
	if _, _, err := readActions(t, "id,machineId\na,b\n", Options{Format: CSV, Kind: Actions}); err == nil || !strings.Contains(err.Error(), "not CSV") {
		t.Errorf("actions in CSV, given the kind: %v", err)
	}
}
