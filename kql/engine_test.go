package kql_test

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openatp/openatp/kql"
)

// genTable is a table of n generated logon rows (n < 0: endless), with a
// hook called before each row and a count of the rows it yielded.
type genTable struct {
	n      int
	before func(i int) error
	mu     sync.Mutex
	served int
}

var genColumns = []kql.Column{
	{Name: "Timestamp", Type: kql.DateTime},
	{Name: "DeviceId", Type: kql.String},
	{Name: "AccountName", Type: kql.String},
	{Name: "ActionType", Type: kql.String},
}

var genStart = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

func (t *genTable) Name() string          { return "DeviceLogonEvents" }
func (t *genTable) Columns() []kql.Column { return genColumns }

// row returns the i-th row: a minute apart, 10,000 devices, 1,000
// accounts, one failure in four.
func genRow(i int) []any {
	action := "LogonSuccess"
	if i%4 == 0 {
		action = "LogonFailed"
	}
	return []any{
		genStart.Add(time.Duration(i%(14*24*60)) * time.Minute),
		genDevices[i%len(genDevices)],
		genAccounts[i*7%len(genAccounts)],
		action,
	}
}

// The names of the generated rows, made once.
var genDevices, genAccounts = genNames("device", 10000), genNames("user", 1000)

func genNames(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprint(prefix, i)
	}
	return out
}

func (t *genTable) Rows(ctx context.Context) iter.Seq2[[]any, error] {
	return func(yield func([]any, error) bool) {
		for i := 0; t.n < 0 || i < t.n; i++ {
			if t.before != nil {
				if err := t.before(i); err != nil {
					yield(nil, err)
					return
				}
			}
			t.mu.Lock()
			t.served++
			t.mu.Unlock()
			if !yield(genRow(i), nil) {
				return
			}
		}
	}
}

func run(t *testing.T, query string, tables ...kql.Table) (*kql.Result, error) {
	t.Helper()
	return kql.Run(context.Background(), query, tables, kql.Options{Now: genStart.Add(14 * 24 * time.Hour)})
}

// TestTakeStopsTheScan checks that take reads no more rows than it
// returns, through where and project: the engine streams.
func TestTakeStopsTheScan(t *testing.T) {
	tab := &genTable{n: -1}
	res, err := run(t, `DeviceLogonEvents | where ActionType == "LogonFailed" | project DeviceId | take 3`, tab)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(res.Rows); got != 3 {
		t.Fatalf("%d rows, want 3", got)
	}
	if tab.served != 9 { // failures are rows 0, 4 and 8
		t.Errorf("the table yielded %d rows, want 9", tab.served)
	}
}

// TestRowLimitStopsTheScan checks that a result stops at MaxRows (one row
// read past it, to know that it was cut) on an endless table.
func TestRowLimitStopsTheScan(t *testing.T) {
	tab := &genTable{n: -1}
	res, err := kql.Run(context.Background(), "DeviceLogonEvents", []kql.Table{tab}, kql.Options{MaxRows: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 100 || !res.Truncated || tab.served != 101 {
		t.Errorf("%d rows, truncated %v, %d read; want 100, true, 101", len(res.Rows), res.Truncated, tab.served)
	}
}

// TestCancel checks that a query over an endless table ends with the
// context's error when the context is cancelled.
func TestCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tab := &genTable{n: -1, before: func(i int) error {
		if i == 5000 {
			cancel()
		}
		return nil
	}}
	_, err := kql.Run(ctx, "DeviceLogonEvents | summarize count() by AccountName", []kql.Table{tab}, kql.Options{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if tab.served > 5000+1024 {
		t.Errorf("the table yielded %d rows after the cancel at 5,000", tab.served)
	}
}

// TestCancelDuringJoin checks that rows a join makes without reading a
// table still look at the context: the left side is two rows, the right
// 2,000, and the context is cancelled before the second left row.
func TestCancelDuringJoin(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	calls := 0
	tab := &genTable{n: 3000, before: func(int) error {
		if calls++; calls == 2000+2 { // the right side's 2,000, then left row 0
			cancel()
		}
		return nil
	}}
	_, err := kql.Run(ctx, `DeviceLogonEvents | take 2 | extend k = 1 | join kind=inner (DeviceLogonEvents | take 2000 | extend k = 1) on k | count`,
		[]kql.Table{tab}, kql.Options{MaxHeld: 10000})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

// TestTableError checks that an error a table yields ends the query with
// that error.
func TestTableError(t *testing.T) {
	boom := errors.New("the store is gone")
	tab := &genTable{n: 10, before: func(i int) error {
		if i == 3 {
			return boom
		}
		return nil
	}}
	_, err := run(t, "DeviceLogonEvents | count", tab)
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want %v", err, boom)
	}
}

// badTable yields a row whose value does not fit its column's type.
type badTable struct{ row []any }

func (badTable) Name() string { return "T" }
func (badTable) Columns() []kql.Column {
	return []kql.Column{{Name: "N", Type: kql.Long}}
}
func (t badTable) Rows(context.Context) iter.Seq2[[]any, error] {
	return func(yield func([]any, error) bool) { yield(slices.Clone(t.row), nil) }
}

// TestBadRow checks that a table that breaks its contract is an error,
// not a wrong answer or a panic.
func TestBadRow(t *testing.T) {
	for _, row := range [][]any{{"text"}, {int64(1), int64(2)}, {time.Now()}} {
		_, err := run(t, "T | where N > 0", badTable{row})
		var e *kql.Error
		if !errors.As(err, &e) || !strings.Contains(e.Msg, "table T") {
			t.Errorf("row %v: err = %v, want an error naming table T", row, err)
		}
	}
	res, err := run(t, "T | extend M = N * 2", badTable{[]any{7}}) // an int for a long is fine
	if err != nil || res.Rows[0][1] != int64(14) {
		t.Errorf("an int in a long column: %v, %v", res, err)
	}
}

// TestTables checks the names a query reads tables by.
func TestTables(t *testing.T) {
	for query, want := range map[string][]string{
		"DeviceInfo | take 1": {"DeviceInfo"},
		`let x = DeviceLogonEvents | where AccountName == "a"; x | join DeviceInfo on DeviceId`: {"DeviceLogonEvents", "DeviceInfo"},
		"union AlertInfo, (AlertEvidence | take 1) | union DeviceInfo":                          {"AlertInfo", "AlertEvidence", "DeviceInfo"},
		"let d = DeviceInfo; let n = 3; d | take n":                                             {"DeviceInfo"},
		"let DeviceInfo = DeviceInfo | take 1; DeviceInfo":                                      {"DeviceInfo"},
	} {
		q, err := kql.Parse(query)
		if err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		if got := q.Tables(); !slices.Equal(got, want) {
			t.Errorf("%s: Tables() = %q, want %q", query, got, want)
		}
	}
}

// TestConcurrentRuns runs queries over the same tables at once (the race
// detector watches).
func TestConcurrentRuns(t *testing.T) {
	ten := loadTenant(t)
	queries := []string{
		"DeviceInfo | summarize arg_max(Timestamp, *) by DeviceId",
		"DeviceLogonEvents | join kind=inner DeviceInfo on DeviceId | count",
		"DeviceFileEvents | sort by FileSize | take 3",
	}
	var wg sync.WaitGroup
	for i := range 12 {
		wg.Go(func() {
			q := queries[i%len(queries)]
			if _, err := kql.Run(context.Background(), q, ten.tables, kql.Options{Now: ten.now}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}

// TestGraphJSON checks the form Graph's runHuntingQuery answers with.
func TestGraphJSON(t *testing.T) {
	ten := loadTenant(t)
	res, err := kql.Run(context.Background(), `AlertInfo | where AlertId == "da003" | project AlertId, Timestamp`, ten.tables, kql.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := res.AppendJSON([]byte("x"), "schema", "results")
	if err != nil {
		t.Fatal(err)
	}
	want := `x{"schema":[{"Name":"AlertId","Type":"String"},{"Name":"Timestamp","Type":"DateTime"}],"results":[{"AlertId":"da003","Timestamp":"2026-12-06T22:05:00Z"}]}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
}

// TestLongQuery checks the bound on a query's length and nesting.
func TestLongQuery(t *testing.T) {
	for _, q := range []string{
		"DeviceInfo | where " + strings.Repeat("a", kql.MaxQueryLength),
		"DeviceInfo | where " + strings.Repeat("(", 500) + "true" + strings.Repeat(")", 500),
		"DeviceInfo | where " + strings.Repeat("-", 500) + "1 > 0",
	} {
		_, err := kql.Parse(q)
		var e *kql.Error
		if !errors.As(err, &e) {
			t.Errorf("Parse of %d bytes: err = %v, want a *kql.Error", len(q), err)
		}
	}
}
