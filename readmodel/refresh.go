package readmodel

import (
	"context"
	"time"

	"github.com/openatp/openatp"
)

// Refreshing returns store as the API's handlers see it: after each
// content write it brings the tenant's read model m up to date (Refresh)
// before the write is acknowledged. See refreshing.
func Refreshing(store openatp.Store, m *Model) openatp.Store {
	return refreshing{Store: store, model: m}
}

// refreshing is the store as the handlers see it: after each content write
// it brings the tenant's read model up to date before the write is
// acknowledged, so that a client reading right after its own write (or
// anyone's) finds the fast path current instead of waiting for the delta,
// and the readers already waiting share one sync. A failed refresh is not
// the write's failure: the next read syncs.
type refreshing struct {
	openatp.Store
	model *Model
}

// Unwrap returns the store s wraps, for the optional interfaces of
// stores (sightings.Of).
func (s refreshing) Unwrap() openatp.Store { return s.Store }

func (s refreshing) refresh(ctx context.Context, tenantID string, err error) error {
	if err == nil {
		_ = s.model.Refresh(ctx, tenantID)
	}
	return err
}

func (s refreshing) UpsertMachines(ctx context.Context, tenantID string, ms []openatp.Machine) error {
	return s.refresh(ctx, tenantID, s.Store.UpsertMachines(ctx, tenantID, ms))
}

func (s refreshing) AddLogons(ctx context.Context, tenantID string, ls []openatp.Logon) error {
	return s.refresh(ctx, tenantID, s.Store.AddLogons(ctx, tenantID, ls))
}

func (s refreshing) DeleteMachine(ctx context.Context, tenantID, id string) error {
	return s.refresh(ctx, tenantID, s.Store.DeleteMachine(ctx, tenantID, id))
}

func (s refreshing) ResetTenant(ctx context.Context, tenantID string) error {
	return s.refresh(ctx, tenantID, s.Store.ResetTenant(ctx, tenantID))
}

func (s refreshing) UpdateMachine(ctx context.Context, tenantID, id string, f func(m *openatp.Machine) error) (openatp.Machine, error) {
	m, err := s.Store.UpdateMachine(ctx, tenantID, id, f)
	return m, s.refresh(ctx, tenantID, err)
}

func (s refreshing) UpdateMachines(ctx context.Context, tenantID string, ids []string, f func(m *openatp.Machine) error) ([]openatp.Machine, error) {
	ms, err := s.Store.UpdateMachines(ctx, tenantID, ids, f)
	return ms, s.refresh(ctx, tenantID, err)
}

func (s refreshing) WriteBatch(ctx context.Context, tenantID string, f func(w openatp.BatchWriter) error) error {
	return s.refresh(ctx, tenantID, s.Store.WriteBatch(ctx, tenantID, f))
}

func (s refreshing) UpsertAlerts(ctx context.Context, tenantID string, as []openatp.Alert) error {
	return s.refresh(ctx, tenantID, s.Store.UpsertAlerts(ctx, tenantID, as))
}

func (s refreshing) UpdateAlerts(ctx context.Context, tenantID string, ids []string, f func(a *openatp.Alert, stamp time.Time) error) ([]openatp.Alert, error) {
	as, err := s.Store.UpdateAlerts(ctx, tenantID, ids, f)
	return as, s.refresh(ctx, tenantID, err)
}

func (s refreshing) CreateAlert(ctx context.Context, tenantID string, a openatp.Alert) (openatp.Alert, bool, error) {
	stored, created, err := s.Store.CreateAlert(ctx, tenantID, a)
	return stored, created, s.refresh(ctx, tenantID, err)
}
