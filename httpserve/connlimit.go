package httpserve

import (
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// ConnLimit caps the connections open at once on the listeners it wraps
// (every public listener of a process shares one), so that a flood of
// connections cannot use up the process's file descriptors: beyond Max a
// new connection is refused at once. On plain HTTP the refusal is a 503
// with the MDE error body and Retry-After; on TLS the connection is
// closed (a plain answer would not be readable there). Refusals are
// logged, at most one line every 10 s.
type ConnLimit struct {
	max     int64
	open    atomic.Int64
	logger  *slog.Logger
	refused atomic.Int64   // since the last log line
	logged  atomic.Int64   // Unix ns of the last log line
	drains  chan struct{}  // a place per drain running
	drainWG sync.WaitGroup // the drains: Wait waits for them
}

// NewConnLimit returns a limit of open connections (at least 1).
func NewConnLimit(limit int, logger *slog.Logger) *ConnLimit {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &ConnLimit{max: int64(max(1, limit)), logger: logger, drains: make(chan struct{}, 64)}
}

// Wait waits for the refused connections still being drained: each is
// closed within a second of its refusal. Call it once the listeners are
// closed, so that no drain outlives the server.
func (c *ConnLimit) Wait() { c.drainWG.Wait() }

// Draining returns the number of refused connections being drained.
func (c *ConnLimit) Draining() int { return len(c.drains) }

// Open returns the number of connections open on the limited listeners.
func (c *ConnLimit) Open() int64 { return c.open.Load() }

// Max returns the limit.
func (c *ConnLimit) Max() int64 { return c.max }

// Listener returns ln, limited; tls says that its connections speak TLS.
func (c *ConnLimit) Listener(ln net.Listener, tls bool) net.Listener {
	return &limitListener{Listener: ln, c: c, tls: tls}
}

type limitListener struct {
	net.Listener
	c   *ConnLimit
	tls bool
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		conn, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.c.open.Add(1) <= l.c.max {
			return &countedConn{Conn: conn, c: l.c}, nil
		}
		l.c.open.Add(-1)
		l.c.refuse(conn, l.tls)
	}
}

// countedConn gives its place back when closed.
type countedConn struct {
	net.Conn
	c    *ConnLimit
	once sync.Once
}

func (c *countedConn) Close() error {
	c.once.Do(func() { c.c.open.Add(-1) })
	return c.Conn.Close()
}

// refuse answers a connection over the limit and closes it.
func (c *ConnLimit) refuse(conn net.Conn, tls bool) {
	n := c.refused.Add(1)
	if now := time.Now().UnixNano(); now-c.logged.Load() >= int64(10*time.Second) {
		c.logged.Store(now)
		c.refused.Add(-n)
		c.logger.Warn("connections refused: the limit of open connections is reached",
			"limit", c.max, "refused", n, "remote", conn.RemoteAddr().String())
	}
	if tls {
		conn.Close()
		return
	}
	_, answer := rawErrorAnswer("HTTP/1.1 503 Service Unavailable", "Retry-After: 1\r\n",
		"ServiceUnavailable", "The server has too many open connections. Retry in a moment.")
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	_, _ = conn.Write(answer)
	// Closing with the client's request unread would reset the
	// connection, and the client might lose the answer: half-close, read
	// what it sent for up to a second, then close (a few such drains at
	// once; beyond, close at once).
	tc, ok := tcpConn(conn)
	if !ok {
		conn.Close()
		return
	}
	select {
	case c.drains <- struct{}{}:
	default:
		conn.Close()
		return
	}
	_ = tc.CloseWrite()
	c.drainWG.Go(func() {
		defer func() { <-c.drains }()
		var buf [4096]byte
		for {
			if _, err := conn.Read(buf[:]); err != nil {
				break
			}
		}
		conn.Close()
	})
}

// tcpConn returns the TCP connection under conn's wrappers (those with a
// NetConn method, as WrapListener's and tls.Conn).
func tcpConn(conn net.Conn) (*net.TCPConn, bool) {
	for {
		if tc, ok := conn.(*net.TCPConn); ok {
			return tc, true
		}
		u, ok := conn.(interface{ NetConn() net.Conn })
		if !ok {
			return nil, false
		}
		conn = u.NetConn()
	}
}
