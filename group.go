package openatp

import "strings"

// DefaultGroupID and DefaultGroupName identify the default device group that
// holds every machine no other group's rule matches. It cannot be deleted or
// re-ranked and is always last.
const (
	DefaultGroupID   int64 = 0
	DefaultGroupName       = "Ungrouped machines (default)"
)

// RuleProperty is the machine property a device-group rule row matches.
type RuleProperty string

// The properties a rule row may match on.
const (
	RuleName       RuleProperty = "name"   // computerDnsName, prefix up to the first '.', or the whole name
	RuleDomain     RuleProperty = "domain" // the part of computerDnsName after the first '.'
	RuleTag        RuleProperty = "tag"
	RuleOSPlatform RuleProperty = "osPlatform"
)

// RuleRow is one row of a device group's matching rule: the machine matches
// when its property equals (ignoring case) one of Values.
type RuleRow struct {
	Property RuleProperty
	Values   []string
}

// DeviceGroup is a ranked device group of a tenant. Rank 1 is the highest.
type DeviceGroup struct {
	ID          int64
	Name        string
	Description string
	Rank        int
	Rules       []RuleRow
	// UserGroups may see the group's machines; none means every user
	// with the View Data permission may.
	UserGroups []string
}

// Matches reports whether m matches g's rule: rows of one property are
// OR'ed, different properties are AND'ed. A group without rows matches
// nothing.
func (g *DeviceGroup) Matches(m *Machine) bool {
	if len(g.Rules) == 0 {
		return false
	}
	// For each of the four properties: 0 not in the rule, 1 in the rule
	// and not matched yet, 2 matched.
	var state [4]uint8
	for _, row := range g.Rules {
		i := propIndex(row.Property)
		if i < 0 || state[i] == 2 {
			if i < 0 {
				return false
			}
			continue
		}
		state[i] = 1
		if rowMatches(row, m) {
			state[i] = 2
		}
	}
	for _, s := range state {
		if s == 1 {
			return false
		}
	}
	return true
}

func propIndex(p RuleProperty) int {
	switch p {
	case RuleName:
		return 0
	case RuleDomain:
		return 1
	case RuleTag:
		return 2
	case RuleOSPlatform:
		return 3
	}
	return -1
}

func rowMatches(row RuleRow, m *Machine) bool {
	name := ""
	if m.ComputerDNSName != nil {
		name = *m.ComputerDNSName
	}
	host, domain, _ := strings.Cut(name, ".")
	for _, v := range row.Values {
		switch row.Property {
		case RuleName:
			if name != "" && (strings.EqualFold(v, name) || strings.EqualFold(v, host)) {
				return true
			}
		case RuleDomain:
			if domain != "" && strings.EqualFold(v, domain) {
				return true
			}
		case RuleTag:
			for _, t := range m.MachineTags {
				if strings.EqualFold(v, t) {
					return true
				}
			}
		case RuleOSPlatform:
			if m.OSPlatform != nil && *m.OSPlatform != "" && strings.EqualFold(v, *m.OSPlatform) {
				return true
			}
		}
	}
	return false
}

// AssignGroup sets m.RBACGroupID and m.RBACGroupName from the highest-ranked
// group of groups (sorted by rank) whose rule m matches, else the default
// group.
func AssignGroup(groups []DeviceGroup, m *Machine) {
	for i := range groups {
		if groups[i].Matches(m) {
			m.RBACGroupID, m.RBACGroupName = groups[i].ID, groups[i].Name
			return
		}
	}
	m.RBACGroupID, m.RBACGroupName = DefaultGroupID, DefaultGroupName
}
