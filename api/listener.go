package api

import (
	"bytes"
	"log/slog"
	"net"
	"strconv"

	"github.com/openatp/openatp/wire"
)

// WrapListener returns a listener whose connections answer the requests
// that net/http refuses before any handler runs (a malformed request line,
// bad percent-encoding in the path, header fields too large) with the MDE
// error body and a request-id header, instead of net/http's plain text.
// net/http writes those answers straight to the connection in one write of
// a fixed form, which is what the connection recognises and replaces.
//
// For HTTPS, wrap the TLS listener (tls.NewListener), not the TCP one; the
// server then speaks HTTP/1.1 only, and handlers learn the scheme from the
// server (see Server.Handler).
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

const plainErrorHeaders = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"

func (c *errConn) Write(p []byte) (int, error) {
	if !bytes.HasPrefix(p, []byte("HTTP/1.1 4")) || len(p) < 12 {
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
	id := newRequestID()
	code, msg := "BadRequest", "The request is malformed: its request line, URL encoding or headers are not valid HTTP."
	switch status {
	case 431:
		code, msg = "BadRequest", "The request's header fields are too large."
	case 501:
		code, msg = "BadRequest", "Unsupported transfer encoding."
	}
	body := make([]byte, 0, 256)
	body = append(body, `{"error":{"code":`...)
	body = wire.AppendString(body, code)
	body = append(body, `,"message":`...)
	body = wire.AppendString(body, msg)
	body = append(body, `,"target":`...)
	body = wire.AppendString(body, id)
	body = append(body, "}}"...)
	out := make([]byte, 0, 512)
	out = append(out, p[:eol]...)
	out = append(out, "\r\nContent-Type: application/json; charset=utf-8\r\nrequest-id: "...)
	out = append(out, id...)
	out = append(out, "\r\nContent-Length: "...)
	out = strconv.AppendInt(out, int64(len(body)), 10)
	out = append(out, "\r\nConnection: close\r\n\r\n"...)
	out = append(out, body...)
	if c.logger != nil {
		c.logger.Info("request", "request_id", id, "status", status, "code", code, "remote", c.RemoteAddr().String(), "reason", "refused by the HTTP parser")
	}
	if _, err := c.Conn.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}
