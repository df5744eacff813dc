package checkpoint

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"reflect"
	"runtime"
	"unsafe"
)

// Encoder appends the values of a section.
type Encoder struct{ b []byte }

// Bytes returns what was encoded.
func (e *Encoder) Bytes() []byte { return e.b }

// U64 appends v.
func (e *Encoder) U64(v uint64) { e.b = binary.LittleEndian.AppendUint64(e.b, v) }

// String appends s, its length first.
func (e *Encoder) String(s string) {
	e.b = binary.AppendUvarint(e.b, uint64(len(s)))
	e.b = append(e.b, s...)
}

// U32s appends l, its length first.
func (e *Encoder) U32s(l []uint32) {
	e.b = binary.AppendUvarint(e.b, uint64(len(l)))
	e.b = append(e.b, AsBytes(l)...)
}

// U64s appends l, its length first.
func (e *Encoder) U64s(l []uint64) {
	e.b = binary.AppendUvarint(e.b, uint64(len(l)))
	e.b = append(e.b, AsBytes(l)...)
}

// Decoder reads the values of a section an Encoder wrote; the first
// error sticks, and the reads after it return zeros.
type Decoder struct {
	b   []byte
	err error
}

// NewDecoder reads b.
func NewDecoder(b []byte) *Decoder { return &Decoder{b: b} }

// Err returns the first error, or one when bytes are left.
func (d *Decoder) Err() error {
	if d.err == nil && len(d.b) > 0 {
		return fmt.Errorf("%d bytes left in a section", len(d.b))
	}
	return d.err
}

var errShort = errors.New("a section ends early")

func (d *Decoder) take(n uint64) []byte {
	if d.err != nil || n > uint64(len(d.b)) {
		d.err = errShort
		return nil
	}
	b := d.b[:n:n]
	d.b = d.b[n:]
	return b
}

// More reports whether bytes are left to read and no error came.
func (d *Decoder) More() bool { return d.err == nil && len(d.b) > 0 }

// U64 reads a value of U64.
func (d *Decoder) U64() uint64 {
	if b := d.take(8); b != nil {
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}

func (d *Decoder) length() uint64 {
	if d.err != nil {
		return 0
	}
	n, k := binary.Uvarint(d.b)
	if k <= 0 {
		d.err = errShort
		return 0
	}
	d.b = d.b[k:]
	return n
}

// String reads a value of String, copied.
func (d *Decoder) String() string { return string(d.take(d.length())) }

// Raw reads a value of String without copying it: valid until the
// File's Close.
func (d *Decoder) Raw() []byte { return d.take(d.length()) }

// U32s reads a value of U32s, copied.
func (d *Decoder) U32s() []uint32 {
	n := d.length()
	b := d.take(n * 4)
	if d.err != nil {
		return nil
	}
	l := make([]uint32, n)
	copy(AsBytes(l), b)
	return l
}

// U64s reads a value of U64s, copied.
func (d *Decoder) U64s() []uint64 {
	n := d.length()
	b := d.take(n * 8)
	if d.err != nil {
		return nil
	}
	l := make([]uint64, n)
	copy(AsBytes(l), b)
	return l
}

// AsBytes returns the memory of s as bytes: a slab of values without
// pointers, written as it is and read back by copying into AsBytes of a
// slice of the same length. The values' layout must be in the header's
// Layout.
func AsBytes[T any](s []T) []byte {
	var zero T
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), len(s)*int(unsafe.Sizeof(zero)))
}

// Layout returns a fingerprint of the memory layout of types (each
// field's name, offset, size and kind, recursively), the architecture
// and the byte order: a checkpoint whose slabs were written from another
// layout does not match. It panics on a type that holds a pointer: a slab
// must not.
func Layout(types ...reflect.Type) uint64 {
	h := crc32.New(castagnoli)
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		fmt.Fprintf(h, "%s:%d:%d;", t.Kind(), t.Size(), t.Align())
		switch t.Kind() {
		case reflect.Struct:
			for i := range t.NumField() {
				f := t.Field(i)
				fmt.Fprintf(h, "%s@%d=", f.Name, f.Offset)
				walk(f.Type)
			}
		case reflect.Array:
			fmt.Fprintf(h, "[%d]", t.Len())
			walk(t.Elem())
		case reflect.Bool, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint8,
			reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		default:
			panic("checkpoint: a slab type holds " + t.Kind().String())
		}
	}
	for _, t := range types {
		walk(t)
	}
	var probe uint16 = 1
	little := *(*byte)(unsafe.Pointer(&probe)) == 1
	fmt.Fprintf(h, "%s %v", runtime.GOARCH, little)
	return uint64(h.Sum32())<<32 | uint64(len(types))
}
