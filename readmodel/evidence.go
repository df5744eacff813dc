package readmodel

// The alerts' evidence index: the file hashes, IP addresses and domains
// each alert's evidence names, keyed by evidence.Key, so that the pivots
// from a value to its alerts (GET /api/files/{hash}/alerts, …) are a
// lookup, not a scan of every alert. It is kept beside the alerts' other
// indexes, copy-on-write, and changes with them; an alert's keys are in
// its record (alertSet.evKeys).

// AlertsWithEvidence returns the slots of the alerts whose evidence names
// key (evidence.Key), in no particular order. The caller must not change
// the slice.
func (v *View) AlertsWithEvidence(key string) []uint32 {
	list, _ := v.c.alerts.byEv.get(key)
	return list
}
