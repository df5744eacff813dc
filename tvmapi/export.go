package tvmapi

import (
	"bufio"
	"compress/gzip"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/httpserve"
	"github.com/openatp/openatp/mdeapi"
	"github.com/openatp/openatp/vuln"
	"github.com/openatp/openatp/wire"
)

// The export via files (get-assessment-software-vulnerabilities §2):
// GET …Export?sasValidHours=N answers the URLs of files that openatp
// serves itself under /api/tvmexport/, signed with HMAC-SHA256 and valid N
// hours (1 by default, at most 6). Each file is the gzip of JSON Lines,
// one row a line as the paged route writes it: together the files hold
// the rows of the paged route, in its order, read when the file is
// downloaded. The rows are split by the first hex digit of the machine
// id into 1 to 16 files (one per 25,000 machines, rounded up to a power
// of two), so that a client may fetch them in parallel.
const (
	defaultSASHours  = 1
	maxSASHours      = 6
	machinesPerFile  = 25_000
	maxExportFiles   = 16
	exportGroupsAll  = "*"
	exportPathPrefix = "/api/tvmexport/"
)

// exportParts is how many files an export of a tenant of n machines has,
// perFile machines a file.
func exportParts(n, perFile int) int {
	p := 1
	for p < maxExportFiles && p*perFile < n {
		p *= 2
	}
	return p
}

// handleExport serves GET /api/machines/SoftwareVulnerabilitiesExport and
// SoftwareInventoryExport.
func (rt *routes) handleExport(a *assessment) http.Handler {
	return rt.serve(a.export, a.pm, func(w http.ResponseWriter, r *http.Request, rd *reader) error {
		hours := defaultSASHours
		vals, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil {
			return openatp.CodedErrorf(openatp.Invalid, "InvalidInput", "Invalid query string.")
		}
		for k, vs := range vals {
			if !strings.EqualFold(k, "sasValidHours") {
				return openatp.CodedErrorf(openatp.Invalid, "InvalidInput", "The query parameter '%s' is not supported by this endpoint.", mdeapi.ClipID(k))
			}
			n, err := strconv.Atoi(vs[0])
			if err != nil || n < 1 || n > maxSASHours {
				return openatp.InvalidField("sasValidHours", "%q is not a number of hours from 1 to %d", mdeapi.ClipID(vs[0]), maxSASHours)
			}
			hours = n
		}
		now := rt.now().UTC()
		expiry := now.Add(time.Duration(hours) * time.Hour).Unix()
		groups := exportGroupsAll
		if rd.access != nil && !rd.access.AllGroups {
			ids := make([]int64, 0, len(rd.access.Groups))
			for id, ok := range rd.access.Groups {
				if ok {
					ids = append(ids, id)
				}
			}
			slices.Sort(ids)
			parts := make([]string, len(ids))
			for i, id := range ids {
				parts[i] = strconv.FormatInt(id, 10)
			}
			groups = strings.Join(parts, ",")
		}
		scheme, host := httpserve.BaseOf(r)
		n := exportParts(rd.view.Machines(), rt.perFile)
		if a.none {
			n = 0 // no rows: no file (mde-client retries an empty one)
		}
		b := append([]byte(`{"@odata.context":`), mdeapi.AppendMetadataURL(nil, r, setExportFiles)...)
		b = append(b, `,"exportFiles":[`...)
		for i := range n {
			if i > 0 {
				b = append(b, ',')
			}
			file := strconv.Itoa(i) + "-of-" + strconv.Itoa(n) + ".json.gz"
			path := exportPathPrefix + url.PathEscape(rd.p.TenantID) + "/" + a.kind + "/" + file
			q := "se=" + strconv.FormatInt(expiry, 10) + "&g=" + url.QueryEscape(groups) +
				"&sig=" + rt.sign(rd.p.TenantID, a.kind, file, expiry, groups)
			b = wire.AppendString(b, scheme+host+path+"?"+q)
		}
		b = append(b, `],"generatedTime":`...)
		b = wire.AppendTime(b, &now)
		mdeapi.WriteOData(w, append(b, '}'))
		return nil
	})
}

// sign is the hex HMAC-SHA256 of an export file's URL parts.
func (rt *routes) sign(tenantID, kind, file string, expiry int64, groups string) string {
	m := hmac.New(sha256.New, rt.key)
	m.Write([]byte(tenantID + "\n" + kind + "\n" + file + "\n" + strconv.FormatInt(expiry, 10) + "\n" + groups))
	return hex.EncodeToString(m.Sum(nil))
}

// exportDenied is the answer to a file URL that is not one openatp
// signed, or has expired (Azure Blob Storage answers both 403).
func exportDenied(what string) error {
	return openatp.CodedErrorf(openatp.Forbidden, "AuthenticationFailed",
		"Server failed to authenticate the request. %s", what)
}

// handleExportFile serves GET /api/tvmexport/{tenant}/{kind}/{i}-of-{n}.json.gz.
func (rt *routes) handleExportFile() http.Handler {
	const hexDigits = "0123456789abcdef"
	return httpserve.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		tn, kind, file := r.PathValue("tenant"), r.PathValue("kind"), r.PathValue("file")
		q := r.URL.Query()
		expiry, err := strconv.ParseInt(q.Get("se"), 10, 64)
		groups, sig := q.Get("g"), q.Get("sig")
		if err != nil || !hmac.Equal([]byte(sig), []byte(rt.sign(tn, kind, file, expiry, groups))) {
			return exportDenied("Signature did not match.")
		}
		if rt.now().Unix() >= expiry {
			return exportDenied("Signed expiry time has passed.")
		}
		var a *assessment
		for _, x := range []*assessment{assessVulns, assessInventory} {
			if x.kind == kind {
				a = x
			}
		}
		var i, n int
		if name, ok := strings.CutSuffix(file, ".json.gz"); ok && a != nil {
			is, ns, _ := strings.Cut(name, "-of-")
			i, err = strconv.Atoi(is)
			n, _ = strconv.Atoi(ns)
		}
		if a == nil || err != nil || n < 1 || n > maxExportFiles || i < 0 || i >= n {
			return exportDenied("The file is not one of an export.")
		}
		p := &openatp.Principal{TenantID: tn}
		view, _, err := mdeapi.MachineScope(r.Context(), rt.model, p)
		if err != nil {
			return err
		}
		rd := &reader{p: p, view: view, sc: vuln.All(), names: map[int64]string{openatp.DefaultGroupID: openatp.DefaultGroupName}}
		defer rd.done()
		for _, g := range view.RBAC().Groups() {
			rd.names[g.ID] = g.Name
		}
		if groups != exportGroupsAll {
			acc := &openatp.Access{Groups: map[int64]bool{}}
			for _, s := range strings.Split(groups, ",") {
				if id, err := strconv.ParseInt(s, 10, 64); err == nil {
					acc.Groups[id] = true
				}
			}
			rd.sc = visible(view, acc)
		}
		// The file's machines: ids from hex digit lo (inclusive) to hi
		// (exclusive; the last file runs to the end).
		lo, hi := i*16/n, (i+1)*16/n
		after := vuln.Key{}
		if lo > 0 {
			after = vuln.Key{MachineID: hexDigits[lo : lo+1]}
		}
		h := w.Header()
		h.Set("Content-Type", "application/gzip")
		h.Set("Content-Disposition", `attachment; filename="`+a.kind+"-"+file+`"`)
		w.WriteHeader(http.StatusOK)
		bw := bufio.NewWriterSize(w, 256<<10)
		zw, _ := gzip.NewWriterLevel(bw, gzip.BestSpeed)
		_, err = rt.scan(r.Context(), rd, a, time.Time{}, after, 0, func(machineID string, row []byte) ([]byte, error) {
			if hi < 16 && machineID >= hexDigits[hi:hi+1] {
				return row, errStop
			}
			row = append(row, '\n')
			_, err := zw.Write(row)
			return row, err
		})
		if err != nil && err != errStop {
			panic(http.ErrAbortHandler) // a cut file must not pass for a whole one
		}
		if zw.Close() == nil {
			_ = bw.Flush()
		}
		return nil
	})
}
