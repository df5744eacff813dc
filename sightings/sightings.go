// Package sightings holds what the events of one observed value (a file
// hash, a remote IP address, a domain) amount to on each machine: its
// first and last event and their number. The custom indicators' look-back
// (internal/timatch) and the pivots' machines and prevalence (pivotapi)
// need no more, and a store answers it from the value's index alone,
// whatever the number of events.
package sightings

import (
	"context"
	"time"

	"github.com/openatp/openatp"
)

// Sighting is a value seen on a machine.
type Sighting struct {
	DeviceId    string
	First, Last time.Time // the first and last event's Timestamp
	Events      int64     // the number of events
}

// Store reads sightings. Both SQL stores have it; the filter's fields are
// those of openatp.EventStore's reads but MachineID and Limit (Invalid).
// Sightings come by DeviceId; none is an empty list; NotFound if the
// tenant does not exist.
type Store interface {
	FileSightings(ctx context.Context, tenantID string, f openatp.EventFilter) ([]Sighting, error)
	NetworkSightings(ctx context.Context, tenantID string, f openatp.EventFilter) ([]Sighting, error)
}

// Of returns s as a Store, or the store it wraps (Unwrap, as the
// wrappers of the program's store have: the read model's refresh and the
// metrics); an Internal error if none is one.
func Of(s any) (Store, error) {
	for s != nil {
		if st, ok := s.(Store); ok {
			return st, nil
		}
		u, ok := s.(interface{ Unwrap() openatp.Store })
		if !ok {
			break
		}
		s = u.Unwrap()
	}
	return nil, openatp.Errorf(openatp.Internal, "sightings: the store %T does not read sightings", s)
}
