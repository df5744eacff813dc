package ingest_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/ingest"
	"github.com/openatp/openatp/observable"
)

const (
	fileJSON = `{"Timestamp":"2024-03-01T10:00:00.1234567Z","DeviceId":"%M","DeviceName":"ws1.contoso.com","ActionType":"FileCreated","FileName":"invoice.exe","FolderPath":"C:\\Users\\ana\\Downloads\\invoice.exe","SHA1":"A94A8FE5CCB19BA61C4C0873D391E987982FBBD3","SHA256":"2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824","MD5":"5d41402abc4b2a76b9719d911017c592","FileSize":73802,"Signer":"","InitiatingProcessFileName":"msedge.exe","InitiatingProcessId":4242,"ReportId":17,"AppGuardContainerId":"","TenantId":"x"}`
	netJSON  = `{"Timestamp":"2024-03-01T10:00:05Z","DeviceId":"%M","ActionType":"ConnectionSuccess","RemoteIP":"::ffff:203.0.113.7","RemotePort":443,"RemoteUrl":"https://evil.example/a","LocalIP":"10.0.0.5","LocalPort":50123,"Protocol":"Tcp","InitiatingProcessFileName":"chrome.exe"}`
	fileCSV  = "Timestamp,DeviceId,ActionType,FileName,SHA1,FileSize,ReportId,AdditionalFields\n" +
		"2024-03-01T10:00:00.1234567Z,%M,FileCreated,invoice.exe,A94A8FE5CCB19BA61C4C0873D391E987982FBBD3,73802,17,{}\n"
	netCSV = "Timestamp,DeviceId,ActionType,RemoteIP,RemotePort,RemoteUrl,LocalIP,LocalPort,Protocol\n" +
		"2024-03-01T10:00:05Z,%M,ConnectionSuccess,::ffff:203.0.113.7,443,https://evil.example/a,10.0.0.5,50123,Tcp\n"
)

func withMachine(s string) string { return strings.ReplaceAll(s, "%M", mid(1)) }

// readEvents reads every event of input.
func readEvents(t *testing.T, input string, o ingest.Options) ([]openatp.FileEvent, []openatp.NetworkEvent, *ingest.Reader, error) {
	t.Helper()
	r := ingest.NewReader(strings.NewReader(input), o)
	var fs []openatp.FileEvent
	var ns []openatp.NetworkEvent
	for {
		err := r.Next()
		if err == io.EOF {
			return fs, ns, r, nil
		}
		if err != nil {
			return fs, ns, r, err
		}
		switch r.Kind() {
		case ingest.FileEvents:
			fs = append(fs, r.FileEvent())
		case ingest.NetworkEvents:
			ns = append(ns, r.NetworkEvent())
		default:
			t.Fatalf("kind %v", r.Kind())
		}
	}
}

// Events read from JSON, JSON Lines and CSV, their kind told from the
// columns, are the same normalized events.
func TestEventFormats(t *testing.T) {
	wantFile := openatp.FileEvent{Timestamp: time.Date(2024, 3, 1, 10, 0, 0, 123456700, time.UTC), DeviceId: mid(1),
		ActionType: "FileCreated", FileName: "invoice.exe", SHA1: "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3",
		FileSize: openatp.Ptr(int64(73802)), ReportId: 17}
	fullFile := wantFile
	fullFile.DeviceName, fullFile.FolderPath = "ws1.contoso.com", `C:\Users\ana\Downloads\invoice.exe`
	fullFile.SHA256, fullFile.MD5 = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824", "5d41402abc4b2a76b9719d911017c592"
	fullFile.InitiatingProcessFileName, fullFile.InitiatingProcessId = "msedge.exe", openatp.Ptr(int64(4242))
	wantNet := openatp.NetworkEvent{Timestamp: time.Date(2024, 3, 1, 10, 0, 5, 0, time.UTC), DeviceId: mid(1),
		ActionType: "ConnectionSuccess", RemoteIP: "203.0.113.7", RemotePort: openatp.Ptr(int64(443)), RemoteUrl: "https://evil.example/a",
		LocalIP: "10.0.0.5", LocalPort: openatp.Ptr(int64(50123)), Protocol: "Tcp", LocalIPType: "Private", RemoteIPType: "Public"}
	fullNet := wantNet
	fullNet.InitiatingProcessFileName = "chrome.exe"
	fullNet.ReportId = observable.ReportID(func() []any { e := fullNet; e.ReportId = 0; return e.Fields() }())
	wantNet.ReportId = observable.ReportID(func() []any { e := wantNet; e.ReportId = 0; return e.Fields() }())
	for _, tc := range []struct {
		name, input string
		o           ingest.Options
		kind        ingest.Kind
		file        *openatp.FileEvent
		net         *openatp.NetworkEvent
	}{
		{"file ndjson", fileJSON + "\n" + fileJSON + "\n", ingest.Options{}, ingest.FileEvents, &fullFile, nil},
		{"file json", "[" + fileJSON + ",\n" + fileJSON + "]", ingest.Options{Format: ingest.JSON}, ingest.FileEvents, &fullFile, nil},
		{"file csv", fileCSV + strings.SplitN(fileCSV, "\n", 2)[1], ingest.Options{Format: ingest.CSV}, ingest.FileEvents, &wantFile, nil},
		{"network ndjson", netJSON + "\n" + netJSON, ingest.Options{Kind: ingest.NetworkEvents}, ingest.NetworkEvents, nil, &fullNet},
		{"network csv", netCSV + strings.SplitN(netCSV, "\n", 2)[1], ingest.Options{Name: "n.csv"}, ingest.NetworkEvents, nil, &wantNet},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs, ns, r, err := readEvents(t, withMachine(tc.input), tc.o)
			if err != nil {
				t.Fatal(err)
			}
			if r.Kind() != tc.kind || r.Records() != 2 {
				t.Fatalf("kind %v, %d records", r.Kind(), r.Records())
			}
			if tc.file != nil {
				if d := cmp.Diff([]openatp.FileEvent{*tc.file, *tc.file}, fs); d != "" {
					t.Errorf("file events (-want +got):\n%s", d)
				}
			}
			if tc.net != nil {
				if d := cmp.Diff([]openatp.NetworkEvent{*tc.net, *tc.net}, ns); d != "" {
					t.Errorf("network events (-want +got):\n%s", d)
				}
			}
			if strings.Contains(tc.name, "file") && r.Ignored()["AppGuardContainerId"]+r.Ignored()["AdditionalFields"] == 0 {
				t.Errorf("ignored %v: want the unknown columns counted", r.Ignored())
			}
		})
	}
}

// Every bad property of an event record is named with its line, in
// JSON Lines and in CSV.
func TestEventErrors(t *testing.T) {
	for _, tc := range []struct {
		kind       ingest.Kind
		from, to   string // replaced in the second record
		field, msg string
	}{
		{ingest.FileEvents, `"Timestamp":"2024-03-01T10:00:00.1234567Z",`, ``, "Timestamp", "is required"},
		{ingest.FileEvents, `2024-03-01T10:00:00.1234567Z`, `yesterday`, "Timestamp", "is not an RFC 3339 timestamp"},
		{ingest.FileEvents, `"DeviceId":"%M"`, `"DeviceId":"ws1"`, "DeviceId", "must be 40 hexadecimal characters"},
		{ingest.FileEvents, `"ActionType":"FileCreated"`, `"ActionType":"FileCopied"`, "ActionType", `"FileCopied" is not one of FileCreated`},
		{ingest.FileEvents, `"FileName":"invoice.exe",`, ``, "FileName", "is required"},
		{ingest.FileEvents, `"SHA1":"A94A8FE5CCB19BA61C4C0873D391E987982FBBD3"`, `"SHA1":"a94a"`, "SHA1", "must be 40 hexadecimal characters"},
		{ingest.FileEvents, `"SHA256":"2cf2`, `"SHA256":"zzf2`, "SHA256", "must be 64 hexadecimal characters"},
		{ingest.FileEvents, `"MD5":"5d41`, `"MD5":"5d4`, "MD5", "must be 32 hexadecimal characters"},
		{ingest.FileEvents, `"FileSize":73802`, `"FileSize":-1`, "FileSize", "must not be negative"},
		{ingest.FileEvents, `"FileSize":73802`, `"FileSize":"big"`, "FileSize", "must be an integer or null"},
		{ingest.FileEvents, `"Signer":""`, `"Signer":7`, "Signer", "must be a string or null"},
		{ingest.FileEvents, `"ReportId":17`, `"ReportId":1.5`, "ReportId", "must be an integer or null"},
		{ingest.FileEvents, `"FileName"`, `"filename"`, "filename", `did you mean "FileName"?`},
		{ingest.FileEvents, `"Signer":""`, `"Signer":"","Signer":"x"`, "Signer", "appears twice"},
		{ingest.NetworkEvents, `"RemoteIP":"::ffff:203.0.113.7"`, `"RemoteIP":"203.0.113.0/24"`, "RemoteIP", "is not an IP address"},
		{ingest.NetworkEvents, `"LocalIP":"10.0.0.5"`, `"LocalIP":"fe80::1%eth0"`, "LocalIP", "is not an IP address"},
		{ingest.NetworkEvents, `"RemotePort":443`, `"RemotePort":70000`, "RemotePort", "must be a port number"},
		{ingest.NetworkEvents, `"LocalPort":50123`, `"LocalPort":-5`, "LocalPort", "must be a port number"},
		{ingest.NetworkEvents, `"Protocol":"Tcp"`, `"Protocol":"Carrier pigeon"`, "Protocol", "is not one of Tcp"},
		{ingest.NetworkEvents, `"ActionType":"ConnectionSuccess"`, `"ActionType":"Connected"`, "ActionType", "is not one of ConnectionSuccess"},
		{ingest.NetworkEvents, `"RemoteUrl":"https://evil.example/a"`, `"RemoteUrl":"https:///a"`, "RemoteUrl", "names no host"},
		{ingest.NetworkEvents, `"RemotePort":443`, `"RemotePort":443,"RemoteIPType":"Nearby"`, "RemoteIPType", "is not one of Public"},
		{ingest.NetworkEvents, `"DeviceId":"%M",`, ``, "DeviceId", "must be 40 hexadecimal characters"},
	} {
		good := fileJSON
		if tc.kind == ingest.NetworkEvents {
			good = netJSON
		}
		bad := strings.Replace(good, tc.from, tc.to, 1)
		if bad == good {
			t.Fatalf("%s: %s not in the record", tc.field, tc.from)
		}
		_, _, _, err := readEvents(t, withMachine(good+"\n\n"+bad+"\n"), ingest.Options{Name: "e.jsonl"})
		var ie *ingest.Error
		if !errors.As(err, &ie) || ie.Line != 3 || ie.Field != tc.field || !strings.Contains(ie.Reason, tc.msg) {
			t.Errorf("%s → %s: error %v, want line 3, %s: %s", tc.from, tc.to, err, tc.field, tc.msg)
		}
	}
	// CSV: a cell names its column and line.
	for _, tc := range []struct{ input, field, msg string }{
		{fileCSV + "2024-03-01T10:00:00Z,%M,FileCreated,a.exe,,many,,\n", "FileSize", `"many" is not an integer`},
		{fileCSV + "2024-03-01 10:00,%M,FileCreated,a.exe,,,,\n", "Timestamp", "is not an RFC 3339 timestamp"},
		{fileCSV + "2024-03-01T10:00:00Z,%M,FileCreated,,,,,\n", "FileName", "is required"},
		{netCSV + "2024-03-01T10:00:05Z,%M,ConnectionSuccess,1.2.3,443,,,,Tcp\n", "RemoteIP", "is not an IP address"},
	} {
		_, _, _, err := readEvents(t, withMachine(tc.input), ingest.Options{Format: ingest.CSV})
		var ie *ingest.Error
		if !errors.As(err, &ie) || ie.Line != 3 || ie.Field != tc.field || !strings.Contains(ie.Reason, tc.msg) {
			t.Errorf("error %v, want line 3, %s: %s", err, tc.field, tc.msg)
		}
	}
}

// Events import in one transaction a batch: a record the store refuses
// (an unknown machine) is named by its line and field and nothing is
// written; importing the same input again adds nothing.
func TestImportEvents(t *testing.T) {
	ctx := context.Background()
	db, tenant := newStore(t)
	if _, err := ingest.Import(ctx, db, tenant, ingest.NewReader(strings.NewReader(machinesJSONL(0, 2)), ingest.Options{}), ingest.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	stray := strings.Replace(withMachine(netJSON), mid(1), mid(9), 1)
	input := withMachine(netJSON) + "\n" + stray + "\n"
	_, err := ingest.Import(ctx, db, tenant, ingest.NewReader(strings.NewReader(input), ingest.Options{Name: "n.jsonl"}), ingest.ImportOptions{})
	if err == nil || !strings.Contains(err.Error(), "n.jsonl: line 2: DeviceId: the tenant has no machine") {
		t.Fatalf("error %v, want line 2's DeviceId", err)
	}
	if es, err := db.NetworkEvents(ctx, tenant, openatp.EventFilter{}); err != nil || len(es) != 0 {
		t.Fatalf("%d events after a failed import (%v), want 0", len(es), err)
	}
	second := strings.Replace(withMachine(fileJSON), `"ReportId":17`, `"ReportId":18`, 1)
	for range 2 {
		var batches []ingest.BatchResult
		sum, err := ingest.Import(ctx, db, tenant, ingest.NewReader(strings.NewReader(withMachine(fileJSON)+"\n"+second+"\n"), ingest.Options{}),
			ingest.ImportOptions{OnBatch: func(b ingest.BatchResult) { batches = append(batches, b) }})
		if err != nil || sum.Kind != ingest.FileEvents || sum.Records != 2 || len(batches) != 1 || batches[0].Events != 2 {
			t.Fatalf("import: %+v, %+v, %v", sum, batches, err)
		}
	}
	es, err := db.FileEvents(ctx, tenant, openatp.EventFilter{Hash: "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3"})
	if err != nil || len(es) != 2 || es[0].ReportId != 17 || es[1].ReportId != 18 {
		t.Fatalf("stored %+v, %v; want the 2 events once", es, err)
	}
}
