package actions

import "time"

// NextDue returns when the earliest step is due; ok is false when the
// clock tracks no live action.
func (c *Clock) NextDue() (due time.Time, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.steps) == 0 {
		return time.Time{}, false
	}
	return c.steps[0].due, true
}
