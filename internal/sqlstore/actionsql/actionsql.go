// Package actionsql is the SQL of the response actions that is the same in
// both of openatp's SQL stores (packages sqlite and postgres): machine
// actions (their writes, reads, import and the action clock), the machine
// states their effects write, the live response library and the
// investigations. An engine's DB embeds a Store beside sqlstore's Reader
// and Writer and so has these methods as its own.
//
// It is written as package sqlstore is (its placeholders, its Querier and
// Execer, its engine's transactions), of which it is a part cut out for
// size.
package actionsql

import "github.com/openatp/openatp/internal/sqlstore"

// Store makes the reads and writes of the response actions: the
// openatp.MachineActionStore, LibraryStore and InvestigationStore
// methods, and MachineState.
type Store struct {
	w sqlstore.Writer  // the engine's transactions and clock
	q sqlstore.Querier // the engine's pool of readers
}

// New returns the response actions' SQL of an engine: w and r are the
// engine's shared writes and reads (sqlstore.NewWriter, NewReader).
func New(w sqlstore.Writer, r sqlstore.Reader) Store { return Store{w: w, q: r.Querier()} }
