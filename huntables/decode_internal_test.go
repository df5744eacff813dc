package huntables

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/alertlists"
	"github.com/openatp/openatp/internal/demo"
	"github.com/openatp/openatp/wire"
)

// TestDecodeMachine: the hand-written decoder reads what encoding/json
// reads from wire's Machine JSON, for the documentation's machines (every
// property set) and a machine with every nullable property null.
func TestDecodeMachine(t *testing.T) {
	ms, _, _ := demo.DocExample()
	ms = append(ms, openatp.Machine{ID: "0000000000000000000000000000000000000001", MachineTags: []string{}, IPAddresses: []openatp.IPAddress{}})
	lex := new(machineDecoder)
	for _, m := range ms {
		b := wire.AppendMachine(nil, &m)
		var want, got machineJSON
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatal(err)
		}
		// encoding/json reads ipAddresses by its field names.
		var ips struct {
			IPAddresses []struct {
				IPAddress         string  `json:"ipAddress"`
				MACAddress        *string `json:"macAddress"`
				Type              *string `json:"type"`
				OperationalStatus *string `json:"operationalStatus"`
			} `json:"ipAddresses"`
		}
		if err := json.Unmarshal(b, &ips); err != nil {
			t.Fatal(err)
		}
		want.IPAddresses = nil
		for _, ip := range ips.IPAddresses {
			want.IPAddresses = append(want.IPAddresses, ipAddressEntry{ip.IPAddress, ip.MACAddress, ip.Type, ip.OperationalStatus})
		}
		if len(want.MachineTags) == 0 {
			want.MachineTags = nil
		}
		if err := decodeMachine(lex, b, &got); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %+v\nwant %+v", b, got, want)
		}
	}
}

// TestDecodeAlert: decodeAlert reads what encoding/json reads from wire's
// Alert JSON with its evidence, for the documentation's alert (every
// property set), one with evidence of every kind and tricky strings, and
// one with every nullable property null.
func TestDecodeAlert(t *testing.T) {
	_, doc := demo.DocAlert()
	at := time.Date(2021, 1, 26, 20, 33, 59, 123456700, time.UTC)
	tricky := "x\"\\\n\u2028<&>é"
	rich := doc
	rich.ID, rich.MitreTechniques = "rich", []string{"T1059", tricky}
	rich.Evidence = append(slices.Clone(doc.Evidence), openatp.Evidence{EntityType: openatp.Ptr("Process"), ProcessID: openatp.Ptr(int64(7)),
		ProcessCommandLine: &tricky, ParentProcessCreationTime: &at, AADUserID: openatp.Ptr("aad"), UserSID: openatp.Ptr("S-1-5"),
		URL: openatp.Ptr("https://example.com"), IPAddress: openatp.Ptr("203.0.113.1"), RegistryValueName: openatp.Ptr("Run")}, openatp.Evidence{})
	bare := openatp.Alert{ID: "bare", Severity: "Low", Status: "New"}
	var lists alertlists.Reader
	for _, a := range []openatp.Alert{doc, rich, bare} {
		b := wire.AppendAlert(nil, &a, true)
		var tagged struct {
			ID                string             `json:"id"`
			Severity          *string            `json:"severity"`
			DetectionSource   *string            `json:"detectionSource"`
			Category          *string            `json:"category"`
			ThreatFamilyName  *string            `json:"threatFamilyName"`
			Title             *string            `json:"title"`
			AlertCreationTime *time.Time         `json:"alertCreationTime"`
			MachineID         *string            `json:"machineId"`
			ComputerDNSName   *string            `json:"computerDnsName"`
			MitreTechniques   []string           `json:"mitreTechniques"`
			Evidence          []openatp.Evidence `json:"evidence"`
		}
		if err := json.Unmarshal(b, &tagged); err != nil {
			t.Fatal(err)
		}
		want := alertJSON(tagged)
		var got alertJSON
		if err := decodeAlert(&lists, b, &got); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %+v\nwant %+v", b, got, want)
		}
	}
	for _, bad := range []string{`{"id":1}`, `{"evidence":{}}`, `{"alertCreationTime":"yesterday"}`, `{"id":"a"} x`, `[`} {
		var got alertJSON
		if err := decodeAlert(&lists, []byte(bad), &got); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

// BenchmarkDecodeAlert: an AlertEvidence scan's decoding of one alert
// with evidence, by decodeAlert and by encoding/json (the baseline), with
// their ratio.
func BenchmarkDecodeAlert(b *testing.B) {
	_, a := demo.DocAlert()
	a.Evidence = append(a.Evidence, a.Evidence...)
	buf := wire.AppendAlert(nil, &a, true)
	var lists alertlists.Reader
	var lexNs, jsonNs float64
	b.Run("jsonlex", func(b *testing.B) {
		for b.Loop() {
			var got alertJSON
			if err := decodeAlert(&lists, buf, &got); err != nil {
				b.Fatal(err)
			}
		}
		lexNs = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	})
	b.Run("encoding-json", func(b *testing.B) {
		for b.Loop() {
			var got struct {
				ID                string             `json:"id"`
				Severity          *string            `json:"severity"`
				DetectionSource   *string            `json:"detectionSource"`
				Category          *string            `json:"category"`
				ThreatFamilyName  *string            `json:"threatFamilyName"`
				Title             *string            `json:"title"`
				AlertCreationTime *time.Time         `json:"alertCreationTime"`
				MachineID         *string            `json:"machineId"`
				ComputerDNSName   *string            `json:"computerDnsName"`
				MitreTechniques   []string           `json:"mitreTechniques"`
				Evidence          []openatp.Evidence `json:"evidence"`
			}
			if err := json.Unmarshal(buf, &got); err != nil {
				b.Fatal(err)
			}
		}
		jsonNs = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	})
	if lexNs > 0 {
		b.Logf("%d bytes an alert: jsonlex %.0f ns, encoding/json %.0f ns: %.2fx faster", len(buf), lexNs, jsonNs, jsonNs/lexNs)
	}
}

// BenchmarkDecodeMachine: a DeviceInfo scan's decoding of one machine
// (the documentation's machines in turn, as a scan meets them), with its
// allocations.
func BenchmarkDecodeMachine(b *testing.B) {
	ms, _, _ := demo.DocExample()
	bufs := make([][]byte, len(ms))
	for i := range ms {
		bufs[i] = wire.AppendMachine(nil, &ms[i])
	}
	d := new(machineDecoder)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		var m machineJSON
		if err := decodeMachine(d, bufs[i%len(bufs)], &m); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
