package mdeapi

import (
	"net/http"
	"slices"
	"strconv"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/odata"
)

// The OData collections and entities of the family packages that read
// theirs whole from the store (machine actions, investigations,
// indicators): filtered, ordered and paged in memory.

// WriteList answers an OData collection of the entity set set read whole
// from the store: the items that keep and the query's $filter keep, in
// the query's $orderby (compare orders two items by it), then the page
// $skip and $top (or pageSize) ask for, with @odata.count and
// @odata.nextLink as the collection asks. size is about the JSON length
// of one item, appendItem appends it. all is reused.
func WriteList[T any](w http.ResponseWriter, r *http.Request, q *odata.Query, set string, all []T, keep func(*T) bool,
	compare func(keys []odata.OrderKey, a, b *T) int, size int, appendItem func([]byte, *T) []byte) {
	kept := all[:0]
	for i := range all {
		if keep(&all[i]) {
			kept = append(kept, all[i])
		}
	}
	if len(q.OrderBy) > 0 {
		slices.SortStableFunc(kept, func(a, b T) int { return compare(q.OrderBy, &a, &b) })
	}
	total := len(kept)
	top := MaxPage
	if q.Top >= 0 {
		top = q.Top
	} else if q.PageSize > 0 {
		top = q.PageSize
	}
	from := min(q.Skip, total)
	to := min(from+top, total)
	next := ""
	if to < total && top > 0 {
		next = NextLink(r, "$skip", strconv.Itoa(to))
	}
	b, end := OpenCollection(make([]byte, 0, size*(to-from)+256), r, set, q.Count, total, next)
	for i := from; i < to; i++ {
		if i > from {
			b = append(b, ',')
		}
		b = appendItem(b, &kept[i])
	}
	WriteOData(w, append(b, end...))
}

// WriteEntity answers one entity of the entity set set with status: the
// item's JSON (one, an object) with the @odata.context of set/$entity
// first.
func WriteEntity(w http.ResponseWriter, r *http.Request, status int, set string, one []byte) {
	b := append([]byte(`{"@odata.context":`), AppendMetadataURL(nil, r, set+"/$entity")...)
	writeODataStatus(w, status, append(append(b, ','), one[1:]...))
}

// ListQuery parses the OData query of a collection of the entity set set
// that WriteList answers: $select, $expand and $skiptoken are refused.
func ListQuery(r *http.Request, schema *odata.Schema, set string) (*odata.Query, error) {
	q, err := odata.ParseQuery(schema, r.URL.RawQuery, odata.Options{MaxTop: MaxPage})
	if err != nil {
		return nil, ODataError(err)
	}
	if q.Select != nil || q.Expand != "" || q.SkipToken != "" {
		return nil, openatp.CodedErrorf(openatp.Invalid, "ODataError", "$select, $expand and $skiptoken are not supported on %s.", set)
	}
	return q, nil
}
