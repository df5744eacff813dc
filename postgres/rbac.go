package postgres

import (
	"context"

	"github.com/openatp/openatp/internal/sqlstore"
)

// renumber sets the ranks of the device groups ids to 1..n in one
// statement (sqlstore.Writer.Renumber).
func renumber(ctx context.Context, x sqlstore.Execer, seq int64, ids []int64) error {
	_, err := x.Exec(ctx, `UPDATE device_groups g SET rank = r.rank
		FROM unnest(?2::int8[]) WITH ORDINALITY AS r (id, rank)
		WHERE g.tenant_seq = ?1 AND g.id = r.id AND g.rank != r.rank`, seq, ids)
	return x.Error(err, "cannot rank device groups")
}
