package demo

import (
	"reflect"
	"testing"
	"time"

	"github.com/openatp/openatp"
)

// TestIndicators: the demo's indicators are valid, one of each type but
// MD5, and those of files and hosts name values the demo's events hold.
func TestIndicators(t *testing.T) {
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	values := map[string]bool{}
	o := Options{Seed: 20180802, Machines: 300, Users: 150, Start: start}
	err := GenerateEvents(o, 2000, 2000, func(e openatp.FileEvent) error {
		values[e.SHA1], values[e.SHA256] = true, true
		return nil
	}, func(e openatp.NetworkEvent) error {
		values[e.RemoteIP], values[e.RemoteUrl] = true, true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ins := Indicators(start, "client", "openatp demo app")
	types := map[string]bool{}
	for _, in := range ins {
		if err := in.Normalize(); err != nil {
			t.Fatalf("%+v: %v", in, err)
		}
		types[in.IndicatorType] = true
		if in.IndicatorType == openatp.IndicatorCertificateThumbprint || in.IndicatorType == openatp.IndicatorDomainName {
			continue
		}
		if !values[in.IndicatorValue] {
			t.Errorf("%s %s: no demo event holds it", in.IndicatorType, in.IndicatorValue)
		}
	}
	if len(types) != 6 || ins[len(ins)-1].Active(start) {
		t.Errorf("types %v; the last one active: %v", types, ins[len(ins)-1].Active(start))
	}
}

// TestGenerateIndicators: n valid indicators, distinct, the same for the
// same options, some over the events' values and most not.
func TestGenerateIndicators(t *testing.T) {
	o := Options{Seed: 7, Machines: 20, Users: 10, Start: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}
	gen := func() []openatp.Indicator {
		var ins []openatp.Indicator
		if err := GenerateIndicators(o, 300, "c", "n", func(in openatp.Indicator) error { ins = append(ins, in); return nil }); err != nil {
			t.Fatal(err)
		}
		return ins
	}
	ins := gen()
	if len(ins) != 300 || !reflect.DeepEqual(ins, gen()) {
		t.Fatalf("%d indicators, or not deterministic", len(ins))
	}
	keys, known := map[string]bool{}, 0
	for _, in := range ins {
		if err := in.Normalize(); err != nil {
			t.Fatalf("%+v: %v", in, err)
		}
		k := openatp.IndicatorValueKey(in.IndicatorType, in.IndicatorValue)
		if keys[k] {
			t.Fatalf("duplicate %s", k)
		}
		keys[k] = true
		for _, h := range knownHosts {
			if in.IndicatorValue == h.domain || in.IndicatorValue == h.ips[0] {
				known++
			}
		}
	}
	if known == 0 || known > 150 {
		t.Errorf("%d of 300 indicators over the events' hosts", known)
	}
}
