package ingest

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/openatp/openatp"
)

// readAll reads every record of input.
func readAll(t *testing.T, input string, o Options) ([]openatp.Machine, []openatp.Logon, []int64, *Reader, error) {
	t.Helper()
	r := NewReader(strings.NewReader(input), o)
	var ms []openatp.Machine
	var ls []openatp.Logon
	var lines []int64
	for {
		err := r.Next()
		if err == io.EOF {
			return ms, ls, lines, r, nil
		}
		if err != nil {
			return ms, ls, lines, r, err
		}
		lines = append(lines, r.Line())
		if r.Kind() == Machines {
			ms = append(ms, r.Machine())
		} else {
			ls = append(ls, r.Logon())
		}
	}
}

const docMachine = `{"id":"1e5bc9d7e413ddd7902c2932e418702b84d0cc07","computerDnsName":"mymachine1.contoso.com","firstSeen":"2018-08-02T14:55:03.7791856Z","lastSeen":"2021-01-25T07:27:36.052313Z","osPlatform":"Windows10","osProcessor":"x64","version":"1901","lastIpAddress":"10.166.113.46","lastExternalIpAddress":"167.220.203.175","osBuild":19042,"healthStatus":"Active","deviceValue":"Normal","rbacGroupName":"The-A-Team","riskScore":"Low","exposureLevel":"Low","aadDeviceId":"fd2e4d29-7072-4195-aaa5-1af139b78028","machineTags":["Tag1","Tag2"],"ipAddresses":[{"ipAddress":"10.166.113.47","macAddress":"8CEC4B897E73","operationalStatus":"Up"},{"ipAddress":"2a01:110:68:4:59e4:3916:3b3e:4f96","macAddress":"8CEC4B897E73","operationalStatus":"Up"}]}`

// liveMachine is shaped like a third-party capture of the live service,
// with the properties the documentation does not list.
const liveMachine = `{
  "id": "7292e4b8cb74ff1cc3d8a495eb29dc8858b732f7",
  "mergedIntoMachineId": null,
  "isPotentialDuplication": false,
  "isExcluded": false,
  "exclusionReason": null,
  "computerDnsName": "mymachine2.contoso.com",
  "firstSeen": "2018-07-09T13:22:45.1250071Z",
  "lastSeen": "2018-07-09T13:22:45.1250071Z",
  "osPlatform": "Windows10",
  "osVersion": null,
  "osProcessor": "x64",
  "version": "1709",
  "lastIpAddress": "192.168.12.225",
  "lastExternalIpAddress": "79.183.65.82",
  "agentVersion": "10.5820.17724.1000",
  "osBuild": 17724,
  "healthStatus": "Inactive",
  "defenderAvStatus": "Updated",
  "onboardingStatus": "Onboarded",
  "rbacGroupId": 0,
  "rbacGroupName": null,
  "riskScore": "Low",
  "exposureLevel": "Medium",
  "isAadJoined": true,
  "aadDeviceId": null,
  "machineTags": [],
  "deviceValue": "Normal",
  "ipAddresses": [{"ipAddress": "127.0.0.1", "macAddress": null, "type": "SoftwareLoopback", "operationalStatus": "Up"}],
  "osArchitecture": "64-bit",
  "managedBy": "MicrosoftDefenderForEndpoint",
  "managedByStatus": "Success",
  "vmMetadata": {"vmId": "x", "cloudProvider": "Azure", "resourceId": "/subscriptions/…", "subscriptionId": "s"}
}`

func TestFormats(t *testing.T) {
	flat := strings.ReplaceAll(strings.ReplaceAll(liveMachine, "\n", ""), "  ", "")
	envelope := `{"@odata.context": "https://api.security.microsoft.com/api/$metadata#Machines", "value": [` + docMachine + ",\n" + liveMachine + `], "@odata.nextLink": "x"}`
	wantIDs := []string{"1e5bc9d7e413ddd7902c2932e418702b84d0cc07", "7292e4b8cb74ff1cc3d8a495eb29dc8858b732f7"}
	for _, tc := range []struct {
		name   string
		o      Options
		input  string
		lines  []int64
		ignore map[string]int64
	}{
		{"jsonl", Options{Name: "a.jsonl"}, docMachine + "\n\n" + flat + "\n", []int64{1, 3}, nil},
		{"jsonl crlf no final newline", Options{Format: JSONL}, docMachine + "\r\n" + flat, []int64{1, 2}, nil},
		{"json array", Options{Name: "a.json"}, "[\n" + docMachine + ",\n" + liveMachine + "\n]\n", []int64{2, 3}, nil},
		{"envelope", Options{Name: "a.json"}, envelope, []int64{1, 2}, nil},
		{"envelope sniffed", Options{}, "\n" + envelope, []int64{2, 3}, nil},
		{"envelope as jsonl", Options{Format: JSONL}, envelope, []int64{1, 2}, nil},
		{"single objects", Options{Format: JSON}, docMachine + liveMachine, []int64{1, 1}, nil},
		{"single entity with context", Options{Format: JSON}, `{"@odata.context":"x/$metadata#Machines/$entity",` + docMachine[1:] + "\n" + flat, []int64{1, 2}, nil},
		{"bom", Options{Format: JSONL}, "\xef\xbb\xbf" + docMachine + "\n" + flat, []int64{1, 2}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ms, _, lines, r, err := readAll(t, tc.input, tc.o)
			if err != nil {
				t.Fatal(err)
			}
			if r.Kind() != Machines {
				t.Fatalf("kind %v", r.Kind())
			}
			var ids []string
			for _, m := range ms {
				ids = append(ids, m.ID)
			}
			if d := cmp.Diff(wantIDs, ids); d != "" {
				t.Errorf("ids (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.lines, lines); d != "" {
				t.Errorf("lines (-want +got):\n%s", d)
			}
			ign := r.Ignored()
			for _, k := range []string{"mergedIntoMachineId", "isPotentialDuplication", "isExcluded", "exclusionReason", "defenderAvStatus", "managedBy", "managedByStatus", "vmMetadata"} {
				if ign[k] != 1 {
					t.Errorf("ignored[%s] = %d, want 1 (all: %v)", k, ign[k], ign)
				}
			}
			if ign["rbacGroupName"] != 2 || ign["rbacGroupId"] != 1 {
				t.Errorf("ignored rbac %v", ign)
			}
		})
	}
}

func TestMachineDecoded(t *testing.T) {
	ms, _, _, _, err := readAll(t, liveMachine, Options{Format: JSON})
	if err != nil {
		t.Fatal(err)
	}
	first := time.Date(2018, 7, 9, 13, 22, 45, 125007100, time.UTC)
	want := openatp.Machine{
		ID: "7292e4b8cb74ff1cc3d8a495eb29dc8858b732f7", ComputerDNSName: openatp.Ptr("mymachine2.contoso.com"),
		FirstSeen: &first, LastSeen: &first, OSPlatform: openatp.Ptr("Windows10"), OSProcessor: openatp.Ptr("x64"),
		Version: openatp.Ptr("1709"), LastIPAddress: openatp.Ptr("192.168.12.225"), LastExternalIPAddress: openatp.Ptr("79.183.65.82"),
		AgentVersion: openatp.Ptr("10.5820.17724.1000"), OSBuild: openatp.Ptr(int64(17724)), HealthStatus: openatp.Ptr("Inactive"),
		OnboardingStatus: openatp.Ptr("Onboarded"), RiskScore: openatp.Ptr("Low"), ExposureLevel: openatp.Ptr("Medium"),
		IsAADJoined: openatp.Ptr(true), MachineTags: []string{}, DeviceValue: openatp.Ptr("Normal"),
		IPAddresses:    []openatp.IPAddress{{IPAddress: "127.0.0.1", Type: openatp.Ptr("SoftwareLoopback"), OperationalStatus: openatp.Ptr("Up")}},
		OSArchitecture: openatp.Ptr("64-bit"),
	}
	if d := cmp.Diff(want, ms[0]); d != "" {
		t.Errorf("machine (-want +got):\n%s", d)
	}
}

const logonCSV = "machineId,accountName,accountDomain,accountSid,logonType,timestamp,extra\n" +
	"1e5bc9d7e413ddd7902c2932e418702b84d0cc07,user1,contoso,S-1-5-21-1,Interactive,2024-05-01T12:00:00Z,x\n" +
	"\n" +
	"1e5bc9d7e413ddd7902c2932e418702b84d0cc07,\"user,2\",contoso,,,2024-05-01T12:00:00+02:00,\n"

func TestLogons(t *testing.T) {
	jsonl := `{"machineId":"1e5bc9d7e413ddd7902c2932e418702b84d0cc07","accountName":"user1","accountDomain":"contoso","accountSid":"S-1-5-21-1","logonType":"Interactive","timestamp":"2024-05-01T12:00:00Z","extra":"x"}
{"machineId":"1e5bc9d7e413ddd7902c2932e418702b84d0cc07","accountName":"user,2","accountDomain":"contoso","accountSid":null,"logonType":null,"timestamp":"2024-05-01T12:00:00+02:00"}`
	want := []openatp.Logon{
		{MachineID: "1e5bc9d7e413ddd7902c2932e418702b84d0cc07", AccountName: "user1", AccountDomain: "contoso", AccountSID: "S-1-5-21-1", LogonType: "Interactive", Timestamp: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)},
		{MachineID: "1e5bc9d7e413ddd7902c2932e418702b84d0cc07", AccountName: "user,2", AccountDomain: "contoso", Timestamp: time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)},
	}
	for _, tc := range []struct {
		name, input string
		o           Options
		lines       []int64
	}{
		{"jsonl", jsonl, Options{Name: "l.jsonl"}, []int64{1, 2}},
		{"csv", logonCSV, Options{Name: "l.csv"}, []int64{2, 4}},
		{"json array", "[" + strings.ReplaceAll(jsonl, "\n", ",\n") + "]", Options{Format: JSON, Kind: Logons}, []int64{1, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, ls, lines, r, err := readAll(t, tc.input, tc.o)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(want, ls); d != "" {
				t.Errorf("logons (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.lines, lines); d != "" {
				t.Errorf("lines (-want +got):\n%s", d)
			}
			if r.Ignored()["extra"] != 1 {
				t.Errorf("ignored %v", r.Ignored())
			}
		})
	}
}

func TestMachineCSV(t *testing.T) {
	in := "id,computerDnsName,firstSeen,osBuild,isAadJoined,machineTags,ipAddresses,healthStatus,rbacGroupId,defenderAvStatus\n" +
		`1e5bc9d7e413ddd7902c2932e418702b84d0cc07,m1.contoso.com,2018-08-02T14:55:03.7791856Z,19042,true,test tag 1;test tag 2,"[{""ipAddress"":""10.0.0.1"",""macAddress"":""8CEC4B897E73"",""type"":null,""operationalStatus"":""Up""}]",Active,140,Updated` + "\n" +
		"7292e4b8cb74ff1cc3d8a495eb29dc8858b732f7,,,,,,,,,\n"
	ms, _, _, r, err := readAll(t, in, Options{Name: "m.csv"})
	if err != nil {
		t.Fatal(err)
	}
	first := time.Date(2018, 8, 2, 14, 55, 3, 779185600, time.UTC)
	want := []openatp.Machine{
		{ID: "1e5bc9d7e413ddd7902c2932e418702b84d0cc07", ComputerDNSName: openatp.Ptr("m1.contoso.com"), FirstSeen: &first,
			OSBuild: openatp.Ptr(int64(19042)), IsAADJoined: openatp.Ptr(true), MachineTags: []string{"test tag 1", "test tag 2"},
			IPAddresses:  []openatp.IPAddress{{IPAddress: "10.0.0.1", MACAddress: openatp.Ptr("8CEC4B897E73"), OperationalStatus: openatp.Ptr("Up")}},
			HealthStatus: openatp.Ptr("Active")},
		{ID: "7292e4b8cb74ff1cc3d8a495eb29dc8858b732f7", MachineTags: []string{}, IPAddresses: []openatp.IPAddress{}},
	}
	if d := cmp.Diff(want, ms); d != "" {
		t.Errorf("machines (-want +got):\n%s", d)
	}
	if d := cmp.Diff(map[string]int64{"rbacGroupId": 1, "defenderAvStatus": 1}, r.Ignored()); d != "" {
		t.Errorf("ignored (-want +got):\n%s", d)
	}
}

func TestErrors(t *testing.T) {
	const id = "1e5bc9d7e413ddd7902c2932e418702b84d0cc07"
	rec := func(extra string) string { return `{"id":"` + id + `"` + extra + "}" }
	long := rec(`,"computerDnsName":"` + strings.Repeat("a", 2<<20) + `"`)
	for _, tc := range []struct {
		name   string
		o      Options
		input  string
		line   int64
		field  string
		reason string
		syntax bool
	}{
		{"wrong enum", Options{Format: JSONL}, rec("") + "\n" + rec(`,"healthStatus":"Fine"`), 2, "healthStatus", `"Fine" is not one of Active`, false},
		{"bad timestamp", Options{Format: JSONL}, rec(`,"firstSeen":"2018-08-02 14:55:03"`), 1, "firstSeen", "is not an RFC 3339 timestamp", false},
		{"timestamp without zone", Options{Format: JSONL}, rec(`,"firstSeen":"2018-08-02T14:55:03"`), 1, "firstSeen", "is not an RFC 3339", false},
		{"date only", Options{Format: JSONL}, rec(`,"lastSeen":"2018-08-02"`), 1, "lastSeen", "is not an RFC 3339", false},
		{"truncated line", Options{Format: JSONL}, rec("") + "\n" + `{"id":"` + id + `","computerDnsName":"ab` + "\n" + rec(""), 2, "", "unexpected end of the record", true},
		{"truncated array", Options{Format: JSON}, "[" + rec("") + ",\n" + `{"id":"` + id, 2, "", "unexpected end of the input", true},
		{"truncated envelope", Options{Format: JSON}, `{"value":[` + rec(""), 1, "", "unexpected end of the input", true},
		{"invalid utf-8", Options{Format: JSONL}, rec(`,"computerDnsName":"a` + "\xff" + `"`), 1, "computerDnsName", "is not valid UTF-8", false},
		{"invalid utf-8 csv", Options{Format: CSV}, "id,computerDnsName\n" + id + ",a\xffb\n", 2, "computerDnsName", "is not valid UTF-8", true},
		{"10 MB line", Options{Format: JSONL}, rec("") + "\n" + long, 2, "", "longer than 1048576 bytes", true},
		{"10 MB record in an array", Options{Format: JSON}, "[" + rec("") + ",\n" + long + "]", 2, "", "longer than 1048576 bytes", true},
		{"10 MB csv line", Options{Format: CSV}, "id,computerDnsName\n" + id + "," + strings.Repeat("a", 2<<20) + "\n", 2, "", "longer than 1048576 bytes", true},
		{"empty file", Options{Name: "x.jsonl"}, "", 0, "", "the input is empty", true},
		{"blank file", Options{Name: "x.json"}, "\n  \n", 0, "", "the input is empty", true},
		{"empty csv", Options{Name: "x.csv"}, "", 0, "", "the input is empty", true},
		{"duplicate csv header", Options{Format: CSV}, "id,computerDnsName,id\n", 1, "id", "names this column twice", false},
		{"csv wrong case", Options{Format: CSV}, "id,OSPlatform\n", 1, "OSPlatform", `did you mean "osPlatform"`, false},
		{"csv ragged", Options{Format: CSV}, "id,computerDnsName\n" + id + ",a,b\n", 2, "", "wrong number of fields", true},
		{"bad id", Options{Format: JSONL}, `{"id":"XYZ"}`, 1, "id", "must be 40 lowercase", false},
		{"no id", Options{Format: JSONL, Kind: Machines}, `{"computerDnsName":"x"}`, 1, "id", "is required", false},
		{"null id", Options{Format: JSONL}, `{"id":null}`, 1, "id", "must not be null", false},
		{"duplicate property", Options{Format: JSONL}, rec(`,"id":"` + id + `"`), 1, "id", "appears twice", false},
		{"wrong case property", Options{Format: JSONL}, rec(`,"OsPlatform":"x"`), 1, "OsPlatform", `did you mean "osPlatform"`, false},
		{"osBuild string", Options{Format: JSONL}, rec(`,"osBuild":"19042"`), 1, "osBuild", "must be an integer", false},
		{"osBuild fraction", Options{Format: JSONL}, rec(`,"osBuild":1.5`), 1, "osBuild", "must be an integer", false},
		{"bad ip", Options{Format: JSONL}, rec(`,"lastIpAddress":"300.1.1.1"`), 1, "lastIpAddress", "is not an IP address", false},
		{"bad mac", Options{Format: JSONL}, rec(`,"ipAddresses":[{"ipAddress":"10.0.0.1","macAddress":"8c:ec"}]`), 1, "ipAddresses.macAddress", "12 uppercase", false},
		{"ip without address", Options{Format: JSONL}, rec(`,"ipAddresses":[{"type":"Ethernet"}]`), 1, "ipAddresses.ipAddress", "is required", false},
		{"tag not a string", Options{Format: JSONL}, rec(`,"machineTags":[1]`), 1, "machineTags", "must be a string", false},
		{"too long", Options{Format: JSONL}, rec(`,"osPlatform":"` + strings.Repeat("x", 600) + `"`), 1, "osPlatform", "longer than 512", false},
		{"bad guid", Options{Format: JSONL}, rec(`,"aadDeviceId":"nope"`), 1, "aadDeviceId", "not a GUID", false},
		{"not an object", Options{Format: JSONL}, `["x"]`, 1, "", "expected an object", true},
		{"trailing garbage", Options{Format: JSONL}, rec("") + ` x`, 1, "", "unexpected data after the record", true},
		{"array of strings", Options{Format: JSON}, `["x"]`, 1, "", "not a JSON object", true},
		{"neither kind", Options{Format: JSONL}, `{"name":"x"}`, 1, "", "cannot tell machines from logon events", false},
		{"bad logon type", Options{Format: JSONL}, `{"machineId":"` + id + `","accountName":"a","accountDomain":"d","logonType":"Psychic","timestamp":"2024-01-01T00:00:00Z"}`, 1, "logonType", `"Psychic" is not one of`, false},
		{"logon without timestamp", Options{Format: JSONL}, `{"machineId":"` + id + `","accountName":"a","accountDomain":"d"}`, 1, "timestamp", "is required", false},
		{"logon UPN", Options{Format: JSONL}, `{"machineId":"` + id + `","accountName":"a@b","accountDomain":"d","timestamp":"2024-01-01T00:00:00Z"}`, 1, "accountName", "contains the character", false},
		{"logon csv bad time", Options{Format: CSV}, "machineId,accountName,accountDomain,timestamp\n" + id + ",a,d,yesterday\n", 2, "timestamp", "not an RFC 3339", false},
		{"value not array", Options{Format: JSON}, `{"@odata.context":"x","value":{}}`, 1, "", "must be an array", true},
		{"junk after envelope", Options{Format: JSON}, `{"value":[],"id":"x"}`, 1, "", `unexpected property "id"`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, _, _, err := readAll(t, tc.input, tc.o)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v, want an *Error", err)
			}
			if e.Line != tc.line || e.Field != tc.field || !strings.Contains(e.Reason, tc.reason) || e.Syntax != tc.syntax {
				t.Errorf("got line %d field %q reason %q syntax %v, want line %d field %q reason containing %q syntax %v",
					e.Line, e.Field, e.Reason, e.Syntax, tc.line, tc.field, tc.reason, tc.syntax)
			}
		})
	}
}

func TestRelationLogonsRoundTrip(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, r := range []openatp.UserMachine{
		{AccountName: "a", AccountDomain: "d", MachineID: "m", FirstSeen: t0, LastSeen: t0},
		{AccountName: "a", AccountDomain: "d", MachineID: "m", FirstSeen: t0, LastSeen: t0.Add(time.Hour), LogonTypes: []string{"Network"}},
		{AccountName: "a", AccountDomain: "d", AccountSID: "S-1-5-21-1-2-3-1001", MachineID: "m", FirstSeen: t0, LastSeen: t0.Add(time.Hour), LogonTypes: []string{"Batch", "Network", "Unlock"}},
	} {
		ls := RelationLogons(r)
		for _, l := range ls {
			if l.AccountSID != r.AccountSID || l.AccountName != r.AccountName || l.AccountDomain != r.AccountDomain || l.MachineID != r.MachineID {
				t.Errorf("%+v: event %+v names another user or machine", r, l)
			}
		}
		first, last, types := ls[0].Timestamp, ls[0].Timestamp, map[string]bool{}
		for _, l := range ls {
			first, last = minTime(first, l.Timestamp), maxTime(last, l.Timestamp)
			if l.LogonType != "" {
				types[l.LogonType] = true
			}
		}
		if !first.Equal(r.FirstSeen) || !last.Equal(r.LastSeen) || len(types) != len(r.LogonTypes) {
			t.Errorf("%+v: events %+v", r, ls)
		}
	}
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// FuzzReader: no input makes the reader panic or loop.
func FuzzReader(f *testing.F) {
	f.Add(docMachine, uint8(0))
	f.Add(liveMachine, uint8(2))
	f.Add(`{"value":[`+docMachine+`]}`, uint8(2))
	f.Add(logonCSV, uint8(3))
	f.Add(`{"Timestamp":"2024-03-01T10:00:00Z","DeviceId":"`+strings.Repeat("a", 40)+`","ActionType":"FileCreated","FileName":"a.exe","SHA1":null,"FileSize":12}`, uint8(1))
	f.Add("Timestamp,DeviceId,ActionType,RemoteIP,RemotePort,RemoteUrl\n2024-03-01T10:00:00Z,"+strings.Repeat("a", 40)+",ConnectionSuccess,::ffff:1.2.3.4,443,https://a.example/\n", uint8(3))
	f.Fuzz(func(t *testing.T, in string, format uint8) {
		r := NewReader(strings.NewReader(in), Options{Format: Format(format % 4), MaxRecord: 4096})
		for range 10000 {
			if err := r.Next(); err != nil {
				return
			}
		}
	})
}

// A quoted CSV field that runs on over many lines is bounded like a long
// line: the record is refused once it passes the record limit, and never
// read whole; a field of many lines within the limit is read.
func TestCSVMultiLineFieldLimit(t *testing.T) {
	const id = "1e5bc9d7e413ddd7902c2932e418702b84d0cc07"
	field := func(lines, width int) string {
		return `"` + strings.Repeat(strings.Repeat("a", width-1)+"\n", lines) + `"`
	}
	in := "id,osVersion\n" + id + "," + field(3000, 1000) + "\n" // 3 MB in one record, no line over 1 KB
	lim := &countingReader{r: strings.NewReader(in)}
	r := NewReader(lim, Options{Format: CSV})
	err := r.Next()
	var e *Error
	if !errors.As(err, &e) || !e.Syntax || e.Line <= 2 || !strings.Contains(e.Reason, "longer than 1048576 bytes") {
		t.Fatalf("a 3 MB record of 1 KB lines: %v", err)
	}
	if lim.n > 1<<20+64<<10 {
		t.Errorf("read %d bytes of the input to refuse a record over 1 MiB", lim.n)
	}
	ms, _, _, _, err := readAll(t, "id,osVersion\n"+id+","+field(3, 100)+"\n", Options{Format: CSV})
	if err != nil || len(ms) != 1 || len(*ms[0].OSVersion) != 300 {
		t.Errorf("a field of 3 lines: %v", err)
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// An *Error is an Invalid error with its code and its text as message, as
// the HTTP API answers it; its own fields stay readable.
func TestErrorIsInvalid(t *testing.T) {
	for _, tc := range []struct {
		err  *Error
		code string
	}{
		{&Error{Line: 3, Field: "healthStatus", Reason: `"Fine" is not one of Active, Inactive`}, "InvalidInput"},
		{&Error{Line: 1, Reason: "not JSON", Syntax: true}, "InvalidRequestBody"},
	} {
		err := fmt.Errorf("importing: %w", tc.err)
		if k := openatp.KindOf(err); k != openatp.Invalid {
			t.Errorf("%v: kind %v, want invalid", err, k)
		}
		var e *openatp.Error
		if !errors.As(err, &e) || e.Code != tc.code || e.Message != tc.err.Error() {
			t.Errorf("%v: as *openatp.Error %+v, want code %s and message %q", err, e, tc.code, tc.err.Error())
		}
		var ie *Error
		if !errors.As(err, &ie) || ie != tc.err {
			t.Errorf("%v: the *Error is not found", err)
		}
	}
}
