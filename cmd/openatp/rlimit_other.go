//go:build !unix

package main

// openFileLimit is the process's limit of open files (0 if unknown).
func openFileLimit() int { return 0 }
