package readmodel

import (
	"bytes"
	"testing"
)

// An item after one too long to share a chunk is where its loc says: the
// long item's chunk is the last, and the next small item starts a chunk
// of its own rather than going on in the chunk before (whose number its
// loc would not have). A checkpoint writes every chunk but the last whole.
func TestArenaItemAfterALongOne(t *testing.T) {
	a := newArena()
	defer a.release()
	items := [][]byte{[]byte("first"), bytes.Repeat([]byte("L"), 1<<lenBits), []byte("after the long one"), []byte("and another")}
	var locs []loc
	for _, it := range items {
		l, err := a.add(it)
		if err != nil {
			t.Fatal(err)
		}
		locs = append(locs, l)
	}
	for i, l := range locs {
		if got := a.get(l); !bytes.Equal(got, items[i]) {
			t.Errorf("item %d reads back as %.40q, want %.40q", i, got, items[i])
		}
	}
	if m := a.mark(); m.chunks != 3 || m.used != len(items[2])+len(items[3]) {
		t.Errorf("mark = %+v, want 3 chunks, the last used %d bytes", m, len(items[2])+len(items[3]))
	}
}
