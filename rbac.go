package openatp

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// The role permissions of Defender for Endpoint RBAC.
const (
	PermViewData               = "View Data"
	PermAlertsInvestigation    = "Alerts investigation"
	PermActiveRemediation      = "Active remediation actions"
	PermManageSecuritySettings = "Manage security settings"
	PermManagePortalSettings   = "Manage portal system settings"
	PermLiveResponseBasic      = "Live response basic"
	PermLiveResponseAdvanced   = "Live response advanced"
	AdminRoleName              = "Defender for Endpoint administrator (default)"
	maxRBACNameLen             = 256
	maxPasswordLen             = 256
	minPasswordLen             = 8
	maxUserGroupsPerAssignment = 200
	maxPermissionsPerRole      = 16
	maxRoleOrGroupNameRunes    = 128
	maxDescriptionLen          = 1024
	maxRulesPerGroup           = 40
	maxValuesPerRule           = 10
	maxRuleValueLen            = 256
	maxDirectoryUserNameRunes  = 256
	maxUserGroupNameRunes      = 256
	maxUserGroupIDLen          = 64
)

// RolePermissions are the permissions a role may grant.
var RolePermissions = []string{PermViewData, PermAlertsInvestigation, PermActiveRemediation,
	PermManageSecuritySettings, PermManagePortalSettings, PermLiveResponseBasic, PermLiveResponseAdvanced}

// UserGroup is a group of directory users: openatp's stand-in for an Entra
// ID security group. Roles and device groups are assigned to user groups.
type UserGroup struct {
	ID   string // GUID, the value in a token's "groups" claim
	Name string
}

// DirectoryUser is a person who signs in for delegated (user-context)
// tokens. It is unrelated to the accounts seen in logons.
type DirectoryUser struct {
	ID           string // GUID, the token's oid
	UserName     string // sign-in name, e.g. alice@contoso.com; unique per tenant ignoring case
	DisplayName  string
	PasswordHash []byte   // bcrypt
	Groups       []string // user group ids
}

// Role grants permissions to the members of its user groups. The built-in
// administrator role (AdminRoleName) grants every permission and access to
// every device group.
type Role struct {
	Name        string
	Permissions []string
	UserGroups  []string
}

// Validate checks a role's name, permissions and user group ids.
func (r *Role) Validate() error {
	if err := checkName("name", r.Name, maxRoleOrGroupNameRunes); err != nil {
		return err
	}
	if len(r.Permissions) > maxPermissionsPerRole {
		return InvalidField("permissions", "at most %d", maxPermissionsPerRole)
	}
	for _, p := range r.Permissions {
		if !slices.Contains(RolePermissions, p) {
			return InvalidField("permissions", "%q is not one of %s", clip(p), strings.Join(RolePermissions, ", "))
		}
	}
	return checkGroupIDs("userGroups", r.UserGroups)
}

// Validate checks a device group: id, name, rank, rules and user groups.
func (g *DeviceGroup) Validate() error {
	switch {
	case g.ID < 0:
		return InvalidField("id", "must not be negative")
	case g.ID == DefaultGroupID || NameKey(g.Name) == NameKey(DefaultGroupName):
		return Errorf(Conflict, "the default device group exists already and cannot be created, changed or deleted")
	case g.Rank < 1:
		return InvalidField("rank", "must be 1 or more")
	case len(g.Description) > maxDescriptionLen || !utf8.ValidString(g.Description):
		return InvalidField("description", "at most %d bytes of UTF-8", maxDescriptionLen)
	case len(g.Rules) > maxRulesPerGroup:
		return InvalidField("rules", "at most %d rows", maxRulesPerGroup)
	}
	if err := checkName("name", g.Name, maxRoleOrGroupNameRunes); err != nil {
		return err
	}
	for _, row := range g.Rules {
		switch row.Property {
		case RuleName, RuleDomain, RuleTag, RuleOSPlatform:
		default:
			return InvalidField("rules", "unknown property %q (name, domain, tag, osPlatform)", clip(string(row.Property)))
		}
		if len(row.Values) == 0 || len(row.Values) > maxValuesPerRule {
			return InvalidField("rules", "a row has 1 to %d values", maxValuesPerRule)
		}
		for _, v := range row.Values {
			if v == "" || len(v) > maxRuleValueLen || !utf8.ValidString(v) {
				return InvalidField("rules", "a value is 1 to %d bytes of UTF-8", maxRuleValueLen)
			}
		}
	}
	return checkGroupIDs("userGroups", g.UserGroups)
}

// Validate checks a user group.
func (u *UserGroup) Validate() error {
	if u.ID == "" || len(u.ID) > maxUserGroupIDLen || !utf8.ValidString(u.ID) {
		return InvalidField("id", "1 to %d bytes", maxUserGroupIDLen)
	}
	return checkName("name", u.Name, maxUserGroupNameRunes)
}

// ValidateUserName checks a directory user's sign-in name.
func ValidateUserName(name string) error {
	if err := checkName("username", name, maxDirectoryUserNameRunes); err != nil {
		return err
	}
	if strings.ContainsAny(name, " \\/") {
		return InvalidField("username", "must not contain spaces, '\\' or '/'")
	}
	return nil
}

// ValidatePassword checks a new password's length.
func ValidatePassword(p string) error {
	if len(p) < minPasswordLen || len(p) > maxPasswordLen {
		return InvalidField("password", "%d to %d bytes", minPasswordLen, maxPasswordLen)
	}
	return nil
}

func checkName(field, s string, maxRunes int) error {
	if s == "" || strings.TrimSpace(s) != s {
		return InvalidField(field, "is required and must not start or end with spaces")
	}
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > maxRunes {
		return InvalidField(field, "at most %d characters of UTF-8", maxRunes)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return InvalidField(field, "contains a control character")
		}
	}
	return nil
}

func checkGroupIDs(field string, ids []string) error {
	if len(ids) > maxUserGroupsPerAssignment {
		return InvalidField(field, "at most %d", maxUserGroupsPerAssignment)
	}
	for _, id := range ids {
		if id == "" || len(id) > maxUserGroupIDLen || !utf8.ValidString(id) {
			return InvalidField(field, "an id is 1 to %d bytes", maxUserGroupIDLen)
		}
	}
	return nil
}

// Access is what a delegated caller may do and see, from its user groups.
type Access struct {
	Permissions []string
	AllGroups   bool           // the administrator role: every device group
	Groups      map[int64]bool // accessible device group ids (when not AllGroups)
}

// Has reports whether the access includes a permission.
func (a *Access) Has(perm string) bool { return slices.Contains(a.Permissions, perm) }

// CanSee reports whether machines of device group id are visible.
func (a *Access) CanSee(groupID int64) bool { return a.AllGroups || a.Groups[groupID] }

// ResolveAccess computes a delegated caller's access from its user groups:
// the union of the permissions of the roles assigned to any of them (the
// administrator role grants all, and every device group), and the device
// groups (including the default group) that have no user groups assigned or
// one of the caller's.
func ResolveAccess(userGroups []string, roles []Role, groups []DeviceGroup) Access {
	a := Access{Groups: map[int64]bool{DefaultGroupID: true}}
	member := func(assigned []string) bool {
		for _, g := range assigned {
			if slices.Contains(userGroups, g) {
				return true
			}
		}
		return false
	}
	for _, r := range roles {
		if !member(r.UserGroups) {
			continue
		}
		perms := r.Permissions
		if r.Name == AdminRoleName {
			a.AllGroups = true
			perms = RolePermissions
		}
		for _, p := range perms {
			if !slices.Contains(a.Permissions, p) {
				a.Permissions = append(a.Permissions, p)
			}
		}
	}
	for _, g := range groups {
		if len(g.UserGroups) == 0 || member(g.UserGroups) {
			a.Groups[g.ID] = true
		}
	}
	return a
}
