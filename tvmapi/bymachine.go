package tvmapi

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/httpserve"
	"github.com/openatp/openatp/mdeapi"
	"github.com/openatp/openatp/odata"
	"github.com/openatp/openatp/vuln"
	"github.com/openatp/openatp/wire"
)

// The by-machine assessments' paging (get-assessment-software-*: pageSize
// default 50,000, at most 200,000; $top turns off the nextLink).
const (
	defaultPageSize = 50_000
	maxPageSize     = 200_000
	// maxSince is how far back the delta's sinceTime may go (14 days).
	maxSince = 14 * 24 * time.Hour
)

// assessment is one of the by-machine assessments: software
// vulnerabilities, their changes, the software inventory.
type assessment struct {
	kind     string // the export files' path segment
	endpoint string
	export   string // the export's endpoint
	pm       perms
	set      string
	delta    bool
	// none: openatp has no rows of it (software without a product code).
	none bool
}

var (
	assessVulns = &assessment{kind: "SoftwareVulnerabilities", endpoint: EndpointByMachine, export: EndpointExport,
		pm: vulnPerms, set: setAssetVulns}
	assessChanges = &assessment{kind: "SoftwareVulnerabilityChanges", endpoint: EndpointChanges, pm: vulnPerms,
		set: setDeltaVulns, delta: true}
	assessInventory = &assessment{kind: "SoftwareInventory", endpoint: EndpointInventory, export: EndpointInventoryExport,
		pm: softPerms, set: setAssetSoftware}
	// assessNonCPE is the inventory of software without a product code
	// (CPE): every product openatp keeps has one, so it has no rows.
	assessNonCPE = &assessment{kind: "SoftwareInventoryNonCpe", endpoint: EndpointNonCPE, export: EndpointNonCPEExport,
		pm: softPerms, set: setAssetNonCPE, none: true}
)

// emptySchema refuses any $filter, $select or $orderby property.
var emptySchema = odata.NewSchema()

// pageOptions are the query options of a by-machine page.
type pageOptions struct {
	after     vuln.Key
	skip      int  // rows to pass first (pageIndex)
	limit     int  // rows of the page
	top       bool // $top: no nextLink
	pageSize  int
	since     time.Time
	sinceText string
}

// parsePage reads pageSize, pageIndex (check_msdefender's), $top,
// $skiptoken and, for the delta, sinceTime.
func parsePage(r *http.Request, a *assessment, now time.Time) (pageOptions, error) {
	q, err := odata.ParseQuery(emptySchema, r.URL.RawQuery, odata.Options{MaxTop: maxPageSize})
	if err != nil {
		return pageOptions{}, mdeapi.ODataError(err)
	}
	if q.Filter != nil || q.Select != nil || q.OrderBy != nil || q.Expand != "" || q.Count || q.Skip > 0 {
		return pageOptions{}, openatp.CodedErrorf(openatp.Invalid, "ODataError",
			"Only pageSize, $top and $skiptoken are supported on %s.", a.endpoint)
	}
	o := pageOptions{pageSize: defaultPageSize}
	if q.PageSize > 0 {
		o.pageSize = q.PageSize
	}
	o.limit = o.pageSize
	if q.Top >= 0 {
		o.limit, o.top = q.Top, true
	}
	if o.after, err = vuln.ParseKey(q.SkipToken); err != nil {
		return pageOptions{}, err
	}
	vals, _ := url.ParseQuery(r.URL.RawQuery)
	for k, vs := range vals {
		switch {
		case strings.EqualFold(k, "pageIndex"):
			n, err := strconv.Atoi(vs[0])
			if err != nil || n < 1 || n > 1_000_000 {
				return pageOptions{}, openatp.InvalidField("pageIndex", "%q is not a page number (1 or more)", mdeapi.ClipID(vs[0]))
			}
			if q.SkipToken == "" {
				o.skip = (n - 1) * o.pageSize
			}
		case strings.EqualFold(k, "sinceTime") && a.delta:
			t, err := odata.ParseDate("sinceTime", vs[0])
			if err != nil {
				return pageOptions{}, mdeapi.ODataError(err)
			}
			if now.Sub(t) > maxSince {
				return pageOptions{}, openatp.InvalidField("sinceTime", "is more than 14 days ago")
			}
			o.since, o.sinceText = t, vs[0]
		}
	}
	if a.delta && o.since.IsZero() {
		// Documented as required, but mde-client's
		// softwareVulnerabilityChangesByMachine() sends none: the
		// farthest back a sinceTime may go. The nextLink leaves it out
		// again, so that each page takes its own.
		o.since = now.Add(-maxSince)
	}
	return o, nil
}

// nextLink is the URL of the page after key: the request's path with
// pageSize, sinceTime (delta) and $skiptoken.
func nextLink(r *http.Request, o *pageOptions, key vuln.Key) string {
	scheme, host := httpserve.BaseOf(r)
	v := "pageSize=" + strconv.Itoa(o.pageSize)
	if o.sinceText != "" {
		v += "&sinceTime=" + url.QueryEscape(o.sinceText)
	}
	return scheme + host + r.URL.EscapedPath() + "?" + v + "&$skiptoken=" + key.String()
}

// errStop ends a scan early.
var errStop = errors.New("tvmapi: stop")

// scan calls row with the JSON of each row of assessment a in rd's scope
// (one machine's device group looked up once), from after on, at most
// limit rows (0: all), and returns the key to resume from.
func (rt *routes) scan(ctx context.Context, rd *reader, a *assessment, since time.Time, after vuln.Key, limit int,
	row func(machineID string, b []byte) ([]byte, error)) (vuln.Key, error) {
	var b []byte
	lastID, group := "", deviceGroup{}
	groupOf := func(id string) deviceGroup {
		if id != lastID {
			lastID, group = id, rd.group(id)
		}
		return group
	}
	var err error
	aw := &assetWriter{delta: a == assessChanges}
	switch a {
	case assessInventory:
		return rt.store.ScanSoftwareInventory(ctx, rd.p.TenantID, rd.sc, after, limit, func(ir *vuln.InventoryRow) error {
			b, err = row(ir.Machine.ID, appendInventoryRow(b[:0], ir, groupOf(ir.Machine.ID)))
			return err
		})
	case assessChanges:
		return rt.store.ScanSoftwareVulnerabilityChanges(ctx, rd.p.TenantID, rd.sc, since, after, limit, func(av *vuln.AssetVulnerability) error {
			b, err = row(av.Machine.ID, aw.append(b[:0], av, groupOf(av.Machine.ID)))
			return err
		})
	}
	return rt.store.ScanSoftwareVulnerabilities(ctx, rd.p.TenantID, rd.sc, after, limit, func(av *vuln.AssetVulnerability) error {
		b, err = row(av.Machine.ID, aw.append(b[:0], av, groupOf(av.Machine.ID)))
		return err
	})
}

// streamChunk is how much of a page is assembled before it is written.
const streamChunk = 256 << 10

// handleByMachine serves GET /api/machines/SoftwareVulnerabilitiesByMachine,
// SoftwareVulnerabilityChangesByMachine and SoftwareInventoryByMachine: a
// page streamed as the store reads it.
func (rt *routes) handleByMachine(a *assessment) http.Handler {
	return rt.serve(a.endpoint, a.pm, func(w http.ResponseWriter, r *http.Request, rd *reader) error {
		o, err := parsePage(r, a, rt.now())
		if err != nil {
			return err
		}
		ctx := r.Context()
		if o.skip > 0 && !a.none {
			o.after, err = rt.scan(ctx, rd, a, o.since, o.after, o.skip, func(_ string, b []byte) ([]byte, error) { return b, nil })
			if err != nil {
				return err
			}
			if o.after.IsZero() { // past the last row
				o.limit = 0
			}
		}
		b, _ := mdeapi.OpenCollection(make([]byte, 0, streamChunk+4096), r, a.set, false, 0, "")
		h := w.Header()
		h["Content-Type"] = mdeapi.ODataContentType
		h["Odata-Version"] = mdeapi.ODataVersion
		streaming, n := false, 0
		key := vuln.Key{}
		if o.limit > 0 && !a.none {
			key, err = rt.scan(ctx, rd, a, o.since, o.after, o.limit, func(_ string, row []byte) ([]byte, error) {
				if n > 0 {
					b = append(b, ',')
				}
				n++
				b = append(b, row...)
				if len(b) >= streamChunk {
					if !streaming {
						streaming = true
						w.WriteHeader(http.StatusOK)
					}
					if _, err := w.Write(b); err != nil {
						return row, err
					}
					b = b[:0]
				}
				return row, nil
			})
		}
		if err != nil {
			if streaming { // the answer is cut: the client sees a broken body, not a short page
				panic(http.ErrAbortHandler)
			}
			return err
		}
		end := []byte("]}")
		if !o.top && !key.IsZero() {
			end = append([]byte(`],"@odata.nextLink":`), wire.AppendString(nil, nextLink(r, &o, key))...)
			end = append(end, '}')
		}
		b = append(b, end...)
		if !streaming {
			h["Content-Length"] = []string{strconv.Itoa(len(b))}
			w.WriteHeader(http.StatusOK)
		}
		_, _ = w.Write(b)
		return nil
	})
}
