package postgres

import (
	"context"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/sqlstore"
)

// groups returns the device groups of a tenant ordered by rank, then id;
// none if the tenant does not exist.
func groups(ctx context.Context, q querier, tenantID string) ([]openatp.DeviceGroup, error) {
	return sqlstore.Groups(ctx, reader{q: q}, tenantID)
}
