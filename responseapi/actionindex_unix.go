//go:build unix

package responseapi

import "syscall"

// allocActionChunk maps n bytes of anonymous memory for an actionList's
// JSON, outside the Go heap: the heap's goal (twice what is live) does not
// grow with it.
func allocActionChunk(n int) ([]byte, error) {
	return syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
}

// freeActionChunks unmaps chunks of allocActionChunk.
func freeActionChunks(chunks [][]byte) {
	for _, c := range chunks {
		_ = syscall.Munmap(c[:cap(c)])
	}
}
