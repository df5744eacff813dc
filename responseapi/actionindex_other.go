//go:build !unix

package responseapi

// allocActionChunk allocates n bytes for an actionList's JSON.
func allocActionChunk(n int) ([]byte, error) { return make([]byte, n), nil }

// freeActionChunks leaves chunks to the garbage collector.
func freeActionChunks([][]byte) {}
