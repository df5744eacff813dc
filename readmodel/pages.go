package readmodel

// pages is a persistent array: an update copies the pages it touches and
// the page table, never the whole, so that a view published before it
// keeps reading its own values while the next view is made.
type pages[T any] struct {
	table []*[pageLen]T
	n     int
}

const pageLen = 1024

func (p *pages[T]) len() int { return p.n }

func (p *pages[T]) at(i uint32) *T { return &p.table[i/pageLen][i%pageLen] }

// appendValue adds v at the end, in place: only for an array no view has
// seen yet (a build).
func (p *pages[T]) appendValue(v T) {
	if p.n%pageLen == 0 {
		p.table = append(p.table, new([pageLen]T))
	}
	p.table[p.n/pageLen][p.n%pageLen] = v
	p.n++
}

// editor changes a copy of a pages: pages are copied on their first change.
type editor[T any] struct {
	p      pages[T]
	copied map[int]bool
}

func (p *pages[T]) edit() *editor[T] {
	e := &editor[T]{copied: map[int]bool{}}
	e.p.table = append([]*[pageLen]T(nil), p.table...)
	e.p.n = p.n
	return e
}

// set stores v at i; i may be len, to append.
func (e *editor[T]) set(i uint32, v T) {
	pi := int(i / pageLen)
	if int(i) == e.p.n {
		if e.p.n%pageLen == 0 {
			e.p.table = append(e.p.table, new([pageLen]T))
			e.copied[pi] = true
		}
		e.p.n++
	}
	if !e.copied[pi] {
		cp := *e.p.table[pi]
		e.p.table[pi] = &cp
		e.copied[pi] = true
	}
	e.p.table[pi][i%pageLen] = v
}

func (e *editor[T]) done() pages[T] { return e.p }
