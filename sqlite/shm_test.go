package sqlite_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/sqlite"
)

// sharedHeaderPair opens two stores on one new file (a server's and another
// process's, in production) and checks that the first reads DataVersion
// from the shared WAL-index header. It skips where that header is not
// mapped: it is found through /proc/self/fd, on Linux.
func sharedHeaderPair(t *testing.T) (a, b *sqlite.DB, path string) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("the shared header is mapped on Linux only")
	}
	path = filepath.Join(t.TempDir(), "x.db")
	a, b = openAt(t, path), openAt(t, path)
	if !sqlite.ReadsSharedHeader(a) {
		t.Fatal("DataVersion does not read the shared header")
	}
	return a, b, path
}

// DataVersion read from the shared WAL-index header changes with every
// commit of another store on the same file (another process's, in
// production), and not without one; the PRAGMA cross-check keeps it on.
func TestDataVersionFromSharedHeader(t *testing.T) {
	ctx := context.Background()
	a, b, _ := sharedHeaderPair(t)
	sqlite.CrossCheckEvery(t, 0) // every call cross-checks
	tn, _ := openatp.NewTenant("shm.example", time.Now())
	if err := b.CreateTenant(ctx, tn); err != nil {
		t.Fatal(err)
	}
	prev, err := a.DataVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 300 {
		same, _ := a.DataVersion(ctx)
		if same != prev {
			t.Fatalf("call %d: version changed without a commit", i)
		}
		m := openatp.Machine{ID: strings.Repeat("0", 37) + string("0123456789abcdef"[i%16]) + string("0123456789abcdef"[i/16%16]) + "0"}
		if err := m.Normalize(); err != nil {
			t.Fatal(err)
		}
		if err := b.UpsertMachines(ctx, tn.ID, []openatp.Machine{m}); err != nil {
			t.Fatal(err)
		}
		next, err := a.DataVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if next == prev {
			t.Fatalf("call %d: a commit of the other store did not change the version", i)
		}
		prev = next
	}
	if !sqlite.ReadsSharedHeader(a) {
		t.Error("the PRAGMA cross-check turned the shared header off: it missed a commit")
	}
}

// The store's own look at the -shm file must not cost SQLite its locks
// there. POSIX record locks belong to a process and a file, and closing any
// descriptor of the file drops them all: had openShm opened and closed the
// file, another process opening the database would find no one holding the
// shared-memory "dead man switch" lock, take it to mean it is alone,
// reinitialize the WAL index under this process's readers (which then fail
// with "disk I/O error") and could checkpoint over pages they still read.
// A second process asks the kernel who holds the lock.
func TestShmLocksKept(t *testing.T) {
	_, _, path := sharedHeaderPair(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "OPENATP_SHM_PROBE="+path)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("probe: %v\n%s", err, out)
	}
	if got, want := strings.TrimSpace(string(out)), fmt.Sprintf("held by %d", os.Getpid()); got != want {
		t.Errorf("the -shm lock SQLite takes on open is %q, want %q", got, want)
	}
}

// shmProbe prints who holds a lock on the byte of path's -shm file every
// SQLite connection holds a shared lock on while it uses the WAL index
// (UNIX_SHM_DMS in SQLite's os_unix.c: byte 128).
func shmProbe(path string) int {
	f, err := os.OpenFile(path+"-shm", os.O_RDWR, 0)
	if err != nil {
		fmt.Println(err)
		return 1
	}
	defer f.Close()
	lk := syscall.Flock_t{Type: syscall.F_WRLCK, Whence: 0, Start: 128, Len: 1}
	if err := syscall.FcntlFlock(f.Fd(), syscall.F_GETLK, &lk); err != nil {
		fmt.Println(err)
		return 1
	}
	if lk.Type == syscall.F_UNLCK {
		fmt.Println("not held")
	} else {
		fmt.Printf("held by %d\n", lk.Pid)
	}
	return 0
}

// Commits of another store landing while DataVersion runs its PRAGMA
// cross-check are not mistaken for commits the header missed.
func TestDataVersionCrossCheckUnderCommits(t *testing.T) {
	ctx := context.Background()
	a, b, _ := sharedHeaderPair(t)
	sqlite.CrossCheckEvery(t, 0) // every call cross-checks
	stop := make(chan struct{})
	done := make(chan int)
	go func() {
		n := 0
		defer func() { done <- n }()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := b.SetSetting(ctx, "k", fmt.Sprint(n)); err != nil {
				t.Error(err)
				return
			}
			n++
		}
	}()
	calls := 0
	for ; calls < 5000 && sqlite.ReadsSharedHeader(a); calls++ {
		if _, err := a.DataVersion(ctx); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	commits := <-done
	if !sqlite.ReadsSharedHeader(a) {
		t.Errorf("the cross-check turned the shared header off after %d calls and %d commits, none missed", calls, commits)
	}
	if commits == 0 {
		t.Error("no commit ran during the calls")
	}
}

// The shared header belongs to the DB: DataVersion calls that run while it
// is closed read it or fail with Unavailable, never a freed mapping, and
// after Close every call fails.
func TestDataVersionDuringClose(t *testing.T) {
	ctx := context.Background()
	_, _, path := sharedHeaderPair(t)
	a, err := sqlite.Open(ctx, path) // closed here, not at the test's end
	if err != nil {
		t.Fatal(err)
	}
	if !sqlite.ReadsSharedHeader(a) {
		t.Fatal("DataVersion does not read the shared header")
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			<-start
			for range 2000 {
				if _, err := a.DataVersion(ctx); err != nil && openatp.KindOf(err) != openatp.Unavailable {
					t.Errorf("DataVersion while closing: %v (kind %v)", err, openatp.KindOf(err))
					return
				}
			}
		})
	}
	close(start)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if sqlite.ReadsSharedHeader(a) {
		t.Error("a closed DB still reads the shared header")
	}
	if _, err := a.DataVersion(ctx); openatp.KindOf(err) != openatp.Unavailable {
		t.Errorf("DataVersion after Close: %v, want Unavailable", err)
	}
}
