// Package checkpoint is the file format of the read model's checkpoints:
// a header (the tenant, the store it was read from, the content version
// it holds, the layout of the slabs in it) and length-prefixed sections
// of bytes, then a CRC-32C of everything before it. A file is written to
// a temporary name beside its path and renamed over it once synced, so
// that a reader finds the old file or the new one, never half of one.
// Open checks the magic, the format version, the length and the checksum
// before it hands out a section; what a section means is the read
// model's. Standard library only.
package checkpoint

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"os"
	"path/filepath"
	"time"
)

// Format is the version of the file format; a file of another is
// ignored. It changes whenever what a section holds changes in a way
// Layout does not see.
const Format = 1

var magic = [8]byte{'o', 'a', 't', 'p', 'c', 'k', 'p', 't'}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Header says what a checkpoint holds and what it was read from.
type Header struct {
	Tenant string
	// Store names the store the tenant was read from (the read model's
	// choice: the tenant's creation time in it); a checkpoint of another
	// store is ignored.
	Store string
	// ContentVersion is the tenant's content version the checkpoint
	// holds at least: the change feed since it brings it up to date.
	ContentVersion uint64
	// DataVersion is the store's data version when it was written
	// (informative: a data version does not survive a restart).
	DataVersion uint64
	// Layout is the fingerprint of the slab types in the sections
	// (Layout).
	Layout  uint64
	Written time.Time
}

// ErrInvalid is the cause of every error Open returns for a file that is
// not a whole checkpoint of this format.
var ErrInvalid = errors.New("not a valid checkpoint")

// Writer writes a checkpoint to a temporary file; Commit renames it over
// its path.
type Writer struct {
	path string
	f    *os.File
	w    *bufio.Writer
	crc  hash.Hash32
	n    int64
	err  error
}

// Create starts a checkpoint at path with header h. The caller calls
// Commit, or Abort to drop it.
func Create(path string, h Header) (*Writer, error) {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return nil, err
	}
	w := &Writer{path: path, f: f, crc: crc32.New(castagnoli)}
	w.w = bufio.NewWriterSize(f, 1<<20)
	w.write(magic[:])
	w.write(binary.LittleEndian.AppendUint32(nil, Format))
	var e Encoder
	e.String(h.Tenant)
	e.String(h.Store)
	e.U64(h.ContentVersion)
	e.U64(h.DataVersion)
	e.U64(h.Layout)
	e.U64(uint64(h.Written.UnixNano()))
	w.Section(e.Bytes())
	return w, w.err
}

func (w *Writer) write(b []byte) {
	if w.err != nil {
		return
	}
	_, w.err = w.w.Write(b)
	w.crc.Write(b)
	w.n += int64(len(b))
}

// Section writes one section: the concatenation of parts.
func (w *Writer) Section(parts ...[]byte) {
	var n uint64
	for _, p := range parts {
		n += uint64(len(p))
	}
	w.write(binary.LittleEndian.AppendUint64(nil, n))
	for _, p := range parts {
		w.write(p)
	}
}

// Commit ends the file (the total length, the checksum), syncs it and
// renames it over the path.
func (w *Writer) Commit() error {
	w.write(binary.LittleEndian.AppendUint64(nil, ^uint64(0))) // the end
	w.write(binary.LittleEndian.AppendUint64(nil, uint64(w.n+8)))
	if w.err == nil {
		_, w.err = w.w.Write(binary.LittleEndian.AppendUint32(nil, w.crc.Sum32()))
	}
	if w.err == nil {
		w.err = w.w.Flush()
	}
	if w.err == nil {
		w.err = w.f.Sync()
	}
	if err := w.f.Close(); w.err == nil {
		w.err = err
	}
	if w.err == nil {
		w.err = os.Rename(w.f.Name(), w.path)
	}
	if w.err != nil {
		_ = os.Remove(w.f.Name())
		return w.err
	}
	if d, err := os.Open(filepath.Dir(w.path)); err == nil { // the rename, durable
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

// Abort drops the temporary file.
func (w *Writer) Abort() {
	_ = w.f.Close()
	_ = os.Remove(w.f.Name())
}

// File is a checkpoint opened and checked: its header and sections,
// valid until Close.
type File struct {
	Header
	Sections [][]byte
	data     []byte
}

// Open reads and checks the checkpoint at path. An error wraps
// ErrInvalid when the file is not a whole checkpoint of this format
// (truncated, corrupt, another format), or is the file system's.
func Open(path string) (*File, error) {
	data, err := readAll(path)
	if err != nil {
		return nil, err
	}
	f := &File{data: data}
	if err := f.parse(); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("%s: %w: %v", path, ErrInvalid, err)
	}
	return f, nil
}

func (f *File) parse() error {
	b := f.data
	if len(b) < 8+4+8+8+8+4 || [8]byte(b[:8]) != magic {
		return errors.New("no checkpoint magic")
	}
	if v := binary.LittleEndian.Uint32(b[8:]); v != Format {
		return fmt.Errorf("format %d, not %d", v, Format)
	}
	body := b[:len(b)-4]
	if n := binary.LittleEndian.Uint64(body[len(body)-8:]); n != uint64(len(body)) {
		return fmt.Errorf("%d bytes long, written %d long", len(body), n)
	}
	if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(b[len(body):]) {
		return errors.New("checksum mismatch")
	}
	b = body[12 : len(body)-8]
	for {
		if len(b) < 8 {
			return errors.New("a section's length cut")
		}
		n := binary.LittleEndian.Uint64(b)
		b = b[8:]
		if n == ^uint64(0) && len(b) == 0 {
			break
		}
		if n > uint64(len(b)) {
			return errors.New("a section longer than the file")
		}
		f.Sections = append(f.Sections, b[:n:n])
		b = b[n:]
	}
	if len(f.Sections) == 0 {
		return errors.New("no header")
	}
	d := NewDecoder(f.Sections[0])
	f.Tenant, f.Store = d.String(), d.String()
	f.ContentVersion, f.DataVersion, f.Layout = d.U64(), d.U64(), d.U64()
	f.Written = time.Unix(0, int64(d.U64()))
	f.Sections = f.Sections[1:]
	return d.Err()
}

// Close releases the file's memory: the sections must not be read after.
func (f *File) Close() error {
	d := f.data
	f.data, f.Sections = nil, nil
	return release(d)
}
