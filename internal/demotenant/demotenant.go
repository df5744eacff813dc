// Package demotenant provisions the demo tenant of 'openatp serve --demo':
// the documentation's example entities and a generated fleet (package
// demo), its device groups, roles and delegated users, its application,
// and the credentials it writes to the data folder for clients and the
// CLI to read.
package demotenant

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/hunting"
	"github.com/openatp/openatp/internal/demo"
	"github.com/openatp/openatp/internal/manage"
	"github.com/openatp/openatp/internal/timatch"
	"github.com/openatp/openatp/vuln"
)

// Credentials is what `openatp demo-credentials` prints and what
// `serve --demo` writes to <data>/demo-credentials.json.
type Credentials struct {
	Tenant       string `json:"tenant"`
	TenantName   string `json:"tenant_name"`
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	BaseURL      string `json:"base_url"`
	TLSBaseURL   string `json:"tls_base_url"`
	CAFile       string `json:"ca_file"`
	AdminKey     string `json:"admin_key"`
	AdminURL     string `json:"admin_url,omitempty"` // where the admin API is served, if anywhere

	Users []User `json:"users"`
	// FindByIP are the arguments of a findbyip call that finds a machine:
	// one machine of the fleet reports its address when the demo is made.
	FindByIP string `json:"find_by_ip"`
}

// User is a delegated user of the demo tenant.
type User struct {
	Username    string `json:"username"`
	Password    string `json:"password"`
	Description string `json:"description"`
}

// The demo tenant's name, the settings and file its credentials are kept
// in, the deployment's admin-key setting, and what the demo generates.
const (
	TenantName      = "demo.onmicrosoft.com"
	Setting         = "demo_credentials"
	CredFile        = "demo-credentials.json"
	AdminKeySetting = "admin_key"
	demoSeed        = 20180802
	demoMachines    = 300
	demoCVEs        = 800 // vulnerabilities of the demo's catalog
	demoSoftware    = 14  // products installed on each demo machine
	demoUsers       = 150
	demoAlerts      = 200
	// Actions is the number of generated past machine actions: every type
	// of demo.HistoryTypes in every final status.
	Actions = 40
	// FileEvents and NetworkEvents are the numbers of generated observed
	// events (demo.GenerateEvents), over the week before now.
	FileEvents    = 2000
	NetworkEvents = 2000
)

// PollFrom is the time from which the demo's alert poll asks: a week
// before the demo tenant was created (seeded), which is the end of its
// generated alerts' history, so that the first poll finds some, and every
// alert `seed --live` writes.
func PollFrom(created time.Time) time.Time {
	return demo.StartAt(created).Add(-7 * 24 * time.Hour)
}

// docAlertGroupID is the demo's device group "A" of the documentation's
// example alert (its machine temp123.middleeast.corp.microsoft.com).
const docAlertGroupID = 146

// EnsureAdminKey returns the deployment's admin key, creating it once.
func EnsureAdminKey(ctx context.Context, store openatp.Store) (string, error) {
	return store.SetSettingIfAbsent(ctx, AdminKeySetting, openatp.NewSecret())
}

// Ensure creates and seeds the demo tenant unless it exists, and
// returns its credentials (without the addresses, which belong to a run).
func Ensure(ctx context.Context, store openatp.Store) (Credentials, error) {
	var c Credentials
	if v, err := store.Setting(ctx, Setting); err == nil {
		if err := json.Unmarshal([]byte(v), &c); err != nil {
			return c, fmt.Errorf("stored demo credentials: %w", err)
		}
		if _, err := store.Tenant(ctx, c.Tenant); err == nil {
			return c, nil
		}
	} else if !openatp.IsKind(err, openatp.NotFound) {
		return c, err
	}
	now := time.Now()
	t, err := store.Tenant(ctx, TenantName)
	if openatp.IsKind(err, openatp.NotFound) {
		if t, err = openatp.NewTenant(TenantName, now); err != nil {
			return c, err
		}
		err = store.CreateTenant(ctx, t)
		if openatp.IsKind(err, openatp.Conflict) {
			// Another replica on the same database, starting at the same
			// moment, creates the demo: use what it stores.
			return Wait(ctx, store)
		}
	} else if err == nil && now.Sub(t.Created) < WaitFor {
		return Wait(ctx, store) // being created by another replica
	}
	if err != nil {
		return c, err
	}
	app, secret, err := openatp.NewApp(t.ID, "openatp demo app",
		// Read and write of every family, so that each route the README
		// shows (machine actions, live response, indicators, pivots) works with
		// the printed token.
		append([]string{openatp.PermMachineReadAll, openatp.PermMachineReadWriteAll, openatp.PermUserReadAll, openatp.PermAlertReadWriteAll,
			openatp.PermLibraryManage, openatp.PermTiReadWriteAll, openatp.PermFileReadAll, openatp.PermIPReadAll, openatp.PermURLReadAll,
			vuln.PermVulnerabilityReadAll, vuln.PermSoftwareReadAll, vuln.PermRecommendationReadAll, vuln.PermScoreReadAll,
			hunting.PermAdvancedQueryReadAll, hunting.PermAdvancedHuntingReadAll, hunting.PermThreatHuntingReadAll},
			openatp.ActionPermissions...),
		append([]string{openatp.PermMachineRead, openatp.PermMachineReadWrite, openatp.PermUserReadAll, openatp.PermAlertReadWrite,
			openatp.PermLibraryManage, openatp.PermTiReadWrite, openatp.PermFileReadAll, openatp.PermIPReadAll, openatp.PermURLReadAll,
			vuln.PermVulnerabilityRead, vuln.PermSoftwareRead, vuln.PermRecommendationRead, vuln.PermScoreRead,
			hunting.PermAdvancedQueryRead, hunting.PermAdvancedHuntingRead, hunting.PermThreatHuntingReadAll},
			openatp.ActionPermissions...), now)
	if err != nil {
		return c, err
	}
	if err := store.CreateApp(ctx, app); err != nil {
		return c, err
	}
	if err := seedDemo(ctx, store, t.ID, now); err != nil {
		return c, fmt.Errorf("seeding the demo tenant: %w", err)
	}
	if err := PutIndicators(ctx, store, t.ID, demo.Indicators(demo.StartAt(now), app.ClientID, app.Name), now); err != nil {
		return c, fmt.Errorf("seeding the demo tenant's indicators: %w", err)
	}
	users, err := seedDemoRBAC(ctx, store, t)
	if err != nil {
		return c, fmt.Errorf("seeding the demo tenant's roles: %w", err)
	}
	findByIP, err := Report(ctx, store, t.ID, now)
	if err != nil {
		return c, fmt.Errorf("seeding the demo tenant's IP history: %w", err)
	}
	c = Credentials{Tenant: t.ID, TenantName: t.Name, ClientID: app.ClientID, ClientSecret: secret, Users: users, FindByIP: findByIP}
	b, _ := json.Marshal(c)
	if err := store.SetSetting(ctx, Setting, string(b)); err != nil {
		return c, err
	}
	return c, nil
}

// WaitFor is how long a replica waits for another one that is creating
// the demo tenant; a tenant older than that without credentials was left
// by a failed start and is filled again.
const WaitFor = 2 * time.Minute

// Wait waits for the demo credentials another process is storing.
func Wait(ctx context.Context, store openatp.Store) (Credentials, error) {
	var c Credentials
	deadline := time.Now().Add(WaitFor)
	for {
		v, err := store.Setting(ctx, Setting)
		if err == nil {
			if err := json.Unmarshal([]byte(v), &c); err != nil {
				return c, fmt.Errorf("stored demo credentials: %w", err)
			}
			return c, nil
		}
		if !openatp.IsKind(err, openatp.NotFound) {
			return c, err
		}
		if time.Now().After(deadline) {
			return c, fmt.Errorf("the demo tenant exists but another process has not finished creating it within %v", WaitFor)
		}
		select {
		case <-ctx.Done():
			return c, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// seedDemo fills the demo tenant: the documentation's own examples (the
// user1 machines, and the example alert on its own machine in device group
// "A", with its documented values but the tenant's aadTenantId; the
// example machine action on its own machine, desktop-test) plus a
// deterministic, realistic generated fleet with alerts of every severity
// and status, a history of machine actions of every type in every
// final status, laid out over the days before now.
func seedDemo(ctx context.Context, store openatp.Store, tenantID string, now time.Time) error {
	ms, ls, gs := demo.DocExample()
	docMachine, docAlert := demo.DocAlert()
	docAlert.AADTenantID = &tenantID
	actionMachine, docAction := demo.DocAction()
	ms = append(ms, docMachine, actionMachine)
	gs = append(gs, demo.Groups()...)
	gs = append(gs, openatp.DeviceGroup{ID: docAlertGroupID, Name: "A", Description: "The device group of the documentation's example alert.",
		Rank: len(gs) + 1, Rules: []openatp.RuleRow{{Property: openatp.RuleName, Values: []string{"temp123"}}}})
	for _, g := range gs {
		if err := store.CreateGroup(ctx, tenantID, g); err != nil && !openatp.IsKind(err, openatp.Conflict) {
			return err
		}
	}
	var logons []openatp.Logon
	alerts := []openatp.Alert{docAlert}
	opts := demo.Options{Seed: demoSeed, Machines: demoMachines, Users: demoUsers, Alerts: demoAlerts, Start: demo.StartAt(now), AADTenant: tenantID}
	err := demo.Generate(opts, demo.Funcs{
		OnMachine: func(m openatp.Machine) error { ms = append(ms, m); return nil },
		OnLogon:   func(l openatp.Logon) error { logons = append(logons, l); return nil },
		OnAlert:   func(a openatp.Alert) error { alerts = append(alerts, a); return nil },
	})
	if err != nil {
		return err
	}
	for i := range ms {
		if err := ms[i].Normalize(); err != nil {
			return err
		}
	}
	ls = append(ls, logons...)
	for i := range ls {
		if err := ls[i].Normalize(); err != nil {
			return err
		}
	}
	if err := store.UpsertMachines(ctx, tenantID, ms); err != nil {
		return err
	}
	if err := store.AddLogons(ctx, tenantID, ls); err != nil {
		return err
	}
	if err := store.UpsertAlerts(ctx, tenantID, alerts); err != nil {
		return err
	}
	actions := []openatp.MachineAction{docAction}
	if err := demo.GenerateActions(opts, Actions, func(a openatp.MachineAction) error { actions = append(actions, a); return nil }); err != nil {
		return err
	}
	if err := store.PutMachineActions(ctx, tenantID, actions); err != nil {
		return err
	}
	var fes []openatp.FileEvent
	var nes []openatp.NetworkEvent
	err = demo.GenerateEvents(opts, FileEvents, NetworkEvents, func(e openatp.FileEvent) error { fes = append(fes, e); return nil },
		func(e openatp.NetworkEvent) error { nes = append(nes, e); return nil })
	if err != nil {
		return err
	}
	if err := store.AddFileEvents(ctx, tenantID, fes); err != nil {
		return err
	}
	if err := store.AddNetworkEvents(ctx, tenantID, nes); err != nil {
		return err
	}
	return SeedSoftware(ctx, store, tenantID, demo.SoftwareOptions{Seed: demoSeed, CVEs: demoCVEs, PerMachine: demoSoftware, Start: opts.Start}, now)
}

// SeedSoftware gives the tenant's machines (all of them, as stored) a
// vulnerability management catalog and inventory generated under o
// (demo.SoftwareCatalog, demo.SoftwareInventory), each in one
// transaction. A store without vulnerability management is left as it is.
func SeedSoftware(ctx context.Context, store openatp.Store, tenantID string, o demo.SoftwareOptions, now time.Time) error {
	v, ok := store.(vuln.Store)
	if !ok {
		return nil
	}
	var ms []openatp.Machine
	if err := store.Snapshot(ctx, tenantID, func(m openatp.Machine) error { ms = append(ms, m); return nil },
		func(openatp.UserMachine) error { return nil }); err != nil {
		return err
	}
	if err := v.PutCatalog(ctx, tenantID, demo.SoftwareCatalog(o), now); err != nil {
		return err
	}
	var genErr error
	next, stop := iter.Pull(demo.InventorySeq(o, ms, &genErr))
	defer stop()
	return v.PutInventory(ctx, tenantID, now, func() (*vuln.InventoryRecord, error) {
		r, ok := next()
		if !ok {
			if genErr != nil {
				return nil, genErr
			}
			return nil, io.EOF
		}
		return r, nil
	})
}

// PutIndicators stores indicators (as created by an application, with
// every device group) and raises the alerts of those the tenant's stored
// events match, as a submit through the API does (timatch.LookBack).
func PutIndicators(ctx context.Context, store openatp.Store, tenantID string, ins []openatp.Indicator, now time.Time) error {
	for len(ins) > 0 {
		n := min(len(ins), openatp.MaxIndicatorBatch)
		out, errs, err := store.PutIndicators(ctx, tenantID, ins[:n], now, nil)
		if err != nil {
			return err
		}
		if err := errors.Join(errs...); err != nil {
			return err
		}
		if err := timatch.LookBack(ctx, store, tenantID, now, out); err != nil {
			return err
		}
		ins = ins[n:]
	}
	return nil
}

// SeedActions writes a history of n machine actions on the machines of
// opts (demo.GenerateActions), batch actions a transaction.
func SeedActions(ctx context.Context, store openatp.Store, tenantID string, opts demo.Options, n, batch int) error {
	var buf []openatp.MachineAction
	flush := func() error {
		err := store.PutMachineActions(ctx, tenantID, buf)
		buf = buf[:0]
		return err
	}
	err := demo.GenerateActions(opts, n, func(a openatp.MachineAction) error {
		if buf = append(buf, a); len(buf) >= min(batch, 10000) {
			return flush()
		}
		return nil
	})
	if err != nil {
		return err
	}
	return flush()
}

// SeedEvents writes the generated file and network events
// (demo.GenerateEvents), batch events a transaction.
func SeedEvents(ctx context.Context, store openatp.Store, tenantID string, opts demo.Options, nf, nn, batch int) error {
	var fs []openatp.FileEvent
	var ns []openatp.NetworkEvent
	flush := func(at int) error {
		if len(fs) >= at && len(fs) > 0 {
			if err := store.AddFileEvents(ctx, tenantID, fs); err != nil {
				return err
			}
			fs = fs[:0]
		}
		if len(ns) >= at && len(ns) > 0 {
			if err := store.AddNetworkEvents(ctx, tenantID, ns); err != nil {
				return err
			}
			ns = ns[:0]
		}
		return nil
	}
	batch = min(batch, 20000)
	err := demo.GenerateEvents(opts, nf, nn,
		func(e openatp.FileEvent) error { fs = append(fs, e); return flush(batch) },
		func(e openatp.NetworkEvent) error { ns = append(ns, e); return flush(batch) })
	if err != nil {
		return err
	}
	return flush(0)
}

// SeedIndicators stores n indicators generated over the values of the
// events of o (demo.GenerateIndicators, created by "openatp seed") and
// raises the alerts of those the stored events match.
func SeedIndicators(ctx context.Context, store openatp.Store, tenantID string, o demo.Options, n int, now time.Time) error {
	var ins []openatp.Indicator
	if err := demo.GenerateIndicators(o, n, "openatp-seed", "openatp seed", func(in openatp.Indicator) error { ins = append(ins, in); return nil }); err != nil {
		return err
	}
	return PutIndicators(ctx, store, tenantID, ins, now)
}

// tier0GroupID is the demo's highest-ranked device group, which only the
// SOC administrators may see; it holds mymachine2.contoso.com.
const tier0GroupID = 150

// seedDemoRBAC gives the demo tenant user groups, roles, device-group
// access and two delegated users: an administrator who sees everything and
// an analyst who sees the documented user's mymachine1 but not mymachine2.
func seedDemoRBAC(ctx context.Context, store openatp.Store, t openatp.Tenant) ([]User, error) {
	admins := openatp.UserGroup{ID: openatp.NewGUID(), Name: "SOC Administrators"}
	analysts := openatp.UserGroup{ID: openatp.NewGUID(), Name: "Contoso Analysts"}
	for _, g := range []openatp.UserGroup{admins, analysts} {
		if err := store.PutUserGroup(ctx, t.ID, g); err != nil {
			return nil, err
		}
	}
	roles := []openatp.Role{
		{Name: openatp.AdminRoleName, Permissions: []string{}, UserGroups: []string{admins.ID}},
		{Name: "Security analyst", Permissions: []string{openatp.PermViewData, openatp.PermAlertsInvestigation}, UserGroups: []string{analysts.ID}},
	}
	for _, r := range roles {
		if err := store.PutRole(ctx, t.ID, r); err != nil {
			return nil, err
		}
	}
	tier0 := openatp.DeviceGroup{ID: tier0GroupID, Name: "Tier-0 assets", Description: "Crown jewels: SOC administrators only", Rank: 1,
		Rules: []openatp.RuleRow{{Property: openatp.RuleName, Values: []string{"mymachine2"}}}, UserGroups: []string{admins.ID}}
	if err := store.CreateGroup(ctx, t.ID, tier0); err != nil {
		return nil, err
	}
	if err := store.UpdateGroup(ctx, t.ID, tier0); err != nil { // rank 1, the others after it
		return nil, err
	}
	gs, err := store.Groups(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	for _, g := range gs {
		if g.ID == 140 { // The-A-Team: the analysts' team
			g.UserGroups = []string{analysts.ID}
			if err := store.UpdateGroup(ctx, t.ID, g); err != nil {
				return nil, err
			}
		}
	}
	var out []User
	for _, u := range []struct {
		name, display, desc string
		group               openatp.UserGroup
	}{
		{"admin@" + t.Name, "Demo Administrator", "Defender for Endpoint administrator: every device group", admins},
		{"analyst@" + t.Name, "Demo Analyst", "Security analyst (View Data) restricted to device group The-A-Team and groups open to all: sees mymachine1 but not mymachine2 (Tier-0 assets)", analysts},
	} {
		v, err := manage.CreateUser(ctx, store, t.ID, manage.UserChange{Name: u.name, DisplayName: &u.display, Groups: &[]string{u.group.ID}})
		if err != nil {
			return nil, err
		}
		out = append(out, User{Username: u.name, Password: v.Password, Description: u.desc})
	}
	return out, nil
}

// WriteFile writes the credentials to <data>/demo-credentials.json.
func WriteFile(dataDir string, c Credentials) error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dataDir, CredFile+".tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dataDir, CredFile))
}

// Report has the first machine of the generated fleet report its
// address now (it may be one not seen for months, and findbyip answers only
// for the past 30 days) and returns the findbyip arguments that find it.
func Report(ctx context.Context, store openatp.Store, tenantID string, now time.Time) (string, error) {
	var first openatp.Machine
	err := demo.Generate(demo.Options{Seed: demoSeed, Machines: 1, Users: 1}, demo.Funcs{
		OnMachine: func(m openatp.Machine) error { first = m; return nil },
		OnLogon:   func(openatp.Logon) error { return nil },
	})
	if err != nil || first.LastIPAddress == nil {
		return "", err
	}
	at := now.UTC().Truncate(time.Second)
	if _, err := store.UpdateMachine(ctx, tenantID, first.ID, func(m *openatp.Machine) error {
		m.LastSeen = &at
		return nil
	}); err != nil {
		return "", err
	}
	return fmt.Sprintf("ip='%s',timestamp=%s", *first.LastIPAddress, at.Format(time.RFC3339)), nil
}
