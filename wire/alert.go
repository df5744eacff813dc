package wire

import (
	"strconv"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/odata"
)

// The properties of the Alert entity, by their index in AlertSchema (the
// order AppendAlert writes: the documented one, with the live service's
// loggedOnUsers after relatedUser).
const (
	AID = iota
	AIncidentID
	AInvestigationID
	AAssignedTo
	ASeverity
	AStatus
	AClassification
	ADetermination
	AInvestigationState
	ADetectionSource
	ADetectorID
	ACategory
	AThreatFamilyName
	ATitle
	ADescription
	AAlertCreationTime
	AFirstEventTime
	ALastEventTime
	ALastUpdateTime
	AResolvedTime
	AMachineID
	AComputerDNSName
	ARBACGroupName
	AADTenantID
	AThreatName
	AMitreTechniques
	ARelatedUser
	ALoggedOnUsers
	AComments
	AEvidence
	alertProps
)

// AlertProperties are the names of the Alert entity's properties, property
// i of AlertSchema. Import reads records by them.
var AlertProperties = []string{
	"id", "incidentId", "investigationId", "assignedTo", "severity", "status", "classification", "determination",
	"investigationState", "detectionSource", "detectorId", "category", "threatFamilyName", "title", "description",
	"alertCreationTime", "firstEventTime", "lastEventTime", "lastUpdateTime", "resolvedTime", "machineId",
	"computerDnsName", "rbacGroupName", "aadTenantId", "threatName", "mitreTechniques", "relatedUser",
	"loggedOnUsers", "comments", "evidence",
}

// EvidenceProperties are the properties of an evidence item, in the order
// AppendEvidence writes them.
var EvidenceProperties = []string{
	"entityType", "evidenceCreationTime", "sha1", "sha256", "fileName", "filePath", "processId",
	"processCommandLine", "processCreationTime", "parentProcessId", "parentProcessCreationTime",
	"parentProcessFileName", "parentProcessFilePath", "ipAddress", "url", "registryKey", "registryHive",
	"registryValueType", "registryValue", "registryValueName", "accountName", "domainName", "userSid",
	"aadUserId", "userPrincipalName", "detectionStatus",
}

// CommentProperties are the properties of a comment.
var CommentProperties = []string{"comment", "createdBy", "createdTime"}

// AlertStringField returns the field of a that holds the optional string
// property name, or nil if name is not one.
func AlertStringField(a *openatp.Alert, name string) **string {
	switch name {
	case "assignedTo":
		return &a.AssignedTo
	case "classification":
		return &a.Classification
	case "determination":
		return &a.Determination
	case "investigationState":
		return &a.InvestigationState
	case "detectionSource":
		return &a.DetectionSource
	case "detectorId":
		return &a.DetectorID
	case "category":
		return &a.Category
	case "threatFamilyName":
		return &a.ThreatFamilyName
	case "title":
		return &a.Title
	case "description":
		return &a.Description
	case "computerDnsName":
		return &a.ComputerDNSName
	case "aadTenantId":
		return &a.AADTenantID
	case "threatName":
		return &a.ThreatName
	}
	return nil
}

// AlertTimeField returns the field of a that holds the time property
// name, or nil if name is not one.
func AlertTimeField(a *openatp.Alert, name string) **time.Time {
	switch name {
	case "alertCreationTime":
		return &a.AlertCreationTime
	case "firstEventTime":
		return &a.FirstEventTime
	case "lastEventTime":
		return &a.LastEventTime
	case "lastUpdateTime":
		return &a.LastUpdateTime
	case "resolvedTime":
		return &a.ResolvedTime
	}
	return nil
}

// EvidenceField returns the field of e that holds property i of
// EvidenceProperties: a **string, **time.Time or **int64.
func EvidenceField(e *openatp.Evidence, i int) any {
	return [...]any{&e.EntityType, &e.EvidenceCreationTime, &e.SHA1, &e.SHA256, &e.FileName, &e.FilePath, &e.ProcessID,
		&e.ProcessCommandLine, &e.ProcessCreationTime, &e.ParentProcessID, &e.ParentProcessCreationTime,
		&e.ParentProcessFileName, &e.ParentProcessFilePath, &e.IPAddress, &e.URL, &e.RegistryKey, &e.RegistryHive,
		&e.RegistryValueType, &e.RegistryValue, &e.RegistryValueName, &e.AccountName, &e.DomainName, &e.UserSID,
		&e.AADUserID, &e.UserPrincipalName, &e.DetectionStatus}[i]
}

// DerivedAlertProperty reports whether an Alert property is derived by
// openatp from the alert's machine rather than stored.
func DerivedAlertProperty(name string) bool { return name == "rbacGroupName" }

// AlertSchema is the Alert entity for OData queries: every property may
// be selected; the properties the documentation lists as filterable in
// any era (mde-reference §11.2: id, incidentId, investigationId,
// assignedTo, severity, status, detectionSource, category,
// alertCreationTime, lastEventTime, lastUpdateTime) and machineId may be
// filtered and ordered on.
var AlertSchema = alertSchema()

func alertSchema() *odata.Schema {
	props := make([]odata.Property, alertProps)
	for i, name := range AlertProperties {
		props[i] = odata.Property{Name: name, Kind: odata.String, Selectable: true}
	}
	set := func(i int, k odata.Kind, filter bool, values ...string) {
		props[i].Kind, props[i].Values, props[i].Filterable, props[i].Orderable = k, values, filter, filter
	}
	for _, i := range []int{AID, AAssignedTo, ADetectionSource, ACategory, AMachineID} {
		set(i, odata.String, true)
	}
	set(AIncidentID, odata.Int, true)
	set(AInvestigationID, odata.Int, true)
	set(ASeverity, odata.Enum, true, openatp.AlertSeverities...)
	set(AStatus, odata.Enum, true, openatp.AlertStatuses...)
	for _, i := range []int{AAlertCreationTime, ALastEventTime, ALastUpdateTime} {
		set(i, odata.Time, true)
	}
	for _, i := range []int{AFirstEventTime, AResolvedTime} {
		set(i, odata.Time, false)
	}
	set(AMitreTechniques, odata.StringCollection, false)
	return odata.NewSchema(props...)
}

// AppendAlert appends the JSON object of a to b: its evidence, or with
// evidence false an empty list (a collection without $expand=evidence).
func AppendAlert(b []byte, a *openatp.Alert, evidence bool) []byte {
	b = AppendAlertHead(b, a)
	b = AppendAlertMachine(b, a.ComputerDNSName, a.RBACGroupID, a.RBACGroupName)
	b = AppendAlertTail(b, a)
	b = append(b, `,"evidence":`...)
	if evidence {
		b = AppendEvidence(b, a.Evidence)
	} else {
		b = append(b, "[]"...)
	}
	return append(b, '}')
}

// AppendAlertHead appends the properties of a from id to machineId (the
// ones before its machine's), opening the object.
func AppendAlertHead(b []byte, a *openatp.Alert) []byte {
	b = append(b, `{"id":`...)
	b = AppendString(b, a.ID)
	b = append(b, `,"incidentId":`...)
	b = appendInt(b, a.IncidentID)
	b = append(b, `,"investigationId":`...)
	b = appendInt(b, a.InvestigationID)
	b = append(b, `,"assignedTo":`...)
	b = AppendStringPtr(b, a.AssignedTo)
	b = append(b, `,"severity":`...)
	b = AppendString(b, a.Severity)
	b = append(b, `,"status":`...)
	b = AppendString(b, a.Status)
	b = append(b, `,"classification":`...)
	b = AppendStringPtr(b, a.Classification)
	b = append(b, `,"determination":`...)
	b = AppendStringPtr(b, a.Determination)
	b = append(b, `,"investigationState":`...)
	b = AppendStringPtr(b, a.InvestigationState)
	b = append(b, `,"detectionSource":`...)
	b = AppendStringPtr(b, a.DetectionSource)
	b = append(b, `,"detectorId":`...)
	b = AppendStringPtr(b, a.DetectorID)
	b = append(b, `,"category":`...)
	b = AppendStringPtr(b, a.Category)
	b = append(b, `,"threatFamilyName":`...)
	b = AppendStringPtr(b, a.ThreatFamilyName)
	b = append(b, `,"title":`...)
	b = AppendStringPtr(b, a.Title)
	b = append(b, `,"description":`...)
	b = AppendStringPtr(b, a.Description)
	b = append(b, `,"alertCreationTime":`...)
	b = AppendAlertTime(b, a.AlertCreationTime)
	b = append(b, `,"firstEventTime":`...)
	b = AppendAlertTime(b, a.FirstEventTime)
	b = append(b, `,"lastEventTime":`...)
	b = AppendAlertTime(b, a.LastEventTime)
	b = append(b, `,"lastUpdateTime":`...)
	b = AppendAlertTime(b, a.LastUpdateTime)
	b = append(b, `,"resolvedTime":`...)
	b = AppendAlertTime(b, a.ResolvedTime)
	b = append(b, `,"machineId":`...)
	return AppendString(b, a.MachineID)
}

// AppendAlertMachine appends the properties an alert takes from its
// machine: computerDnsName, and rbacGroupName (null for the default
// group, as the live service writes it for ungrouped machines).
func AppendAlertMachine(b []byte, name *string, groupID int64, groupName string) []byte {
	b = append(b, `,"computerDnsName":`...)
	b = AppendStringPtr(b, name)
	b = append(b, `,"rbacGroupName":`...)
	if groupID == openatp.DefaultGroupID {
		return append(b, "null"...)
	}
	return AppendString(b, groupName)
}

// AppendAlertTail appends the properties of a from aadTenantId to
// comments (the ones after its machine's, before evidence).
func AppendAlertTail(b []byte, a *openatp.Alert) []byte {
	b = append(b, `,"aadTenantId":`...)
	b = AppendStringPtr(b, a.AADTenantID)
	b = append(b, `,"threatName":`...)
	b = AppendStringPtr(b, a.ThreatName)
	b = append(b, `,"mitreTechniques":[`...)
	for i, t := range a.MitreTechniques {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendString(b, t)
	}
	b = append(b, `],"relatedUser":`...)
	if a.RelatedUser == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, `{"userName":`...)
		b = AppendString(b, a.RelatedUser.Name)
		b = append(b, `,"domainName":`...)
		b = AppendStringPtr(b, a.RelatedUser.Domain)
		b = append(b, '}')
	}
	b = append(b, `,"loggedOnUsers":[`...)
	for i, u := range a.LoggedOnUsers {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"accountName":`...)
		b = AppendString(b, u.Name)
		b = append(b, `,"domainName":`...)
		b = AppendStringPtr(b, u.Domain)
		b = append(b, '}')
	}
	b = append(b, `],"comments":[`...)
	for i := range a.Comments {
		c := &a.Comments[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"comment":`...)
		b = AppendString(b, c.Comment)
		b = append(b, `,"createdBy":`...)
		b = AppendStringPtr(b, c.CreatedBy)
		b = append(b, `,"createdTime":`...)
		b = AppendAlertTime(b, c.CreatedTime)
		b = append(b, '}')
	}
	return append(b, ']')
}

// AppendEvidence appends the JSON array of an alert's evidence.
func AppendEvidence(b []byte, ev []openatp.Evidence) []byte {
	b = append(b, '[')
	for i := range ev {
		if i > 0 {
			b = append(b, ',')
		}
		for j, name := range EvidenceProperties {
			if j == 0 {
				b = append(b, `{"`...)
			} else {
				b = append(b, `,"`...)
			}
			b = append(b, name...)
			b = append(b, `":`...)
			switch f := EvidenceField(&ev[i], j).(type) {
			case **string:
				b = AppendStringPtr(b, *f)
			case **time.Time:
				b = AppendAlertTime(b, *f)
			case **int64:
				b = appendInt(b, *f)
			}
		}
		b = append(b, '}')
	}
	return append(b, ']')
}

// AppendAlertTime appends t as the service writes an alert's times: UTC,
// the fraction of a second without trailing zeros (2021-01-26T20:33:59.2Z,
// 2023-04-25T22:52:11Z), or null.
func AppendAlertTime(b []byte, t *time.Time) []byte {
	if t == nil {
		return append(b, "null"...)
	}
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

func appendInt(b []byte, n *int64) []byte {
	if n == nil {
		return append(b, "null"...)
	}
	return strconv.AppendInt(b, *n, 10)
}

// AppendAlertUser appends the User entity of an alert's related user
// (GET /api/alerts/{id}/user, mde-reference §1.3), made from the user's
// (user, machine) relations rels (those the caller may see; none for a
// user openatp has seen no logon of): id is domain\name; firstSeen and
// lastSeen span the relations; logonTypes joins their types; the
// prevalence ids are null (openatp keeps no logon counts).
func AppendAlertUser(b []byte, u *openatp.AlertAccount, rels []openatp.UserMachine) []byte {
	name, domain, sid := u.Name, "", ""
	if u.Domain != nil {
		domain = *u.Domain
	}
	var first, last *time.Time
	var types []string
	network := len(rels) > 0
	for i := range rels {
		r := &rels[i]
		if i == 0 {
			name, domain = r.AccountName, r.AccountDomain
		}
		if sid == "" {
			sid = r.AccountSID
		}
		if first == nil || r.FirstSeen.Before(*first) {
			first = &r.FirstSeen
		}
		if last == nil || r.LastSeen.After(*last) {
			last = &r.LastSeen
		}
		for _, t := range r.LogonTypes {
			if !contains(types, t) {
				types = append(types, t)
			}
			network = network && t == "Network"
		}
		network = network && len(r.LogonTypes) > 0
	}
	b = append(b, `{"id":`...)
	b = AppendString(b, domain+`\`+name)
	b = append(b, `,"accountName":`...)
	b = AppendString(b, name)
	b = append(b, `,"accountDomain":`...)
	b = AppendString(b, domain)
	b = append(b, `,"accountSid":`...)
	if sid == "" {
		b = append(b, "null"...)
	} else {
		b = AppendString(b, sid)
	}
	b = append(b, `,"firstSeen":`...)
	b = AppendTime(b, first)
	b = append(b, `,"lastSeen":`...)
	b = AppendTime(b, last)
	b = append(b, `,"mostPrevalentMachineId":null,"leastPrevalentMachineId":null,"logonTypes":`...)
	if len(types) == 0 {
		b = append(b, "null"...)
	} else {
		s := types[0]
		for _, t := range types[1:] {
			s += ", " + t
		}
		b = AppendString(b, s)
	}
	b = append(b, `,"logOnMachinesCount":`...)
	b = strconv.AppendInt(b, int64(len(rels)), 10)
	b = append(b, `,"isDomainAdmin":false,"isOnlyNetworkUser":`...)
	b = strconv.AppendBool(b, network)
	return append(b, '}')
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
