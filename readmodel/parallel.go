package readmodel

import (
	"runtime"
	"sync"
)

// partMin is the least work worth a goroutine of its own: machines to
// sort, rank or match to device groups. The package's tests lower it, so
// that their small tenants take the parallel paths too.
var partMin = 1 << 14

// split divides [0, n) into one part per processor, none shorter than
// minPart unless there is only one: bounds[i] to bounds[i+1] is part i.
// The work after a build's scan runs on every core this way rather than
// on one while the others idle.
func split(n, minPart int) (bounds []int) {
	p := max(1, min(runtime.GOMAXPROCS(0), n/max(1, minPart)))
	bounds = make([]int, p+1)
	for i := range bounds {
		bounds[i] = i * n / p
	}
	return bounds
}

// parallel runs f on each part of bounds, on goroutines it starts and
// waits for (the calling one takes the last part).
func parallel(bounds []int, f func(lo, hi int)) {
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

// mergeRuns merges the sorted runs of s (bounds as split gives them) into
// one sorted run, using tmp (as long as s) as scratch, and returns the
// slice holding the result: s or tmp.
func mergeRuns[T any](s, tmp []T, bounds []int, cmp func(a, b T) int) []T {
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
