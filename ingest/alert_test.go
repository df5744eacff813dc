package ingest

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/wire"
)

// readAlerts reads every record of input as alerts.
func readAlerts(t *testing.T, input string, o Options) ([]openatp.Alert, *Reader, error) {
	t.Helper()
	r := NewReader(strings.NewReader(input), o)
	var as []openatp.Alert
	for {
		err := r.Next()
		if err == io.EOF {
			return as, r, nil
		}
		if err != nil {
			return as, r, err
		}
		if r.Kind() != Alerts {
			t.Fatalf("record of kind %v", r.Kind())
		}
		as = append(as, r.Alert())
	}
}

// liveItems returns the items of the fixture's envelope, each compact,
// without the properties openatp does not model (domains).
func liveItems(t *testing.T, fixture []byte) [][]byte {
	t.Helper()
	var env struct{ Value []json.RawMessage }
	if err := json.Unmarshal(fixture, &env); err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, raw := range env.Value {
		var b bytes.Buffer
		if err := json.Compact(&b, raw); err != nil {
			t.Fatal(err)
		}
		out = append(out, bytes.Replace(b.Bytes(), []byte(`,"domains":[]`), nil, 1))
	}
	return out
}

// A real GET /api/alerts?$expand=evidence answer (the live example's
// shape) reads as alerts whose JSON, written again, is the answer's but
// for what openatp does not model, which is counted.
func TestAlertsLiveAnswer(t *testing.T) {
	fixture, err := os.ReadFile("testdata/alerts-live.json")
	if err != nil {
		t.Fatal(err)
	}
	as, r, err := readAlerts(t, string(fixture), Options{Name: "alerts-live.json"})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(map[string]int64{"domains": 2, "rbacGroupName": 2}, r.Ignored()); d != "" {
		t.Errorf("ignored (-want +got):\n%s", d)
	}
	want := liveItems(t, fixture)
	if len(as) != len(want) {
		t.Fatalf("%d alerts, want %d", len(as), len(want))
	}
	for i := range as {
		a := as[i]
		if i == 1 { // its machine is in device group A
			a.RBACGroupID, a.RBACGroupName = 1, "A"
		}
		if got := wire.AppendAlert(nil, &a, true); !bytes.Equal(got, want[i]) {
			t.Errorf("alert %d written again:\n got %s\nwant %s", i, got, want[i])
		}
	}
	// The same records as JSON Lines, and the kind told from id and
	// machineId together.
	var lines strings.Builder
	for _, w := range want {
		lines.Write(w)
		lines.WriteByte('\n')
	}
	again, r, err := readAlerts(t, lines.String(), Options{Format: JSONL})
	if err != nil || len(again) != 2 || r.Kind() != Alerts {
		t.Fatalf("JSON Lines: %d alerts, %v", len(again), err)
	}
	if d := cmp.Diff(as, again); d != "" {
		t.Errorf("JSON Lines read differently (-json +jsonl):\n%s", d)
	}
}

func TestAlertRecordErrors(t *testing.T) {
	const base = `"id":"a-1","machineId":"111e6dd8c833c8a052ea231ec1b19adaf497b625","severity":"Low","status":"New"`
	for _, c := range []struct{ record, want string }{
		{`{"id":"a-1","machineId":"111e6dd8c833c8a052ea231ec1b19adaf497b625","status":"New"}`, "line 1: severity: is required"},
		{`{` + base + `,"severity":"Low"}`, "line 1: severity: appears twice in the record"},
		{`{` + base + `,"Title":"x"}`, `line 1: Title: unknown property; did you mean "title"?`},
		{`{` + base + `,"classification":"Maybe"}`, `line 1: classification: "Maybe" is not one of`},
		{`{` + base + `,"incidentId":"12a"}`, `line 1: incidentId: must be an integer or null, got "12a"`},
		{`{` + base + `,"evidence":[{"processId":"12"}]}`, "line 1: evidence.processId: must be an integer or null"},
		{`{` + base + `,"evidence":[{"EntityType":"File"}]}`, `line 1: evidence.EntityType: unknown property; did you mean "entityType"?`},
		{`{` + base + `,"relatedUser":{"domainName":"x"}}`, "line 1: relatedUser.userName: is required"},
		{`{` + base + `,"comments":[{"comment":"x","createdTime":"yesterday"}]}`, `line 1: comments.createdTime: "yesterday" is not an RFC 3339 timestamp`},
		{`{` + base + `,"comments":"none"}`, "line 1: comments: must be an array of objects or null"},
		{`{` + base + `,"machineId":"x"}`, "line 1: machineId: appears twice"},
	} {
		_, _, err := readAlerts(t, c.record, Options{Format: JSONL})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.record, err, c.want)
		}
	}
	// Unknown properties of items are counted with their list's name;
	// incidentId may be a string of digits (the 2019 documentation).
	as, r, err := readAlerts(t, `{`+base+`,"incidentId":"12","evidence":[{"entityType":"File","extra":1}],"recommendedAction":"x"}`, Options{Format: JSONL})
	if err != nil || *as[0].IncidentID != 12 {
		t.Fatalf("%+v, %v", as, err)
	}
	if d := cmp.Diff(map[string]int64{"evidence.extra": 1, "recommendedAction": 1}, r.Ignored()); d != "" {
		t.Errorf("ignored (-want +got):\n%s", d)
	}
	if _, _, err := readAlerts(t, "id,machineId\na,b\n", Options{Format: CSV, Kind: Alerts}); err == nil || !strings.Contains(err.Error(), "not CSV") {
		t.Errorf("alerts in CSV: %v", err)
	}
}
