//go:build !linux

package huntapi

// lowPriority runs f: thread priorities are set on Linux only.
func lowPriority(f func()) { f() }
