package huntables

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/demo"
	"github.com/openatp/openatp/internal/jsonlex"
	"github.com/openatp/openatp/wire"
)

// TestDecodeMachine: the hand-written decoder reads what encoding/json
// reads from wire's Machine JSON, for the documentation's machines (every
// property set) and a machine with every nullable property null.
func TestDecodeMachine(t *testing.T) {
	ms, _, _ := demo.DocExample()
	ms = append(ms, openatp.Machine{ID: "0000000000000000000000000000000000000001", MachineTags: []string{}, IPAddresses: []openatp.IPAddress{}})
	lex := jsonlex.New(nil)
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
