package vuln

import "sync/atomic"

// Kept is a list a Store keeps, unchanged, for as long as the data it was
// computed from is unchanged (the catalog and the inventory at their
// versions, in one scope) and shares between every read of that data:
// its Items are never to be changed. Beside each item it keeps the bytes
// the routes encode it to (Piece), made once and dropped with the list,
// so that an answer of many items is a concatenation of kept pieces.
type Kept[T any] struct {
	Items  []T
	pieces []atomic.Pointer[[]byte]
}

// NewKept returns the kept list of items (which it takes).
func NewKept[T any](items []T) *Kept[T] {
	return &Kept[T]{Items: items, pieces: make([]atomic.Pointer[[]byte], len(items))}
}

// Piece returns item i encoded by enc: made by enc the first time, kept
// and returned as it is after. A list keeps one encoding of each item, so
// every caller must pass the same enc (the item's JSON in the API); two
// concurrent first calls may both run enc. The bytes are shared: not to
// be changed.
func (k *Kept[T]) Piece(i int, enc func([]byte, *T) []byte) []byte {
	if p := k.pieces[i].Load(); p != nil {
		return *p
	}
	b := enc(nil, &k.Items[i])
	k.pieces[i].Store(&b)
	return b
}

// Selection is some items of a kept list, in the order of a read's
// answer: List.Items[Index[0]], List.Items[Index[1]], …
type Selection[T any] struct {
	List  *Kept[T] // nil when Index is empty
	Index []int32
}

// Len is the number of items selected.
func (s Selection[T]) Len() int { return len(s.Index) }

// Items returns copies of the selected items, in order (never nil).
func (s Selection[T]) Items() []T {
	out := make([]T, len(s.Index))
	for i, n := range s.Index {
		out[i] = s.List.Items[n]
	}
	return out
}
