package ingest

import (
	"context"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/wire"
)

// AppendLogon appends the JSON logon record of l to b:
// {"machineId","accountName","accountDomain","accountSid","logonType","timestamp"}
// with accountSid and logonType null when empty.
func AppendLogon(b []byte, l *openatp.Logon) []byte {
	b = append(b, `{"machineId":`...)
	b = wire.AppendString(b, l.MachineID)
	b = append(b, `,"accountName":`...)
	b = wire.AppendString(b, l.AccountName)
	b = append(b, `,"accountDomain":`...)
	b = wire.AppendString(b, l.AccountDomain)
	b = append(b, `,"accountSid":`...)
	b = appendOpt(b, l.AccountSID)
	b = append(b, `,"logonType":`...)
	b = appendOpt(b, l.LogonType)
	b = append(b, `,"timestamp":"`...)
	b = l.Timestamp.UTC().AppendFormat(b, wire.TimeLayout)
	return append(b, `"}`...)
}

// RelationLogons returns logon events that, imported, recreate the
// relation r exactly (first and last seen, logon types): one event per
// logon type, the first at FirstSeen and the others at LastSeen, plus one
// at LastSeen when a single type (or none) would leave it out.
func RelationLogons(r openatp.UserMachine) []openatp.Logon {
	ev := func(typ string, t time.Time) openatp.Logon {
		return openatp.Logon{MachineID: r.MachineID, AccountName: r.AccountName, AccountDomain: r.AccountDomain, AccountSID: r.AccountSID, LogonType: typ, Timestamp: t}
	}
	types := r.LogonTypes
	if len(types) == 0 {
		types = []string{""}
	}
	ls := make([]openatp.Logon, 0, len(types)+1)
	ls = append(ls, ev(types[0], r.FirstSeen))
	for _, t := range types[1:] {
		ls = append(ls, ev(t, r.LastSeen))
	}
	if len(types) == 1 && !r.LastSeen.Equal(r.FirstSeen) {
		ls = append(ls, ev(types[0], r.LastSeen))
	}
	return ls
}

func appendOpt(b []byte, s string) []byte {
	if s == "" {
		return append(b, "null"...)
	}
	return wire.AppendString(b, s)
}

// ActionLister is the part of openatp.Store an export of machine actions
// reads.
type ActionLister interface {
	MachineActions(ctx context.Context, tenantID string, f openatp.MachineActionFilter) ([]openatp.MachineAction, error)
}

// exportPage is the number of actions ExportActions reads at a time.
const exportPage = 5000

// ExportActions calls f with each of the tenant's machine actions in the
// order of their lastUpdateDateTimeUtc (unique in a tenant), reading them
// a page at a time after the last stamp seen: the records of `openatp
// export --kind actions`, which an import recreates.
func ExportActions(ctx context.Context, store ActionLister, tenantID string, f func(a *openatp.MachineAction) error) error {
	var after *time.Time
	for {
		page, err := store.MachineActions(ctx, tenantID, openatp.MachineActionFilter{Updated: openatp.TimeRange{After: after}, Top: exportPage})
		if err != nil {
			return err
		}
		for i := range page {
			if err := f(&page[i]); err != nil {
				return err
			}
		}
		if len(page) < exportPage {
			return nil
		}
		after = &page[len(page)-1].LastUpdateDateTimeUTC
	}
}
