package kql_test

import (
	"context"
	"iter"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/openatp/openatp/kql"
)

// planTable records the plans the engine offers it, and refuses them: the
// query then runs in memory.
type planTable struct {
	kql.Table
	plans *[]kql.Plan
}

func (t planTable) Push(p *kql.Plan) (func(context.Context) iter.Seq2[[]any, error], bool) {
	*t.plans = append(*t.plans, *p)
	return nil, false
}

// TestPlans: the leading part of a pipeline a table is offered — the
// issue's benchmark queries whole — and what stays in memory.
func TestPlans(t *testing.T) {
	ten := loadTenant(t)
	var plans []kql.Plan
	var tables []kql.Table
	for _, tab := range ten.tables {
		tables = append(tables, planTable{tab, &plans})
	}
	week := ten.now.Add(-7*24*time.Hour + 100)
	day := ten.now.Add(-24*time.Hour + 100)
	str := func(name string, side int) kql.Field {
		return kql.Field{Name: name, Type: kql.String, Side: side, Column: name}
	}
	for _, c := range []struct {
		query string
		want  []kql.Plan
	}{
		{"DeviceLogonEvents | where Timestamp > ago(7d) | summarize count() by AccountName | top 10 by count_", []kql.Plan{{
			Table: "DeviceLogonEvents", Limit: 10,
			Where: []kql.Cond{{Column: "Timestamp", Type: kql.DateTime, Op: ">=", Values: []any{week}}},
			Group: &kql.Group{By: []kql.Key{{Field: 6}}, Aggs: []kql.Agg{{Func: "count", Field: -1}}},
			Order: []kql.Order{{Column: 1, Desc: true}},
		}}},
		{"DeviceInfo | project DeviceId, OSPlatform | join kind=inner (DeviceLogonEvents | where Timestamp > ago(1d)) on DeviceId | summarize count() by OSPlatform", []kql.Plan{
			{Table: "DeviceLogonEvents", Limit: -1, Where: []kql.Cond{{Column: "Timestamp", Type: kql.DateTime, Op: ">=", Values: []any{day}}}},
			{Table: "DeviceInfo", Limit: -1,
				Where: []kql.Cond{{Side: 1, Column: "Timestamp", Type: kql.DateTime, Op: ">=", Values: []any{day}}},
				Join:  &kql.Join{Table2: "DeviceLogonEvents", Key: "DeviceId", Key2: "DeviceId"},
				Group: &kql.Group{By: []kql.Key{{Field: 1}}, Aggs: []kql.Agg{{Func: "count", Field: -1}}},
			},
			// Refused: the join compiled in memory offers its right side again.
			{Table: "DeviceLogonEvents", Limit: -1, Where: []kql.Cond{{Column: "Timestamp", Type: kql.DateTime, Op: ">=", Values: []any{day}}}},
		}},
		{"DeviceLogonEvents | summarize dcount(AccountName) by bin(Timestamp, 1d) | where dcount_AccountName > 1", []kql.Plan{{
			Table: "DeviceLogonEvents", Limit: -1,
			Group: &kql.Group{By: []kql.Key{{Field: 0, Bin: 24 * time.Hour}}, Aggs: []kql.Agg{{Func: "dcount", Field: 6}}},
		}}},
		// Stops where the plan cannot follow: has, then extend.
		{"DeviceLogonEvents | where LogonId >= 1000 and ActionType == 'LogonSuccess' | where AccountName has 'a' | count", []kql.Plan{{
			Table: "DeviceLogonEvents", Limit: -1, Where: []kql.Cond{
				{Column: "LogonId", Type: kql.Long, Op: ">=", Values: []any{int64(1000)}},
				{Column: "ActionType", Type: kql.String, Op: "==", Values: []any{"LogonSuccess"}}},
		}}},
		{"DeviceLogonEvents | extend x = 1 | count", nil},
		{"DeviceLogonEvents | join (DeviceInfo) on DeviceId | count", nil}, // innerunique
	} {
		plans = nil
		if _, err := kql.Run(context.Background(), c.query, tables, kql.Options{Now: ten.now}); err != nil {
			t.Fatalf("%s: %v", c.query, err)
		}
		for i := range plans {
			// The fields are the table's columns, then its join's; the
			// columns the result's, compiled in memory.
			if p := plans[i]; p.Join != nil && (len(p.Fields) < 2 || p.Fields[0] != str("DeviceId", 0) || p.Fields[1] != str("OSPlatform", 0)) {
				t.Errorf("%s: fields %v", c.query, p.Fields)
			}
			plans[i].Fields, plans[i].Columns = nil, nil
		}
		if diff := cmp.Diff(c.want, plans); diff != "" {
			t.Errorf("%s: plans (-want +got):\n%s", c.query, diff)
		}
	}
}
