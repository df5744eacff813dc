package sqlstore_test

import (
	"testing"

	"github.com/openatp/openatp/internal/sqlstore"
)

func TestDollar(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"SELECT 1", "SELECT 1"},
		{"SELECT a FROM t WHERE x = ? AND y = ?", "SELECT a FROM t WHERE x = $1 AND y = $2"},
		{"WHERE id = ?1 OR name_key = ?2 ORDER BY id = ?1 DESC", "WHERE id = $1 OR name_key = $2 ORDER BY id = $1 DESC"},
		{"unnest(?2::int8[]) WHERE g.tenant_seq = ?1", "unnest($2::int8[]) WHERE g.tenant_seq = $1"},
		{"WHERE s = '?' AND n = ? AND q = \"a?\"", "WHERE s = '?' AND n = $1 AND q = \"a?\""},
		{"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"},
		{"x = ?10", "x = $10"},
	} {
		if got := sqlstore.Dollar(c.in); got != c.want {
			t.Errorf("Dollar(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
