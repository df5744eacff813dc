package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/sqlite"
)

// ScanTenant reads the users on a second connection only at the first
// one's snapshot: a write that lands between the two transactions' first
// reads sends the users back to the first transaction, and the scan is the
// tenant as it was when it began, not a mix.
func TestScanTenantOneSnapshot(t *testing.T) {
	ctx := context.Background()
	db := openAt(t, filepath.Join(t.TempDir(), "scan.db"))
	const tenant = "00000000-0000-0000-0000-0000000000a1"
	if err := db.CreateTenant(ctx, openatp.Tenant{ID: tenant, Name: "a.example", Created: time.Unix(0, 0)}); err != nil {
		t.Fatal(err)
	}
	id := func(n int) string { return fmt.Sprintf("%040x", n) }
	upsert := func(ns ...int) {
		var ms []openatp.Machine
		for _, n := range ns {
			ms = append(ms, openatp.Machine{ID: id(n), ComputerDNSName: openatp.Ptr(fmt.Sprintf("host%d", n))})
		}
		if err := db.UpsertMachines(ctx, tenant, ms); err != nil {
			t.Fatal(err)
		}
	}
	logon := func(user string, n int) {
		err := db.AddLogons(ctx, tenant, []openatp.Logon{{MachineID: id(n), AccountName: user, AccountDomain: "contoso", Timestamp: time.Unix(int64(n), 0)}})
		if err != nil {
			t.Fatal(err)
		}
	}
	upsert(1, 2, 3)
	logon("ann", 1)
	scan := func() (machines []string, users []string) {
		err := db.ScanTenant(ctx, tenant, func(m openatp.Machine) error { machines = append(machines, m.ID); return nil },
			func(u openatp.ScannedUser) error {
				for _, p := range u.Machines {
					users = append(users, u.AccountName+"@"+machines[p])
				}
				return nil
			})
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(machines)
		slices.Sort(users)
		return machines, users
	}
	writes := 0
	sqlite.BeforeSideRead(t, func() {
		if writes == 0 {
			upsert(4)
			logon("bob", 2)
			logon("ann", 3)
		}
		writes++
	})
	ms, us := scan()
	if want := []string{id(1), id(2), id(3)}; !slices.Equal(ms, want) {
		t.Errorf("machines %v, want the tenant's at the scan's start %v", ms, want)
	}
	if want := []string{"ann@" + id(1)}; !slices.Equal(us, want) {
		t.Errorf("relations %v, want the tenant's at the scan's start %v", us, want)
	}
	if writes != 1 {
		t.Fatalf("the hook ran %d times, want 1", writes)
	}
	ms, us = scan() // nothing written meanwhile: the second connection's read is used
	if want := []string{id(1), id(2), id(3), id(4)}; !slices.Equal(ms, want) {
		t.Errorf("machines %v, want %v", ms, want)
	}
	if want := []string{"ann@" + id(1), "ann@" + id(3), "bob@" + id(2)}; !slices.Equal(us, want) {
		t.Errorf("relations %v, want %v", us, want)
	}
}
