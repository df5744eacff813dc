//go:build unix

package sqlite

import (
	"os"
	"runtime"
	"sync/atomic"
	"syscall"
	"unsafe"
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
type shmWatch struct {
	mem []byte
}

// openShm maps the -shm file of the database at path; nil when that is not
// possible (the caller then reads PRAGMA data_version).
func openShm(path string) *shmWatch {
	f, err := os.Open(path + "-shm")
	if err != nil {
		return nil
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || st.Size() < 2*walHeaderSize+40 {
		return nil
	}
	mem, err := syscall.Mmap(int(f.Fd()), 0, 2*walHeaderSize+40, syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil
	}
	w := &shmWatch{mem: mem}
	// Unmapped once no DataVersion call can still be reading it.
	runtime.AddCleanup(w, func(mem []byte) { _ = syscall.Munmap(mem) }, mem)
	return w
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
