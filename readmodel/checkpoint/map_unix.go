//go:build unix

package checkpoint

import (
	"os"
	"syscall"
)

// readAll maps the file read-only: its pages are the page cache's, not
// the Go heap's.
func readAll(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() == 0 {
		return nil, nil
	}
	return syscall.Mmap(int(f.Fd()), 0, int(st.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
}

func release(b []byte) error {
	if b == nil {
		return nil
	}
	return syscall.Munmap(b)
}
