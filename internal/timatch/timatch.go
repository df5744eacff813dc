// Package timatch raises the alerts of custom indicators (issue 24): an
// active indicator with generateAlert whose value a machine in its device
// groups reports (a file event's SHA-1, SHA-256 or MD5; a network event's
// remote IP, URL or the URL's host) raises an alert on that machine. It is
// the one place where indicators meet events, called after an event
// import commits (Events) and after indicators are stored (LookBack, over
// the events already stored).
//
// One alert per indicator and machine while it is open: its id is derived
// from the pair ("ti<indicator id>_<machine id>", then "_2", "_3", ...
// once the earlier ones are Resolved), and a later sighting widens its
// first and last event times through the alert clock, so that the SIEM
// poll on lastUpdateTime sees it.
package timatch

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/observable"
	"github.com/openatp/openatp/sightings"
)

// The properties of a custom indicator's alert.
const (
	DetectionSource = "CustomerTI"         // as the live service names it (mde-reference §11.3)
	Category        = "SuspiciousActivity" // the service gives no documented category for custom indicators
	// maxGenerations bounds the alerts of one indicator and machine: past
	// it, a sighting updates the last one even if Resolved.
	maxGenerations = 100
)

// Store is what matching reads and writes: openatp.Store has it.
type Store interface {
	Indicators(ctx context.Context, tenantID string, keys ...string) ([]openatp.Indicator, error)
	Machine(ctx context.Context, tenantID, id string) (openatp.Machine, error)
	Alert(ctx context.Context, tenantID, id string) (openatp.Alert, error)
	UpsertAlerts(ctx context.Context, tenantID string, as []openatp.Alert) error
	UpdateAlerts(ctx context.Context, tenantID string, ids []string, f func(a *openatp.Alert, stamp time.Time) error) ([]openatp.Alert, error)
	FileEvents(ctx context.Context, tenantID string, f openatp.EventFilter) ([]openatp.FileEvent, error)
	NetworkEvents(ctx context.Context, tenantID string, f openatp.EventFilter) ([]openatp.NetworkEvent, error)
}

// sighting is an indicator seen on a machine: the span of the events and
// the evidence of the first.
type sighting struct {
	in          *openatp.Indicator
	machine     string
	first, last time.Time
	evidence    openatp.Evidence
}

// matcher collects the sightings of a set of indicators.
type matcher struct {
	byKey map[string]*openatp.Indicator
	seen  map[[2]string]*sighting // (indicator id, machine id)
	order [][2]string
}

func newMatcher(ins []openatp.Indicator, now time.Time) *matcher {
	m := &matcher{byKey: map[string]*openatp.Indicator{}, seen: map[[2]string]*sighting{}}
	for i := range ins {
		in := &ins[i]
		if !in.GenerateAlert || !in.Active(now) {
			continue
		}
		m.byKey[key(in.IndicatorType, in.IndicatorValue)] = in
	}
	return m
}

// key is the key of an indicator's value, and of an event's: the
// indicator's IndicatorValueKey, a URL without its scheme and trailing
// slash.
func key(typ, value string) string {
	if typ == openatp.IndicatorURL {
		v := strings.ToLower(value)
		for _, p := range []string{"http://", "https://"} {
			v = strings.TrimPrefix(v, p)
		}
		return typ + ":" + strings.TrimSuffix(v, "/")
	}
	return openatp.IndicatorValueKey(typ, value)
}

func (m *matcher) see(typ, value, machine string, t time.Time, ev openatp.Evidence) {
	if value == "" {
		return
	}
	in, ok := m.byKey[key(typ, value)]
	if !ok {
		return
	}
	k := [2]string{in.ID, machine}
	s, ok := m.seen[k]
	if !ok {
		m.seen[k] = &sighting{in: in, machine: machine, first: t, last: t, evidence: ev}
		m.order = append(m.order, k)
		return
	}
	if t.Before(s.first) {
		s.first, s.evidence = t, ev
	}
	if t.After(s.last) {
		s.last = t
	}
}

func (m *matcher) file(e *openatp.FileEvent) {
	ev := openatp.Evidence{EntityType: ptr("File"), SHA1: opt(e.SHA1), SHA256: opt(e.SHA256),
		FileName: opt(e.FileName), FilePath: opt(e.FolderPath), DetectionStatus: ptr("Detected")}
	m.see(openatp.IndicatorFileSha1, e.SHA1, e.DeviceId, e.Timestamp, ev)
	m.see(openatp.IndicatorFileSha256, e.SHA256, e.DeviceId, e.Timestamp, ev)
	m.see(openatp.IndicatorFileMd5, e.MD5, e.DeviceId, e.Timestamp, ev)
}

func (m *matcher) network(e *openatp.NetworkEvent) {
	if e.RemoteIP != "" {
		m.see(openatp.IndicatorIPAddress, e.RemoteIP, e.DeviceId, e.Timestamp,
			openatp.Evidence{EntityType: ptr("Ip"), IPAddress: &e.RemoteIP, DetectionStatus: ptr("Detected")})
	}
	if e.RemoteUrl != "" {
		ev := openatp.Evidence{EntityType: ptr("Url"), URL: &e.RemoteUrl, IPAddress: opt(e.RemoteIP), DetectionStatus: ptr("Detected")}
		m.see(openatp.IndicatorURL, e.RemoteUrl, e.DeviceId, e.Timestamp, ev)
		m.see(openatp.IndicatorDomainName, observable.Host(e.RemoteUrl), e.DeviceId, e.Timestamp, ev)
	}
}

// Events raises or updates the alerts of the tenant's active
// generateAlert indicators that the events (an import's batch, committed)
// match.
func Events(ctx context.Context, s Store, tenantID string, now time.Time, fes []openatp.FileEvent, nes []openatp.NetworkEvent) error {
	if len(fes) == 0 && len(nes) == 0 {
		return nil
	}
	ins, err := s.Indicators(ctx, tenantID)
	if err != nil {
		return err
	}
	m := newMatcher(ins, now)
	if len(m.byKey) == 0 {
		return nil
	}
	for i := range fes {
		m.file(&fes[i])
	}
	for i := range nes {
		m.network(&nes[i])
	}
	return m.raise(ctx, s, tenantID, now)
}

// LookBack raises or updates the alerts of the indicators ins (as
// stored, just submitted) that the tenant's stored events match, over
// whatever the retention has kept. The events of each value are read per
// machine (sightings: first, last), then the first event of each machine
// for its evidence: the cost grows with the machines that saw the value,
// not with its events.
func LookBack(ctx context.Context, s Store, tenantID string, now time.Time, ins []openatp.Indicator) error {
	sst, err := sightings.Of(s)
	if err != nil {
		return err
	}
	m := newMatcher(ins, now)
	for _, in := range m.byKey {
		var f openatp.EventFilter
		switch in.IndicatorType {
		case openatp.IndicatorFileSha1, openatp.IndicatorFileSha256, openatp.IndicatorFileMd5:
			f.Hash = in.IndicatorValue
		case openatp.IndicatorIPAddress:
			f.RemoteIP = strings.TrimPrefix(openatp.IndicatorValueKey(in.IndicatorType, in.IndicatorValue), in.IndicatorType+":")
		case openatp.IndicatorDomainName, openatp.IndicatorURL:
			f.Domain = observable.Host(in.IndicatorValue)
		default:
			continue
		}
		if f.Hash != "" {
			sgs, err := sst.FileSightings(ctx, tenantID, f)
			if err != nil {
				return err
			}
			for _, sg := range sgs {
				es, err := s.FileEvents(ctx, tenantID, firstOf(f, sg))
				if err != nil {
					return err
				}
				for i := range es {
					m.file(&es[i])
				}
				m.widen(in, sg)
			}
			continue
		}
		if in.IndicatorType == openatp.IndicatorURL { // the host's events, then the URL's among them
			es, err := s.NetworkEvents(ctx, tenantID, f)
			if err != nil {
				return err
			}
			for i := range es {
				m.network(&es[i])
			}
			continue
		}
		sgs, err := sst.NetworkSightings(ctx, tenantID, f)
		if err != nil {
			return err
		}
		for _, sg := range sgs {
			es, err := s.NetworkEvents(ctx, tenantID, firstOf(f, sg))
			if err != nil {
				return err
			}
			for i := range es {
				m.network(&es[i])
			}
			m.widen(in, sg)
		}
	}
	return m.raise(ctx, s, tenantID, now)
}

// firstOf is the filter of the first events of a sighting: those at its
// first Timestamp on its machine.
func firstOf(f openatp.EventFilter, sg sightings.Sighting) openatp.EventFilter {
	f.MachineID, f.From, f.To = sg.DeviceId, sg.First, sg.First.Add(time.Nanosecond)
	return f
}

// widen extends the sighting of in on the machine of sg (seen from its
// first events) to sg's last event.
func (m *matcher) widen(in *openatp.Indicator, sg sightings.Sighting) {
	if s, ok := m.seen[[2]string{in.ID, sg.DeviceId}]; ok && sg.Last.After(s.last) {
		s.last = sg.Last
	}
}

// AlertID is the id of the n-th alert (from 1) of indicator on machine.
func AlertID(indicatorID, machineID string, n int) string {
	if n <= 1 {
		return "ti" + indicatorID + "_" + machineID
	}
	return fmt.Sprintf("ti%s_%s_%d", indicatorID, machineID, n)
}

// raise writes the sightings: each updates the open alert of its
// indicator and machine (the first of its ids not Resolved; the last when
// all are), or creates one. The updates are written in one transaction
// (UpdateAlerts, stamped by the alert clock), then the new alerts in
// another (UpsertAlerts); machines outside an indicator's device groups
// are skipped.
func (m *matcher) raise(ctx context.Context, s Store, tenantID string, now time.Time) error {
	var create []openatp.Alert
	var update []string
	updated := map[string]*sighting{}
	groups := map[string]int64{}
	for _, k := range m.order {
		sg := m.seen[k]
		if len(sg.in.RBACGroupIDs) > 0 {
			g, ok := groups[sg.machine]
			if !ok {
				mc, err := s.Machine(ctx, tenantID, sg.machine)
				if err != nil {
					if openatp.IsKind(err, openatp.NotFound) {
						continue
					}
					return err
				}
				g, groups[sg.machine] = mc.RBACGroupID, mc.RBACGroupID
			}
			if !slices.Contains(sg.in.RBACGroupIDs, g) {
				continue
			}
		}
		for n := 1; ; n++ {
			id := AlertID(sg.in.ID, sg.machine, n)
			a, err := s.Alert(ctx, tenantID, id)
			if openatp.IsKind(err, openatp.NotFound) {
				create = append(create, sg.alert(id, now))
				break
			}
			if err != nil {
				return err
			}
			if a.Status != "Resolved" || n == maxGenerations {
				update = append(update, id)
				updated[id] = sg
				break
			}
		}
	}
	if len(update) > 0 {
		_, err := s.UpdateAlerts(ctx, tenantID, update, func(a *openatp.Alert, stamp time.Time) error {
			sg := updated[a.ID]
			a.Absorb(&openatp.Alert{FirstEventTime: &sg.first, LastEventTime: &sg.last}, stamp)
			return nil
		})
		if err != nil {
			return err
		}
	}
	if len(create) == 0 {
		return nil
	}
	for i := range create {
		create[i].AADTenantID = &tenantID // as every alert of the tenant
		if err := create[i].Normalize(); err != nil {
			return err
		}
	}
	return s.UpsertAlerts(ctx, tenantID, create)
}

// alert is the new alert of a sighting.
func (sg *sighting) alert(id string, now time.Time) openatp.Alert {
	in := sg.in
	severity := in.Severity
	if severity == "" {
		severity = "Informational"
	}
	first, last := sg.first, sg.last
	ev := sg.evidence
	ev.EvidenceCreationTime = &now
	return openatp.Alert{
		ID: id, Severity: severity, Status: "New", DetectionSource: ptr(DetectionSource), Category: ptr(Category),
		Title: ptr(in.Title), Description: ptr(descriptionOf(in)), AlertCreationTime: &now,
		FirstEventTime: &first, LastEventTime: &last, MachineID: sg.machine, Evidence: []openatp.Evidence{ev},
		InvestigationState: ptr("Unknown"),
	}
}

// descriptionOf is the alert's description: the indicator's, then its
// recommended actions.
func descriptionOf(in *openatp.Indicator) string {
	d := in.Description
	if in.RecommendedActions != nil && *in.RecommendedActions != "" {
		d += "\n\nRecommended actions: " + *in.RecommendedActions
	}
	return d
}

func ptr(s string) *string { return &s }

func opt(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
