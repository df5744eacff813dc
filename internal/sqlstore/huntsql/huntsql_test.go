package huntsql_test

import (
	"context"
	"fmt"
	"iter"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openatp/openatp/internal/pgtest"
	"github.com/openatp/openatp/internal/sqlstore/huntsql"
	"github.com/openatp/openatp/kql"
	"github.com/openatp/openatp/kql/kqltest"
	"github.com/openatp/openatp/postgres"
	"github.com/openatp/openatp/sqlite"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// engines are the stores the tests run on.
var engines = []struct {
	name string
	open func(t *testing.T) huntsql.Store
}{
	{"sqlite", func(t *testing.T) huntsql.Store {
		db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "openatp.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}},
	{"postgres", func(t *testing.T) huntsql.Store {
		db, err := postgres.Open(context.Background(), pgtest.NewDatabase(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}},
}

// TestSeqs: a set of machines is a few ranges in the statement, or one
// list argument of the engine's form when it has many.
func TestSeqs(t *testing.T) {
	ctx := context.Background()
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			db := e.open(t)
			run := func(q huntsql.Query) (rows [][]any) {
				t.Helper()
				if err := db.HuntRows(ctx, q, func(r []any) error { rows = append(rows, r); return nil }); err != nil {
					t.Fatal(err)
				}
				return rows
			}
			run(huntsql.Query{SQL: "CREATE TABLE kt_n (n BIGINT NOT NULL)"})
			for n := range 100 {
				run(huntsql.Query{SQL: "INSERT INTO kt_n (n) VALUES (?)", Args: []any{int64(n)}})
			}
			var evens []int64
			for n := int64(0); n < 100; n += 2 {
				evens = append(evens, n)
			}
			for _, c := range []struct {
				seqs []int64
				want int64
			}{
				{nil, 0},
				{[]int64{3, 4, 5, 9, 50, 51}, 6}, // three ranges
				{evens, 50},                      // fifty: a list
				{append(evens, 1, 1000), 51},     // not in order past the first: still a set
			} {
				slices.Sort(c.seqs)
				cond, args := huntsql.SeqsOf(c.seqs).Cond(db.HuntDialect(), "n")
				rows := run(huntsql.Query{SQL: "SELECT count(*) AS c0 FROM kt_n WHERE " + cond, Args: args, Width: 1})
				if got := rows[0][0]; got != c.want {
					t.Errorf("%d seqs: %v rows, want %d (%s)", len(c.seqs), got, c.want, cond)
				}
			}
		})
	}
}

// sqlTable is a table of the conformance tenant kept in a store's
// database: kql reads it in memory, or pushes a plan to the store.
type sqlTable struct {
	kql.Table
	store  huntsql.Store
	tables huntsql.Tables
	pushed *int
}

func (t sqlTable) Push(p *kql.Plan) (func(context.Context) iter.Seq2[[]any, error], bool) {
	q, conv, ok := huntsql.Translate(t.store.HuntDialect(), t.tables, p)
	if !ok {
		return nil, false
	}
	*t.pushed++
	return func(ctx context.Context) iter.Seq2[[]any, error] {
		return func(yield func([]any, error) bool) {
			stop := fmt.Errorf("stop")
			err := t.store.HuntRows(ctx, q, func(row []any) error {
				if !yield(conv(row), nil) {
					return stop
				}
				return nil
			})
			if err != nil && err != stop {
				yield(nil, err)
			}
		}
	}, true
}

// sqlType is the SQL type of a column of the tenant: strings as text
// (empty for null), the others as integers; none for reals, timespans and
// dynamic values (a plan that names them is refused).
func sqlType(t kql.Type, collate string) string {
	switch t {
	case kql.String, kql.Guid:
		return "TEXT" + collate + " NOT NULL"
	case kql.Long, kql.Int, kql.DateTime, kql.Bool:
		return "BIGINT"
	}
	return ""
}

func sqlValue(v any, t kql.Type) any {
	switch x := v.(type) {
	case nil:
		if t == kql.String || t == kql.Guid {
			return ""
		}
		return nil
	case time.Time:
		return x.UnixNano()
	case bool:
		if x {
			return int64(1)
		}
		return int64(0)
	case int32:
		return int64(x)
	}
	return v
}

// load writes the tenant's tables into a database (exec runs a statement
// with ? placeholders) and returns their huntsql Tables.
func load(t *testing.T, ten kqltest.Tenant, collate string, exec func(q string, args ...any) error) huntsql.Tables {
	m := map[string]huntsql.Table{}
	for _, tab := range ten.Tables {
		name := "kt_" + strings.ToLower(tab.Name)
		defs := []string{"ord BIGINT NOT NULL"}
		cols := map[string]huntsql.Column{}
		var idx []int
		for i, c := range tab.Columns {
			if st := sqlType(c.Type, collate); st != "" {
				col := fmt.Sprintf("c%d", i)
				defs = append(defs, col+" "+st)
				cols[c.Name] = huntsql.Column{SQL: "{t}." + col}
				idx = append(idx, i)
			}
		}
		if err := exec("CREATE TABLE " + name + " (" + strings.Join(defs, ", ") + ")"); err != nil {
			t.Fatal(err)
		}
		for n, row := range tab.Rows {
			names := []string{"ord"}
			marks := []string{"?"}
			args := []any{int64(n)}
			for _, i := range idx {
				names = append(names, fmt.Sprintf("c%d", i))
				args = append(args, sqlValue(row[i], tab.Columns[i].Type))
				marks = append(marks, "?")
			}
			if err := exec("INSERT INTO "+name+" ("+strings.Join(names, ", ")+") VALUES ("+strings.Join(marks, ", ")+")", args...); err != nil {
				t.Fatal(err)
			}
		}
		m[tab.Name] = huntsql.Table{From: name + " {t}", Columns: cols, Order: "{t}.ord"}
	}
	return func(name string) (huntsql.Table, bool) { tb, ok := m[name]; return tb, ok }
}

// TestConformance runs kql's conformance table over the tenant kept in
// SQLite and PostgreSQL, each plan the store can run pushed to it: the
// answers are the ones checked in, as in memory (but for the cases of
// the in-memory operators' limit).
func TestConformance(t *testing.T) {
	ten, err := kqltest.ReadTenant("../../../kql/testdata/tenant.json")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	files, err := filepath.Glob("../../../kql/testdata/conformance/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no conformance files: %v", err)
	}
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			store := e.open(t)
			// The tables are written by statements run as HuntRows runs
			// its own: the test's only way in.
			tables := load(t, ten, store.HuntDialect().Collate, func(q string, args ...any) error {
				return store.HuntRows(ctx, huntsql.Query{SQL: q, Args: args}, func([]any) error { return nil })
			})
			pushed := 0
			var kt []kql.Table
			for _, tab := range ten.KQLTables() {
				kt = append(kt, sqlTable{Table: tab, store: store, tables: tables, pushed: &pushed})
			}
			total := 0
			for _, path := range files {
				for _, c := range kqltest.ReadCases(t, path) {
					if strings.HasPrefix(c.Name, "held_limit") {
						// The limit of the rows kql's operators hold in memory: a
						// plan the store runs holds none, and its answer is the
						// query's (kql.PushTable).
						continue
					}
					total++
					opt := c.Opt
					opt.Now = ten.Now
					before := pushed
					res, err := kql.Run(ctx, c.Query, kt, opt)
					if got := kqltest.Format(t, res, err); got != c.Want {
						t.Errorf("%s: %s (pushed %d plans):\n%s\ngot:\n%s\nwant:\n%s", filepath.Base(path), c.Name,
							pushed-before, c.Query, got, c.Want)
					}
				}
			}
			t.Logf("%d cases, %d plans pushed to %s", total, pushed, e.name)
			if pushed < 60 {
				t.Errorf("%d plans pushed to %s, want at least 60", pushed, e.name)
			}
		})
	}
}
