package mdeapi

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/openatp/openatp/httpserve"
	"github.com/openatp/openatp/odata"
	"github.com/openatp/openatp/readmodel"
	"github.com/openatp/openatp/wire"
)

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 8<<10); return &b }}

// writeCollection writes the OData collection envelope of Machines; items
// appends the comma-separated entities.
func writeCollection(w http.ResponseWriter, r *http.Request, items func([]byte) []byte) {
	sp := bufPool.Get().(*[]byte)
	b := (*sp)[:0]
	b = append(b, `{"@odata.context":`...)
	b = AppendMetadataURL(b, r, "Machines")
	b = append(b, `,"value":[`...)
	if items != nil {
		b = items(b)
	}
	b = append(b, "]}"...)
	h := w.Header()
	h["Content-Type"] = ODataContentType
	h["Odata-Version"] = ODataVersion
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
	if cap(b) <= 1<<20 {
		*sp = b
		bufPool.Put(sp)
	}
}

var (
	ODataContentType = []string{"application/json; odata.metadata=minimal"}
	ODataVersion     = []string{"4.0"}
)

// AppendMetadataURL appends the JSON string of the @odata.context of an
// entity set, baseURL(r)+"/api/$metadata#"+entitySet, without building
// it first (two allocations on every answer).
func AppendMetadataURL(b []byte, r *http.Request, entitySet string) []byte {
	scheme, host := httpserve.BaseOf(r)
	b = append(b, '"')
	b = append(b, scheme...)
	b = appendStringBody(b, host)
	b = append(b, "/api/$metadata#"...)
	b = appendStringBody(b, entitySet)
	return append(b, '"')
}

// appendStringBody appends s escaped as in a JSON string, without the
// quotes.
func appendStringBody(b []byte, s string) []byte {
	n := len(b)
	b = wire.AppendString(b, s)
	copy(b[n:], b[n+1:len(b)-1])
	return b[:len(b)-2]
}

// baseURL is scheme://host of the request, as the client called it, or
// the public URL when one is configured.
func baseURL(r *http.Request) string {
	scheme, host := httpserve.BaseOf(r)
	return scheme + host
}

// NextLink is the URL of the request with option set to value and the
// paging options it replaces dropped.
func NextLink(r *http.Request, option, value string) string {
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
	b, end := OpenCollection((*sp)[:0], r, "Machines"+selectSuffix(sel), count, total, next)
	keep := selected(sel)
	h := w.Header()
	h["Content-Type"] = ODataContentType
	h["Odata-Version"] = ODataVersion
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

// OpenCollection appends to b the start of an OData collection of the
// entity set (such as "Machines(id)") up to the opening of its "value",
// with "@odata.count" when count is set, and returns with it the end of
// the collection, with "@odata.nextLink" when next is not empty.
func OpenCollection(b []byte, r *http.Request, entitySet string, count bool, total int, next string) ([]byte, []byte) {
	b = append(b, `{"@odata.context":`...)
	b = AppendMetadataURL(b, r, entitySet)
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

// WriteOData writes a 200 OData answer.
func WriteOData(w http.ResponseWriter, b []byte) { writeODataStatus(w, http.StatusOK, b) }

// writeODataStatus writes the OData answer b with status.
func writeODataStatus(w http.ResponseWriter, status int, b []byte) {
	h := w.Header()
	h["Content-Type"] = ODataContentType
	h["Odata-Version"] = ODataVersion
	h["Content-Length"] = []string{strconv.Itoa(len(b))}
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeMachineEntity writes one machine as a single entity.
func writeMachineEntity(w http.ResponseWriter, r *http.Request, view *readmodel.View, s uint32) {
	b := make([]byte, 0, 1200)
	b = append(b, `{"@odata.context":`...)
	b = AppendMetadataURL(b, r, "Machines/$entity")
	b = append(b, ',')
	m := view.AppendMachine(make([]byte, 0, view.MachineSize(s)), s)
	b = append(b, m[1:]...) // the machine's properties join the envelope
	WriteOData(w, b)
}

// writeCount answers an OData $count segment: the number alone.
func writeCount(w http.ResponseWriter, n int) {
	b := strconv.AppendInt(nil, int64(n), 10)
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h["Odata-Version"] = ODataVersion
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// alertPageWhole is the largest alert page assembled whole (in the pooled
// buffer, whose capacity is kept from answer to answer) and written at
// once; larger pages are streamed.
const alertPageWhole = 1 << 20

// writeAlertPage writes a collection of alerts of view: all their
// properties, or those of sel; their evidence when asked; with
// @odata.count and @odata.nextLink when asked and due.
func writeAlertPage(w http.ResponseWriter, r *http.Request, view *readmodel.View, page []uint32, sel []int, evidence, count bool, total int, next string) {
	sp := bufPool.Get().(*[]byte)
	defer bufPool.Put(sp)
	b, end := OpenCollection((*sp)[:0], r, "Alerts"+selectSuffixOf(wire.AlertSchema, sel), count, total, next)
	keep := selectedOf(wire.AlertSchema, sel)
	h := w.Header()
	h["Content-Type"] = ODataContentType
	h["Odata-Version"] = ODataVersion
	i := 0
	if keep == nil {
		// All properties: the answer has a length. A page up to
		// alertPageWhole is built whole and measured once built; one
		// larger is measured from where it grew past it (AlertSize of
		// the alerts not yet written), then streamed.
		for ; i < len(page) && len(b) <= alertPageWhole; i++ {
			if i > 0 {
				b = append(b, ',')
			}
			b = view.AppendAlert(b, page[i], evidence)
		}
		size := len(b) + len(end) + len(page) - i // the commas before the rest
		if i == 0 && len(page) > 0 {
			size-- // none before the first
		}
		for _, s := range page[i:] {
			size += view.AlertSize(s, evidence)
		}
		h["Content-Length"] = []string{strconv.Itoa(size)}
	}
	w.WriteHeader(http.StatusOK)
	// A page larger than alertPageWhole (10,000 alerts with evidence are
	// tens of megabytes), or of some properties (no length), is streamed
	// in pieces of streamChunk bytes: the answer is never held whole.
	for ; i < len(page); i++ {
		if i > 0 {
			b = append(b, ',')
		}
		if keep == nil {
			b = view.AppendAlert(b, page[i], evidence)
		} else {
			b = view.SelectAlert(b, page[i], evidence, keep)
		}
		if len(b) >= streamChunk {
			if _, err := w.Write(b); err != nil {
				*sp = b[:0]
				return
			}
			b = b[:0]
		}
	}
	b = append(b, end...)
	_, _ = w.Write(b)
	*sp = b[:0]
}

// writeAlertEntity writes one alert, with its evidence, as a single
// entity: "@odata.context": "…#Alerts/$entity" (the live service's) and
// its properties (those of sel, if any).
func writeAlertEntity(w http.ResponseWriter, r *http.Request, view *readmodel.View, s uint32, sel []int) {
	b := make([]byte, 0, 4096)
	b = append(b, `{"@odata.context":`...)
	b = AppendMetadataURL(b, r, "Alerts/$entity")
	var a []byte
	if keep := selectedOf(wire.AlertSchema, sel); keep != nil {
		a = view.SelectAlert(nil, s, true, keep)
	} else {
		a = view.AppendAlert(nil, s, true)
	}
	if len(a) > 2 {
		b = append(b, ',')
	}
	WriteOData(w, append(b, a[1:]...)) // the alert's properties join the envelope
}

func unescapeQuery(s string) (string, error) { return url.QueryUnescape(s) }
