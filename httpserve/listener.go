package httpserve

import (
	"bytes"
	"log"
	"log/slog"
	"net"
	"strconv"
	"strings"
)

// WrapListener returns a listener whose connections answer the requests
// that net/http refuses before any handler runs with the MDE error body and
// a request-id header, instead of net/http's plain text: on plain HTTP a
// malformed request line, bad percent-encoding in the path, header fields
// too large, an unsupported transfer encoding; under TLS, a plain HTTP
// request sent to the HTTPS port. net/http writes those answers straight
// to the connection in one write of a fixed form, which is what the
// connection recognises and replaces; every other write passes unchanged.
//
// For HTTPS, wrap the TCP listener and let the http.Server do TLS
// (ServeTLS), so that it negotiates HTTP/2 and sets r.TLS. The refusals of
// HTTP/1.1 inside TLS are then written encrypted, out of this wrapper's
// sight, and stay plain text (docs/compatibility.md).
func WrapListener(ln net.Listener, logger *slog.Logger) net.Listener {
	return &errListener{Listener: ln, logger: logger}
}

type errListener struct {
	net.Listener
	logger *slog.Logger
}

func (l *errListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &errConn{Conn: c, logger: l.logger}, nil
}

type errConn struct {
	net.Conn
	logger *slog.Logger
}

// NetConn returns the connection it wraps (as tls.Conn.NetConn does).
func (c *errConn) NetConn() net.Conn { return c.Conn }

const plainErrorHeaders = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"

// plainHTTPOnTLS is what net/http writes, under TLS, to a client that sent
// plain HTTP to the HTTPS port.
const plainHTTPOnTLS = "HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n"

func (c *errConn) Write(p []byte) (int, error) {
	if len(p) < 12 || p[0] != 'H' { // TLS records start with a content type byte
		return c.Conn.Write(p)
	}
	if string(p) == plainHTTPOnTLS {
		return c.answer(p, "HTTP/1.0 400 Bad Request", 400, "The request was sent in plain HTTP to the HTTPS port; use https://.", "plain HTTP on the HTTPS port")
	}
	if !bytes.HasPrefix(p, []byte("HTTP/1.1 4")) && !bytes.HasPrefix(p, []byte("HTTP/1.1 5")) {
		return c.Conn.Write(p)
	}
	eol := bytes.Index(p, []byte("\r\n"))
	if eol < 0 || !bytes.HasPrefix(p[eol:], []byte(plainErrorHeaders)) {
		return c.Conn.Write(p)
	}
	status, err := strconv.Atoi(string(p[9:12]))
	if err != nil {
		return c.Conn.Write(p)
	}
	code, msg := "BadRequest", "The request is malformed: its request line, URL encoding or headers are not valid HTTP."
	switch status {
	case 431:
		code, msg = "RequestHeaderFieldsTooLarge", "The request's header fields are too large."
	case 501:
		code, msg = "NotImplemented", "Unsupported transfer encoding: send the body as it is (Content-Length) or chunked."
	case 505:
		code, msg = "HTTPVersionNotSupported", "Unsupported HTTP version: use HTTP/1.1 or HTTP/2."
	}
	return c.answerCode(p, string(p[:eol]), status, code, msg, "refused by the HTTP parser")
}

// answer writes, in place of net/http's plain-text refusal p, the status
// line statusLine and the MDE error body with code BadRequest, and logs
// the refusal.
func (c *errConn) answer(p []byte, statusLine string, status int, msg, reason string) (int, error) {
	return c.answerCode(p, statusLine, status, "BadRequest", msg, reason)
}

// answerCode is answer with another error code.
func (c *errConn) answerCode(p []byte, statusLine string, status int, code, msg, reason string) (int, error) {
	id, out := rawErrorAnswer(statusLine, "", code, msg)
	if c.logger != nil {
		c.logger.Info("request", "request_id", id, "status", status, "code", code, "remote", c.RemoteAddr().String(), "reason", reason)
	}
	if _, err := c.Conn.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// NewErrorLog returns the http.Server ErrorLog for logger: a failed TLS
// handshake becomes one line "tls handshake failed" with the client's
// address and the reason (the certificate not trusted, no common protocol
// version, the client gone); other messages of net/http are logged as
// warnings. The handshake net/http abandons because the client spoke plain
// HTTP is logged by WrapListener's connection as the request it answers.
func NewErrorLog(logger *slog.Logger) *log.Logger {
	return log.New(errorLogWriter{logger}, "", 0)
}

type errorLogWriter struct{ logger *slog.Logger }

const handshakeErrorPrefix = "http: TLS handshake error from "

func (w errorLogWriter) Write(p []byte) (int, error) {
	line := strings.TrimSuffix(string(p), "\n")
	if rest, ok := strings.CutPrefix(line, handshakeErrorPrefix); ok {
		// "<addr>: <reason>"; an IPv6 address holds colons, the port none.
		if i := strings.Index(rest, ": "); i >= 0 {
			remote, reason := rest[:i], rest[i+2:]
			if reason != "client sent an HTTP request to an HTTPS server" {
				w.logger.Info("tls handshake failed", "remote", remote, "reason", reason)
			}
			return len(p), nil
		}
	}
	w.logger.Warn("http server", "error", line)
	return len(p), nil
}
