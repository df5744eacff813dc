package readmodel_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/odata"
	"github.com/openatp/openatp/readmodel"
	"github.com/openatp/openatp/sqlite"
	"github.com/openatp/openatp/wire"
)

var ctx = context.Background()

func openStore(t *testing.T, path string) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// world generates writes over a small id space, so that they collide.
type world struct {
	rng      *rand.Rand
	machines int
	users    int
}

func (w *world) machineID(n int) string { return fmt.Sprintf("%040x", n) }

func (w *world) machine() openatp.Machine {
	n := w.rng.IntN(w.machines)
	m := openatp.Machine{
		ID:              w.machineID(n),
		ComputerDNSName: openatp.Ptr(fmt.Sprintf("host%d.%s", n%40, []string{"contoso.com", "fabrikam.com"}[w.rng.IntN(2)])), // names repeat
		OSPlatform:      openatp.Ptr([]string{"Windows10", "Windows11", "Linux"}[w.rng.IntN(3)]),
		HealthStatus:    openatp.Ptr("Active"),
		MachineTags:     []string{},
		IPAddresses:     []openatp.IPAddress{},
	}
	if w.rng.IntN(2) == 0 {
		m.MachineTags = append(m.MachineTags, []string{"tier0", "pci", "lab"}[w.rng.IntN(3)])
	}
	return m
}

func (w *world) user() (name, domain string) {
	n := w.rng.IntN(w.users)
	return fmt.Sprintf("user%d", n), []string{"contoso", "CONTOSO", "fabrikam"}[w.rng.IntN(3)]
}

// logons returns events on machines that exist in the store.
func (w *world) logons(t *testing.T, store openatp.Store, tenant string, n int) []openatp.Logon {
	var ids []string
	must(t, store.Snapshot(ctx, tenant, func(m openatp.Machine) error { ids = append(ids, m.ID); return nil },
		func(openatp.UserMachine) error { return nil }))
	if len(ids) == 0 {
		return nil
	}
	ls := make([]openatp.Logon, n)
	for i := range ls {
		name, dom := w.user()
		ls[i] = openatp.Logon{MachineID: ids[w.rng.IntN(len(ids))], AccountName: name, AccountDomain: dom,
			LogonType: "Interactive", Timestamp: time.Date(2024, 1, 1, w.rng.IntN(24), 0, 0, 0, time.UTC)}
	}
	return ls
}

// viewAnswer is what the read model answers for a user: the JSON of its
// machines, or "unknown".
func viewAnswer(v *readmodel.View, u openatp.UserRef) string {
	list, ok := v.UserMachines(u, nil)
	if !ok || len(list) == 0 {
		return "unknown"
	}
	var b []byte
	for i, s := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = v.AppendMachine(b, s)
	}
	return string(b)
}

// storeAnswer is the store's own answer for the same user.
func storeAnswer(t *testing.T, store openatp.Store, tenant string, u openatp.UserRef) string {
	ms, err := store.UserMachines(ctx, tenant, u)
	if openatp.IsKind(err, openatp.NotFound) {
		return "unknown"
	}
	must(t, err)
	var b []byte
	for i := range ms {
		if i > 0 {
			b = append(b, ',')
		}
		b = wire.AppendMachine(b, &ms[i])
	}
	return string(b)
}

// Writes of every kind (machines, logons, deletions, tag and group
// changes, resets, large batches; by this process and by another one on
// the same file) interleave with reads. After each acknowledged write,
// every user's answer from the read model equals the store's own, while
// readers hammer the model all along (the race detector watches them).
func TestRandomizedAgainstStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "openatp.db")
	store := openStore(t, path)
	other := openStore(t, path) // another process's writes, as far as the model can tell
	tn, err := openatp.NewTenant("contoso", time.Now())
	must(t, err)
	must(t, store.CreateTenant(ctx, tn))
	model := readmodel.NewChecked(t, store, readmodel.Options{MaxDelta: 2_000})
	defer model.Close()
	w := &world{rng: rand.New(rand.NewPCG(1, 2)), machines: 200, users: 40}

	stop := make(chan struct{})
	var reads, torn atomic.Int64
	var wg sync.WaitGroup
	for r := range 1 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(r), 9))
			for {
				select {
				case <-stop:
					return
				default:
				}
				v, err := model.View(ctx, tn.ID)
				if err != nil || v == nil {
					continue
				}
				ans := viewAnswer(v, openatp.UserRef{Name: fmt.Sprintf("user%d", rng.IntN(w.users))})
				v.Release()
				reads.Add(1)
				if ans != "unknown" && !json.Valid([]byte("["+ans+"]")) {
					torn.Add(1)
				}
			}
		})
	}
	defer func() { close(stop); wg.Wait() }()

	groupRules := func() openatp.DeviceGroup {
		vals := [][]string{{"tier0"}, {"pci", "lab"}, {"lab"}}[w.rng.IntN(3)]
		return openatp.DeviceGroup{ID: 5, Name: "Tagged", Rank: 1, Rules: []openatp.RuleRow{{Property: openatp.RuleTag, Values: vals}}}
	}
	must(t, store.CreateGroup(ctx, tn.ID, groupRules()))
	must(t, store.CreateGroup(ctx, tn.ID, openatp.DeviceGroup{ID: 6, Name: "Linux", Rank: 2,
		Rules: []openatp.RuleRow{{Property: openatp.RuleOSPlatform, Values: []string{"linux"}}}}))

	fromView := 0
	for step := range 80 {
		writer := openatp.Store(store)
		if w.rng.IntN(3) == 0 {
			writer = other
		}
		switch op := w.rng.IntN(20); {
		case op < 6:
			ms := make([]openatp.Machine, 1+w.rng.IntN(8))
			for i := range ms {
				ms[i] = w.machine()
			}
			must(t, writer.UpsertMachines(ctx, tn.ID, ms))
		case op < 13:
			if ls := w.logons(t, store, tn.ID, 1+w.rng.IntN(20)); ls != nil {
				must(t, writer.AddLogons(ctx, tn.ID, ls))
			}
		case op < 15:
			err := writer.DeleteMachine(ctx, tn.ID, w.machineID(w.rng.IntN(w.machines)))
			if err != nil && !openatp.IsKind(err, openatp.NotFound) {
				t.Fatal(err)
			}
		case op < 17:
			must(t, writer.UpdateGroup(ctx, tn.ID, groupRules()))
		case op < 18:
			// A batch larger than MaxDelta: the model rebuilds.
			ls := w.logons(t, store, tn.ID, 2_500)
			must(t, writer.WriteBatch(ctx, tn.ID, func(b openatp.BatchWriter) error {
				ms := make([]openatp.Machine, 50)
				for i := range ms {
					ms[i] = w.machine()
				}
				if err := b.UpsertMachines(ms); err != nil {
					return err
				}
				return b.AddLogons(ls)
			}))
		case op < 19 && step > 50:
			must(t, writer.ResetTenant(ctx, tn.ID))
			must(t, store.CreateGroup(ctx, tn.ID, groupRules()))
		default:
			must(t, writer.SetSetting(ctx, "unrelated", fmt.Sprint(step))) // a write of no tenant
		}
		// Every user, as the model answers it right after the write.
		if err := model.Warm(ctx, tn.ID); err != nil {
			t.Fatal(err)
		}
		v, err := model.View(ctx, tn.ID)
		must(t, err)
		if v == nil {
			continue // rebuilding: the API answers from the store
		}
		fromView++
		for range 12 {
			u := w.rng.IntN(w.users)
			for _, ref := range []openatp.UserRef{{Name: fmt.Sprintf("user%d", u)}, {Name: fmt.Sprintf("USER%d", u), Domain: "Contoso"}} {
				got, want := viewAnswer(v, ref), storeAnswer(t, store, tn.ID, ref)
				if got != want {
					v.Release()
					t.Fatalf("step %d, user %+v:\nread model: %s\nstore:      %s", step, ref, got, want)
				}
			}
		}
		// Machines by name (the name index), as $filter=computerDnsName
		// eq '…' finds them.
		byName := map[string][]string{}
		must(t, store.Snapshot(ctx, tn.ID, func(m openatp.Machine) error {
			k := strings.ToLower(*m.ComputerDNSName)
			byName[k] = append(byName[k], m.ID)
			return nil
		}, func(openatp.UserMachine) error { return nil }))
		for range 12 {
			name := fmt.Sprintf("HOST%d.%s", w.rng.IntN(40), []string{"contoso.com", "FABRIKAM.com"}[w.rng.IntN(2)])
			f, err := odata.Parse(wire.MachineSchema, "computerDnsName eq '"+name+"'")
			must(t, err)
			page, _, _ := v.QueryMachines(readmodel.MachineQuery{Filter: f, Top: 1000})
			var got []string
			for _, s := range page {
				got = append(got, v.MachineID(s))
			}
			if want := byName[strings.ToLower(name)]; strings.Join(got, ",") != strings.Join(want, ",") {
				v.Release()
				t.Fatalf("step %d: machines named %s: read model %v, store %v", step, name, got, want)
			}
		}
		v.Release()
	}
	if fromView < 50 {
		t.Errorf("only %d of 80 steps were answered by the read model", fromView)
	}
	if torn.Load() > 0 {
		t.Errorf("%d of %d concurrent reads were torn", torn.Load(), reads.Load())
	}
	t.Logf("%d steps compared from the read model; %d concurrent reads", fromView, reads.Load())
}
