package checkpoint_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/openatp/openatp/readmodel/checkpoint"
)

// A checkpoint reads back as written: header and sections; its every
// prefix, and every one-bit change of it, is refused as not a valid
// checkpoint, never read.
func TestRoundTripAndDamage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c")
	h := checkpoint.Header{Tenant: "t1", Store: "s1", ContentVersion: 42, DataVersion: 7, Layout: 9, Written: time.Unix(0, 123)}
	w, err := checkpoint.Create(path, h)
	if err != nil {
		t.Fatal(err)
	}
	var e checkpoint.Encoder
	e.String("name")
	e.U32s([]uint32{1, 2, 3})
	e.U64s([]uint64{1 << 40})
	e.U64(5)
	w.Section(e.Bytes())
	w.Section([]byte("split "), []byte("section"))
	w.Section()
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if left, _ := filepath.Glob(path + ".tmp*"); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
	f, err := checkpoint.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if f.Header != h {
		t.Errorf("header %+v, want %+v", f.Header, h)
	}
	if len(f.Sections) != 3 || string(f.Sections[1]) != "split section" || len(f.Sections[2]) != 0 {
		t.Fatalf("sections %q", f.Sections)
	}
	d := checkpoint.NewDecoder(f.Sections[0])
	if s, l, l64, n := d.String(), d.U32s(), d.U64s(), d.U64(); s != "name" || !reflect.DeepEqual(l, []uint32{1, 2, 3}) ||
		!reflect.DeepEqual(l64, []uint64{1 << 40}) || n != 5 || d.Err() != nil {
		t.Errorf("decoded %q %v %v %d %v", s, l, l64, n, d.Err())
	}
	if d.U64(); d.Err() == nil {
		t.Error("a read past the section's end: no error")
	}
	must(t, f.Close())

	good, err := os.ReadFile(path)
	must(t, err)
	bad := filepath.Join(t.TempDir(), "bad")
	try := func(what string, b []byte) {
		must(t, os.WriteFile(bad, b, 0o600))
		if f, err := checkpoint.Open(bad); !errors.Is(err, checkpoint.ErrInvalid) {
			if f != nil {
				f.Close()
			}
			t.Fatalf("%s: Open = %v, want ErrInvalid", what, err)
		}
	}
	for n := range len(good) {
		try("a prefix", good[:n])
	}
	for i := range len(good) {
		b := bytes.Clone(good)
		b[i] ^= 1 << (i % 8)
		try("a changed bit", b)
	}
}

type slotA struct {
	ID    [4]byte
	N     uint32
	Alive bool
}

type slotB struct { // the same size, the fields swapped
	N     uint32
	ID    [4]byte
	Alive bool
}

// Layout tells layouts apart, and refuses a type with a pointer.
func TestLayout(t *testing.T) {
	a, b := checkpoint.Layout(reflect.TypeFor[slotA]()), checkpoint.Layout(reflect.TypeFor[slotB]())
	if a == b || a != checkpoint.Layout(reflect.TypeFor[slotA]()) {
		t.Errorf("Layout: %x for A, %x for B (the same size, fields swapped)", a, b)
	}
	defer func() {
		if recover() == nil {
			t.Error("Layout of a type with a pointer did not panic")
		}
	}()
	checkpoint.Layout(reflect.TypeFor[struct{ P *int }]())
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
