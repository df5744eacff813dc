package sqlstore

import (
	"cmp"
	"slices"
	"strings"

	"github.com/openatp/openatp"
)

// User is what a batch of logons says about one user.
type User struct {
	NameKey, DomainKey string
	Name, Domain, SID  string // of the first event; SID the first non-empty
}

// Rel is what a batch of logons says about one (user, machine) relation.
type Rel struct {
	User        *User
	MachineID   string
	MachineSeq  int64 // the engine's row number of the machine, once resolved
	First, Last int64 // nanoseconds
	Types       int64 // LogonTypeBits
}

// Batch is a batch of logon events merged: each user and relation once.
type Batch struct {
	Users      []*User  // sorted by name key, then domain key
	Rels       []*Rel   // in first-seen order
	MachineIDs []string // the machine ids named, sorted
}

type relKey struct {
	user      *User
	machineID string
}

// Aggregate merges a batch of logon events: users by (name, domain)
// ignoring case, relations by (user, machine) with the earliest and latest
// timestamps and the set of logon types. Invalid (naming the event) for a
// missing name or domain, an unknown logon type or a time out of range.
func Aggregate(ls []openatp.Logon) (*Batch, error) {
	users := map[[2]string]*User{}
	rels := map[relKey]*Rel{}
	machines := map[string]bool{}
	b := &Batch{}
	for i := range ls {
		l := &ls[i]
		if l.AccountName == "" {
			return nil, LogonError(i, "accountName", "is required")
		}
		if l.AccountDomain == "" {
			return nil, LogonError(i, "accountDomain", "is required")
		}
		typ, ok := LogonTypeBits[l.LogonType]
		if !ok {
			return nil, LogonError(i, "logonType", "%s is not one of %s", Quote(l.LogonType), strings.Join(openatp.LogonTypes, ", "))
		}
		if l.Timestamp.IsZero() {
			return nil, LogonError(i, "timestamp", "is required")
		}
		ts, err := Nanos("timestamp", l.Timestamp)
		if err != nil {
			return nil, InvalidItem("logon", i, err)
		}
		key := [2]string{openatp.NameKey(l.AccountName), openatp.NameKey(l.AccountDomain)}
		u := users[key]
		if u == nil {
			u = &User{NameKey: key[0], DomainKey: key[1], Name: l.AccountName, Domain: l.AccountDomain, SID: l.AccountSID}
			users[key] = u
			b.Users = append(b.Users, u)
		} else if u.SID == "" {
			u.SID = l.AccountSID
		}
		rk := relKey{u, l.MachineID}
		r := rels[rk]
		if r == nil {
			r = &Rel{User: u, MachineID: l.MachineID, First: ts, Last: ts, Types: typ}
			rels[rk] = r
			b.Rels = append(b.Rels, r)
		} else {
			r.First, r.Last, r.Types = min(r.First, ts), max(r.Last, ts), r.Types|typ
		}
		if !machines[l.MachineID] {
			machines[l.MachineID] = true
			b.MachineIDs = append(b.MachineIDs, l.MachineID)
		}
	}
	slices.SortFunc(b.Users, CompareUsers)
	slices.Sort(b.MachineIDs)
	return b, nil
}

// CompareUsers orders users by name key, then domain key.
func CompareUsers(a, b *User) int {
	return cmp.Or(strings.Compare(a.NameKey, b.NameKey), strings.Compare(a.DomainKey, b.DomainKey))
}

// SortRels orders relations by user, then machine row number: the order
// writers lock rows in, so that concurrent batches cannot deadlock.
func SortRels(rels []*Rel) {
	slices.SortFunc(rels, func(a, b *Rel) int {
		return cmp.Or(CompareUsers(a.User, b.User), cmp.Compare(a.MachineSeq, b.MachineSeq))
	})
}
