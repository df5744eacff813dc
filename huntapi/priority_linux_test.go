package huntapi

import (
	"runtime"
	"sync"
	"syscall"
	"testing"
)

// TestLowPriority: f runs on a thread at nice 10 while the process has
// one more P for each query running so; GOMAXPROCS is what it was after.
func TestLowPriority(t *testing.T) {
	base := runtime.GOMAXPROCS(0)
	var procs, nice int
	lowPriority(func() {
		procs = runtime.GOMAXPROCS(0)
		// The raw getpriority answers 20 - nice.
		p, _ := syscall.Getpriority(syscall.PRIO_PROCESS, syscall.Gettid())
		nice = 20 - p
	})
	if procs != base+1 || nice != niceness {
		t.Errorf("in f: GOMAXPROCS %d, nice %d; want %d and %d", procs, nice, base+1, niceness)
	}
	if got := runtime.GOMAXPROCS(0); got != base {
		t.Errorf("after f: GOMAXPROCS %d, want %d", got, base)
	}

	// Two at once: two more; the second to end puts it back.
	var wg sync.WaitGroup
	inside, release := make(chan int), make(chan struct{})
	for range 2 {
		wg.Go(func() {
			lowPriority(func() {
				inside <- 0
				<-release
			})
		})
	}
	<-inside
	<-inside
	if got := runtime.GOMAXPROCS(0); got != base+2 {
		t.Errorf("two queries: GOMAXPROCS %d, want %d", got, base+2)
	}
	close(release)
	wg.Wait()
	if got := runtime.GOMAXPROCS(0); got != base {
		t.Errorf("after both: GOMAXPROCS %d, want %d", got, base)
	}
}
