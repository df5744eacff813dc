// Package indicatorsuite holds the conformance cases of
// openatp.IndicatorStore, run by storetest.Run.
package indicatorsuite

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/storetest/internal/fixture"
)

// ctx is the context of every call.
var ctx = context.Background()

// sha1Of is a SHA-1 value made of n.
func sha1Of(n int) string { return fmt.Sprintf("%040x", n) }

// newIndicator is an indicator as the API submits it.
func newIndicator(typ, value, by string) openatp.Indicator {
	return openatp.Indicator{IndicatorType: typ, IndicatorValue: value, Action: "Block", Title: "t " + value, Description: "d",
		Source: by, SourceType: openatp.IndicatorSourceApp, CreatedBy: by, CreatedBySource: by, CreatedByDisplayName: by, LastUpdatedBy: by}
}

// put stores one indicator and fails the test on any error.
func put(t *testing.T, s openatp.Store, tenant string, in openatp.Indicator, now time.Time) openatp.Indicator {
	t.Helper()
	out, errs, err := s.PutIndicators(ctx, tenant, []openatp.Indicator{in}, now, nil)
	fixture.NoErr(t, err)
	fixture.NoErr(t, errs[0])
	return out[0]
}

// RoundTrip checks that an indicator is stored as given, numbered from
// 1, read back by id and in the list, updated in place by type and value
// (any case) or by id, keeping what an update keeps.
func RoundTrip(t *testing.T, su *fixture.Suite) {
	s := su.Open(t)
	a := fixture.MustTenant(t, s, 1, "A")
	now := fixture.At(1)
	exp := fixture.At(100)
	in := newIndicator(openatp.IndicatorFileSha1, "220E7D15B011D7FAC48F2BD61114DB1022197F7F", "app-1")
	in.Application, in.RecommendedActions, in.ExternalID = openatp.Ptr("demo-test"), openatp.Ptr("nothing"), openatp.Ptr("x-1")
	in.ExpirationTime, in.GenerateAlert, in.Severity = &exp, true, "High"
	in.RBACGroupNames, in.RBACGroupIDs = []string{"group1", "group2"}, []int64{3, 7}
	got := put(t, s, a, in, now)
	want := in
	want.ID, want.CreationTime, want.LastUpdateTime = "1", now, now
	fixture.Diff(t, "created", want, got)
	one, err := s.Indicator(ctx, a, "1")
	fixture.NoErr(t, err)
	fixture.Diff(t, "read back", want, one)

	// The same type and value, another case: an update in place, which
	// keeps the id, application, creation and creator.
	upd := newIndicator(openatp.IndicatorFileSha1, "220e7d15b011d7fac48f2bd61114db1022197f7f", "app-2")
	upd.Application, upd.Action, upd.Title = openatp.Ptr("other"), "Allowed", "renamed"
	later := fixture.At(2)
	got = put(t, s, a, upd, later)
	want2 := upd
	want2.ID, want2.Application, want2.CreationTime, want2.LastUpdateTime = "1", in.Application, now, later
	want2.CreatedBy, want2.CreatedBySource, want2.CreatedByDisplayName, want2.Source = "app-1", "app-1", "app-1", "app-1"
	want2.Severity = "Informational"
	fixture.Diff(t, "updated", want2, got)

	// A second one gets 2; an update by id may change the value.
	second := put(t, s, a, newIndicator(openatp.IndicatorIPAddress, "10.1.2.3", "app-1"), now)
	if second.ID != "2" {
		t.Errorf("second id %s, want 2", second.ID)
	}
	byID := newIndicator(openatp.IndicatorIPAddress, "10.1.2.4", "app-1")
	byID.ID = "2"
	if got := put(t, s, a, byID, later); got.ID != "2" || got.IndicatorValue != "10.1.2.4" {
		t.Errorf("update by id %+v", got)
	}
	all, err := s.Indicators(ctx, a)
	fixture.NoErr(t, err)
	if len(all) != 2 || all[0].ID != "1" || all[1].ID != "2" || all[1].IndicatorValue != "10.1.2.4" {
		t.Errorf("list %+v", all)
	}

	// Per-item errors: an unknown id, a value another indicator has, an
	// invalid item, a refusal of may; the others are written.
	missing := newIndicator(openatp.IndicatorIPAddress, "10.9.9.9", "app-1")
	missing.ID = "99"
	taken := newIndicator(openatp.IndicatorIPAddress, "10.1.2.4", "app-1")
	taken.ID = "1"
	bad := newIndicator(openatp.IndicatorFileMd5, "xyz", "app-1")
	refused := newIndicator(openatp.IndicatorFileSha1, sha1Of(0x220e7d15), "app-1")
	refused.IndicatorValue = "220e7d15b011d7fac48f2bd61114db1022197f7f"
	fresh := newIndicator(openatp.IndicatorDomainName, "contoso.com", "app-1")
	out, errs, err := s.PutIndicators(ctx, a, []openatp.Indicator{missing, taken, bad, refused, fresh}, later, func(old *openatp.Indicator) error {
		if old.ID == "1" {
			return openatp.Errorf(openatp.Forbidden, "not yours")
		}
		return nil
	})
	fixture.NoErr(t, err)
	fixture.WantKind(t, errs[0], openatp.NotFound)
	fixture.WantKind(t, errs[1], openatp.Conflict)
	fixture.WantKind(t, errs[2], openatp.Invalid)
	fixture.WantKind(t, errs[3], openatp.Forbidden)
	fixture.NoErr(t, errs[4])
	if out[4].ID != "3" {
		t.Errorf("fresh id %s, want 3", out[4].ID)
	}
	_, err = s.Indicator(ctx, a, "99")
	fixture.WantCode(t, err, openatp.NotFound, "ResourceNotFound")
	_, err = s.Indicator(ctx, a, "x")
	fixture.WantCode(t, err, openatp.NotFound, "ResourceNotFound")
	_, err = s.Indicators(ctx, fixture.TenantID(9))
	fixture.WantKind(t, err, openatp.NotFound)
	_, _, err = s.PutIndicators(ctx, fixture.TenantID(9), []openatp.Indicator{fresh}, now, nil)
	fixture.WantKind(t, err, openatp.NotFound)
}

// Delete checks that deletes are all or nothing, that a number is never
// given twice, tenant isolation and reset.
func Delete(t *testing.T, su *fixture.Suite) {
	s := su.Open(t)
	a := fixture.MustTenant(t, s, 1, "A")
	b := fixture.MustTenant(t, s, 2, "B")
	now := fixture.At(1)
	for i := range 3 {
		put(t, s, a, newIndicator(openatp.IndicatorFileSha1, sha1Of(i), "app"), now)
	}
	if got := put(t, s, b, newIndicator(openatp.IndicatorFileSha1, sha1Of(0), "app"), now); got.ID != "1" {
		t.Errorf("tenant B numbers from %s", got.ID)
	}
	err := s.DeleteIndicators(ctx, a, []string{"1", "4"})
	fixture.WantCode(t, err, openatp.NotFound, "ResourceNotFound")
	fixture.Contains(t, err, "Indicator 4 was not found")
	if all, _ := s.Indicators(ctx, a); len(all) != 3 {
		t.Fatalf("after a failed delete: %d indicators, want 3", len(all))
	}
	fixture.NoErr(t, s.DeleteIndicators(ctx, a, []string{"3", "1"}))
	fixture.WantKind(t, s.DeleteIndicators(ctx, a, []string{"1"}), openatp.NotFound)
	if got := put(t, s, a, newIndicator(openatp.IndicatorFileSha1, sha1Of(9), "app"), now); got.ID != "4" {
		t.Errorf("after deleting 3: id %s, want 4", got.ID)
	}
	if all, _ := s.Indicators(ctx, b); len(all) != 1 {
		t.Errorf("tenant B has %d indicators, want 1", len(all))
	}
	fixture.NoErr(t, s.ResetTenant(ctx, a))
	if all, err := s.Indicators(ctx, a); err != nil || len(all) != 0 {
		t.Errorf("after reset: %d indicators, %v", len(all), err)
	}
	if all, _ := s.Indicators(ctx, b); len(all) != 1 {
		t.Errorf("tenant B after A's reset has %d indicators, want 1", len(all))
	}
}

// Limit checks the 15,000 active indicators of a tenant: one more fails
// (the others of its call are written), an expired one does not count,
// and reviving an expired one counts.
func Limit(t *testing.T, su *fixture.Suite) {
	s := su.Open(t)
	a := fixture.MustTenant(t, s, 1, "A")
	now := fixture.At(1)
	past := now.Add(-time.Hour)
	ins := make([]openatp.Indicator, openatp.MaxActiveIndicators)
	for i := range ins {
		ins[i] = newIndicator(openatp.IndicatorFileSha256, fmt.Sprintf("%064x", i), "app")
	}
	expired := newIndicator(openatp.IndicatorFileMd5, fmt.Sprintf("%032x", 1), "app")
	expired.ExpirationTime = &past
	_, errs, err := s.PutIndicators(ctx, a, append(ins, expired), now, nil)
	fixture.NoErr(t, err)
	for i, e := range errs {
		if e != nil {
			t.Fatalf("item %d: %v", i, e)
		}
	}
	over := newIndicator(openatp.IndicatorFileMd5, fmt.Sprintf("%032x", 2), "app")
	revive := newIndicator(openatp.IndicatorFileMd5, fmt.Sprintf("%032x", 1), "app")
	update := newIndicator(openatp.IndicatorFileSha256, fmt.Sprintf("%064x", 5), "app")
	_, errs, err = s.PutIndicators(ctx, a, []openatp.Indicator{over, revive, update}, now, nil)
	fixture.NoErr(t, err)
	fixture.WantKind(t, errs[0], openatp.Invalid)
	fixture.Contains(t, errs[0], "15000")
	fixture.WantKind(t, errs[1], openatp.Invalid)
	fixture.NoErr(t, errs[2])
	// Once one has expired (by the clock), there is room again.
	_, errs, err = s.PutIndicators(ctx, a, []openatp.Indicator{over}, now.Add(time.Hour), nil)
	fixture.NoErr(t, err)
	fixture.WantKind(t, errs[0], openatp.Invalid)
	fixture.NoErr(t, s.DeleteIndicators(ctx, a, []string{"7"}))
	_, errs, err = s.PutIndicators(ctx, a, []openatp.Indicator{over}, now, nil)
	fixture.NoErr(t, err)
	fixture.NoErr(t, errs[0])
}

// Concurrent checks that writers of one tenant's indicators at the same
// time each succeed, with numbers given once, and one indicator for a
// value submitted by all of them.
func Concurrent(t *testing.T, su *fixture.Suite) {
	s := su.Open(t)
	a := fixture.MustTenant(t, s, 1, "A")
	now := fixture.At(1)
	const writers, each = 8, 5
	var wg sync.WaitGroup
	errc := make(chan error, writers*(each+2))
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ins := []openatp.Indicator{newIndicator(openatp.IndicatorDomainName, "shared.contoso.com", "app")}
			for i := range each {
				ins = append(ins, newIndicator(openatp.IndicatorFileSha1, sha1Of(w*100+i), "app"))
			}
			_, errs, err := s.PutIndicators(ctx, a, ins, now, nil)
			errc <- err
			for _, e := range errs {
				errc <- e
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		fixture.NoErr(t, err)
	}
	all, err := s.Indicators(ctx, a)
	fixture.NoErr(t, err)
	if len(all) != writers*each+1 {
		t.Fatalf("%d indicators, want %d", len(all), writers*each+1)
	}
	for i, in := range all {
		if in.ID != strconv.Itoa(i+1) {
			t.Fatalf("ids %v…: not 1..n", in.ID)
		}
	}
}

// Batch checks that the items of one call see the ones before them: a
// second item of the same value updates the first's new indicator, an
// update by id frees its old value for a later item, and a value taken
// earlier in the call is a Conflict for an update by id.
func Batch(t *testing.T, su *fixture.Suite) {
	s := su.Open(t)
	a := fixture.MustTenant(t, s, 1, "A")
	now := fixture.At(1)
	put(t, s, a, newIndicator(openatp.IndicatorDomainName, "old.contoso.com", "app"), now) // 1
	first := newIndicator(openatp.IndicatorFileSha1, sha1Of(1), "app")
	again := newIndicator(openatp.IndicatorFileSha1, sha1Of(1), "app")
	again.Title = "again"
	move := newIndicator(openatp.IndicatorDomainName, "new.contoso.com", "app")
	move.ID = "1"
	reuse := newIndicator(openatp.IndicatorDomainName, "OLD.contoso.com", "app")
	clash := newIndicator(openatp.IndicatorFileSha1, sha1Of(1), "app")
	clash.ID = "1"
	out, errs, err := s.PutIndicators(ctx, a, []openatp.Indicator{first, again, move, reuse, clash}, now, nil)
	fixture.NoErr(t, err)
	for i := range 4 {
		fixture.NoErr(t, errs[i])
	}
	fixture.WantKind(t, errs[4], openatp.Conflict)
	if got := []string{out[0].ID, out[1].ID, out[2].ID, out[3].ID}; fmt.Sprint(got) != "[2 2 1 3]" {
		t.Errorf("ids %v, want [2 2 1 3]", got)
	}
	all, err := s.Indicators(ctx, a)
	fixture.NoErr(t, err)
	if len(all) != 3 || all[0].IndicatorValue != "new.contoso.com" || all[1].Title != "again" || all[2].IndicatorValue != "OLD.contoso.com" {
		t.Errorf("list %+v", all)
	}
}

// Lookup checks Indicators with value keys: only the indicators of those
// keys, by id; none for unknown keys; NotFound for an unknown tenant;
// another tenant's never.
func Lookup(t *testing.T, su *fixture.Suite) {
	s := su.Open(t)
	a := fixture.MustTenant(t, s, 1, "A")
	b := fixture.MustTenant(t, s, 2, "B")
	now := fixture.At(1)
	for i := range 5 {
		put(t, s, a, newIndicator(openatp.IndicatorFileSha1, sha1Of(i), "app"), now)
	}
	put(t, s, a, newIndicator(openatp.IndicatorIPAddress, "2001:db8::1", "app"), now)
	put(t, s, b, newIndicator(openatp.IndicatorFileSha1, sha1Of(3), "app"), now)
	key := openatp.IndicatorValueKey
	got, err := s.Indicators(ctx, a, key(openatp.IndicatorFileSha1, sha1Of(3)), key(openatp.IndicatorFileSha1, sha1Of(1)),
		key(openatp.IndicatorIPAddress, "2001:DB8:0::1"), key(openatp.IndicatorFileSha256, sha1Of(1)))
	fixture.NoErr(t, err)
	var ids []string
	for _, in := range got {
		ids = append(ids, in.ID)
	}
	if fmt.Sprint(ids) != "[2 4 6]" {
		t.Errorf("lookup ids %v, want [2 4 6]", ids)
	}
	got, err = s.Indicators(ctx, a, key(openatp.IndicatorFileSha1, sha1Of(99)))
	if err != nil || len(got) != 0 {
		t.Errorf("unknown key: %v %v", got, err)
	}
	_, err = s.Indicators(ctx, fixture.TenantID(9), key(openatp.IndicatorFileSha1, sha1Of(1)))
	fixture.WantKind(t, err, openatp.NotFound)
}

// Import checks ImportIndicators: all written, numbered as PutIndicators
// numbers them; or, at an item's error, nothing, the error naming the
// item.
func Import(t *testing.T, su *fixture.Suite) {
	s := su.Open(t)
	a := fixture.MustTenant(t, s, 1, "A")
	now := fixture.At(1)
	put(t, s, a, newIndicator(openatp.IndicatorFileSha1, sha1Of(0), "app"), now)
	upd := newIndicator(openatp.IndicatorFileSha1, sha1Of(0), "app")
	upd.Title = "updated"
	out, err := s.ImportIndicators(ctx, a, []openatp.Indicator{newIndicator(openatp.IndicatorDomainName, "contoso.com", "app"), upd}, now)
	fixture.NoErr(t, err)
	if len(out) != 2 || out[0].ID != "2" || out[1].ID != "1" || out[1].Title != "updated" {
		t.Errorf("import %+v", out)
	}
	bad := newIndicator(openatp.IndicatorFileMd5, "xyz", "app")
	missing := newIndicator(openatp.IndicatorFileSha1, sha1Of(7), "app")
	missing.ID = "42"
	for _, tc := range []struct {
		ins  []openatp.Indicator
		kind openatp.Kind
		item int
	}{
		{[]openatp.Indicator{newIndicator(openatp.IndicatorFileSha1, sha1Of(5), "app"), bad}, openatp.Invalid, 1},
		{[]openatp.Indicator{newIndicator(openatp.IndicatorFileSha1, sha1Of(6), "app"), missing}, openatp.NotFound, -1},
	} {
		_, err := s.ImportIndicators(ctx, a, tc.ins, now)
		fixture.WantKind(t, err, tc.kind)
		if i, ok := openatp.ItemIndex(err); tc.item >= 0 && (!ok || i != tc.item) {
			t.Errorf("%v: item %d %v, want %d", err, i, ok, tc.item)
		}
	}
	all, err := s.Indicators(ctx, a)
	fixture.NoErr(t, err)
	if len(all) != 2 {
		t.Errorf("after failed imports: %d indicators, want 2", len(all))
	}
	if got := put(t, s, a, newIndicator(openatp.IndicatorFileSha1, sha1Of(8), "app"), now); got.ID != "3" {
		t.Errorf("after failed imports: id %s, want 3", got.ID)
	}
}
