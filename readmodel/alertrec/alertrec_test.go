package alertrec_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/demo"
	"github.com/openatp/openatp/readmodel/alertrec"
	"github.com/openatp/openatp/wire"
)

// dict is a dictionary that refuses every third new run.
type dict struct {
	ids     map[string]uint32
	entries [][]byte
	asked   int
}

func (d *dict) Intern(run []byte) (uint32, bool) {
	if id, ok := d.ids[string(run)]; ok {
		return id, true
	}
	if d.asked++; d.asked%3 == 0 {
		return 0, false
	}
	d.ids[string(run)] = uint32(len(d.entries))
	d.entries = append(d.entries, wire.Expand(nil, run))
	return uint32(len(d.entries) - 1), true
}

func (d *dict) Entry(id uint32) []byte { return d.entries[id] }

// Any JSON (any bytes) comes back as it was, whatever the dictionary
// takes.
func FuzzRoundTrip(f *testing.F) {
	_, a := demo.DocAlert()
	at := time.Date(2021, 1, 26, 20, 33, 59, 0, time.UTC)
	a.Evidence = append(a.Evidence, openatp.Evidence{SHA1: openatp.Ptr(strings.Repeat("ab", 20)), SHA256: openatp.Ptr(strings.Repeat("AB", 32)),
		FileName: openatp.Ptr(strings.Repeat("0", 17)), FilePath: openatp.Ptr(strings.Repeat("f", 126)), EvidenceCreationTime: &at})
	for _, ev := range []bool{true, false} {
		f.Add(wire.AppendAlert(nil, &a, ev))
	}
	f.Add(wire.AppendEvidence(nil, a.Evidence))
	for _, s := range []string{"", "{", `{"id":"` + strings.Repeat("a", 16) + `"}`, `{"id":"0123456789abcdef0"}`, `,"sha1":"00","sha1":1`} {
		f.Add([]byte(s))
	}
	d := &dict{ids: map[string]uint32{}}
	f.Fuzz(func(t *testing.T, json []byte) {
		for range 2 { // the second time, the runs are in the dictionary
			packed := alertrec.Pack(nil, wire.Compact(nil, json), d)
			if got := alertrec.Unpack(nil, packed, d); !bytes.Equal(got, json) {
				t.Fatalf("round trip:\n got %q\nwant %q", got, json)
			}
		}
	})
}

// The repeated alerts of a tenant pack to much less than wire.Compact's
// form.
func TestPackSmaller(t *testing.T) {
	_, a := demo.DocAlert()
	d := &dict{ids: map[string]uint32{}}
	var compact, packed int
	for i := range 100 {
		a.ID = fmt.Sprintf("da%018d_%d", 637472900382838869+i, i)
		j := wire.AppendAlert(nil, &a, true)
		c := wire.Compact(nil, j)
		p := alertrec.Pack(nil, c, d)
		if got := alertrec.Unpack(nil, p, d); !bytes.Equal(got, j) {
			t.Fatalf("round trip:\n got %s\nwant %s", got, j)
		}
		compact, packed = compact+len(c), packed+len(p)
	}
	if packed*3 > compact {
		t.Errorf("100 alerts packed to %d bytes, compacted %d", packed, compact)
	}
}

// counted counts the calls of a Dict.
type counted struct {
	*dict
	calls int
}

func (c *counted) Intern(run []byte) (uint32, bool) { c.calls++; return c.dict.Intern(run) }

// A cached dictionary names each run as the one behind it does, and asks
// it only for the runs it has not named yet.
func TestCached(t *testing.T) {
	d := &counted{dict: &dict{ids: map[string]uint32{}}}
	c := alertrec.NewCached(d)
	runs := [][]byte{[]byte("a"), []byte("bb"), []byte("a"), []byte("ccc"), []byte("bb"), []byte("a"), []byte("ccc"), []byte("ccc")}
	for i, r := range runs {
		id, ok := c.Intern(r)
		wantID, wantOK := d.ids[string(r)]
		if ok != wantOK || ok && id != wantID {
			t.Errorf("run %d %q: %d %v, the dictionary has %d %v", i, r, id, ok, wantID, wantOK)
		}
	}
	// Asked: a, bb, ccc (refused: every third new run), ccc again.
	if d.calls != 4 {
		t.Errorf("the dictionary was asked %d times, want 4", d.calls)
	}
}
