package huntapi

import (
	"runtime"
	"syscall"
)

// niceness is the nice level queries run at: well below the routes that
// answer from memory.
const niceness = 10

// lowPriority runs f on an operating-system thread of its own at nice
// level niceness, and returns when f has: a query is CPU-bound, and the
// kernel then gives the machine and alert routes' threads the processor
// first while they need it, and the query all of it when they do not.
// The goroutine keeps the thread locked to the end, so that the thread
// (and its priority, which an unprivileged process cannot raise again)
// ends with it; f runs wholly on it (kql and the stores' reads start no
// goroutines).
func lowPriority(f func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
		_ = syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), niceness)
		f()
	}()
	<-done
}
