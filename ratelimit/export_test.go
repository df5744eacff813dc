package ratelimit

// Keys returns the number of keys m holds.
func Keys(m *Memory) int { return m.keys() }
