package sqlstore

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/openatp/openatp"
)

// The fast decoders answer exactly what json.Unmarshal answers, for what
// the stores write and for anything else.
func FuzzDecodeLists(f *testing.F) {
	mac, typ := "3C7C3FF65719", "Ethernet"
	for _, ips := range [][]openatp.IPAddress{nil, {}, {{IPAddress: "10.1.2.3", MACAddress: &mac, Type: &typ}},
		{{IPAddress: "fe80::1"}, {IPAddress: `a"b\c`, OperationalStatus: &typ}}, {{IPAddress: "ü"}}} {
		b, _ := json.Marshal(ips)
		f.Add(b)
	}
	for _, tags := range [][]string{nil, {}, {"a"}, {"pci", "tier 0", `q"t`, "é"}} {
		b, _ := json.Marshal(tags)
		f.Add(b)
	}
	for _, s := range []string{"", "[", "[]x", "null ", " []", `[{"ipAddress":"1"}]`, `[{"IPAddress":"1","MACAddress":null,"Type":null,"OperationalStatus":null,"X":1}]`, `["a",]`, `[1]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var wantIPs []openatp.IPAddress
		wantErr := json.Unmarshal(data, &wantIPs)
		gotIPs, err := DecodeIPAddresses(data)
		if (err != nil) != (wantErr != nil) || (err == nil && !reflect.DeepEqual(gotIPs, wantIPs)) {
			t.Fatalf("DecodeIPAddresses(%q) = %#v, %v; json: %#v, %v", data, gotIPs, err, wantIPs, wantErr)
		}
		var wantTags []string
		wantErr = json.Unmarshal(data, &wantTags)
		gotTags, err := DecodeTags(data)
		if (err != nil) != (wantErr != nil) || (err == nil && !reflect.DeepEqual(gotTags, wantTags)) {
			t.Fatalf("DecodeTags(%q) = %#v, %v; json: %#v, %v", data, gotTags, err, wantTags, wantErr)
		}
	})
}
