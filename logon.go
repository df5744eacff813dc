package openatp

import (
	"strings"
	"time"
)

// Logon is one logon event of an account on a machine, the way logons come
// in. A logon creates or updates the user (tenant, domain, account name) and
// the (user, machine) relation; it never duplicates either.
type Logon struct {
	MachineID     string
	AccountName   string
	AccountDomain string
	AccountSID    string
	LogonType     string
	Timestamp     time.Time
}

// LogonTypes are the accepted values of Logon.LogonType.
var LogonTypes = []string{"Interactive", "Network", "RemoteInteractive", "Batch", "Service", "Unlock", "CachedInteractive", "NetworkCleartext", "NewCredentials"}

// Normalize validates l and canonicalizes its timestamp.
func (l *Logon) Normalize() error {
	if !ValidMachineID(l.MachineID) {
		return InvalidField("machineId", "must be 40 lowercase hexadecimal characters, got %q", clip(l.MachineID))
	}
	if err := ValidAccountName(l.AccountName); err != nil {
		return InvalidField("accountName", "%s", err.Error())
	}
	if err := ValidAccountName(l.AccountDomain); err != nil {
		return InvalidField("accountDomain", "%s", err.Error())
	}
	if err := checkString("accountSid", &l.AccountSID); err != nil {
		return err
	}
	if l.LogonType != "" {
		ok := false
		for _, t := range LogonTypes {
			if t == l.LogonType {
				ok = true
			}
		}
		if !ok {
			return InvalidField("logonType", "%q is not one of %s", clip(l.LogonType), strings.Join(LogonTypes, ", "))
		}
	}
	if l.Timestamp.IsZero() {
		return InvalidField("timestamp", "is required")
	}
	l.Timestamp = l.Timestamp.UTC().Round(TimePrecision)
	return nil
}

// ValidAccountName checks an account or domain name: non-empty, at most 256
// bytes, valid UTF-8, no backslash, no '@' and no control characters.
func ValidAccountName(s string) error {
	if s == "" {
		return Errorf(Invalid, "is required")
	}
	if len(s) > 256 {
		return Errorf(Invalid, "is longer than 256 bytes")
	}
	if err := checkString("name", &s); err != nil {
		return Errorf(Invalid, "is not valid UTF-8")
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == '\\' || r == '@' || r == '/' {
			return Errorf(Invalid, "contains the character %q", r)
		}
	}
	return nil
}

// NameKey is the case-insensitive key under which account and domain names
// are matched.
func NameKey(s string) string { return strings.ToLower(s) }

// UserRef names a user in a query: an account name in any domain of the
// tenant, or in one domain when Domain is not empty. Matching ignores case.
type UserRef struct {
	Name   string
	Domain string
}

// User is an account seen logging on to at least one machine of a tenant.
type User struct {
	AccountName   string
	AccountDomain string
	AccountSID    string
	FirstSeen     time.Time
	LastSeen      time.Time
}

// ScannedUser is a user as MachineStore.ScanTenant streams it: the
// account (as first seen) and the machines it has logged on to, each by
// its position among the machines of the same scan (0 for the first one
// the scan gave), in no particular order and each once. It holds what the
// read model needs of the relations, which are most of a tenant's rows:
// their times and logon types are left out, and a machine is a number the
// store and the model both have at hand rather than an id to encode and
// look up again. Machines belongs to the callee.
type ScannedUser struct {
	AccountName   string
	AccountDomain string
	AccountSID    string
	Machines      []uint32
}

// UserMachine is one (user, machine) relation: the user logged on to the
// machine at least once.
type UserMachine struct {
	AccountName   string // as first seen
	AccountDomain string
	AccountSID    string // the user's first non-empty SID, or empty
	MachineID     string
	FirstSeen     time.Time
	LastSeen      time.Time
	LogonTypes    []string
}
