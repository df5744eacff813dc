//go:build !unix

package readmodel

const chunksOffHeap = false

func allocChunk(n int) ([]byte, error) { return make([]byte, n), nil }

func freeChunks([][]byte) {}
