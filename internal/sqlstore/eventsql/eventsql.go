// Package eventsql is the SQL of the observed file and network events
// (issue 24) that is the same in both of openatp's SQL stores (packages
// sqlite and postgres): their import (the machines checked, the looked-up
// values interned, the rows inserted), their reads by value, machine and
// time, and the sightings the pivots and the indicators' look-back read.
// An engine's DB embeds Events beside sqlstore's Reader and Writer and so
// has these methods as its own; the retention's delete of expired events
// stays with sqlstore.Writer.
//
// It is written as package sqlstore is (its placeholders, its Querier and
// Execer, its engine's transactions), of which it is a part cut out for
// size.
package eventsql

import "github.com/openatp/openatp/internal/sqlstore"

// Events makes the reads and writes of the observed events: the
// openatp.EventStore methods but DeleteEventsBefore, and the
// sightings.Store methods.
type Events struct {
	w sqlstore.Writer  // the engine's transactions
	q sqlstore.Querier // the engine's pool of readers
	d Dialect
	c *confirmed // the machines imports found, per tenant
}

// Dialect is what the engines' SQL of the events differs in.
type Dialect struct {
	// Texts is a query of the texts of one argument, for IN: SQLite's
	// "SELECT value FROM json_each(?)" of a JSON array, PostgreSQL's
	// "SELECT unnest(?::text[])" of a text array.
	Texts string
	// TextsArg returns the argument of Texts of a list of texts.
	TextsArg func(texts []string) any
}

// New returns the observed events' SQL of an engine: w and r are the
// engine's shared writes and reads (sqlstore.NewWriter, NewReader), d
// what its SQL differs in.
func New(w sqlstore.Writer, r sqlstore.Reader, d Dialect) Events {
	return Events{w: w, q: r.Querier(), d: d, c: &confirmed{}}
}
