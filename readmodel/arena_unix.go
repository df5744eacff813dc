//go:build unix

package readmodel

import "syscall"

const chunksOffHeap = true

// allocChunk maps n bytes of anonymous memory, outside the Go heap.
func allocChunk(n int) ([]byte, error) {
	return syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE|mapPopulate)
}

func freeChunks(chunks [][]byte) {
	for _, c := range chunks {
		_ = syscall.Munmap(c[:cap(c)])
	}
}
