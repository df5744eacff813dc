package parts

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"
)

// MergeRuns of runs sorted apart gives the whole sorted, for any number
// of runs, empty ones included; Split covers [0, n) in order.
func TestMergeRuns(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, 2, 7, 100, 1000} {
		for parts := 1; parts <= 9; parts++ {
			s := make([]int, n)
			for i := range s {
				s[i] = r.IntN(50)
			}
			want := slices.Sorted(slices.Values(s))
			bounds := []int{0}
			for i := 1; i < parts; i++ {
				bounds = append(bounds, min(n, bounds[i-1]+r.IntN(n/parts+2)))
			}
			bounds = append(bounds, n)
			for i := 0; i+1 < len(bounds); i++ {
				slices.Sort(s[bounds[i]:bounds[i+1]])
			}
			if got := MergeRuns(s, make([]int, n), bounds, cmp.Compare[int]); !slices.Equal(got, want) {
				t.Fatalf("n %d, bounds %v: merged %v, want %v", n, bounds, got, want)
			}
		}
		b := Split(n, 3)
		if b[0] != 0 || b[len(b)-1] != n || !slices.IsSorted(b) {
			t.Errorf("Split(%d) = %v", n, b)
		}
	}
}

// Sort sorts whatever the parts (one, or one per processor).
func TestSort(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{0, 1, 5, 1000} {
		for _, minPart := range []int{1, 1 << 20} {
			s := make([]int, n)
			for i := range s {
				s[i] = r.IntN(50)
			}
			want := slices.Sorted(slices.Values(s))
			if got := Sort(s, minPart, cmp.Compare[int]); !slices.Equal(got, want) {
				t.Errorf("n %d, minPart %d: %v, want %v", n, minPart, got, want)
			}
		}
	}
}
