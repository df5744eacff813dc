package pivotapi

import (
	"cmp"
	"context"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/httpserve"
	"github.com/openatp/openatp/mdeapi"
	"github.com/openatp/openatp/observable"
	"github.com/openatp/openatp/readmodel"
	"github.com/openatp/openatp/readmodel/evidence"
	"github.com/openatp/openatp/sightings"
	"github.com/openatp/openatp/wire"
)

// kind is one of the three pivots: files, IP addresses, domains.
type kind struct {
	set  string   // the path segment: files, ips, domains
	name string   // the entity in messages: File, IP, Domain
	subs []string // the routes under /{set}/{value} ("": the entity)
	// app and delegated are the permissions of the entity and stats
	// routes and of /alerts/{id}/{set}.
	app, delegated []string
	// parse checks a path value and returns it canonical.
	parse func(string) (string, bool)
	// what names a valid value in the 400 answer.
	what string
	// evidence is the kind of its evidence.Key.
	evidence byte
}

var (
	fileKind = &kind{set: "files", name: "File", subs: []string{"", "machines", "alerts", "stats"},
		app: []string{openatp.PermFileReadAll}, delegated: []string{openatp.PermFileReadAll},
		parse: func(s string) (string, bool) {
			s = strings.ToLower(s)
			return s, observable.IsHex(s, observable.SHA1Len) || observable.IsHex(s, observable.SHA256Len)
		}, what: "a SHA-1 or SHA-256 (40 or 64 hexadecimal characters)", evidence: evidence.File}
	ipKind = &kind{set: "ips", name: "IP", subs: []string{"machines", "alerts", "stats"},
		app: []string{openatp.PermIPReadAll}, delegated: []string{openatp.PermIPReadAll},
		parse: func(s string) (string, bool) {
			a, ok := observable.Addr(s)
			if !ok {
				return "", false
			}
			return a.Unmap().String(), true
		}, what: "an IPv4 or IPv6 address", evidence: evidence.IP}
	domainKind = &kind{set: "domains", name: "Domain", subs: []string{"machines", "alerts", "stats"},
		app: []string{openatp.PermURLReadAll}, delegated: []string{openatp.PermURLReadAll},
		parse: func(s string) (string, bool) {
			s = strings.ToLower(strings.TrimSuffix(s, "."))
			return s, observable.IsDomain(s)
		}, what: "a domain name", evidence: evidence.Domain}
	kinds = []*kind{fileKind, ipKind, domainKind}
)

// sighting is one visible event of a pivot's value.
type sighting struct {
	machine string
	slot    uint32
	at      time.Time
	// Of a file event.
	name, signer, sha1, sha256, md5 string
	size                            *int64
}

// pivot is what the routes of one value read: its visible events, oldest
// first, and (when asked) its visible alerts.
type pivot struct {
	k      *kind
	value  string
	events []sighting
	alerts []uint32
	// hashes of a file known from alert evidence: sha1, sha256.
	evSHA1, evSHA256 string
}

// read collects the events of value in the store that a caller with
// access (nil: the whole tenant) may see, from the time from on (zero:
// all), and, with alerts, its alerts. The view stays the caller's.
func read(ctx context.Context, store openatp.Store, tenantID string, view *readmodel.View, access *openatp.Access,
	k *kind, value string, from time.Time, alerts bool) (*pivot, error) {
	pv := &pivot{k: k, value: value}
	visible := func(id string) (uint32, bool) {
		s, ok := view.Machine(id)
		return s, ok && view.MachineID(s) == id && (access == nil || access.CanSee(view.GroupID(s)))
	}
	f := openatp.EventFilter{From: from}
	if k == fileKind {
		f.Hash = value
		es, err := store.FileEvents(ctx, tenantID, f)
		if err != nil {
			return nil, err
		}
		for i := range es {
			e := &es[i]
			if s, ok := visible(e.DeviceId); ok {
				pv.events = append(pv.events, sighting{machine: e.DeviceId, slot: s, at: e.Timestamp, name: e.FileName,
					signer: e.Signer, sha1: e.SHA1, sha256: e.SHA256, md5: e.MD5, size: e.FileSize})
			}
		}
	} else {
		if k == ipKind {
			f.RemoteIP = value
		} else {
			f.Domain = value
		}
		es, err := store.NetworkEvents(ctx, tenantID, f)
		if err != nil {
			return nil, err
		}
		for i := range es {
			if s, ok := visible(es[i].DeviceId); ok {
				pv.events = append(pv.events, sighting{machine: es[i].DeviceId, slot: s, at: es[i].Timestamp})
			}
		}
	}
	if !alerts && len(pv.events) > 0 {
		return pv, nil
	}
	// The alerts, from the read model's evidence index.
	for _, s := range view.AlertsWithEvidence(evidence.Key(k.evidence, value)) {
		if access == nil || access.CanSee(view.AlertGroupID(s)) {
			pv.alerts = append(pv.alerts, s)
		}
	}
	slices.SortFunc(pv.alerts, func(a, b uint32) int {
		x, y := view.AlertCursorOf(a), view.AlertCursorOf(b)
		return cmp.Or(cmp.Compare(x.Updated, y.Updated), strings.Compare(x.ID, y.ID))
	})
	if k != fileKind {
		return pv, nil
	}
	// A file's hashes that no event gives, from the evidence of its
	// visible alerts (read until both are known).
	for _, e := range pv.events {
		pv.evSHA1, pv.evSHA256 = cmp.Or(pv.evSHA1, e.sha1), cmp.Or(pv.evSHA256, e.sha256)
	}
	for _, s := range pv.alerts {
		if pv.evSHA1 != "" && pv.evSHA256 != "" {
			break
		}
		a, err := store.Alert(ctx, tenantID, view.AlertID(s))
		if openatp.IsKind(err, openatp.NotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, err
		}
		for i := range a.Evidence {
			s1, s256, _, _ := evidence.Values(&a.Evidence[i])
			if s1 == value || s256 == value {
				pv.evSHA1, pv.evSHA256 = cmp.Or(pv.evSHA1, s1), cmp.Or(pv.evSHA256, s256)
			}
		}
	}
	return pv, nil
}

// readMachines collects the machines that saw value (in the store, the
// caller may see), one sighting each (its last event), read from the
// value's index (sightings.Store) whatever the number of its events; and,
// when there is none, the alerts whose evidence names it (the value is
// then known, as read tells).
func readMachines(ctx context.Context, store openatp.Store, tenantID string, view *readmodel.View, access *openatp.Access,
	k *kind, value string) (*pivot, error) {
	sst, err := sightings.Of(store)
	if err != nil {
		return nil, err
	}
	var sgs []sightings.Sighting
	switch k {
	case fileKind:
		sgs, err = sst.FileSightings(ctx, tenantID, openatp.EventFilter{Hash: value})
	case ipKind:
		sgs, err = sst.NetworkSightings(ctx, tenantID, openatp.EventFilter{RemoteIP: value})
	default:
		sgs, err = sst.NetworkSightings(ctx, tenantID, openatp.EventFilter{Domain: value})
	}
	if err != nil {
		return nil, err
	}
	pv := &pivot{k: k, value: value}
	for _, sg := range sgs {
		if s, ok := view.Machine(sg.DeviceId); ok && view.MachineID(s) == sg.DeviceId && (access == nil || access.CanSee(view.GroupID(s))) {
			pv.events = append(pv.events, sighting{machine: sg.DeviceId, slot: s, at: sg.Last})
		}
	}
	if len(pv.events) > 0 {
		return pv, nil
	}
	return read(ctx, store, tenantID, view, access, k, value, time.Time{}, true)
}

// known reports whether the caller may know of the value at all.
func (pv *pivot) known() bool { return len(pv.events) > 0 || len(pv.alerts) > 0 }

func (k *kind) notFound(v string) error {
	return openatp.CodedErrorf(openatp.NotFound, "ResourceNotFound", "%s %s was not found", k.name, mdeapi.ClipID(v))
}

// permissions of each route: the pivot's own for the entity and stats,
// Machine's for machines, Alert's for alerts.
func (k *kind) permissions(sub string) (app, delegated []string) {
	switch sub {
	case "machines":
		return []string{openatp.PermMachineReadAll, openatp.PermMachineReadWriteAll}, []string{openatp.PermMachineRead, openatp.PermMachineReadWrite}
	case "alerts":
		return []string{openatp.PermAlertReadAll, openatp.PermAlertReadWriteAll, openatp.PermAlertsReadWriteAll},
			[]string{openatp.PermAlertRead, openatp.PermAlertReadWrite}
	}
	return k.app, k.delegated
}

// maxLookBackHours bounds the lookBackHours of the stats routes (180
// days); the default is 30 days.
const (
	maxLookBackHours     = 180 * 24
	defaultLookBackHours = 30 * 24
)

// lookBack reads the stats routes' only query option, lookBackHours.
func lookBack(r *http.Request) (int, error) {
	q := r.URL.Query()
	for key := range q {
		if key != "lookBackHours" {
			return 0, openatp.CodedErrorf(openatp.Invalid, "InvalidInput", "The query parameter '%s' is not supported by this endpoint.", mdeapi.ClipID(key))
		}
	}
	v := q.Get("lookBackHours")
	if v == "" {
		return defaultLookBackHours, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxLookBackHours {
		return 0, openatp.CodedErrorf(openatp.Invalid, "InvalidInput", "lookBackHours: %q is not a number of hours from 1 to %d", mdeapi.ClipID(v), maxLookBackHours)
	}
	return n, nil
}

// handlePivot serves GET /api/{set}/{value}[/{sub}].
func (rt *routes) handlePivot(k *kind, sub string) http.Handler {
	endpoint := k.set
	if sub != "" {
		endpoint += "/" + sub
	}
	return httpserve.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		p, err := mdeapi.Caller(r, rt.authn, rt.cfg.Limiter, endpoint, nil)
		if err != nil {
			return err
		}
		app, delegated := k.permissions(sub)
		raw := r.PathValue("value")
		var from time.Time
		if sub == "stats" {
			h, err := lookBack(r)
			if err != nil {
				return err
			}
			from = rt.now().Add(-time.Duration(h) * time.Hour)
		} else if err := mdeapi.NoQuery(r); err != nil {
			return err
		}
		// The machines' answer is kept (mdeapi.DataKept): at the data
		// version read before the view and the events it is built from.
		var dv uint64
		dvOK := false
		if sub == "machines" {
			dv, dvOK = mdeapi.DataVersion(r.Context(), rt.cfg.Model)
		}
		view, access, err := mdeapi.ScopeFor(r, rt.cfg.Model, p, app, delegated, openatp.PermViewData)
		if err != nil {
			return err
		}
		defer view.Release()
		var answer mdeapi.DataKept
		if dvOK {
			answer = mdeapi.KeepAt(rt.cfg.Answers, r, p.TenantID, access, "", dv)
			if answer.Serve(w, rt.now()) {
				return nil
			}
		}
		value, ok := k.parse(raw)
		if !ok {
			return openatp.CodedErrorf(openatp.Invalid, "InvalidInput", "%q is not %s", mdeapi.ClipID(raw), k.what)
		}
		var pv *pivot
		if sub == "machines" {
			pv, err = readMachines(r.Context(), rt.cfg.Store, p.TenantID, view, access, k, value)
		} else {
			pv, err = read(r.Context(), rt.cfg.Store, p.TenantID, view, access, k, value, time.Time{}, sub == "alerts")
		}
		if err != nil {
			return err
		}
		if !pv.known() {
			return k.notFound(raw)
		}
		switch sub {
		case "":
			mdeapi.WriteEntity(w, r, http.StatusOK, "Files", appendFile(nil, pv))
		case "machines":
			writeMachines(answer.Writer(w), r, view, pv)
			answer.Done(time.Time{})
		case "alerts":
			b, end := mdeapi.OpenCollection(nil, r, "Alerts", false, 0, "")
			for i, s := range pv.alerts {
				if i > 0 {
					b = append(b, ',')
				}
				b = view.AppendAlert(b, s, true)
			}
			mdeapi.WriteOData(w, append(b, end...))
		case "stats":
			if !from.IsZero() {
				kept := pv.events[:0]
				for _, e := range pv.events {
					if !e.at.Before(from) {
						kept = append(kept, e)
					}
				}
				pv.events = kept
			}
			writeStats(w, r, pv)
		}
		return nil
	})
}

// writeMachines answers the machines that saw the value, as
// /api/machines writes them, ordered by id.
func writeMachines(w http.ResponseWriter, r *http.Request, view *readmodel.View, pv *pivot) {
	slots := map[string]uint32{}
	for _, e := range pv.events {
		slots[e.machine] = e.slot
	}
	ids := make([]string, 0, len(slots))
	for id := range slots {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	b, end := mdeapi.OpenCollection(nil, r, "Machines", false, 0, "")
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = view.AppendMachine(b, slots[id])
	}
	mdeapi.WriteOData(w, append(b, end...))
}

// prevalence is the number of distinct machines of the events.
func (pv *pivot) prevalence() int {
	seen := map[string]bool{}
	for _, e := range pv.events {
		seen[e.machine] = true
	}
	return len(seen)
}

// seen returns the first and last time of the events; nil when none.
func (pv *pivot) seen() (first, last *time.Time) {
	if len(pv.events) == 0 {
		return nil, nil
	}
	f, l := pv.events[0].at, pv.events[len(pv.events)-1].at
	return &f, &l
}

// peExtensions are the file names' extensions of portable executables.
var peExtensions = []string{".exe", ".dll", ".sys", ".scr", ".cpl", ".ocx", ".drv", ".efi", ".com"}

// appendFile appends the File entity of a file pivot: its hashes, size
// and signer from its latest event (the evidence's hashes when it has
// none), its prevalence and first and last sight in the tenant.
func appendFile(b []byte, pv *pivot) []byte {
	var last sighting
	if n := len(pv.events); n > 0 {
		last = pv.events[n-1]
		for _, e := range slices.Backward(pv.events) { // a hash an event lacks, from another
			last.sha1, last.sha256, last.md5 = cmp.Or(last.sha1, e.sha1), cmp.Or(last.sha256, e.sha256), cmp.Or(last.md5, e.md5)
		}
	}
	last.sha1, last.sha256 = cmp.Or(last.sha1, pv.evSHA1), cmp.Or(last.sha256, pv.evSHA256)
	str := func(b []byte, s string) []byte {
		if s == "" {
			return append(b, "null"...)
		}
		return wire.AppendString(b, s)
	}
	first, lastSeen := pv.seen()
	b = append(b, `{"sha1":`...)
	b = str(b, last.sha1)
	b = append(b, `,"sha256":`...)
	b = str(b, last.sha256)
	b = append(b, `,"md5":`...)
	b = str(b, last.md5)
	b = append(b, `,"globalPrevalence":`...)
	b = strconv.AppendInt(b, int64(pv.prevalence()), 10)
	b = append(b, `,"globalFirstObserved":`...)
	b = wire.AppendTime(b, first)
	b = append(b, `,"globalLastObserved":`...)
	b = wire.AppendTime(b, lastSeen)
	b = append(b, `,"size":`...)
	if last.size == nil {
		b = append(b, "null"...)
	} else {
		b = strconv.AppendInt(b, *last.size, 10)
	}
	b = append(b, `,"fileType":null,"isPeFile":`...)
	b = strconv.AppendBool(b, last.name != "" && slices.Contains(peExtensions, strings.ToLower(path.Ext(last.name))))
	b = append(b, `,"filePublisher":null,"fileProductName":null,"signer":`...)
	b = str(b, last.signer)
	b = append(b, `,"issuer":null,"signerHash":null,"isValidCertificate":null,"determinationType":"Unknown","determinationValue":""}`...)
	return b
}

// topNames is how many names topFileNames lists.
const topNames = 5

// writeStats answers the statistics of the value over the look-back.
func writeStats(w http.ResponseWriter, r *http.Request, pv *pivot) {
	set := map[*kind]string{fileKind: "microsoft.windowsDefenderATP.api.InOrgFileStats",
		ipKind: "microsoft.windowsDefenderATP.api.InOrgIPStats", domainKind: "microsoft.windowsDefenderATP.api.InOrgDomainStats"}[pv.k]
	b := append([]byte(`{"@odata.context":`), mdeapi.AppendMetadataURL(nil, r, set)...)
	first, last := pv.seen()
	prev := strconv.Itoa(pv.prevalence())
	switch pv.k {
	case fileKind:
		b = append(b, `,"sha1":`...)
		sha1 := ""
		for _, e := range pv.events {
			sha1 = cmp.Or(sha1, e.sha1)
		}
		if sha1 == "" && len(pv.value) == observable.SHA1Len {
			sha1 = pv.value
		}
		if sha1 == "" {
			b = append(b, "null"...)
		} else {
			b = wire.AppendString(b, sha1)
		}
	case ipKind:
		b = wire.AppendString(append(b, `,"ipAddress":`...), pv.value)
	default:
		b = wire.AppendString(append(b, `,"host":`...), pv.value)
	}
	b = wire.AppendString(append(b, `,"orgPrevalence":`...), prev)
	b = wire.AppendTime(append(b, `,"orgFirstSeen":`...), first)
	b = wire.AppendTime(append(b, `,"orgLastSeen":`...), last)
	if pv.k == fileKind {
		b = wire.AppendString(append(b, `,"globalPrevalence":`...), prev)
		b = wire.AppendTime(append(b, `,"globalFirstObserved":`...), first)
		b = wire.AppendTime(append(b, `,"globalLastObserved":`...), last)
		b = append(b, `,"topFileNames":[`...)
		for i, n := range topFileNames(pv.events) {
			if i > 0 {
				b = append(b, ',')
			}
			b = wire.AppendString(b, n)
		}
		b = append(b, ']')
	}
	mdeapi.WriteOData(w, append(b, '}'))
}

// topFileNames returns the most frequent names of the events (by the
// number of events, then name), at most topNames.
func topFileNames(es []sighting) []string {
	count := map[string]int{}
	for _, e := range es {
		count[e.name]++
	}
	names := make([]string, 0, len(count))
	for n := range count {
		names = append(names, n)
	}
	slices.SortFunc(names, func(a, b string) int { return cmp.Or(cmp.Compare(count[b], count[a]), strings.Compare(a, b)) })
	return names[:min(len(names), topNames)]
}
