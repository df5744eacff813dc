package kql_test

import (
	"context"
	"iter"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/openatp/openatp/kql"
)

// boundedTable is a FilteredTable of the generated rows that keeps only
// the rows inside the bounds it is given, and records them.
type boundedTable struct {
	n      int
	bounds []kql.Bounds
	served int
}

func (t *boundedTable) Name() string          { return "DeviceLogonEvents" }
func (t *boundedTable) Columns() []kql.Column { return genColumns }

func (t *boundedTable) Rows(ctx context.Context) iter.Seq2[[]any, error] {
	return t.rows(kql.Bounds{})
}

func (t *boundedTable) RowsWhere(_ context.Context, b kql.Bounds) iter.Seq2[[]any, error] {
	t.bounds = append(t.bounds, b)
	return t.rows(b)
}

func (t *boundedTable) rows(b kql.Bounds) iter.Seq2[[]any, error] {
	return func(yield func([]any, error) bool) {
		for i := range t.n {
			row := genRow(i)
			ts := row[0].(time.Time)
			if !b.From.IsZero() && ts.Before(b.From) || !b.To.IsZero() && !ts.Before(b.To) {
				continue
			}
			if set, ok := b.Equal["DeviceId"]; ok && !slices.Contains(set, row[1].(string)) {
				continue
			}
			if set, ok := b.Equal["AccountName"]; ok && !slices.Contains(set, row[2].(string)) {
				continue
			}
			t.served++
			if !yield(row, nil) {
				return
			}
		}
	}
}

// TestPushedBounds checks the bounds the leading where clauses push to a
// FilteredTable, and that the answer is the one the whole table gives.
func TestPushedBounds(t *testing.T) {
	now := genStart.Add(14 * 24 * time.Hour)
	at := func(d time.Duration) time.Time { return now.Add(d) }
	day := 24 * time.Hour
	for _, c := range []struct {
		query string
		want  kql.Bounds
	}{
		{`DeviceLogonEvents | where Timestamp > ago(7d) | summarize count() by AccountName | top 10 by count_`,
			kql.Bounds{From: at(-7 * day)}},
		{`DeviceLogonEvents | where Timestamp >= ago(3d) and Timestamp < ago(1d) | count`,
			kql.Bounds{From: at(-3 * day), To: at(-day)}},
		{`DeviceLogonEvents | where ago(2d) <= Timestamp | where Timestamp <= now() - 1d | count`,
			kql.Bounds{From: at(-2 * day), To: at(-day).Add(time.Nanosecond)}},
		{`DeviceLogonEvents | where Timestamp between (datetime(2026-12-02) .. datetime(2026-12-03)) and DeviceId == "device7" | project Timestamp, AccountName`,
			kql.Bounds{From: genStart.Add(day), To: genStart.Add(2 * day).Add(time.Nanosecond),
				Equal: map[string][]string{"DeviceId": {"device7"}}}},
		{`DeviceLogonEvents | where AccountName in ("user1", "user2", "user3") and AccountName != "x" | where AccountName == "user2" | count`,
			kql.Bounds{Equal: map[string][]string{"AccountName": {"user2"}}}},
		{`DeviceLogonEvents | where DeviceId == "device1" and DeviceId == "device2" | count`,
			kql.Bounds{Equal: map[string][]string{"DeviceId": {}}}},
		{`let since = ago(1d); DeviceLogonEvents | where Timestamp > since and ActionType == "LogonFailed" | summarize dcount(DeviceId) by bin(Timestamp, 1h)`,
			kql.Bounds{From: at(-day), Equal: map[string][]string{"ActionType": {"LogonFailed"}}}},
		// Not pushed: or, a where after another operator, a negation, a
		// comparison of a column with a column, a case-insensitive match.
		{`DeviceLogonEvents | where Timestamp > ago(1d) or DeviceId == "device1" | count`, kql.Bounds{}},
		{`DeviceLogonEvents | take 100000 | where Timestamp > ago(1d) | count`, kql.Bounds{}},
		{`DeviceLogonEvents | where not(Timestamp > ago(1d)) | count`, kql.Bounds{}},
		{`DeviceLogonEvents | where AccountName == DeviceId | count`, kql.Bounds{}},
		{`DeviceLogonEvents | where AccountName =~ "USER1" | count`, kql.Bounds{}},
	} {
		bt := &boundedTable{n: 30000}
		got, err := kql.Run(context.Background(), c.query, []kql.Table{bt}, kql.Options{Now: now})
		if err != nil {
			t.Fatalf("%s: %v", c.query, err)
		}
		want, err := kql.Run(context.Background(), c.query, []kql.Table{&genTable{n: 30000}}, kql.Options{Now: now})
		if err != nil {
			t.Fatalf("%s: %v", c.query, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: with the bounds pushed %v rows, without %v", c.query, got.Rows, want.Rows)
		}
		var wantBounds []kql.Bounds
		if !c.want.IsZero() {
			wantBounds = []kql.Bounds{c.want}
		}
		if !reflect.DeepEqual(bt.bounds, wantBounds) {
			t.Errorf("%s: pushed %+v, want %+v", c.query, bt.bounds, wantBounds)
		}
		if !c.want.IsZero() && bt.served >= 30000 {
			t.Errorf("%s: the table yielded all its rows", c.query)
		}
	}
}
