package wire_test

import (
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/wire"
)

// BenchmarkExpand expands a typical machine, against copying its JSON
// whole (the cost the compacted form adds per machine written); and
// makes the compacted form as an index build does (CompactMachine),
// against writing the JSON and compacting it.
func BenchmarkExpand(b *testing.B) {
	ts := time.Date(2024, 1, 2, 3, 4, 5, 600, time.UTC)
	m := openatp.Machine{ID: "1e5bc9d7e413ddd7902c2932e418702b84d0cc07", ComputerDNSName: openatp.Ptr("lap-lcampbell-868.fabrikam.local"),
		FirstSeen: &ts, LastSeen: &ts, OSPlatform: openatp.Ptr("Windows10"), OSVersion: openatp.Ptr("10.0.19045.1916"),
		HealthStatus: openatp.Ptr("Active"), MachineTags: []string{}, IPAddresses: []openatp.IPAddress{{IPAddress: "10.95.101.233",
			MACAddress: openatp.Ptr("8CEC4B67DE70")}, {IPAddress: "fe80::ca0c:6962:b0ef:a447"}}}
	full := wire.AppendMachine(nil, &m)
	c := wire.Compact(nil, full)
	dst := make([]byte, 0, 4096)
	b.Run("compact", func(b *testing.B) {
		b.SetBytes(int64(len(full)))
		for b.Loop() {
			dst = wire.Compact(dst[:0], full)
		}
	})
	b.Run("json+compact", func(b *testing.B) {
		json := make([]byte, 0, 4096)
		b.SetBytes(int64(len(full)))
		for b.Loop() {
			json = wire.AppendMachineTail(wire.AppendMachineHead(json[:0], &m), &m)
			dst = wire.Compact(dst[:0], json)
		}
	})
	b.Run("compactMachine", func(b *testing.B) {
		b.SetBytes(int64(len(full)))
		for b.Loop() {
			dst, _, _ = wire.CompactMachine(dst[:0], &m)
		}
	})
	b.Run("expand", func(b *testing.B) {
		b.SetBytes(int64(len(full)))
		for b.Loop() {
			dst = wire.Expand(dst[:0], c)
		}
	})
	b.Run("copy", func(b *testing.B) {
		b.SetBytes(int64(len(full)))
		for b.Loop() {
			dst = append(dst[:0], full...)
		}
	})
}
