package kql_test

import (
	"sync"
	"testing"
	"time"

	"github.com/openatp/openatp/kql"
	"github.com/openatp/openatp/kql/kqltest"
)

// tenant is the fixed small tenant of testdata/tenant.json: its clock and
// its tables.
type tenant struct {
	now    time.Time
	tables []kql.Table
}

var (
	tenantOnce sync.Once
	tenantVal  tenant
	tenantErr  error
)

// loadTenant reads testdata/tenant.json once.
func loadTenant(tb testing.TB) tenant {
	tb.Helper()
	tenantOnce.Do(func() {
		var t kqltest.Tenant
		t, tenantErr = kqltest.ReadTenant("testdata/tenant.json")
		tenantVal = tenant{now: t.Now, tables: t.KQLTables()}
	})
	if tenantErr != nil {
		tb.Fatal(tenantErr)
	}
	return tenantVal
}

func format(tb testing.TB, res *kql.Result, err error) string {
	tb.Helper()
	return kqltest.Format(tb, res, err)
}

func readCases(tb testing.TB, path string) []kqltest.Case { return kqltest.ReadCases(tb, path) }
