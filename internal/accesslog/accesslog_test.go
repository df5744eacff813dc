package accesslog_test

import (
	"bytes"
	"context"
	"log/slog"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/openatp/openatp/internal/accesslog"
)

// slogLine is the line slog's text handler writes for l at t: what
// AppendText must write byte for byte.
func slogLine(t time.Time, l *accesslog.Line) string {
	var buf bytes.Buffer
	r := slog.NewRecord(t, slog.LevelInfo, "request", 0)
	r.AddAttrs(slog.String("request_id", l.RequestID), slog.String("method", l.Method), slog.String("path", l.Path),
		slog.String("query", l.Query), slog.String("proto", l.Proto), slog.String("tenant", l.Tenant), slog.String("app", l.App),
		slog.Int("status", l.Status), slog.String("code", l.Code), slog.Duration("duration", l.Duration))
	if err := slog.NewTextHandler(&buf, nil).Handle(context.Background(), r); err != nil {
		panic(err)
	}
	return buf.String()
}

// pieces are what strings are made of: every character class slog's
// quoting looks at, and the kinds of text a request puts in its line.
var pieces = []string{"", "a", "Z9", " ", "=", "\"", "\\", "\t", "\n", "\x00", "\x1f", "\x7f", "\x80", "\xff", "é", "\u00a0",
	"\u2028", "\u200b", "😀", "/api/users/ann/machines", "$filter=x eq 'y'", "%20", "&", "?", "'", "GET", "HTTP/1.1",
	"0a1b2c3d-0000-4000-8000-000000000001", "\ufffd", "\U0010ffff", "\u0085"}

func randomString(rng *rand.Rand) string {
	var b []byte
	for range rng.IntN(5) {
		b = append(b, pieces[rng.IntN(len(pieces))]...)
	}
	return string(b)
}

func TestAppendTextIsSlogText(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	zones := []*time.Location{time.UTC, time.FixedZone("x", -(3*3600 + 30*60)), time.FixedZone("y", 5*3600+45*60), time.FixedZone("lmt", -(17*60 + 30))}
	for i := range 20000 {
		l := accesslog.Line{RequestID: randomString(rng), Method: randomString(rng), Path: randomString(rng), Query: randomString(rng),
			Proto: randomString(rng), Tenant: randomString(rng), App: randomString(rng), Status: rng.IntN(1200) - 100,
			Code: randomString(rng), Duration: time.Duration(rng.Int64N(1e12)) - time.Second}
		at := time.Unix(rng.Int64N(4e9), rng.Int64N(1e9)).In(zones[i%len(zones)])
		if got, want := string(accesslog.AppendText(nil, at, &l)), slogLine(at, &l); got != want {
			t.Fatalf("line %d:\n got %q\nwant %q", i, got, want)
		}
	}
}

// Write writes whole lines, one Write each, from any number of goroutines.
func TestTextWrite(t *testing.T) {
	var buf bytes.Buffer
	x := accesslog.NewText(&buf)
	at := time.Date(2026, 12, 1, 22, 57, 0, 851_999_999, time.UTC)
	l := accesslog.Line{RequestID: "r1", Method: "GET", Path: "/api/machines", Proto: "HTTP/1.1", Status: 200, Duration: 1500 * time.Microsecond}
	if err := x.Write(at, &l); err != nil {
		t.Fatal(err)
	}
	want := `time=2026-12-01T22:57:00.851Z level=INFO msg=request request_id=r1 method=GET path=/api/machines query="" proto=HTTP/1.1 tenant="" app="" status=200 code="" duration=1.5ms` + "\n"
	if buf.String() != want {
		t.Errorf("got  %q\nwant %q", buf.String(), want)
	}
}

func BenchmarkLine(b *testing.B) {
	l := accesslog.Line{RequestID: "0a1b2c3d-0000-4000-8000-000000000001", Method: "GET", Path: "/api/users/user123/machines",
		Proto: "HTTP/1.1", Tenant: "11111111-2222-3333-4444-555555555555", App: "00000000-0000-0000-0000-000000000001", Status: 200,
		Duration: 1234 * time.Microsecond}
	b.Run("accesslog", func(b *testing.B) {
		var buf []byte
		for b.Loop() {
			buf = accesslog.AppendText(buf[:0], time.Now(), &l)
		}
	})
	b.Run("slog", func(b *testing.B) {
		var buf bytes.Buffer
		lg := slog.New(slog.NewTextHandler(&buf, nil))
		for b.Loop() {
			buf.Reset()
			lg.LogAttrs(context.Background(), slog.LevelInfo, "request", slog.String("request_id", l.RequestID),
				slog.String("method", l.Method), slog.String("path", l.Path), slog.String("query", l.Query), slog.String("proto", l.Proto),
				slog.String("tenant", l.Tenant), slog.String("app", l.App), slog.Int("status", l.Status), slog.String("code", l.Code),
				slog.Duration("duration", l.Duration))
		}
	})
}
