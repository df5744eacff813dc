package sqlstore

import "github.com/openatp/openatp"

// BatchWriter is the openatp.BatchWriter of an engine's WriteBatch: it
// hands each write to the engine's functions, which write in the batch's
// transaction, and keeps the first error: after one, every write returns
// it and the engine only rolls the transaction back, whatever the
// caller's function does.
type BatchWriter struct {
	// Machines writes normalized copies of ms and records them in log.
	Machines func(ms []openatp.Machine, log *ChangeLog) error
	// Logons writes the events ls merged into agg, and reports whether a
	// row changed (the merged relations are then recorded in Log).
	Logons func(ls []openatp.Logon, agg *Batch) (changed bool, err error)
	// Alerts writes alerts as AlertStore.UpsertAlerts does and records
	// them in log.
	Alerts func(as []openatp.Alert, log *ChangeLog) error

	// Log is what the writes changed, for the change feed.
	Log ChangeLog
	// Changed reports whether a write may have changed a row.
	Changed bool
	// Failed is the first error of a write.
	Failed error
}

// UpsertMachines is openatp.BatchWriter.UpsertMachines.
func (w *BatchWriter) UpsertMachines(ms []openatp.Machine) error {
	if w.Failed != nil {
		return w.Failed
	}
	err := w.Machines(ms, &w.Log)
	w.Changed = w.Changed || err == nil && len(ms) > 0
	return w.fail(err)
}

// AddLogons is openatp.BatchWriter.AddLogons.
func (w *BatchWriter) AddLogons(ls []openatp.Logon) error {
	if w.Failed != nil {
		return w.Failed
	}
	if len(ls) == 0 {
		return nil
	}
	agg, err := Aggregate(ls)
	if err == nil {
		var changed bool
		changed, err = w.Logons(ls, agg)
		w.Changed = w.Changed || changed
		if changed {
			w.Log.Logons(agg)
		}
	}
	return w.fail(err)
}

// UpsertAlerts is openatp.BatchWriter.UpsertAlerts.
func (w *BatchWriter) UpsertAlerts(as []openatp.Alert) error {
	if w.Failed != nil {
		return w.Failed
	}
	if len(as) == 0 {
		return nil
	}
	err := w.Alerts(as, &w.Log)
	w.Changed = w.Changed || err == nil
	return w.fail(err)
}

func (w *BatchWriter) fail(err error) error {
	if err != nil && w.Failed == nil {
		w.Failed = err
	}
	return err
}
