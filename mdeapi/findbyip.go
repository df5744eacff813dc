package mdeapi

import (
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/httpserve"
	"github.com/openatp/openatp/odata"
	"github.com/openatp/openatp/readmodel"
)

// The window of findbyip (mde-reference §1.2): machines seen with the IP
// within 15 minutes of the timestamp, which must be within the past 30
// days.
const (
	findByIPWindow = 15 * time.Minute
	findByIPMaxAge = 30 * 24 * time.Hour
)

// findByIP serves GET /api/machines/findbyip(ip='…',timestamp=…): the
// machines that reported the IP within 15 minutes of the timestamp, from
// the store's IP history, scoped like every machine read.
func findByIP(w http.ResponseWriter, r *http.Request, model *readmodel.Model, store openatp.Store, p *openatp.Principal, limiter httpserve.Limiter, fn string) error {
	if err := httpserve.Limit(limiter, r, p, "machines/findbyip"); err != nil {
		return err
	}
	ip, ts, err := parseFindByIP(fn)
	if err != nil {
		return err
	}
	now := time.Now()
	if ts.Before(now.Add(-findByIPMaxAge)) || ts.After(now.Add(findByIPWindow)) {
		return openatp.CodedErrorf(openatp.Invalid, "InvalidInput", "findbyip: the timestamp must be within the past 30 days.")
	}
	ids, err := store.MachinesByIP(r.Context(), p.TenantID, ip, ts.Add(-findByIPWindow), ts.Add(findByIPWindow))
	if err != nil {
		return err
	}
	view, access, err := MachineScope(r.Context(), model, p)
	if err != nil {
		return err
	}
	defer view.Release()
	var page []uint32
	for _, id := range ids {
		if s, ok := view.Machine(id); ok && view.MachineID(s) == id && (access == nil || access.CanSee(view.GroupID(s))) {
			page = append(page, s)
		}
	}
	writeMachinePage(w, r, view, page, nil, false, 0, "")
	return nil
}

// parseFindByIP reads "findbyip(ip='10.0.0.1',timestamp=2019-09-22T08:44:05Z)"
// (the arguments in either order, names in any case).
func parseFindByIP(fn string) (netip.Addr, time.Time, error) {
	bad := func(format string, args ...any) (netip.Addr, time.Time, error) {
		return netip.Addr{}, time.Time{}, openatp.CodedErrorf(openatp.Invalid, "InvalidInput", "findbyip: "+format, args...)
	}
	open := strings.IndexByte(fn, '(')
	if open < 0 || !strings.HasSuffix(fn, ")") {
		return bad("expected findbyip(ip='<IP>',timestamp=<time>)")
	}
	var ipText, tsText string
	for arg := range strings.SplitSeq(fn[open+1:len(fn)-1], ",") {
		name, val, ok := strings.Cut(arg, "=")
		name, val = strings.TrimSpace(name), strings.TrimSpace(val)
		switch {
		case !ok:
			return bad("argument %q has no value", ClipID(arg))
		case strings.EqualFold(name, "ip"):
			ipText = strings.Trim(val, "'")
		case strings.EqualFold(name, "timestamp"):
			tsText = strings.Trim(val, "'")
		default:
			return bad("unknown argument %q", ClipID(name))
		}
	}
	ip, err := netip.ParseAddr(ipText)
	if err != nil {
		return bad("ip: %q is not an IP address", ClipID(ipText))
	}
	ts, err := odata.ParseDate("timestamp", tsText)
	if err != nil {
		return bad("%s", err.Error())
	}
	return ip.Unmap(), ts, nil
}
