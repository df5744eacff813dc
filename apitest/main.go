package apitest

import (
	"fmt"
	"net/http"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// Main runs a package's tests and fails them when a goroutine outlives
// them (the servers' connections, the read model's builds, the connection
// limit's drains); a package's TestMain calls it. The default client's
// idle keep-alive connections are closed first: they are the client's,
// not the server's.
func Main(m *testing.M) {
	code := m.Run()
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}
