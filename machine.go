package openatp

import (
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Machine is a device of a tenant, with every property of the MDE Machine
// entity. Nil pointers are unknown values (JSON null). RBACGroupID and
// RBACGroupName are not stored: they are derived from the tenant's device
// groups whenever a machine is read (see AssignGroup).
type Machine struct {
	ID                    string // 40 lowercase hex characters
	ComputerDNSName       *string
	FirstSeen             *time.Time
	LastSeen              *time.Time
	OSPlatform            *string
	OSVersion             *string
	OSProcessor           *string
	Version               *string
	LastIPAddress         *string
	LastExternalIPAddress *string
	AgentVersion          *string
	OSBuild               *int64
	HealthStatus          *string
	OnboardingStatus      *string
	RBACGroupID           int64
	RBACGroupName         string
	RiskScore             *string
	ExposureLevel         *string
	IsAADJoined           *bool
	AADDeviceID           *string
	MachineTags           []string
	DeviceValue           *string
	IPAddresses           []IPAddress
	OSArchitecture        *string
}

// IPAddress is one network interface address of a machine.
type IPAddress struct {
	IPAddress         string
	MACAddress        *string
	Type              *string
	OperationalStatus *string
}

// The documented enumerations of the Machine entity.
var (
	HealthStatuses     = []string{"Active", "Inactive", "ImpairedCommunication", "NoSensorData", "NoSensorDataImpairedCommunication", "Unknown"}
	OnboardingStatuses = []string{"Onboarded", "CanBeOnboarded", "Unsupported", "InsufficientInfo"}
	RiskScores         = []string{"None", "Informational", "Low", "Medium", "High"}
	ExposureLevels     = []string{"None", "Low", "Medium", "High"}
	DeviceValues       = []string{"Normal", "Low", "High"}
	OSArchitectures    = []string{"32-bit", "64-bit"}
)

var guidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// MaxStringLen is the longest string property openatp stores.
const MaxStringLen = 512

// TimePrecision is the precision of MDE timestamps (7 fractional digits).
const TimePrecision = 100 * time.Nanosecond

// ValidMachineID reports whether id has the form of an MDE machine id.
func ValidMachineID(id string) bool { return isHex(id, 40, "0123456789abcdef") }

// isHex reports whether s is n characters of digits (a regexp costs more
// than the rest of a logon event's checks together).
func isHex(s string, n int, digits string) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(digits, s[i]) < 0 {
			return false
		}
	}
	return true
}

// Normalize canonicalizes m in place (UTC times rounded to the documented
// precision, nil tag list made empty) and validates it. The error is of kind
// Invalid and its message names the field.
func (m *Machine) Normalize() error {
	if !ValidMachineID(m.ID) {
		return InvalidField("id", "must be 40 lowercase hexadecimal characters, got %q", clip(m.ID))
	}
	strs := []struct {
		name string
		v    *string
	}{
		{"computerDnsName", m.ComputerDNSName}, {"osPlatform", m.OSPlatform}, {"osVersion", m.OSVersion},
		{"osProcessor", m.OSProcessor}, {"version", m.Version}, {"agentVersion", m.AgentVersion},
	}
	for _, s := range strs {
		if err := checkString(s.name, s.v); err != nil {
			return err
		}
	}
	for _, t := range []**time.Time{&m.FirstSeen, &m.LastSeen} {
		if *t != nil {
			u := (*t).UTC().Round(TimePrecision)
			*t = &u
		}
	}
	if m.FirstSeen != nil && m.LastSeen != nil && m.LastSeen.Before(*m.FirstSeen) {
		return InvalidField("lastSeen", "is before firstSeen")
	}
	if err := checkIP("lastIpAddress", m.LastIPAddress); err != nil {
		return err
	}
	if err := checkIP("lastExternalIpAddress", m.LastExternalIPAddress); err != nil {
		return err
	}
	if m.OSBuild != nil && *m.OSBuild < 0 {
		return InvalidField("osBuild", "must not be negative")
	}
	enums := []struct {
		name   string
		v      *string
		values []string
	}{
		{"healthStatus", m.HealthStatus, HealthStatuses}, {"onboardingStatus", m.OnboardingStatus, OnboardingStatuses},
		{"riskScore", m.RiskScore, RiskScores}, {"exposureLevel", m.ExposureLevel, ExposureLevels},
		{"deviceValue", m.DeviceValue, DeviceValues}, {"osArchitecture", m.OSArchitecture, OSArchitectures},
	}
	for _, e := range enums {
		if e.v != nil && !slices.Contains(e.values, *e.v) {
			return InvalidField(e.name, "%q is not one of %s", clip(*e.v), strings.Join(e.values, ", "))
		}
	}
	if m.AADDeviceID != nil {
		if !guidPattern.MatchString(*m.AADDeviceID) {
			return InvalidField("aadDeviceId", "%q is not a GUID", clip(*m.AADDeviceID))
		}
		lower := strings.ToLower(*m.AADDeviceID)
		m.AADDeviceID = &lower
	}
	if m.MachineTags == nil {
		m.MachineTags = []string{}
	}
	for i := range m.MachineTags {
		if err := checkString("machineTags", &m.MachineTags[i]); err != nil {
			return err
		}
		if m.MachineTags[i] == "" {
			return InvalidField("machineTags", "a tag must not be empty")
		}
	}
	if m.IPAddresses == nil {
		m.IPAddresses = []IPAddress{}
	}
	for i := range m.IPAddresses {
		a := &m.IPAddresses[i]
		if _, err := netip.ParseAddr(a.IPAddress); err != nil {
			return InvalidField("ipAddresses.ipAddress", "%q is not an IP address", clip(a.IPAddress))
		}
		if a.MACAddress != nil && !isHex(*a.MACAddress, 12, "0123456789ABCDEF") {
			return InvalidField("ipAddresses.macAddress", "%q is not 12 uppercase hexadecimal digits", clip(*a.MACAddress))
		}
		if err := checkString("ipAddresses.type", a.Type); err != nil {
			return err
		}
		if err := checkString("ipAddresses.operationalStatus", a.OperationalStatus); err != nil {
			return err
		}
	}
	return nil
}

func checkString(field string, v *string) error {
	if v == nil {
		return nil
	}
	if !utf8.ValidString(*v) {
		return InvalidField(field, "is not valid UTF-8")
	}
	if len(*v) > MaxStringLen {
		return InvalidField(field, "is longer than %d bytes", MaxStringLen)
	}
	return nil
}

func checkIP(field string, v *string) error {
	if v == nil {
		return nil
	}
	if _, err := netip.ParseAddr(*v); err != nil {
		return InvalidField(field, "%q is not an IP address", clip(*v))
	}
	return nil
}

// clip shortens s for use in an error message.
// Changed applies f to a copy of m (a machine as stored), as
// MachineAPIStore.UpdateMachine does: it returns the result normalized,
// without a device group (the store's reads assign it). Invalid if f
// changed the id or the result does not normalize; an error of f as it is.
func (m Machine) Changed(f func(*Machine) error) (Machine, error) {
	id := m.ID
	if err := f(&m); err != nil {
		return m, err
	}
	if m.ID != id {
		return m, CodedErrorf(Invalid, "InvalidInput", "id: cannot be changed (from %q to %q)", clip(id), clip(m.ID))
	}
	m.RBACGroupID, m.RBACGroupName = 0, ""
	return m, m.Normalize()
}

func clip(s string) string { return Clip(s, 64) }

// Clip shortens s to at most n bytes (cut at a character boundary, "…"
// appended) for echoing input in an error message.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
