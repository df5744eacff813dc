// Package pgtest starts throwaway PostgreSQL servers for tests: a cluster
// made by initdb in a temporary directory, listening on a free loopback port
// (its socket in the same directory), with fsync off; and a fresh database
// per test on it.
//
// A test package shares one cluster, started on first use and stopped by
// its TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
//
//	func TestX(t *testing.T) {
//		url := pgtest.NewDatabase(t) // postgres://...: an empty database
//	}
//
// A test that stops or restarts the server starts a cluster of its own
// (Start). When the PostgreSQL server binaries are not installed the tests
// are skipped, unless OPENATP_TEST_POSTGRES=required (CI) makes them fail.
// Run as root, the server runs as the postgres user (initdb refuses root).
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/goleak"
)

// Server is a running PostgreSQL cluster of a test.
type Server struct {
	// Port is the loopback TCP port the server listens on.
	Port int

	bin  string // directory of initdb, postgres
	dir  string // root of the cluster: data/, the socket, the log
	cred *syscall.Credential

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	dbs  atomic.Int64
}

// required reports whether a missing PostgreSQL is a failure.
func required() bool { return os.Getenv("OPENATP_TEST_POSTGRES") == "required" }

// unavailable skips tb, or fails it when PostgreSQL is required.
func unavailable(tb testing.TB, err error) {
	tb.Helper()
	if required() {
		tb.Fatalf("PostgreSQL is needed and OPENATP_TEST_POSTGRES=required: %v (install it: apt-get install postgresql)", err)
	}
	tb.Skipf("skipping the PostgreSQL tests: %v (install postgresql, or set OPENATP_TEST_POSTGRES=required to fail instead)", err)
}

// binDir finds the directory of the server binaries: the newest of
// /usr/lib/postgresql/*/bin (Debian), else that of initdb on PATH.
func binDir() (string, error) {
	if dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin"); len(dirs) > 0 {
		sort.Slice(dirs, func(i, j int) bool {
			vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[i])))
			vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[j])))
			return vi > vj
		})
		for _, d := range dirs {
			if _, err := os.Stat(filepath.Join(d, "postgres")); err == nil {
				return d, nil
			}
		}
	}
	p, err := exec.LookPath("initdb")
	if err != nil {
		return "", errors.New("the PostgreSQL server binaries (initdb, postgres) are not installed")
	}
	return filepath.Dir(p), nil
}

// Start starts a cluster of tb's own and stops it when tb ends. It skips
// (or fails) tb when PostgreSQL is not installed.
func Start(tb testing.TB) *Server {
	tb.Helper()
	s, err := start()
	if err != nil {
		var missing *missingError
		if errors.As(err, &missing) {
			unavailable(tb, err)
		}
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	return s
}

type missingError struct{ err error }

func (e *missingError) Error() string { return e.err.Error() }

func start() (*Server, error) {
	bin, err := binDir()
	if err != nil {
		return nil, &missingError{err}
	}
	s := &Server{bin: bin}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, &missingError{errors.New("running as root, and there is no postgres user to run the server as")}
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		s.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	if s.dir, err = os.MkdirTemp("", "openatp-pg-"); err != nil {
		return nil, err
	}
	if s.cred != nil {
		if err := os.Chown(s.dir, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
			s.removeDir()
			return nil, err
		}
	}
	out, err := s.command("initdb", "-D", s.data(), "-U", "postgres", "--auth=trust", "-E", "UTF8",
		"--locale=C.UTF-8", "--no-sync").CombinedOutput()
	if err != nil {
		s.removeDir()
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	for attempt := 0; ; attempt++ {
		if s.Port, err = freePort(); err == nil {
			if err = s.run(); err == nil {
				return s, nil
			}
		}
		if attempt == 4 {
			s.removeDir()
			return nil, err
		}
	}
}

func (s *Server) data() string { return filepath.Join(s.dir, "data") }

// command returns a command running a server binary, as the postgres user
// when the test runs as root, killed when the test process dies.
func (s *Server) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(s.bin, name), args...)
	cmd.Dir = s.dir
	cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8", "PGTZ=UTC")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred, Pdeathsig: syscall.SIGQUIT}
	return cmd
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// run starts the server on s.Port and waits until it accepts connections.
func (s *Server) run() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	logPath := filepath.Join(s.dir, "postgres.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close()
	cmd := s.command("postgres", "-D", s.data(), "-p", strconv.Itoa(s.Port), "-k", s.dir,
		"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
		"-c", "full_page_writes=off", "-c", "max_connections=300", "-c", "shared_buffers=128MB")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Pdeathsig fires when the THREAD that started the server exits, not the
	// process: the server is started and waited for on a thread locked to a
	// goroutine that lives as long as the server, so that no other code that
	// ends a locked thread (hunting's low-priority queries) can take it down.
	started, done := make(chan error, 1), make(chan struct{})
	go func() {
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		_ = cmd.Wait()
		close(done)
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	s.cmd, s.done = cmd, done
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			s.cmd = nil
			b, _ := os.ReadFile(logPath)
			return fmt.Errorf("postgres on port %d exited at start:\n%s", s.Port, tail(b))
		default:
		}
		if s.ready() {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.stop(syscall.SIGQUIT)
	return fmt.Errorf("postgres on port %d did not accept connections within 30 s", s.Port)
}

func tail(b []byte) string {
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// ready reports whether the server accepts a query.
func (s *Server) ready() bool {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, s.URL("postgres"))
	if err != nil {
		return false
	}
	defer c.Close(ctx)
	return c.Ping(ctx) == nil
}

// URL returns the URL of database db on the server.
func (s *Server) URL(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.Port, db)
}

// NewDatabase creates an empty database and returns its URL.
func (s *Server) NewDatabase(tb testing.TB) string {
	tb.Helper()
	name := fmt.Sprintf("t%d_%d", os.Getpid(), s.dbs.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, s.URL("postgres"))
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	defer c.Close(ctx)
	for attempt := 0; ; attempt++ {
		_, err = c.Exec(ctx, "CREATE DATABASE "+name)
		// Concurrent CREATE DATABASEs from one template can collide.
		if err == nil || attempt == 20 || !strings.Contains(err.Error(), "being accessed by other users") {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		tb.Fatalf("pgtest: CREATE DATABASE: %v", err)
	}
	return s.URL(name)
}

// Stop shuts the server down as `pg_ctl stop -m fast` does (SIGINT: open
// transactions are rolled back, clients disconnected) and waits for it to
// exit. Its data is kept: Restart starts it again.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stop(syscall.SIGINT)
}

func (s *Server) stop(sig syscall.Signal) {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(sig)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd = nil
}

// Restart starts the stopped server again on the same port with its data.
func (s *Server) Restart(tb testing.TB) {
	tb.Helper()
	s.Stop()
	var err error
	for range 50 { // the port may linger a moment
		if err = s.run(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	tb.Fatal(err)
}

// Close stops the server at once and deletes its files.
func (s *Server) Close() {
	s.mu.Lock()
	s.stop(syscall.SIGQUIT) // immediate shutdown: the data is thrown away
	s.mu.Unlock()
	s.removeDir()
}

func (s *Server) removeDir() {
	if s.dir != "" {
		_ = os.RemoveAll(s.dir)
	}
}

// The cluster shared by a test package.
var shared struct {
	mu  sync.Mutex
	s   *Server
	err error
}

// Shared returns the test package's cluster, starting it on first use. It
// skips (or fails) tb when PostgreSQL is not installed. Main stops it.
func Shared(tb testing.TB) *Server {
	tb.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.s == nil && shared.err == nil {
		shared.s, shared.err = start()
	}
	if shared.err != nil {
		var missing *missingError
		if errors.As(shared.err, &missing) {
			unavailable(tb, shared.err)
		}
		tb.Fatal(shared.err)
	}
	return shared.s
}

// NewDatabase creates an empty database on the package's shared cluster
// and returns its URL.
func NewDatabase(tb testing.TB) string {
	tb.Helper()
	return Shared(tb).NewDatabase(tb)
}

// Main runs the tests of m, then stops the shared cluster if one was
// started, and exits: with the tests' code, or 1 when they passed but a
// goroutine outlived them (goleak). A test package's TestMain is
// pgtest.Main(m).
func Main(m *testing.M) {
	code := m.Run()
	shared.mu.Lock()
	if shared.s != nil {
		shared.s.Close()
	}
	shared.mu.Unlock()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}
