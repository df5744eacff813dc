package users

import (
	"cmp"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
)

// userModel is what a Table should answer: the machines of each
// (name key, domain key), none empty.
type userModel map[[2]string][]uint32

func (m userModel) check(t *testing.T, when string, u *Table, names, domains []string) {
	t.Helper()
	n := 0
	for _, name := range names {
		var union []uint32
		for _, dom := range domains {
			want := m[[2]string{name, dom}]
			union = append(union, want...)
			got, ok := u.Machines(name, dom, true, nil, cmp.Compare[uint32])
			if ok != (len(want) > 0) || !slices.Equal(got, want) {
				t.Fatalf("%s: machines(%s, %s) = %v, %v; want %v", when, name, dom, got, ok, want)
			}
			if len(want) > 0 {
				n++
			}
		}
		slices.Sort(union)
		union = slices.Compact(union)
		got, ok := u.Machines(name, "", false, []uint32{99, 98, 97}, cmp.Compare[uint32])
		if ok != (len(union) > 0) || !slices.Equal(got, union) {
			t.Fatalf("%s: machines(%s) = %v, %v; want %v", when, name, got, ok, union)
		}
	}
	if got := u.Count(); got != n {
		t.Fatalf("%s: count() = %d, want %d", when, got, n)
	}
}

func randomList(rng *rand.Rand, maxLen int) []uint32 {
	l := make([]uint32, rng.IntN(maxLen+1))
	for i := range l {
		l[i] = uint32(rng.IntN(40))
	}
	slices.Sort(l)
	return slices.Compact(l)
}

// The user table against a map: a build (unordered lists with repeats,
// sorted in place after), then changes through writers, each checked
// against the model, and the table before each change checked unchanged.
// Long runs of changes on few users fill shards with dead lists and
// records; the compaction must keep every answer and bound the space.
func TestUserTableAgainstMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	var names, domains []string
	for i := range 300 {
		names = append(names, fmt.Sprintf("user%d", i))
	}
	domains = []string{"", "corp", "lab", "x"}
	u := New()
	model := userModel{}
	for _, name := range names {
		for _, dom := range domains {
			if rng.IntN(3) != 0 {
				continue
			}
			raw := make([]uint32, rng.IntN(6))
			for i := range raw {
				raw[i] = uint32(rng.IntN(40))
			}
			u.Add(name, dom, slices.Clone(raw))
			if len(raw) > 0 {
				l := slices.Clone(raw)
				slices.Sort(l)
				model[[2]string{name, dom}] = slices.Compact(l)
			}
		}
	}
	u.EachList(0, Shards, func(l []uint32) []uint32 {
		slices.Sort(l)
		return slices.Compact(l)
	})
	model.check(t, "after the build", u, names, domains)

	for round := range 200 {
		prev, prevModel := u, maps.Clone(model)
		w := u.Writer()
		for range 200 {
			// Most changes go to a few users, so that their shards fill
			// with garbage.
			name := names[rng.IntN(len(names))]
			if rng.IntN(4) != 0 {
				name = names[rng.IntN(8)]
			}
			dom := domains[rng.IntN(len(domains))]
			k := [2]string{name, dom}
			if !slices.Equal(w.List(name, dom), model[k]) {
				t.Fatalf("round %d: writer's list(%s, %s) = %v, want %v", round, name, dom, w.List(name, dom), model[k])
			}
			l := randomList(rng, 5)
			w.Set(name, dom, l)
			if len(l) == 0 {
				delete(model, k)
			} else {
				model[k] = l
			}
		}
		u = w.t
		model.check(t, fmt.Sprintf("round %d", round), u, names, domains)
		prevModel.check(t, fmt.Sprintf("round %d, the table before", round), prev, names, domains)
	}
	for i, s := range u.shards {
		live, recs := 0, 0
		for j := range s.recs {
			if s.recs[j].list.n > 0 {
				live += int(s.recs[j].list.n)
				recs++
			}
		}
		if len(s.slots) > 2*live+2*64+8 || len(s.recs) > 2*recs+2*16+2 {
			t.Errorf("shard %d holds %d list entries and %d records for %d live entries in %d records: not compacted", i, len(s.slots), len(s.recs), live, recs)
		}
	}
}
