//go:build unix

package sqlite

import (
	"os"
	"strconv"
	"sync/atomic"
	"syscall"
	"unsafe"

	"github.com/openatp/openatp/internal/refcount"
)

// walHeaderSize is the size of one copy of the WAL-index header at the
// start of the -shm file (https://sqlite.org/walformat.html): iVersion,
// unused, iChange (bumped by every commit), isInit, bigEndCksum, szPage,
// mxFrame, nPage, aFrameCksum[2], aSalt[2], aCksum[2].
const walHeaderSize = 48

// shmWatch reads the WAL-index header SQLite keeps in shared memory (the
// -shm file, mapped read-only here): every commit, by any process, rewrites
// it, so a hash of it is a data version read without a system call or a
// lock. SQLite writes the header's second copy, then its first, before a
// commit returns; a read that races a writer can only look changed.
//
// The mapping is owned by reference count: the DB holds one reference from
// Open until Close (or until it stops trusting the header), every read of
// the header holds one while it reads, and the last release unmaps it.
type shmWatch struct {
	mem  []byte
	refs refcount.Count
}

// openShm maps the -shm file of the database at path, through a
// descriptor SQLite already has open on it in this process (found in
// /proc/self/fd); nil when there is none or that is not possible (not
// Linux): the caller then reads PRAGMA data_version.
//
// It must not open the file itself. POSIX record locks belong to a process
// and a file, and closing any descriptor of the file drops every lock the
// process holds on it, SQLite's included: another process opening the
// database would then take itself for the only user of the WAL index,
// reinitialize it under this process's readers and could checkpoint over
// pages they still read. The mapping outlives the descriptor; if SQLite
// closes it and the file is later replaced, the mapped header stops
// changing, which the PRAGMA cross-check of DataVersion notices.
func openShm(path string) *shmWatch {
	want, err := os.Stat(path + "-shm")
	if err != nil || want.Size() < 2*walHeaderSize+40 {
		return nil
	}
	wst, ok := want.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return nil
	}
	isShm := func(fd int) bool {
		var st syscall.Stat_t
		return syscall.Fstat(fd, &st) == nil && st.Dev == wst.Dev && st.Ino == wst.Ino
	}
	for _, e := range fds {
		fd, err := strconv.Atoi(e.Name())
		if err != nil || !isShm(fd) {
			continue
		}
		mem, err := syscall.Mmap(fd, 0, 2*walHeaderSize+40, syscall.PROT_READ, syscall.MAP_SHARED)
		if err != nil {
			continue
		}
		if !isShm(fd) { // closed and its number reused meanwhile: not our file
			_ = syscall.Munmap(mem)
			continue
		}
		w := &shmWatch{mem: mem}
		w.refs.Init()
		return w
	}
	return nil
}

// acquire takes a reference for a read of the header: false once the last
// one was released (the mapping is gone).
func (s *shmWatch) acquire() bool { return s.refs.TryRetain() }

// release drops a reference; the last one unmaps the header.
func (s *shmWatch) release() {
	if s.refs.Release() {
		_ = syscall.Munmap(s.mem)
		s.mem = nil
	}
}

// version returns a hash of the first header copy, with bit 63 set (so it
// never equals a PRAGMA data_version value), and false if the header is not
// initialized.
func (s *shmWatch) version() (uint64, bool) {
	if s.mem[12] == 0 { // isInit
		return 0, false
	}
	h := uint64(14695981039346656037)
	for off := 0; off < walHeaderSize; off += 4 {
		w := atomic.LoadUint32((*uint32)(unsafe.Pointer(&s.mem[off])))
		h ^= uint64(w)
		h *= 1099511628211
	}
	return h | 1<<63, true
}
