package demo_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/demo"
	"github.com/openatp/openatp/observable"
)

// Generated events are deterministic, pass Normalize unchanged, name the
// generated machines, keep one set of hashes per file and share rare
// values among a few machines.
func TestGenerateEvents(t *testing.T) {
	o := demo.Options{Seed: 7, Machines: 50}
	collect := func() ([]openatp.FileEvent, []openatp.NetworkEvent) {
		var fs []openatp.FileEvent
		var ns []openatp.NetworkEvent
		err := demo.GenerateEvents(o, 2000, 2000, func(e openatp.FileEvent) error { fs = append(fs, e); return nil },
			func(e openatp.NetworkEvent) error { ns = append(ns, e); return nil })
		if err != nil {
			t.Fatal(err)
		}
		return fs, ns
	}
	fs, ns := collect()
	fs2, ns2 := collect()
	if !cmp.Equal(fs, fs2) || !cmp.Equal(ns, ns2) {
		t.Fatal("two runs differ")
	}
	machines := map[string]bool{}
	err := demo.Generate(o, demo.Funcs{OnMachine: func(m openatp.Machine) error { machines[m.ID] = true; return nil }, OnLogon: func(openatp.Logon) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	hashes := map[string]string{}
	rareMachines := map[string]bool{}
	end := demo.DefaultStart
	for _, e := range fs {
		n := e
		if err := n.Normalize(); err != nil || !cmp.Equal(n, e) {
			t.Fatalf("file event does not normalize unchanged (%v): %+v", err, e)
		}
		if !machines[e.DeviceId] || !e.Timestamp.Before(end) || e.Timestamp.Before(end.Add(-demo.EventSpan)) {
			t.Fatalf("event off the machines or the span: %+v", e)
		}
		if h, ok := hashes[e.FileName]; ok && h != e.SHA256 {
			t.Fatalf("%s has two hashes", e.FileName)
		}
		hashes[e.FileName] = e.SHA256
		if e.FileName == "mimikatz.exe" {
			rareMachines[e.DeviceId] = true
		}
	}
	if len(rareMachines) < 1 || len(rareMachines) > 3 {
		t.Errorf("mimikatz.exe on %d machines, want 1 to 3", len(rareMachines))
	}
	domains := map[string]bool{}
	for _, e := range ns {
		n := e
		if err := n.Normalize(); err != nil || !cmp.Equal(n, e) {
			t.Fatalf("network event does not normalize unchanged (%v): %+v", err, e)
		}
		if !machines[e.DeviceId] {
			t.Fatalf("event off the machines: %+v", e)
		}
		domains[observable.Host(e.RemoteUrl)] = true
	}
	if len(domains) < 10 {
		t.Errorf("%d domains, want most of the catalogue", len(domains))
	}
}
