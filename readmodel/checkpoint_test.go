package readmodel_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/readmodel"
	"github.com/openatp/openatp/readmodel/checkpoint"
)

// dump writes down everything a view answers of a tenant of w: every
// machine (its JSON, with its device group), the machines of every user
// and of every name, and every alert with its evidence, and the alerts of
// each file hash.
func dump(t *testing.T, model *readmodel.Model, tenantID string, w *world) string {
	t.Helper()
	v, err := model.View(ctx, tenantID)
	must(t, err)
	if v == nil {
		t.Fatal("no view")
	}
	defer v.Release()
	var b strings.Builder
	page, _, total := v.QueryMachines(readmodel.MachineQuery{Top: 1 << 20, Count: true})
	fmt.Fprintf(&b, "%d machines\n", total)
	for _, s := range page {
		fmt.Fprintf(&b, "%d %s\n", v.GroupID(s), v.AppendMachine(nil, s))
	}
	for u := range w.users {
		for _, dom := range []string{"", "contoso", "fabrikam"} {
			ref := openatp.UserRef{Name: fmt.Sprintf("user%d", u)}
			if dom != "" {
				ref.Domain = dom
			}
			fmt.Fprintf(&b, "user %v %v: %s\n", ref.Name, dom, viewAnswer(v, ref))
		}
	}
	for n := range 40 {
		s, ok := v.Machine(fmt.Sprintf("HOST%d.contoso.com", n))
		fmt.Fprintf(&b, "name %d: %v %v\n", n, ok, ok && v.MachineID(s) != "")
	}
	alerts, _, _ := v.QueryAlerts(readmodel.AlertQuery{Top: 1 << 20})
	for _, a := range alerts {
		fmt.Fprintf(&b, "%s %s\n", v.MachineID(v.AlertMachine(a)), v.AppendAlert(nil, a, true))
	}
	for i := range 80 {
		var ids []string
		for _, a := range v.AlertsWithEvidence("f" + fmt.Sprintf("%040x", i)) {
			ids = append(ids, v.AlertID(a))
		}
		slices.Sort(ids)
		fmt.Fprintf(&b, "evidence %d: %v\n", i, ids)
	}
	return b.String()
}

// checkpointTenant makes a store with a tenant of machines, users,
// device groups and alerts.
func checkpointTenant(t *testing.T, w *world) (openatp.Store, openatp.Tenant) {
	store := openStore(t, filepath.Join(t.TempDir(), "openatp.db"))
	tn, err := openatp.NewTenant("contoso", time.Now())
	must(t, err)
	must(t, store.CreateTenant(ctx, tn))
	must(t, store.CreateGroup(ctx, tn.ID, openatp.DeviceGroup{ID: 5, Name: "Tier0", Rank: 1,
		Rules: []openatp.RuleRow{{Property: openatp.RuleTag, Values: []string{"tier0"}}}}))
	writeSome(t, store, tn.ID, w, 0)
	return store, tn
}

// writeSome writes machines, logons and alerts (numbered from first).
func writeSome(t *testing.T, store openatp.Store, tenantID string, w *world, first int) {
	ms := make([]openatp.Machine, 60)
	for i := range ms {
		ms[i] = w.machine()
	}
	must(t, store.UpsertMachines(ctx, tenantID, ms))
	must(t, store.AddLogons(ctx, tenantID, w.logons(t, store, tenantID, 100)))
	var alerts []openatp.Alert
	for i := first; i < first+30; i++ {
		a := alertFixture(i, ms[i%len(ms)].ID)
		must(t, a.Normalize())
		alerts = append(alerts, a)
	}
	must(t, store.UpsertAlerts(ctx, tenantID, alerts))
}

// A checkpoint written by one model and loaded by the next, after writes
// to the store in between, answers what a model built from the store
// answers: the feed brings it up to date.
func TestCheckpointLoadsAndCatchesUp(t *testing.T) {
	w := &world{rng: rand.New(rand.NewPCG(3, 4)), machines: 120, users: 30}
	store, tn := checkpointTenant(t, w)
	path := filepath.Join(t.TempDir(), "tenant.checkpoint")
	first := readmodel.NewChecked(t, store, readmodel.Options{})
	must(t, first.Warm(ctx, tn.ID))
	written, err := first.WriteCheckpoint(ctx, tn.ID, path, 0)
	must(t, err)
	cv, err := store.ContentVersion(ctx, tn.ID)
	must(t, err)
	if written != cv {
		t.Fatalf("WriteCheckpoint wrote content version %d, the store's is %d", written, cv)
	}
	if again, err := first.WriteCheckpoint(ctx, tn.ID, path+".again", written); err != nil || again != written {
		t.Errorf("WriteCheckpoint of the version written = %d, %v; want %d, nothing written", again, err, written)
	} else if _, err := os.Stat(path + ".again"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a checkpoint of the version already written was written again: %v", err)
	}
	first.Close()

	// Written while no model runs: a rename, a deletion, more of all.
	writeSome(t, store, tn.ID, w, 30)
	must(t, store.DeleteMachine(ctx, tn.ID, w.machineID(7)))

	loaded := readmodel.NewChecked(t, store, readmodel.Options{})
	v, err := loaded.LoadCheckpoint(ctx, tn.ID, path)
	if err != nil || v != written {
		t.Fatalf("LoadCheckpoint = %d, %v; want %d", v, err, written)
	}
	built := readmodel.NewChecked(t, store, readmodel.Options{})
	must(t, built.Warm(ctx, tn.ID))
	if got, want := dump(t, loaded, tn.ID, w), dump(t, built, tn.ID, w); got != want {
		t.Errorf("the model loaded from the checkpoint answers\n%s\nthe model built from the store\n%s", got, want)
	}
	n := 0
	must(t, store.ScanAlerts(ctx, tn.ID, func(openatp.Alert) error { n++; return nil }))
	compareAlerts(t, loaded, store, tn.ID, n)

	// And a checkpoint of the loaded model (its arena of copied chunks
	// and appended ones) loads as well.
	_, err = loaded.WriteCheckpoint(ctx, tn.ID, path, 0)
	must(t, err)
	again := readmodel.NewChecked(t, store, readmodel.Options{})
	if _, err := again.LoadCheckpoint(ctx, tn.ID, path); err != nil {
		t.Fatal(err)
	}
	if got, want := dump(t, again, tn.ID, w), dump(t, built, tn.ID, w); got != want {
		t.Errorf("the model loaded from the second checkpoint answers\n%s\nwant\n%s", got, want)
	}
}

// A checkpoint that is not whole, of another format, store or tenant, or
// that the feed cannot bring up to date is not loaded: LoadCheckpoint
// says why, and the model builds the tenant from the store as without one.
func TestCheckpointMismatchIgnored(t *testing.T) {
	w := &world{rng: rand.New(rand.NewPCG(5, 6)), machines: 80, users: 20}
	store, tn := checkpointTenant(t, w)
	dir := t.TempDir()
	path := filepath.Join(dir, "good")
	m := readmodel.NewChecked(t, store, readmodel.Options{MaxDelta: 50})
	must(t, m.Warm(ctx, tn.ID))
	_, err := m.WriteCheckpoint(ctx, tn.ID, path, 0)
	must(t, err)
	good, err := os.ReadFile(path)
	must(t, err)
	variant := func(name string, f func(b []byte) []byte) string {
		p := filepath.Join(dir, name)
		must(t, os.WriteFile(p, f(append([]byte(nil), good...)), 0o600))
		return p
	}
	// Another store: the same tenant id, created at another time.
	other := openStore(t, filepath.Join(t.TempDir(), "other.db"))
	twin := tn
	twin.Created = tn.Created.Add(time.Second)
	must(t, other.CreateTenant(ctx, twin))
	writeSome(t, other, tn.ID, w, 0)

	cases := []struct {
		name  string
		store openatp.Store
		path  string
		want  string
	}{
		{"corrupt", store, variant("corrupt", func(b []byte) []byte { b[len(b)/2] ^= 0x40; return b }), "checksum mismatch"},
		{"truncated", store, variant("truncated", func(b []byte) []byte { return b[:len(b)*2/3] }), "not a valid checkpoint"},
		{"empty", store, variant("empty", func([]byte) []byte { return nil }), "not a valid checkpoint"},
		{"other format", store, variant("format", func(b []byte) []byte { b[8]++; return b }), "format 2, not 1"},
		{"other store", other, path, "another tenant or store"},
		{"missing", store, filepath.Join(dir, "none"), "no such file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fresh := readmodel.NewChecked(t, c.store, readmodel.Options{})
			if _, err := fresh.LoadCheckpoint(ctx, tn.ID, c.path); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("LoadCheckpoint: %v, want an error saying %q", err, c.want)
			}
			built := readmodel.NewChecked(t, c.store, readmodel.Options{})
			must(t, fresh.Warm(ctx, tn.ID))
			must(t, built.Warm(ctx, tn.ID))
			if got, want := dump(t, fresh, tn.ID, w), dump(t, built, tn.ID, w); got != want {
				t.Errorf("after the ignored checkpoint the model answers\n%s\nwant\n%s", got, want)
			}
		})
	}
	// Too far behind for the feed (more changes than MaxDelta): ignored.
	writeSome(t, store, tn.ID, w, 100)
	fresh := readmodel.NewChecked(t, store, readmodel.Options{MaxDelta: 50})
	if _, err := fresh.LoadCheckpoint(ctx, tn.ID, path); err == nil || !strings.Contains(err.Error(), "cannot bring content version") {
		t.Errorf("LoadCheckpoint of a checkpoint too far behind: %v", err)
	}
	if !errors.Is(func() error { _, err := checkpoint.Open(filepath.Join(dir, "corrupt")); return err }(), checkpoint.ErrInvalid) {
		t.Error("Open of a corrupt checkpoint: the error is not ErrInvalid")
	}
}
