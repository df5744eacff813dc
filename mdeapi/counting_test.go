package mdeapi_test

import (
	"context"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/openatp/openatp"
)

// countingStore is the real store, counting every call made through it.
type countingStore struct {
	s openatp.Store
	n atomic.Int64
}

var _ openatp.Store = (*countingStore)(nil)

func (cs *countingStore) calls() int64 { return cs.n.Load() }

func (cs *countingStore) AddLogons(ctx context.Context, a string, b []openatp.Logon) error {
	cs.n.Add(1)
	return cs.s.AddLogons(ctx, a, b)
}
func (cs *countingStore) AddSigningKey(ctx context.Context, a openatp.SigningKey) error {
	cs.n.Add(1)
	return cs.s.AddSigningKey(ctx, a)
}
func (cs *countingStore) App(ctx context.Context, a string, b string) (openatp.App, error) {
	cs.n.Add(1)
	return cs.s.App(ctx, a, b)
}
func (cs *countingStore) Apps(ctx context.Context, a string) ([]openatp.App, error) {
	cs.n.Add(1)
	return cs.s.Apps(ctx, a)
}
func (cs *countingStore) Changes(ctx context.Context, a string, b uint64, c int) (openatp.Changes, error) {
	cs.n.Add(1)
	return cs.s.Changes(ctx, a, b, c)
}
func (cs *countingStore) Close() error { cs.n.Add(1); return cs.s.Close() }
func (cs *countingStore) ContentVersion(ctx context.Context, a string) (uint64, error) {
	cs.n.Add(1)
	return cs.s.ContentVersion(ctx, a)
}
func (cs *countingStore) CreateApp(ctx context.Context, a openatp.App) error {
	cs.n.Add(1)
	return cs.s.CreateApp(ctx, a)
}
func (cs *countingStore) CreateDirectoryUser(ctx context.Context, a string, b openatp.DirectoryUser) error {
	cs.n.Add(1)
	return cs.s.CreateDirectoryUser(ctx, a, b)
}
func (cs *countingStore) CreateGroup(ctx context.Context, a string, b openatp.DeviceGroup) error {
	cs.n.Add(1)
	return cs.s.CreateGroup(ctx, a, b)
}
func (cs *countingStore) CreateTenant(ctx context.Context, a openatp.Tenant) error {
	cs.n.Add(1)
	return cs.s.CreateTenant(ctx, a)
}
func (cs *countingStore) DataVersion(ctx context.Context) (uint64, error) {
	cs.n.Add(1)
	return cs.s.DataVersion(ctx)
}
func (cs *countingStore) DeleteGroup(ctx context.Context, a string, b int64) error {
	cs.n.Add(1)
	return cs.s.DeleteGroup(ctx, a, b)
}
func (cs *countingStore) DeleteMachine(ctx context.Context, a string, b string) error {
	cs.n.Add(1)
	return cs.s.DeleteMachine(ctx, a, b)
}
func (cs *countingStore) DeleteRole(ctx context.Context, a string, b string) error {
	cs.n.Add(1)
	return cs.s.DeleteRole(ctx, a, b)
}
func (cs *countingStore) DirectoryUser(ctx context.Context, a string, b string) (openatp.DirectoryUser, error) {
	cs.n.Add(1)
	return cs.s.DirectoryUser(ctx, a, b)
}
func (cs *countingStore) DirectoryUsers(ctx context.Context, a string) ([]openatp.DirectoryUser, error) {
	cs.n.Add(1)
	return cs.s.DirectoryUsers(ctx, a)
}
func (cs *countingStore) Groups(ctx context.Context, a string) ([]openatp.DeviceGroup, error) {
	cs.n.Add(1)
	return cs.s.Groups(ctx, a)
}
func (cs *countingStore) Machine(ctx context.Context, a string, b string) (openatp.Machine, error) {
	cs.n.Add(1)
	return cs.s.Machine(ctx, a, b)
}
func (cs *countingStore) MachineUsers(ctx context.Context, a string, b string) ([]openatp.UserMachine, error) {
	cs.n.Add(1)
	return cs.s.MachineUsers(ctx, a, b)
}
func (cs *countingStore) MachinesByIP(ctx context.Context, a string, b netip.Addr, c time.Time, d time.Time) ([]string, error) {
	cs.n.Add(1)
	return cs.s.MachinesByIP(ctx, a, b, c, d)
}
func (cs *countingStore) Ping(ctx context.Context) error { cs.n.Add(1); return cs.s.Ping(ctx) }
func (cs *countingStore) PutRole(ctx context.Context, a string, b openatp.Role) error {
	cs.n.Add(1)
	return cs.s.PutRole(ctx, a, b)
}
func (cs *countingStore) PutUserGroup(ctx context.Context, a string, b openatp.UserGroup) error {
	cs.n.Add(1)
	return cs.s.PutUserGroup(ctx, a, b)
}
func (cs *countingStore) ResetTenant(ctx context.Context, a string) error {
	cs.n.Add(1)
	return cs.s.ResetTenant(ctx, a)
}
func (cs *countingStore) Roles(ctx context.Context, a string) ([]openatp.Role, error) {
	cs.n.Add(1)
	return cs.s.Roles(ctx, a)
}
func (cs *countingStore) ScanTenant(ctx context.Context, a string, b func(openatp.Machine) error, d func(openatp.ScannedUser) error) error {
	cs.n.Add(1)
	return cs.s.ScanTenant(ctx, a, b, d)
}
func (cs *countingStore) SetSetting(ctx context.Context, a string, b string) error {
	cs.n.Add(1)
	return cs.s.SetSetting(ctx, a, b)
}
func (cs *countingStore) SetSettingIfAbsent(ctx context.Context, a string, b string) (string, error) {
	cs.n.Add(1)
	return cs.s.SetSettingIfAbsent(ctx, a, b)
}
func (cs *countingStore) Setting(ctx context.Context, a string) (string, error) {
	cs.n.Add(1)
	return cs.s.Setting(ctx, a)
}
func (cs *countingStore) Settings(ctx context.Context, a string) (map[string]string, error) {
	cs.n.Add(1)
	return cs.s.Settings(ctx, a)
}
func (cs *countingStore) SigningKeys(ctx context.Context) ([]openatp.SigningKey, error) {
	cs.n.Add(1)
	return cs.s.SigningKeys(ctx)
}
func (cs *countingStore) Snapshot(ctx context.Context, a string, b func(openatp.Machine) error, d func(openatp.UserMachine) error) error {
	cs.n.Add(1)
	return cs.s.Snapshot(ctx, a, b, d)
}
func (cs *countingStore) Tenant(ctx context.Context, a string) (openatp.Tenant, error) {
	cs.n.Add(1)
	return cs.s.Tenant(ctx, a)
}
func (cs *countingStore) TenantStats(ctx context.Context, a string) (openatp.TenantStats, error) {
	cs.n.Add(1)
	return cs.s.TenantStats(ctx, a)
}
func (cs *countingStore) Tenants(ctx context.Context) ([]openatp.Tenant, error) {
	cs.n.Add(1)
	return cs.s.Tenants(ctx)
}
func (cs *countingStore) UpdateDirectoryUser(ctx context.Context, a string, b openatp.DirectoryUser) error {
	cs.n.Add(1)
	return cs.s.UpdateDirectoryUser(ctx, a, b)
}
func (cs *countingStore) UpdateGroup(ctx context.Context, a string, b openatp.DeviceGroup) error {
	cs.n.Add(1)
	return cs.s.UpdateGroup(ctx, a, b)
}
func (cs *countingStore) UpdateMachine(ctx context.Context, a string, b string, c func(*openatp.Machine) error) (openatp.Machine, error) {
	cs.n.Add(1)
	return cs.s.UpdateMachine(ctx, a, b, c)
}
func (cs *countingStore) UpdateMachines(ctx context.Context, a string, b []string, c func(*openatp.Machine) error) ([]openatp.Machine, error) {
	cs.n.Add(1)
	return cs.s.UpdateMachines(ctx, a, b, c)
}
func (cs *countingStore) UpsertMachines(ctx context.Context, a string, b []openatp.Machine) error {
	cs.n.Add(1)
	return cs.s.UpsertMachines(ctx, a, b)
}
func (cs *countingStore) UserGroups(ctx context.Context, a string) ([]openatp.UserGroup, error) {
	cs.n.Add(1)
	return cs.s.UserGroups(ctx, a)
}
func (cs *countingStore) UserMachines(ctx context.Context, a string, b openatp.UserRef) ([]openatp.Machine, error) {
	cs.n.Add(1)
	return cs.s.UserMachines(ctx, a, b)
}
func (cs *countingStore) WriteBatch(ctx context.Context, a string, b func(openatp.BatchWriter) error) error {
	cs.n.Add(1)
	return cs.s.WriteBatch(ctx, a, b)
}
func (cs *countingStore) UpsertAlerts(ctx context.Context, a string, b []openatp.Alert) error {
	cs.n.Add(1)
	return cs.s.UpsertAlerts(ctx, a, b)
}
func (cs *countingStore) Alert(ctx context.Context, a, b string) (openatp.Alert, error) {
	cs.n.Add(1)
	return cs.s.Alert(ctx, a, b)
}
func (cs *countingStore) UpdateAlerts(ctx context.Context, a string, b []string, f func(*openatp.Alert, time.Time) error) ([]openatp.Alert, error) {
	cs.n.Add(1)
	return cs.s.UpdateAlerts(ctx, a, b, f)
}
func (cs *countingStore) CreateAlert(ctx context.Context, a string, b openatp.Alert) (openatp.Alert, bool, error) {
	cs.n.Add(1)
	return cs.s.CreateAlert(ctx, a, b)
}
func (cs *countingStore) ScanAlerts(ctx context.Context, a string, f func(openatp.Alert) error) error {
	cs.n.Add(1)
	return cs.s.ScanAlerts(ctx, a, f)
}
func (cs *countingStore) UserRelations(ctx context.Context, a string, b openatp.UserRef) ([]openatp.UserMachine, error) {
	cs.n.Add(1)
	return cs.s.UserRelations(ctx, a, b)
}
func (cs *countingStore) CreateMachineAction(ctx context.Context, a string, b openatp.MachineAction) (openatp.MachineAction, error) {
	cs.n.Add(1)
	return cs.s.CreateMachineAction(ctx, a, b)
}
func (cs *countingStore) MachineAction(ctx context.Context, a, b string) (openatp.MachineAction, error) {
	cs.n.Add(1)
	return cs.s.MachineAction(ctx, a, b)
}
func (cs *countingStore) MachineActions(ctx context.Context, a string, b openatp.MachineActionFilter) ([]openatp.MachineAction, error) {
	cs.n.Add(1)
	return cs.s.MachineActions(ctx, a, b)
}
func (cs *countingStore) CountMachineActions(ctx context.Context, a string, b openatp.MachineActionFilter) (int, error) {
	cs.n.Add(1)
	return cs.s.CountMachineActions(ctx, a, b)
}
func (cs *countingStore) UpdateMachineAction(ctx context.Context, a, b string, c func(*openatp.MachineAction, time.Time) error) (openatp.MachineAction, error) {
	cs.n.Add(1)
	return cs.s.UpdateMachineAction(ctx, a, b, c)
}
func (cs *countingStore) UpdateMachineActions(ctx context.Context, a string, b []string, c func(*openatp.MachineAction, time.Time) error) ([]openatp.MachineAction, []error, error) {
	cs.n.Add(1)
	return cs.s.UpdateMachineActions(ctx, a, b, c)
}
func (cs *countingStore) MachineState(ctx context.Context, a, b string) (openatp.MachineState, error) {
	cs.n.Add(1)
	return cs.s.MachineState(ctx, a, b)
}

func (cs *countingStore) PutMachineActions(ctx context.Context, a string, b []openatp.MachineAction) error {
	cs.n.Add(1)
	return cs.s.PutMachineActions(ctx, a, b)
}
func (cs *countingStore) ImportMachineActions(ctx context.Context, a string, b []openatp.MachineAction) ([]openatp.MachineAction, error) {
	cs.n.Add(1)
	return cs.s.ImportMachineActions(ctx, a, b)
}
func (cs *countingStore) MachineActionEpoch(ctx context.Context, a string) (openatp.ActionEpoch, error) {
	cs.n.Add(1)
	return cs.s.MachineActionEpoch(ctx, a)
}
func (cs *countingStore) LiveMachineActions(ctx context.Context, a func(string, openatp.MachineAction) error) error {
	cs.n.Add(1)
	return cs.s.LiveMachineActions(ctx, a)
}
func (cs *countingStore) PutLibraryFile(ctx context.Context, a string, b openatp.LibraryFile, c bool) (openatp.LibraryFile, error) {
	cs.n.Add(1)
	return cs.s.PutLibraryFile(ctx, a, b, c)
}
func (cs *countingStore) LibraryFiles(ctx context.Context, a string) ([]openatp.LibraryFile, error) {
	cs.n.Add(1)
	return cs.s.LibraryFiles(ctx, a)
}
func (cs *countingStore) LibraryFile(ctx context.Context, a, b string, c bool) (openatp.LibraryFile, error) {
	cs.n.Add(1)
	return cs.s.LibraryFile(ctx, a, b, c)
}
func (cs *countingStore) DeleteLibraryFile(ctx context.Context, a, b string) error {
	cs.n.Add(1)
	return cs.s.DeleteLibraryFile(ctx, a, b)
}
func (cs *countingStore) StartInvestigation(ctx context.Context, a string, b openatp.Investigation) (openatp.Investigation, error) {
	cs.n.Add(1)
	return cs.s.StartInvestigation(ctx, a, b)
}
func (cs *countingStore) Investigations(ctx context.Context, a string) ([]openatp.Investigation, error) {
	cs.n.Add(1)
	return cs.s.Investigations(ctx, a)
}
func (cs *countingStore) Investigation(ctx context.Context, a, b string) (openatp.Investigation, error) {
	cs.n.Add(1)
	return cs.s.Investigation(ctx, a, b)
}
func (cs *countingStore) PutIndicators(ctx context.Context, a string, b []openatp.Indicator, c time.Time, d func(*openatp.Indicator) error) ([]openatp.Indicator, []error, error) {
	cs.n.Add(1)
	return cs.s.PutIndicators(ctx, a, b, c, d)
}
func (cs *countingStore) ImportIndicators(ctx context.Context, a string, b []openatp.Indicator, c time.Time) ([]openatp.Indicator, error) {
	cs.n.Add(1)
	return cs.s.ImportIndicators(ctx, a, b, c)
}
func (cs *countingStore) Indicators(ctx context.Context, a string, keys ...string) ([]openatp.Indicator, error) {
	cs.n.Add(1)
	return cs.s.Indicators(ctx, a, keys...)
}
func (cs *countingStore) Indicator(ctx context.Context, a, b string) (openatp.Indicator, error) {
	cs.n.Add(1)
	return cs.s.Indicator(ctx, a, b)
}
func (cs *countingStore) DeleteIndicators(ctx context.Context, a string, b []string) error {
	cs.n.Add(1)
	return cs.s.DeleteIndicators(ctx, a, b)
}
func (cs *countingStore) AddFileEvents(ctx context.Context, a string, b []openatp.FileEvent) error {
	cs.n.Add(1)
	return cs.s.AddFileEvents(ctx, a, b)
}
func (cs *countingStore) AddNetworkEvents(ctx context.Context, a string, b []openatp.NetworkEvent) error {
	cs.n.Add(1)
	return cs.s.AddNetworkEvents(ctx, a, b)
}
func (cs *countingStore) FileEvents(ctx context.Context, a string, b openatp.EventFilter) ([]openatp.FileEvent, error) {
	cs.n.Add(1)
	return cs.s.FileEvents(ctx, a, b)
}
func (cs *countingStore) NetworkEvents(ctx context.Context, a string, b openatp.EventFilter) ([]openatp.NetworkEvent, error) {
	cs.n.Add(1)
	return cs.s.NetworkEvents(ctx, a, b)
}
func (cs *countingStore) DeleteEventsBefore(ctx context.Context, a time.Time) (int64, error) {
	cs.n.Add(1)
	return cs.s.DeleteEventsBefore(ctx, a)
}
