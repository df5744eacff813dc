package sqlite

import (
	"context"

	"github.com/openatp/openatp/internal/sqlstore"
)

// renumber sets the ranks of the device groups ids to 1..n, one statement
// a group (sqlstore.Writer.Renumber).
func renumber(ctx context.Context, x sqlstore.Execer, seq int64, ids []int64) error {
	for i, id := range ids {
		if _, err := x.Exec(ctx, `UPDATE device_groups SET rank = ? WHERE tenant_seq = ? AND id = ?`, i+1, seq, id); err != nil {
			return x.Error(err, "cannot rank device groups")
		}
	}
	return nil
}
