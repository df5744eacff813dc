package openatp

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Alert is an alert of a tenant, raised on one of its machines, with the
// properties of the MDE Alert entity (mde-reference §11.3). Nil pointers
// are unknown values (JSON null). ComputerDNSName, RBACGroupID and
// RBACGroupName are not stored: they are the machine's, filled in when an
// alert is read (on a write, ComputerDNSName only names a machine the
// store creates for an alert whose machine the tenant does not have).
type Alert struct {
	ID                 string // letters, digits, '_' and '-', such as da637472900382838869_1364969609
	IncidentID         *int64
	InvestigationID    *int64
	AssignedTo         *string
	Severity           string // one of AlertSeverities
	Status             string // one of AlertStatuses
	Classification     *string
	Determination      *string
	InvestigationState *string
	DetectionSource    *string
	DetectorID         *string
	Category           *string
	ThreatFamilyName   *string
	Title              *string
	Description        *string
	AlertCreationTime  *time.Time
	FirstEventTime     *time.Time
	LastEventTime      *time.Time
	// LastUpdateTime changes with every change of the alert; the store
	// sets it (see AlertStore). Never nil in an alert read from a store.
	LastUpdateTime  *time.Time
	ResolvedTime    *time.Time
	MachineID       string
	ComputerDNSName *string
	RBACGroupID     int64
	RBACGroupName   string
	AADTenantID     *string
	ThreatName      *string
	MitreTechniques []string
	RelatedUser     *AlertAccount
	LoggedOnUsers   []AlertAccount
	Comments        []AlertComment
	Evidence        []Evidence
}

// AlertAccount is a user named by an alert: its related user
// ({"userName","domainName"}) or one of its logged-on users
// ({"accountName","domainName"}).
type AlertAccount struct {
	Name   string
	Domain *string
}

// AlertComment is a comment on an alert.
type AlertComment struct {
	Comment     string
	CreatedBy   *string
	CreatedTime *time.Time
}

// Evidence is one entity an alert names as evidence, with every property
// of the documented Alert evidence (mde-reference §11.3) and the live
// service's registryValueName; nil is null.
type Evidence struct {
	EntityType                *string
	EvidenceCreationTime      *time.Time
	SHA1                      *string
	SHA256                    *string
	FileName                  *string
	FilePath                  *string
	ProcessID                 *int64
	ProcessCommandLine        *string
	ProcessCreationTime       *time.Time
	ParentProcessID           *int64
	ParentProcessCreationTime *time.Time
	ParentProcessFileName     *string
	ParentProcessFilePath     *string
	IPAddress                 *string
	URL                       *string
	RegistryKey               *string
	RegistryHive              *string
	RegistryValueType         *string
	RegistryValue             *string
	RegistryValueName         *string
	AccountName               *string
	DomainName                *string
	UserSID                   *string
	AADUserID                 *string
	UserPrincipalName         *string
	DetectionStatus           *string
}

// The permissions of the alert routes (mde-reference §11). The write
// permission of the application is documented under two spellings; both
// are accepted.
const (
	PermAlertReadAll       = "Alert.Read.All"
	PermAlertReadWriteAll  = "Alert.ReadWrite.All"
	PermAlertsReadWriteAll = "Alerts.ReadWrite.All" // sic: the spelling of the PATCH page in every era
	PermAlertRead          = "Alert.Read"
	PermAlertReadWrite     = "Alert.ReadWrite"
)

// The documented enumerations of the Alert entity, in their documented
// order (which $filter's gt and lt and $orderby follow). Classification and
// determination accept the values of every era.
var (
	AlertSeverities = []string{"UnSpecified", "Informational", "Low", "Medium", "High"}
	AlertStatuses   = []string{"Unknown", "New", "InProgress", "Resolved"}
	// InvestigationStates are the values of investigationState.
	InvestigationStates = []string{"Unknown", "Terminated", "SuccessfullyRemediated", "Benign", "Failed",
		"PartiallyRemediated", "Running", "PendingApproval", "PendingResource", "PartiallyInvestigated",
		"TerminatedByUser", "TerminatedBySystem", "Queued", "InnerFailure", "PreexistingAlert", "UnsupportedOs",
		"UnsupportedAlertType", "SuppressedAlert"}
	AlertClassifications = []string{"Unknown", "FalsePositive", "TruePositive", "InformationalExpectedActivity"}
	AlertDeterminations  = []string{
		// 2018 to 2022
		"NotAvailable", "Apt", "Malware", "SecurityPersonnel", "SecurityTesting", "UnwantedSoftware", "Other",
		// 2022 on (update-alert's spellings after alerts.md's where they differ)
		"MultiStagedAttack", "MaliciousUserActivity", "CompromisedUser", "Phishing", "LineOfBusinessApplication",
		"ConfirmedUserActivity", "ConfirmedActivity", "Clean", "NotMalicious", "InsufficientData",
		// accepted by the live service (microsoft-365-docs #11228)
		"NoEnoughDataToValidate",
	}
	// AlertCategories are the categories CreateAlertByReference accepts;
	// stored alerts may have any category.
	AlertCategories = []string{"General", "CommandAndControl", "Collection", "CredentialAccess", "DefenseEvasion",
		"Discovery", "Exfiltration", "Exploit", "Execution", "InitialAccess", "LateralMovement", "Malware",
		"Persistence", "PrivilegeEscalation", "Ransomware", "SuspiciousActivity"}
)

// classificationAliases are other documented spellings of a
// classification, and the one openatp keeps.
var classificationAliases = map[string]string{"Informational, expected activity": "InformationalExpectedActivity"}

// CanonicalEnum returns the member of values that v names, ignoring ASCII
// case (and, for AlertClassifications, the spelling "Informational,
// expected activity"); ok is false if none.
func CanonicalEnum(values []string, v string) (string, bool) {
	for _, w := range values {
		if strings.EqualFold(v, w) {
			return w, true
		}
	}
	if slices.Equal(values, AlertClassifications) {
		for alias, w := range classificationAliases {
			if strings.EqualFold(v, alias) {
				return w, true
			}
		}
	}
	return "", false
}

// Limits of an alert.
const (
	MaxAlertIDLen   = 128
	MaxAlertText    = 16 << 10 // the longest text property (description, comment, command line, ...)
	MaxAlertItems   = 1000     // the most comments, evidence, techniques or logged-on users of one alert
	alertIDAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"
)

// ValidAlertID reports whether id has the form of an alert id: 1 to 128
// ASCII letters, digits, '_' and '-' (the ids the service gives, such as
// da637472900382838869_1364969609 or
// da0c7e089d-5ff6-4e04-8000-17f4e35fa783_1, all have it).
func ValidAlertID(id string) bool {
	if id == "" || len(id) > MaxAlertIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if strings.IndexByte(alertIDAlphabet, id[i]) < 0 {
			return false
		}
	}
	return true
}

// NewAlertID returns a fresh alert id in the service's form: "da", the
// .NET ticks of t (100 ns since 0001-01-01), '_' and a random number.
func NewAlertID(t time.Time) string {
	const ticksAtUnixEpoch = 621355968000000000
	ticks := t.UnixNano()/100 + ticksAtUnixEpoch
	return fmt.Sprintf("da%d_%d", ticks, rand.Int32())
}

// Normalize canonicalizes a in place (UTC times rounded to the documented
// precision, nil lists made empty, the machine id lower-cased, derived
// properties cleared but ComputerDNSName) and validates it. The error is of
// kind Invalid and its message names the field.
func (a *Alert) Normalize() error {
	if !ValidAlertID(a.ID) {
		return InvalidField("id", "must be 1 to %d letters, digits, '_' or '-', got %q", MaxAlertIDLen, clip(a.ID))
	}
	a.MachineID = strings.ToLower(a.MachineID)
	if !ValidMachineID(a.MachineID) {
		return InvalidField("machineId", "must be 40 hexadecimal characters, got %q", clip(a.MachineID))
	}
	a.RBACGroupID, a.RBACGroupName = 0, ""
	enums := []struct {
		name     string
		v        *string
		values   []string
		required bool
	}{
		{"severity", &a.Severity, AlertSeverities, true}, {"status", &a.Status, AlertStatuses, true},
		{"classification", a.Classification, AlertClassifications, false},
		{"determination", a.Determination, AlertDeterminations, false},
		{"investigationState", a.InvestigationState, InvestigationStates, false},
	}
	for _, e := range enums {
		if e.v == nil {
			continue
		}
		if *e.v == "" && e.required {
			return InvalidField(e.name, "is required")
		}
		if alias, ok := classificationAliases[*e.v]; ok && e.name == "classification" {
			*e.v = alias
		}
		if !slices.Contains(e.values, *e.v) {
			return InvalidField(e.name, "%q is not one of %s", clip(*e.v), strings.Join(e.values, ", "))
		}
	}
	for _, s := range []struct {
		name string
		v    *string
	}{
		{"assignedTo", a.AssignedTo}, {"detectionSource", a.DetectionSource}, {"detectorId", a.DetectorID},
		{"category", a.Category}, {"threatFamilyName", a.ThreatFamilyName}, {"title", a.Title},
		{"description", a.Description}, {"aadTenantId", a.AADTenantID},
		{"threatName", a.ThreatName},
	} {
		if err := checkText(s.name, s.v); err != nil {
			return err
		}
	}
	if err := checkString("computerDnsName", a.ComputerDNSName); err != nil { // a machine's name
		return err
	}
	for _, t := range []**time.Time{&a.AlertCreationTime, &a.FirstEventTime, &a.LastEventTime, &a.LastUpdateTime, &a.ResolvedTime} {
		roundTime(t)
	}
	if a.MitreTechniques == nil {
		a.MitreTechniques = []string{}
	}
	for i := range a.MitreTechniques {
		if err := checkText("mitreTechniques", &a.MitreTechniques[i]); err != nil {
			return err
		}
	}
	if a.RelatedUser != nil {
		if err := a.RelatedUser.check("relatedUser.userName", "relatedUser.domainName"); err != nil {
			return err
		}
	}
	if a.LoggedOnUsers == nil {
		a.LoggedOnUsers = []AlertAccount{}
	}
	for i := range a.LoggedOnUsers {
		if err := a.LoggedOnUsers[i].check("loggedOnUsers.accountName", "loggedOnUsers.domainName"); err != nil {
			return err
		}
	}
	if a.Comments == nil {
		a.Comments = []AlertComment{}
	}
	for i := range a.Comments {
		c := &a.Comments[i]
		if err := checkText("comments.comment", &c.Comment); err != nil {
			return err
		}
		if err := checkText("comments.createdBy", c.CreatedBy); err != nil {
			return err
		}
		roundTime(&c.CreatedTime)
	}
	if a.Evidence == nil {
		a.Evidence = []Evidence{}
	}
	for i := range a.Evidence {
		if err := a.Evidence[i].normalize(); err != nil {
			return err
		}
	}
	for _, n := range []struct {
		name string
		len  int
	}{{"mitreTechniques", len(a.MitreTechniques)}, {"loggedOnUsers", len(a.LoggedOnUsers)}, {"comments", len(a.Comments)}, {"evidence", len(a.Evidence)}} {
		if n.len > MaxAlertItems {
			return InvalidField(n.name, "an alert has at most %d", MaxAlertItems)
		}
	}
	return nil
}

func (u *AlertAccount) check(name, domain string) error {
	if u.Name == "" {
		return InvalidField(name, "is required")
	}
	if err := checkText(name, &u.Name); err != nil {
		return err
	}
	return checkText(domain, u.Domain)
}

func (e *Evidence) normalize() error {
	for _, s := range []struct {
		name string
		v    *string
	}{
		{"entityType", e.EntityType}, {"sha1", e.SHA1}, {"sha256", e.SHA256}, {"fileName", e.FileName},
		{"filePath", e.FilePath}, {"processCommandLine", e.ProcessCommandLine},
		{"parentProcessFileName", e.ParentProcessFileName}, {"parentProcessFilePath", e.ParentProcessFilePath},
		{"ipAddress", e.IPAddress}, {"url", e.URL}, {"registryKey", e.RegistryKey}, {"registryHive", e.RegistryHive},
		{"registryValueType", e.RegistryValueType}, {"registryValue", e.RegistryValue},
		{"registryValueName", e.RegistryValueName}, {"accountName", e.AccountName}, {"domainName", e.DomainName},
		{"userSid", e.UserSID}, {"aadUserId", e.AADUserID}, {"userPrincipalName", e.UserPrincipalName},
		{"detectionStatus", e.DetectionStatus},
	} {
		if err := checkText("evidence."+s.name, s.v); err != nil {
			return err
		}
	}
	for _, t := range []**time.Time{&e.EvidenceCreationTime, &e.ProcessCreationTime, &e.ParentProcessCreationTime} {
		roundTime(t)
	}
	return nil
}

// CheckText is checkText for the layers over the domain (the request
// bodies of internal/actionrequest): the same rule, the same errors.
func CheckText(field string, v *string) error { return checkText(field, v) }

// checkText checks an optional text property of an alert: valid UTF-8, at
// most MaxAlertText bytes.
func checkText(field string, v *string) error {
	if v == nil {
		return nil
	}
	if !utf8.ValidString(*v) {
		return InvalidField(field, "is not valid UTF-8")
	}
	if len(*v) > MaxAlertText {
		return InvalidField(field, "is longer than %d bytes", MaxAlertText)
	}
	return nil
}

// roundTime makes *t UTC, rounded to TimePrecision.
func roundTime(t **time.Time) {
	if *t != nil {
		u := (*t).UTC().Round(TimePrecision)
		*t = &u
	}
}

// Absorbs reports whether a, an alert open on a machine, takes in a new
// alert of the same machine with the title title (AlertStore.CreateAlert):
// it is not Resolved and has the same title, ignoring case.
func (a *Alert) Absorbs(title *string) bool {
	if a.Status == "Resolved" {
		return false
	}
	if a.Title == nil || title == nil {
		return a.Title == nil && title == nil
	}
	return strings.EqualFold(*a.Title, *title)
}

// Absorb widens a's event times to b's, as CreateAlert does when a absorbs
// b, and stamps a.
func (a *Alert) Absorb(b *Alert, stamp time.Time) {
	if b.FirstEventTime != nil && (a.FirstEventTime == nil || b.FirstEventTime.Before(*a.FirstEventTime)) {
		a.FirstEventTime = b.FirstEventTime
	}
	if b.LastEventTime != nil && (a.LastEventTime == nil || b.LastEventTime.After(*a.LastEventTime)) {
		a.LastEventTime = b.LastEventTime
	}
	a.LastUpdateTime = &stamp
}

// AbsorbedOrNew decides what CreateAlert stores for a new alert a, given
// the alerts of its machine that are not Resolved: the first of them that
// absorbs a (with isNew false), or a itself, stamped (and created at stamp
// when it has no creation time).
func AbsorbedOrNew(a Alert, open []Alert, stamp time.Time) (stored Alert, isNew bool) {
	for i := range open {
		if open[i].Absorbs(a.Title) {
			o := open[i]
			o.Absorb(&a, stamp)
			return o, false
		}
	}
	a.LastUpdateTime = &stamp
	if a.AlertCreationTime == nil {
		a.AlertCreationTime = &stamp
	}
	return a, true
}

// Changed applies f to a copy of a (an alert as stored) at stamp, as
// AlertStore.UpdateAlerts does: it returns the result normalized and
// stamped, ready to store. Invalid if f changed the id or the machine or
// the result does not normalize; an error of f as it is.
func (a Alert) Changed(stamp time.Time, f func(*Alert, time.Time) error) (Alert, error) {
	id, machine := a.ID, a.MachineID
	if err := f(&a, stamp); err != nil {
		return a, err
	}
	if a.ID != id || a.MachineID != machine {
		return a, CodedErrorf(Invalid, "InvalidInput", "id, machineId: cannot be changed")
	}
	a.LastUpdateTime = &stamp
	if err := a.Normalize(); err != nil {
		return a, err
	}
	return a, nil
}

// WithMachineOf returns a with the properties that come from its machine
// (name, device group) taken from m.
func (a Alert) WithMachineOf(m *Alert) Alert {
	a.ComputerDNSName, a.RBACGroupID, a.RBACGroupName = m.ComputerDNSName, m.RBACGroupID, m.RBACGroupName
	return a
}

// AlertStore keeps the alerts of tenants. An alert belongs to one machine
// of its tenant; deleting the machine (DeleteMachine, ResetTenant) deletes
// its alerts. Every call names its tenant; nothing of one tenant is ever
// visible through another.
//
// Each tenant has an alert clock: every alert write stamps the alerts it
// changes with a LastUpdateTime later than every stamp of the tenant
// before it (the current time, or 100 ns after the previous stamp when the
// clock has not moved on), taken inside the write transaction, so that
// stamps are unique in the tenant and writes commit in the order of their
// stamps: a reader that has seen an alert stamped t has seen every change
// stamped before t, and a client that polls "lastUpdateTime gt <the
// greatest it has seen>" sees every later change.
type AlertStore interface {
	// UpsertAlerts inserts or replaces alerts by id, all or nothing (an
	// import). Alerts must be normalized. An alert keeps the times it
	// is given; one without LastUpdateTime is stamped by the alert clock,
	// and the clock moves to at least the latest LastUpdateTime written.
	// An alert whose machine the tenant does not have creates that machine,
	// with only its id and the alert's ComputerDNSName. Invalid (with an
	// ItemError) if an alert does not normalize; NotFound if the tenant
	// does not exist.
	UpsertAlerts(ctx context.Context, tenantID string, as []Alert) error

	// Alert returns one alert with its machine's name and device group.
	// NotFound (code "ResourceNotFound") if the tenant has no such alert.
	Alert(ctx context.Context, tenantID, id string) (Alert, error)

	// UpdateAlerts changes alerts (distinct ids) in one write
	// transaction: it reads each alert, calls f with it and the stamp of
	// the write, normalizes what f left, sets its LastUpdateTime to the
	// stamp and stores it; every alert is changed, or none (the first
	// error is returned). The alerts come back in the order of ids, as
	// stored, with their machine's name and device group. f must only
	// change a; it runs while other writers wait and may run more than
	// once. Invalid if the result does not normalize or f changed the id
	// or the machine; NotFound (code "ResourceNotFound") if the tenant has
	// no alert of one of the ids.
	UpdateAlerts(ctx context.Context, tenantID string, ids []string, f func(a *Alert, stamp time.Time) error) ([]Alert, error)

	// CreateAlert stores a new alert stamped by the alert clock (its
	// LastUpdateTime, and its AlertCreationTime when nil), unless an
	// alert of the same machine with the same title (ignoring case) is
	// not Resolved: that alert absorbs it instead, its first and last
	// event times widened to a's and its LastUpdateTime stamped, and is
	// returned with created false. a must be normalized. Conflict if an
	// alert with a's id exists; NotFound (code "ResourceNotFound") if the
	// tenant has no machine a.MachineID or does not exist.
	CreateAlert(ctx context.Context, tenantID string, a Alert) (stored Alert, created bool, err error)

	// ScanAlerts streams every alert of the tenant, with its machine's
	// name and device group, ordered by id, from one consistent view.
	// NotFound if the tenant does not exist.
	ScanAlerts(ctx context.Context, tenantID string, f func(Alert) error) error

	// UserRelations returns the (user, machine) relations of the users
	// that u names (as UserMachines matches them), ordered by name key,
	// domain key, then machine id; an empty list when there are none.
	// NotFound if the tenant does not exist.
	UserRelations(ctx context.Context, tenantID string, u UserRef) ([]UserMachine, error)
}
