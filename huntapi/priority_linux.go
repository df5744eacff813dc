package huntapi

import (
	"os"
	"runtime"
	"sync"
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
//
// While f runs, the process has one more P (GOMAXPROCS) than it had: the
// Go scheduler gives a running goroutine's thread a P whether or not the
// kernel runs that thread, and a niced thread waiting for a processor
// would hold one of the routes' Ps idle (with two processors, half of
// them). With the extra P the routes keep every P they had, and the
// kernel alone decides how much of the processors the query gets.
func lowPriority(f func()) {
	extraProcs.add(1)
	defer extraProcs.add(-1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
		_ = syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), niceness)
		f()
	}()
	<-done
}

// extraProcs counts the queries running at low priority and keeps
// GOMAXPROCS at what it was before the first of them plus their number.
var extraProcs procs

// startProcs is GOMAXPROCS as the process started.
var startProcs = runtime.GOMAXPROCS(0)

type procs struct {
	mu      sync.Mutex
	running int
	base    int // GOMAXPROCS before the first of them
}

// add changes the number of queries running at low priority by d and
// sets GOMAXPROCS to match. When the last ends, GOMAXPROCS goes back to
// what it was: to the runtime's default (which follows the processors
// and the CPU limit) if it was that as the process started and the
// GOMAXPROCS environment variable does not set it, else to its value.
func (e *procs) add(d int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.running == 0 {
		e.base = runtime.GOMAXPROCS(0)
	}
	e.running += d
	switch {
	case e.running > 0:
		runtime.GOMAXPROCS(e.base + e.running)
	case e.base == startProcs && os.Getenv("GOMAXPROCS") == "":
		runtime.SetDefaultGOMAXPROCS()
	default:
		runtime.GOMAXPROCS(e.base)
	}
}
