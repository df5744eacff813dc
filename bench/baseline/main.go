// Command baseline serves a fixed body of a given size on every path, with
// the same net/http settings as openatp: the yardstick the load script
// measures the real endpoint against, in the same run.
package main

import (
	"bytes"
	"flag"
	"log"
	"net"
	"net/http"
	"os"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18080", "listen address")
	size := flag.Int("size", 1500, "body size in bytes")
	flag.Parse()
	body := append([]byte(`{"value":"`), bytes.Repeat([]byte("x"), max(*size-12, 0))...)
	body = append(body, `"}`...)
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json; odata.metadata=minimal")
			_, _ = w.Write(body)
		}),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	log.SetOutput(os.Stderr)
	log.Fatal(srv.Serve(ln))
}
