// Package hunting is the domain of advanced hunting (issue 27): what the
// stores keep for the hunting tables beyond the machine routes' data (the
// logon events themselves, for DeviceLogonEvents, kept beside the (user,
// machine) relations the logons are merged into), the permissions of the
// hunting routes, and the service's documented limits.
package hunting

import (
	"context"
	"time"

	"github.com/openatp/openatp"
)

// LogonEventStore reads the logon events a store keeps: every event
// recorded by AddLogons or a WriteBatch, once each (an event is identified
// by its machine, Timestamp, AccountName, AccountDomain and LogonType;
// recording it again changes nothing), written in the same transaction
// as the relations, deleted by DeleteEventsBefore as the file and network
// events are, and by ResetTenant.
type LogonEventStore interface {
	// LogonEvents calls yield with the tenant's logon events whose
	// Timestamp is in [from, to) (a zero time does not bound), ordered by
	// Timestamp, of machines the tenant still has, until yield returns an
	// error, which is returned as it is. The rows are read as they are
	// yielded: the call holds one read of the store for its length, bounded
	// by ctx only. NotFound if the tenant does not exist.
	LogonEvents(ctx context.Context, tenantID string, from, to time.Time, yield func(openatp.Logon) error) error
}

// The permissions of the hunting routes (mde-reference §12.3.4, §12.5):
// the MDE API's advanced queries (application and delegated), the
// Microsoft 365 Defender API's advanced hunting, and Microsoft Graph's
// runHuntingQuery (one name for both kinds of token).
const (
	PermAdvancedQueryReadAll   = "AdvancedQuery.Read.All"
	PermAdvancedQueryRead      = "AdvancedQuery.Read"
	PermAdvancedHuntingReadAll = "AdvancedHunting.Read.All"
	PermAdvancedHuntingRead    = "AdvancedHunting.Read"
	PermThreatHuntingReadAll   = "ThreatHunting.Read.All"
)

// Limits of the service (mde-reference §12.3.4): the data a query sees,
// its result, its run time, and the calls and run time of a tenant.
const (
	DataDays          = 30
	MaxRows           = 100_000
	MaxResultBytes    = 124 << 20
	QueryTimeout      = 200 * time.Second
	CallsPerMinute    = 45
	CallsPerHour      = 1500
	DefaultCPUPerHour = 10 * time.Minute
)
