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

// ScanTenant reads the table in two halves on two connections only at one
// snapshot: a write that lands between the halves' first reads sends the
// second half back to the first transaction, and the scan is the tenant as
// it was when it began (machines, their values and the users' relations),
// not a mix; without a write the halves give the whole tenant, each
// machine once, with the relations of both halves.
func TestScanTenantHalvesOneSnapshot(t *testing.T) {
	ctx := context.Background()
	db := openAt(t, filepath.Join(t.TempDir(), "scan.db"))
	const tenant = "00000000-0000-0000-0000-0000000000a1"
	if err := db.CreateTenant(ctx, openatp.Tenant{ID: tenant, Name: "a.example", Created: time.Unix(0, 0)}); err != nil {
		t.Fatal(err)
	}
	id := func(n int) string { return fmt.Sprintf("%040x", n) }
	upsert := func(name string, ns ...int) {
		var ms []openatp.Machine
		for _, n := range ns {
			ms = append(ms, openatp.Machine{ID: id(n), ComputerDNSName: openatp.Ptr(fmt.Sprintf("%s%d", name, n))})
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
	upsert("host", 1, 2, 3, 4, 5, 6)
	logon("ann", 1)
	logon("ann", 6)
	scan := func() (machines []string, users []string) {
		var ids []string
		err := db.ScanTenant(ctx, tenant, func(m openatp.Machine) error {
			ids = append(ids, m.ID)
			machines = append(machines, *m.ComputerDNSName)
			return nil
		}, func(u openatp.ScannedUser) error {
			for _, p := range u.Machines {
				users = append(users, u.AccountName+"@"+machines[p])
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(slices.Compact(slices.Sorted(slices.Values(ids)))) != len(ids) {
			t.Errorf("machines %v: one read twice", ids)
		}
		slices.Sort(machines)
		slices.Sort(users)
		return machines, users
	}
	halves := 0
	sqlite.SplitScans(t, 1, func() {
		if halves == 0 {
			upsert("renamed", 5, 7) // 5 in the second half, 7 new
			upsert("renamed", 1)    // 1 in the first
			logon("bob", 5)
		}
		halves++
	})
	ms, us := scan()
	if want := []string{"host1", "host2", "host3", "host4", "host5", "host6"}; !slices.Equal(ms, want) {
		t.Errorf("machines %v, want the tenant's at the scan's start %v", ms, want)
	}
	if want := []string{"ann@host1", "ann@host6"}; !slices.Equal(us, want) {
		t.Errorf("relations %v, want the tenant's at the scan's start %v", us, want)
	}
	if halves != 1 {
		t.Fatalf("the second half began %d times, want 1", halves)
	}
	ms, us = scan() // nothing written meanwhile: the second connection's half is used
	if want := []string{"host2", "host3", "host4", "host6", "renamed1", "renamed5", "renamed7"}; !slices.Equal(ms, want) {
		t.Errorf("machines %v, want %v", ms, want)
	}
	if want := []string{"ann@host6", "ann@renamed1", "bob@renamed5"}; !slices.Equal(us, want) {
		t.Errorf("relations %v, want %v", us, want)
	}
	if halves != 2 {
		t.Fatalf("the second half began %d times, want 2", halves)
	}
}

// The positions of a scan's machines are the order the scan gave them in,
// which the halves interleave: seqs out of order map to their places,
// dense (a table by seq) or sparse (a search), and a seq the scan did not
// give is an error.
func TestScanPositions(t *testing.T) {
	for _, c := range []struct {
		seqs []int64
		list string
		want []uint32
	}{
		{[]int64{5, 3, 4, 9}, "3,9,5", []uint32{1, 3, 0}},
		{[]int64{5000, 10, 3, 90000, 7}, "3,90000,5000,7,10", []uint32{2, 3, 0, 4, 1}},
	} {
		got, err := sqlite.Positions(c.seqs, c.list)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("positions of %s in a scan of %v: %v, %v; want %v", c.list, c.seqs, got, err, c.want)
		}
		if got, err := sqlite.Positions(c.seqs, "4,8"); err == nil {
			t.Errorf("positions of 4,8 in a scan of %v: %v, want an error", c.seqs, got)
		}
	}
}
