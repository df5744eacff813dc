//go:build !unix

package checkpoint

import "os"

func readAll(path string) ([]byte, error) { return os.ReadFile(path) }

func release([]byte) error { return nil }
