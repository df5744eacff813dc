package sqlstore

import (
	"encoding/json"
	"time"

	"github.com/openatp/openatp"
)

// FromNanos is the inverse of Nanos.
func FromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }

// Internal is err as an Internal error with the message msg.
func Internal(err error, msg string) error {
	return &openatp.Error{Kind: openatp.Internal, Message: msg, Err: err}
}

// Setting is a row of the settings table.
type Setting struct{ Name, Value string }

// ScanSetting reads a row of (name, value).
func ScanSetting(s Scanner) (Setting, error) {
	var v Setting
	return v, s.Scan(&v.Name, &v.Value)
}

// SettingsMap returns settings by name.
func SettingsMap(ss []Setting) map[string]string {
	m := make(map[string]string, len(ss))
	for _, s := range ss {
		m[s.Name] = s.Value
	}
	return m
}

// ScanTenant reads a row of (id, name, created).
func ScanTenant(s Scanner) (openatp.Tenant, error) {
	var t openatp.Tenant
	var created int64
	err := s.Scan(&t.ID, &t.Name, &created)
	t.Created = FromNanos(created)
	return t, err
}

// AppColumns are the columns ScanApp reads, of apps a joined to tenants t.
const AppColumns = "t.id, a.client_id, a.object_id, a.name, a.secret_hash, a.roles, a.scopes, a.created"

// ScanApp reads a row of AppColumns.
func ScanApp(s Scanner) (openatp.App, error) {
	var a openatp.App
	var roles, scopes string
	var created int64
	if err := s.Scan(&a.TenantID, &a.ClientID, &a.ObjectID, &a.Name, &a.SecretHash, &roles, &scopes, &created); err != nil {
		return a, err
	}
	if err := json.Unmarshal([]byte(roles), &a.Roles); err != nil {
		return a, Internal(err, "bad roles of application "+a.ClientID)
	}
	if err := json.Unmarshal([]byte(scopes), &a.Scopes); err != nil {
		return a, Internal(err, "bad scopes of application "+a.ClientID)
	}
	a.Created = FromNanos(created)
	return a, nil
}

// ScanSigningKey reads a row of (id, private_pem, created, active).
func ScanSigningKey(s Scanner) (openatp.SigningKey, error) {
	var k openatp.SigningKey
	var created int64
	err := s.Scan(&k.ID, &k.PrivatePEM, &created, &k.Active)
	k.Created = FromNanos(created)
	return k, err
}

// ScanGroup reads a device group row of (id, name, description, rank,
// rules, user_groups).
func ScanGroup(s Scanner) (openatp.DeviceGroup, error) {
	var g openatp.DeviceGroup
	var rules []byte
	var userGroups string
	err := s.Scan(&g.ID, &g.Name, &g.Description, &g.Rank, &rules, &userGroups)
	if err != nil {
		return g, err
	}
	if g.UserGroups, err = ParseList(userGroups); err != nil {
		return g, Internal(err, "bad user groups of device group "+g.Name)
	}
	if err := json.Unmarshal(rules, &g.Rules); err != nil {
		return g, Internal(err, "bad rules of device group "+g.Name)
	}
	return g, nil
}

// ScanUserGroup reads a row of (id, name).
func ScanUserGroup(s Scanner) (openatp.UserGroup, error) {
	var g openatp.UserGroup
	return g, s.Scan(&g.ID, &g.Name)
}

// UserColumns are the columns ScanUser reads, of directory_users.
const UserColumns = `id, user_name, display_name, password_hash, groups`

// ScanUser reads a row of UserColumns.
func ScanUser(s Scanner) (openatp.DirectoryUser, error) {
	var u openatp.DirectoryUser
	var groups string
	if err := s.Scan(&u.ID, &u.UserName, &u.DisplayName, &u.PasswordHash, &groups); err != nil {
		return u, err
	}
	var err error
	if u.Groups, err = ParseList(groups); err != nil {
		return u, Internal(err, "bad groups of user "+u.ID)
	}
	return u, nil
}

// ScanRole reads a row of (name, permissions, user_groups).
func ScanRole(s Scanner) (openatp.Role, error) {
	var r openatp.Role
	var perms, groups string
	err := s.Scan(&r.Name, &perms, &groups)
	if err != nil {
		return r, err
	}
	if r.Permissions, err = ParseList(perms); err != nil {
		return r, Internal(err, "bad permissions of role "+r.Name)
	}
	if r.UserGroups, err = ParseList(groups); err != nil {
		return r, Internal(err, "bad user groups of role "+r.Name)
	}
	return r, nil
}

// RelationSelect reads (user, machine) relations with their user's
// spelling and SID and their machine's id, as ScanRelation reads them; a
// WHERE clause on u (users), um (user_machines) or m (machines) follows.
const RelationSelect = `SELECT u.account_name, u.account_domain, u.sid, m.id, um.first_seen, um.last_seen, um.logon_types
		FROM users u
		JOIN user_machines um ON um.tenant_seq = u.tenant_seq AND um.name_key = u.name_key AND um.domain_key = u.domain_key
		JOIN machines m ON m.seq = um.machine_seq`

// ScanRelation reads a row of RelationSelect.
func ScanRelation(s Scanner) (openatp.UserMachine, error) {
	var r openatp.UserMachine
	var first, last, types int64
	if err := s.Scan(&r.AccountName, &r.AccountDomain, &r.AccountSID, &r.MachineID, &first, &last, &types); err != nil {
		return r, err
	}
	r.FirstSeen, r.LastSeen, r.LogonTypes = FromNanos(first), FromNanos(last), LogonTypes(types)
	return r, nil
}
