package sqlstore

import (
	"encoding/json"
	"time"

	"github.com/openatp/openatp"
)

// MachineCells are the columns of a normalized machine's row that are not
// its properties as they are: its times in nanoseconds (nil: NULL) and its
// lists as JSON.
type MachineCells struct {
	FirstSeen, LastSeen *int64
	Tags, IPAddresses   string
}

// EncodeMachine returns the MachineCells of m. Invalid if a time is out of
// range.
func EncodeMachine(m *openatp.Machine) (MachineCells, error) {
	var c MachineCells
	var err error
	if c.FirstSeen, err = optNanos("firstSeen", m.FirstSeen); err != nil {
		return c, err
	}
	if c.LastSeen, err = optNanos("lastSeen", m.LastSeen); err != nil {
		return c, err
	}
	tags, err := json.Marshal(m.MachineTags)
	if err != nil {
		return c, err
	}
	ips, err := json.Marshal(m.IPAddresses)
	if err != nil {
		return c, err
	}
	c.Tags, c.IPAddresses = string(tags), string(ips)
	return c, nil
}

// optNanos is Nanos for an optional time.
func optNanos(field string, t *time.Time) (*int64, error) {
	if t == nil {
		return nil, nil
	}
	n, err := Nanos(field, *t)
	return &n, err
}
