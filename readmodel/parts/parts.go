// Package parts splits the read model's work after a build's scan into
// one part per processor: the parts' bounds, running a function on each
// part, and the merge of sorted runs. Standard library only.
package parts

import (
	"runtime"
	"slices"
	"sync"
)

// Split divides [0, n) into one part per processor, none shorter than
// minPart unless there is only one: bounds[i] to bounds[i+1] is part i.
// The work after a build's scan runs on every core this way rather than
// on one while the others idle.
func Split(n, minPart int) (bounds []int) {
	p := max(1, min(runtime.GOMAXPROCS(0), n/max(1, minPart)))
	bounds = make([]int, p+1)
	for i := range bounds {
		bounds[i] = i * n / p
	}
	return bounds
}

// Run runs f on each part of bounds, on goroutines it starts and
// waits for (the calling one takes the last part).
func Run(bounds []int, f func(lo, hi int)) {
	var wg sync.WaitGroup
	last := len(bounds) - 2
	for i := range last {
		wg.Go(func() { f(bounds[i], bounds[i+1]) })
	}
	if last >= 0 {
		f(bounds[last], bounds[last+1])
	}
	wg.Wait()
}

// Sort sorts s by cmp in parts, one per processor (Split), merged after,
// and returns the sorted slice: s or a copy.
func Sort[T any](s []T, minPart int, cmp func(a, b T) int) []T {
	bounds := Split(len(s), minPart)
	Run(bounds, func(lo, hi int) { slices.SortFunc(s[lo:hi], cmp) })
	return MergeRuns(s, make([]T, len(s)), bounds, cmp)
}

// MergeRuns merges the sorted runs of s (bounds as Split gives them) into
// one sorted run, using tmp (as long as s) as scratch, and returns the
// slice holding the result: s or tmp.
func MergeRuns[T any](s, tmp []T, bounds []int, cmp func(a, b T) int) []T {
	for len(bounds) > 2 {
		next := []int{0}
		for i := 0; i+1 < len(bounds); i += 2 {
			lo, mid := bounds[i], bounds[i+1]
			hi := mid
			if i+2 < len(bounds) {
				hi = bounds[i+2]
			}
			merge(tmp[lo:hi], s[lo:mid], s[mid:hi], cmp)
			next = append(next, hi)
		}
		s, tmp, bounds = tmp, s, next
	}
	return s
}

// merge writes the sorted a and b, in order, to dst (len(a)+len(b) long);
// on ties a's element goes first.
func merge[T any](dst, a, b []T, cmp func(a, b T) int) {
	i, j := 0, 0
	for k := range dst {
		if j == len(b) || i < len(a) && cmp(a[i], b[j]) <= 0 {
			dst[k] = a[i]
			i++
		} else {
			dst[k] = b[j]
			j++
		}
	}
}
