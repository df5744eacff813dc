package readmodel

import "slices"

// The two ways a listing of a view is paged, shared by machines and
// alerts.

// sortedPage returns the page [skip, skip+top) of the candidates that
// match holds for, sorted (stably) by cmp, whether more follow it, and how
// many match in all: a listing with $orderby.
func sortedPage(candidates []uint32, match func(uint32) bool, cmp func(a, b uint32) int, skip, top int) (page []uint32, more bool, total int) {
	var all []uint32
	for _, s := range candidates {
		if match(s) {
			all = append(all, s)
		}
	}
	slices.SortStableFunc(all, cmp)
	lo := min(skip, len(all))
	hi := min(lo+top, len(all))
	return all[lo:hi], hi < len(all), len(all)
}

// scanPage returns, in one pass over candidates in their (default) order,
// the page of up to top matches at or after index start, skip matches
// skipped, and whether more match after it; with count also how many
// match in all (before start too), else how many were seen.
func scanPage(candidates []uint32, start int, count bool, skip, top int, match func(uint32) bool) (page []uint32, more bool, total int) {
	from := start
	if count {
		from = 0
	}
	for i, s := range candidates[from:] {
		if !match(s) {
			continue
		}
		total++
		if from+i < start {
			continue
		}
		if skip > 0 {
			skip--
			continue
		}
		if len(page) < top {
			page = append(page, s)
			continue
		}
		more = true
		if !count {
			break
		}
	}
	return page, more, total
}
