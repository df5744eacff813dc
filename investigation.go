package openatp

import (
	"context"
	"strings"
	"time"
)

// Investigation is an automated investigation of a machine, with the
// properties of the MDE Investigation entity (GET /api/investigations):
// id (a decimal number, as the documented "63004"), startTime, endTime,
// state, cancelledBy, statusDetails, machineId, computerDnsName,
// triggeringAlertId. Nil pointers are null.
type Investigation struct {
	ID                string
	StartTime         time.Time // stamped by the store
	EndTime           *time.Time
	State             string // one of InvestigationStates (alert.go)
	CancelledBy       *string
	StatusDetails     *string
	MachineID         string
	ComputerDNSName   *string // the machine's name when the investigation started
	TriggeringAlertID *string
	Requestor         string // who started it (not in the entity)
	Comment           string // the request's Comment (not in the entity)
}

// The states an investigation that startInvestigation opens goes
// through.
const (
	InvestigationRunning = "Running"
	InvestigationBenign  = "Benign"
)

// DefaultInvestigationRunTime is how long an investigation runs before it
// ends Benign.
const DefaultInvestigationRunTime = 5 * time.Minute

// At returns the investigation as it is at now, if it runs for run: a
// Running one whose run time has passed is Benign, ended at StartTime+run.
// The store keeps the start; the state follows from the clock, so that
// nothing has to be written when it changes and a restart changes
// nothing.
func (inv Investigation) At(now time.Time, run time.Duration) Investigation {
	if inv.State == InvestigationRunning && inv.EndTime == nil && !now.Before(inv.StartTime.Add(run)) {
		end := inv.StartTime.Add(run)
		inv.State, inv.EndTime = InvestigationBenign, &end
	}
	return inv
}

// InvestigationNotFound is the NotFound error of an investigation id.
func InvestigationNotFound(id string) error {
	return CodedErrorf(NotFound, "ResourceNotFound", "Investigation %s was not found", clip(id))
}

// InvestigationStore keeps the investigations of tenants. Every call
// names its tenant.
type InvestigationStore interface {
	// StartInvestigation stores a new investigation of machine
	// inv.MachineID: Running, its id the tenant's next number, started
	// now, with the machine's name. NotFound (ResourceNotFound) if the
	// tenant has no such machine; Invalid for bad texts.
	StartInvestigation(ctx context.Context, tenantID string, inv Investigation) (Investigation, error)

	// Investigations returns the tenant's investigations by id
	// (ascending); an empty list when none. NotFound if the tenant does
	// not exist.
	Investigations(ctx context.Context, tenantID string) ([]Investigation, error)

	// Investigation returns the investigation of an id, or else the
	// first (by id) that a triggering alert id names. NotFound
	// (InvestigationNotFound) if none.
	Investigation(ctx context.Context, tenantID, id string) (Investigation, error)
}

// Normalize validates a new investigation before the store keeps it: a
// machine id, texts of valid UTF-8 and bounded length. The error is of
// kind Invalid and names the field.
func (inv *Investigation) Normalize() error {
	inv.MachineID = strings.ToLower(inv.MachineID)
	if !ValidMachineID(inv.MachineID) {
		return InvalidField("machineId", "must be 40 hexadecimal characters, got %q", clip(inv.MachineID))
	}
	for _, s := range []struct {
		name string
		v    *string
	}{{"Comment", &inv.Comment}, {"requestor", &inv.Requestor}, {"triggeringAlertId", inv.TriggeringAlertID}} {
		if err := checkText(s.name, s.v); err != nil {
			return err
		}
	}
	return nil
}
