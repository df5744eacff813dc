package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/odata"
	"github.com/openatp/openatp/readmodel"
	"github.com/openatp/openatp/wire"
)

// The Machine API beyond GET /api/users/{id}/machines: the list with OData,
// one machine by id or name, find by tag and by IP. Every read is answered
// from the read model (never a SQL scan), scoped to the caller's device
// groups: a machine a delegated caller may not see is answered exactly as
// one that does not exist.

// maxPage is the largest page of /api/machines (mde-reference §6).
const maxPage = 10_000

// viewWait bounds how long a request waits for a tenant's view to be built
// (at start, or after a bulk import) before it is answered 503.
const viewWait = 30 * time.Second

// machineScope is what a machine read needs: the tenant's view (retained:
// release it) and the caller's access (nil: the whole tenant).
func machineScope(ctx context.Context, model *readmodel.Model, p *openatp.Principal) (*readmodel.View, *openatp.Access, error) {
	view, err := waitView(ctx, model, p.TenantID)
	if err != nil {
		return nil, nil, err
	}
	if !p.Delegated {
		return view, nil, nil
	}
	a, err := view.RBAC().Access(p)
	if err != nil {
		view.Release()
		return nil, nil, err
	}
	return view, a, nil
}

// waitView returns the tenant's view, waiting while it is being built.
func waitView(ctx context.Context, model *readmodel.Model, tenantID string) (*readmodel.View, error) {
	deadline := time.Now().Add(viewWait)
	pause := 10 * time.Millisecond
	for {
		v, err := model.View(ctx, tenantID)
		if err != nil || v != nil {
			return v, err
		}
		if model.Disabled() || time.Now().After(deadline) {
			return nil, retryAfter(5, openatp.CodedErrorf(openatp.Unavailable, "ServiceUnavailable",
				"The machine index of this tenant is being built. Retry in a few seconds."))
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(pause):
		}
		pause = min(pause*2, 500*time.Millisecond)
	}
}

// caller authenticates a request, checks it with check (if not nil) and
// applies the endpoint's rate limit: the start of every API handler.
func caller(r *http.Request, authn *authenticator, limiter Limiter, endpoint string, check func(*openatp.Principal) error) (*openatp.Principal, error) {
	p, err := authn.principal(r)
	if err != nil {
		return nil, err
	}
	if check != nil {
		if err := check(p); err != nil {
			return nil, err
		}
	}
	if err := limit(limiter, r, p, endpoint); err != nil {
		return nil, err
	}
	return p, nil
}

// odataError is the 400 of a query the odata package refused.
func odataError(err error) error {
	var oe *odata.Error
	if errors.As(err, &oe) {
		return openatp.CodedErrorf(openatp.Invalid, "ODataError", "%s", oe.Error())
	}
	return err
}

// handleMachines serves GET /api/machines: the tenant's machines (those the
// caller may see) with OData $filter, $top, $skip, $select, $orderby,
// $count, and @odata.nextLink while more match.
func handleMachines(model *readmodel.Model, authn *authenticator, limiter Limiter) http.Handler {
	return handlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		p, err := caller(r, authn, limiter, "machines", requireMachineRead)
		if err != nil {
			return err
		}
		q, err := odata.ParseQuery(wire.MachineSchema, r.URL.RawQuery, odata.Options{MaxTop: maxPage})
		if err != nil {
			return odataError(err)
		}
		if q.Expand != "" {
			return openatp.CodedErrorf(openatp.Invalid, "ODataError", "$expand: the Machine entity has no navigation property to expand")
		}
		after := ""
		if q.SkipToken != "" {
			if !openatp.ValidMachineID(q.SkipToken) || q.OrderBy != nil {
				return openatp.CodedErrorf(openatp.Invalid, "ODataError", "$skiptoken: not a token this service gave in @odata.nextLink")
			}
			after = q.SkipToken
		}
		top := maxPage
		switch {
		case q.Top >= 0:
			top = q.Top
		case q.PageSize > 0:
			top = q.PageSize
		}
		view, access, err := machineScope(r.Context(), model, p)
		if err != nil {
			return err
		}
		defer view.Release()
		page, more, total := view.QueryMachines(readmodel.MachineQuery{Filter: q.Filter, OrderBy: q.OrderBy, After: after,
			Skip: q.Skip, Top: top, Access: access, Count: q.Count})
		next := ""
		if more && top > 0 {
			if q.OrderBy == nil {
				next = nextLink(r, "$skiptoken", view.MachineID(page[len(page)-1]))
			} else {
				next = nextLink(r, "$skip", strconv.Itoa(q.Skip+len(page)))
			}
		}
		writeMachinePage(w, r, view, page, q.Select, q.Count, total, next)
		return nil
	})
}

// nextLink is the URL of the request with option set to value and the
// paging options it replaces dropped.
func nextLink(r *http.Request, option, value string) string {
	var parts []string
	for part := range strings.SplitSeq(r.URL.RawQuery, "&") {
		k, _, _ := strings.Cut(part, "=")
		if uk, err := unescapeQuery(k); err == nil && (strings.EqualFold(uk, "$skip") || strings.EqualFold(uk, "$skiptoken")) {
			continue
		}
		if part != "" {
			parts = append(parts, part)
		}
	}
	parts = append(parts, option+"="+value)
	return baseURL(r) + r.URL.EscapedPath() + "?" + strings.Join(parts, "&")
}

// writeMachinePage writes a collection of machines of view: all their
// properties, or those of sel; with @odata.count and @odata.nextLink when
// asked and due. An answer that fits in one piece (streamChunk) is
// assembled whole and sent with its Content-Length; a longer one is
// streamed, with its Content-Length (MachineSize of the machines not yet
// assembled) when all properties are written, chunked for a $select.
func writeMachinePage(w http.ResponseWriter, r *http.Request, view *readmodel.View, page []uint32, sel []int, count bool, total int, next string) {
	sp := bufPool.Get().(*[]byte)
	defer bufPool.Put(sp)
	b, end := openCollection((*sp)[:0], r, "Machines"+selectSuffix(sel), count, total, next)
	keep := selected(sel)
	h := w.Header()
	h["Content-Type"] = odataContentType
	h["Odata-Version"] = odataVersion
	streaming := false
	for i, s := range page {
		if i%touchBatch == 0 { // the next batch's memory, while this one is written
			if i == 0 {
				view.Touch(page[:min(touchBatch, len(page))])
			}
			view.Touch(page[min(i+touchBatch, len(page)):min(i+2*touchBatch, len(page))])
		}
		if i > 0 {
			b = append(b, ',')
		}
		if keep == nil {
			b = view.AppendMachine(b, s)
		} else {
			b = view.SelectMachine(b, s, keep)
		}
		if len(b) >= streamChunk {
			if !streaming {
				streaming = true
				if keep == nil {
					size := len(b) + len(end)
					for _, rest := range page[i+1:] {
						size += 1 + view.MachineSize(rest)
					}
					h["Content-Length"] = []string{strconv.Itoa(size)}
				}
				w.WriteHeader(http.StatusOK)
			}
			if _, err := w.Write(b); err != nil {
				*sp = b[:0]
				return
			}
			b = b[:0]
		}
	}
	b = append(b, end...)
	if !streaming {
		h["Content-Length"] = []string{strconv.Itoa(len(b))}
		w.WriteHeader(http.StatusOK)
	}
	_, _ = w.Write(b)
	*sp = b[:0]
}

// openCollection appends to b the start of an OData collection of the
// entity set (such as "Machines(id)") up to the opening of its "value",
// with "@odata.count" when count is set, and returns with it the end of
// the collection, with "@odata.nextLink" when next is not empty.
func openCollection(b []byte, r *http.Request, entitySet string, count bool, total int, next string) ([]byte, []byte) {
	b = append(b, `{"@odata.context":`...)
	b = appendMetadataURL(b, r, entitySet)
	if count {
		b = append(b, `,"@odata.count":`...)
		b = strconv.AppendInt(b, int64(total), 10)
	}
	b = append(b, `,"value":[`...)
	end := closeCollection
	if next != "" {
		end = append([]byte(`],"@odata.nextLink":`), wire.AppendString(nil, next)...)
		end = append(end, '}')
	}
	return b, end
}

// closeCollection ends a collection without a next link.
var closeCollection = []byte("]}")

// touchBatch is how many machines of a page View.Touch reads ahead.
const touchBatch = 32

// streamChunk is how much of a machine page is assembled before it is
// written.
const streamChunk = 64 << 10

// selectSuffix is the part of a Machine @odata.context that names the
// properties of a $select: "(id,computerDnsName)".
func selectSuffix(sel []int) string { return selectSuffixOf(wire.MachineSchema, sel) }

// selectSuffixOf is selectSuffix of an entity set of schema s.
func selectSuffixOf(s *odata.Schema, sel []int) string {
	if sel == nil {
		return ""
	}
	names := make([]string, len(sel))
	for i, p := range sel {
		names[i] = s.Property(p).Name
	}
	return "(" + strings.Join(names, ",") + ")"
}

// selected returns whether each Machine property is in sel; nil for all.
func selected(sel []int) func(int) bool { return selectedOf(wire.MachineSchema, sel) }

// selectedOf is selected of an entity set of schema s.
func selectedOf(s *odata.Schema, sel []int) func(int) bool {
	if sel == nil {
		return nil
	}
	in := make([]bool, s.Len())
	for _, p := range sel {
		in[p] = true
	}
	return func(i int) bool { return i < len(in) && in[i] }
}

// writeOData writes a 200 OData answer.
func writeOData(w http.ResponseWriter, b []byte) {
	h := w.Header()
	h["Content-Type"] = odataContentType
	h["Odata-Version"] = odataVersion
	h["Content-Length"] = []string{strconv.Itoa(len(b))}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// machineNotFound is the answer for a machine that does not exist or that
// the caller may not see.
func machineNotFound(id string) error {
	return openatp.CodedErrorf(openatp.NotFound, "ResourceNotFound", "Machine %s was not found", clipID(id))
}

// handleMachine serves GET /api/machines/{id}: one machine by id or by
// computer name, and the function findbyip(ip='…',timestamp=…), which the
// router hands here as an {id}.
func handleMachine(model *readmodel.Model, store openatp.Store, authn *authenticator, limiter Limiter) http.Handler {
	return handlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		p, err := authn.principal(r)
		if err != nil {
			return err
		}
		if err := requireMachineRead(p); err != nil {
			return err
		}
		id := r.PathValue("id")
		if strings.HasPrefix(strings.ToLower(id), "findbyip(") {
			return findByIP(w, r, model, store, p, limiter, id)
		}
		if err := limit(limiter, r, p, "machines"); err != nil {
			return err
		}
		if err := noQuery(r); err != nil {
			return err
		}
		view, access, err := machineScope(r.Context(), model, p)
		if err != nil {
			return err
		}
		defer view.Release()
		s, ok := view.Machine(id)
		if !ok || access != nil && !access.CanSee(view.GroupID(s)) {
			return machineNotFound(id)
		}
		writeMachineEntity(w, r, view, s)
		return nil
	})
}

// writeMachineEntity writes one machine as a single entity.
func writeMachineEntity(w http.ResponseWriter, r *http.Request, view *readmodel.View, s uint32) {
	b := make([]byte, 0, 1200)
	b = append(b, `{"@odata.context":`...)
	b = appendMetadataURL(b, r, "Machines/$entity")
	b = append(b, ',')
	m := view.AppendMachine(make([]byte, 0, view.MachineSize(s)), s)
	b = append(b, m[1:]...) // the machine's properties join the envelope
	writeOData(w, b)
}

// handleFindByTag serves GET /api/machines/findbytag?tag=…&useStartsWithFilter=….
func handleFindByTag(model *readmodel.Model, authn *authenticator, limiter Limiter) http.Handler {
	return handlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		p, err := caller(r, authn, limiter, "machines/findbytag", requireMachineRead)
		if err != nil {
			return err
		}
		q := r.URL.Query()
		tag := q.Get("tag")
		if tag == "" {
			return openatp.CodedErrorf(openatp.Invalid, "InvalidInput", "The query parameter 'tag' is required.")
		}
		prefix := false
		if v := q.Get("useStartsWithFilter"); v != "" {
			if prefix, err = strconv.ParseBool(v); err != nil {
				return openatp.CodedErrorf(openatp.Invalid, "InvalidInput", "useStartsWithFilter: %q is not true or false", clipID(v))
			}
		}
		lit := "'" + strings.ReplaceAll(tag, "'", "''") + "'"
		expr := "machineTags/any(t: t eq " + lit + ")"
		if prefix {
			expr = "machineTags/any(t: startswith(t," + lit + "))"
		}
		f, err := odata.Parse(wire.MachineSchema, expr)
		if err != nil {
			return openatp.CodedErrorf(openatp.Invalid, "InvalidInput", "tag: %q cannot be searched for", clipID(tag))
		}
		view, access, err := machineScope(r.Context(), model, p)
		if err != nil {
			return err
		}
		defer view.Release()
		page, _, _ := view.QueryMachines(readmodel.MachineQuery{Filter: f, Top: maxPage * 100, Access: access})
		writeMachinePage(w, r, view, page, nil, false, 0, "")
		return nil
	})
}
