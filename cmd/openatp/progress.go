package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// progress shows how far a long job is: a redrawn bar with rate and ETA
// on a terminal, plain lines every few seconds otherwise.
type progress struct {
	w       io.Writer
	label   string // the command, for plain lines
	tty     bool
	total   int64
	what    string
	start   time.Time
	last    time.Time
	current int64
}

func newProgress(w io.Writer, label, what string, total int64) *progress {
	tty := false
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	now := time.Now()
	return &progress{w: w, label: label, tty: tty, total: total, what: what, start: now, last: now}
}

func (p *progress) phase(what string, total int64) {
	p.done()
	p.what, p.total, p.current, p.start = what, total, 0, time.Now()
}

func (p *progress) set(what string, n int64) {
	p.current = n
	now := time.Now()
	interval := 5 * time.Second
	if p.tty {
		interval = 200 * time.Millisecond
	}
	if now.Sub(p.last) < interval {
		return
	}
	p.last = now
	p.draw(now)
}

func (p *progress) draw(now time.Time) {
	el := now.Sub(p.start).Seconds()
	rate := 0.0
	if el > 0 {
		rate = float64(p.current) / el
	}
	if !p.tty {
		fmt.Fprintf(p.w, "%s: %d %s (%.0f/s)\n", p.label, p.current, p.what, rate)
		return
	}
	line := fmt.Sprintf("%-8s %d", p.what, p.current)
	if p.total > 0 {
		frac := float64(p.current) / float64(p.total)
		if frac > 1 {
			frac = 1
		}
		bar := int(frac * 30)
		eta := "?"
		if rate > 0 {
			eta = (time.Duration(float64(p.total-p.current)/rate) * time.Second).Round(time.Second).String()
		}
		line = fmt.Sprintf("%-8s [%s%s] %d/%d %.0f/s ETA %s", p.what, strings.Repeat("=", bar), strings.Repeat(" ", 30-bar), p.current, p.total, rate, eta)
	} else {
		line += fmt.Sprintf(" %.0f/s", rate)
	}
	fmt.Fprintf(p.w, "\r%s\x1b[K", line)
}

// println writes a line of its own, above the bar on a terminal.
func (p *progress) println(line string) {
	if p.tty {
		fmt.Fprintf(p.w, "\r\x1b[K%s\n", line)
		p.last = time.Time{} // redraw the bar at the next set
		return
	}
	fmt.Fprintln(p.w, line)
}

func (p *progress) done() {
	if p.current == 0 {
		return
	}
	p.draw(time.Now())
	if p.tty {
		fmt.Fprintln(p.w)
	}
}
