package sqlstore

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/alertlists"
)

// AlertInsertColumns are the columns of the alerts table both engines
// write, but tenant_seq, in the order of AlertArgs.
const AlertInsertColumns = `id, machine_id, incident_id, investigation_id, assigned_to, severity, status,
	classification, determination, investigation_state, detection_source, detector_id, category,
	threat_family_name, title, description, alert_creation_time, first_event_time, last_event_time,
	last_update_time, resolved_time, aad_tenant_id, threat_name, mitre_techniques, related_user,
	logged_on_users, comments, evidence`

// AlertWidth is the number of AlertInsertColumns.
const AlertWidth = 28

// AlertColumns are AlertInsertColumns of alerts a, in the order ScanAlert
// reads them.
var AlertColumns = "a." + strings.Join(strings.Fields(AlertInsertColumns), " a.")

// AlertMachineColumns are what ScanAlert reads of the alert's machine m
// after AlertColumns: enough to name it and find its device group.
const AlertMachineColumns = "m.computer_dns_name, m.os_platform, m.machine_tags"

// AlertSelect reads alerts a with their machines' columns m for the name
// and device group (AlertColumns, AlertMachineColumns).
var AlertSelect = "SELECT " + AlertColumns + ", " + AlertMachineColumns +
	" FROM alerts a JOIN machines m ON m.tenant_seq = a.tenant_seq AND m.id = a.machine_id"

// AlertUpdateSet is the SET clause of an upsert of alerts by (tenant_seq,
// id): every column but the keys, from the row proposed (excluded).
var AlertUpdateSet = updateSet(AlertInsertColumns)

// updateSet is the SET clause of an upsert by (tenant_seq, id) of the
// columns cols: each but id set from the row proposed (excluded).
func updateSet(cols string) string {
	var sets []string
	for _, c := range strings.Split(cols, ",") {
		c = strings.TrimSpace(c)
		if c != "id" {
			sets = append(sets, c+" = excluded."+c)
		}
	}
	return strings.Join(sets, ", ")
}

// AlertArgs returns the values of AlertInsertColumns for a normalized
// alert, of types both drivers take (nil pointers are NULL). An alert
// without LastUpdateTime is stored with stamp.
func AlertArgs(a *openatp.Alert, stamp int64) ([]any, error) {
	times := make([]*int64, 0, 5)
	for _, t := range []struct {
		name string
		v    *time.Time
	}{{"alertCreationTime", a.AlertCreationTime}, {"firstEventTime", a.FirstEventTime}, {"lastEventTime", a.LastEventTime},
		{"lastUpdateTime", a.LastUpdateTime}, {"resolvedTime", a.ResolvedTime}} {
		if t.v == nil {
			times = append(times, nil)
			continue
		}
		n, err := Nanos(t.name, *t.v)
		if err != nil {
			return nil, err
		}
		times = append(times, &n)
	}
	if times[3] == nil {
		times[3] = &stamp
	}
	lists := make([]string, 4)
	for i, v := range []any{a.MitreTechniques, a.LoggedOnUsers, a.Comments, a.Evidence} {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, Internal(err, "cannot encode the alert")
		}
		lists[i] = string(b)
	}
	var related *string
	if a.RelatedUser != nil {
		b, err := json.Marshal(a.RelatedUser)
		if err != nil {
			return nil, Internal(err, "cannot encode the alert")
		}
		related = openatp.Ptr(string(b))
	}
	return []any{a.ID, a.MachineID, a.IncidentID, a.InvestigationID, a.AssignedTo, a.Severity, a.Status,
		a.Classification, a.Determination, a.InvestigationState, a.DetectionSource, a.DetectorID, a.Category,
		a.ThreatFamilyName, a.Title, a.Description, times[0], times[1], times[2], *times[3], times[4],
		a.AADTenantID, a.ThreatName, lists[0], related, lists[1], lists[2], lists[3]}, nil
}

// AlertRow reads rows of AlertColumns (and, with Machine, of
// AlertMachineColumns), reusing its buffers.
type AlertRow struct {
	dest                                  []any
	a                                     openatp.Alert
	created, first, last, updated, solved *int64
	mitre, logged, comments, evidence     string
	related                               *string
	lists                                 alertlists.Reader
	// machine columns
	dns, platform *string
	tags          string
}

// Scan reads one row. With groups (machine columns read), the alert
// gets its machine's name and device group.
func (r *AlertRow) Scan(s Scanner, withMachine bool, groups []openatp.DeviceGroup) (openatp.Alert, error) {
	r.a = openatp.Alert{}
	a := &r.a
	r.dest = append(r.dest[:0], &a.ID, &a.MachineID, &a.IncidentID, &a.InvestigationID, &a.AssignedTo, &a.Severity,
		&a.Status, &a.Classification, &a.Determination, &a.InvestigationState, &a.DetectionSource, &a.DetectorID,
		&a.Category, &a.ThreatFamilyName, &a.Title, &a.Description, &r.created, &r.first, &r.last, &r.updated,
		&r.solved, &a.AADTenantID, &a.ThreatName, &r.mitre, &r.related, &r.logged, &r.comments, &r.evidence)
	if withMachine {
		r.dest = append(r.dest, &r.dns, &r.platform, &r.tags)
	}
	if err := s.Scan(r.dest...); err != nil {
		return openatp.Alert{}, err
	}
	a.AlertCreationTime, a.FirstEventTime, a.LastEventTime = TimeOf(r.created), TimeOf(r.first), TimeOf(r.last)
	a.LastUpdateTime, a.ResolvedTime = TimeOf(r.updated), TimeOf(r.solved)
	bad := func(err error) (openatp.Alert, error) {
		return openatp.Alert{}, Internal(err, "bad lists of alert "+a.ID)
	}
	var err error
	if a.MitreTechniques, err = r.lists.Strings(r.mitre); err != nil {
		return bad(err)
	}
	if a.LoggedOnUsers, err = r.lists.Accounts(r.logged); err != nil {
		return bad(err)
	}
	if a.Comments, err = r.lists.Comments(r.comments); err != nil {
		return bad(err)
	}
	if a.Evidence, err = r.lists.Evidence(r.evidence); err != nil {
		return bad(err)
	}
	if r.related != nil {
		if a.RelatedUser, err = r.lists.RelatedUser(*r.related); err != nil {
			return bad(err)
		}
	}
	if withMachine {
		m := openatp.Machine{ComputerDNSName: r.dns, OSPlatform: r.platform}
		if err := json.Unmarshal([]byte(r.tags), &m.MachineTags); err != nil {
			return bad(err)
		}
		openatp.AssignGroup(groups, &m)
		a.ComputerDNSName, a.RBACGroupID, a.RBACGroupName = m.ComputerDNSName, m.RBACGroupID, m.RBACGroupName
	}
	return r.a, nil
}

// TimeOf is the time of a nullable column of Unix ns: nil stays nil.
func TimeOf(n *int64) *time.Time {
	if n == nil {
		return nil
	}
	t := FromNanos(*n)
	return &t
}

// NextStamp is the alert clock's next stamp (Unix ns) after last, at now.
func NextStamp(last int64, now time.Time) int64 {
	return max(last+int64(openatp.TimePrecision), now.UTC().Round(openatp.TimePrecision).UnixNano())
}

// AlertNotFound is the NotFound error of an alert id.
func AlertNotFound(id string) error {
	return openatp.CodedErrorf(openatp.NotFound, "ResourceNotFound", "alert %s not found", Quote(id))
}

// NormalizeAlerts returns normalized copies of a batch of alerts
// (AlertStore.UpsertAlerts), the latest LastUpdateTime among them (Unix
// ns; 0 for none) and whether one has none, which the alert clock then
// stamps. Invalid, naming the index of the alert, if one does not
// normalize or has a time out of range.
func NormalizeAlerts(as []openatp.Alert) (norm []openatp.Alert, latest int64, stampless bool, err error) {
	norm = make([]openatp.Alert, len(as))
	for i := range as {
		norm[i] = as[i]
		a := &norm[i]
		if err := a.Normalize(); err != nil {
			return nil, 0, false, InvalidItem("alert", i, err)
		}
		if a.LastUpdateTime == nil {
			stampless = true
		} else if n, err := Nanos("lastUpdateTime", *a.LastUpdateTime); err != nil {
			return nil, 0, false, InvalidItem("alert", i, err)
		} else {
			latest = max(latest, n)
		}
	}
	return norm, latest, stampless, nil
}
