package huntapi

import (
	"context"
	"encoding/json"
	"errors"
	"iter"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/httpserve"
	"github.com/openatp/openatp/huntables"
	"github.com/openatp/openatp/hunting"
	"github.com/openatp/openatp/kql"
	"github.com/openatp/openatp/mdeapi"
)

// The answers of a query that ran too long or answered too much: 400s,
// as the service gives them (the first is openatp's wording; the second
// the documented message).
const (
	msgTimeout    = "Query execution has exceeded the allowed limits. The query was preempted after running for %s. Optimize your query and try again."
	msgResultSize = "Query execution has exceeded the allowed result size. Optimize your query by limiting the number of results and try again"
)

// handle is the handler of one form of the route.
func (rt *routes) handle(f form) http.Handler {
	lim := rt.cfg.Limiter
	if l, ok := rt.cfg.EndpointLimiters[f.endpoint]; ok {
		lim = l
	}
	return httpserve.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		p, body, err := mdeapi.WriteCall(r, rt.authn, lim, f.endpoint)
		if err != nil {
			return err
		}
		if err := mdeapi.RequirePermissions(p, f.app, f.delegated); err != nil {
			return err
		}
		query, err := stringProperty(body, "Query", true)
		if err != nil {
			return err
		}
		now := rt.cfg.Now().UTC()
		from, to := now.Add(-hunting.DataDays*24*time.Hour), time.Time{}
		if f.graph {
			span, err := stringProperty(body, "Timespan", false)
			if err != nil {
				return err
			}
			if span != "" {
				if from, to, err = parseTimespan(span, now); err != nil {
					return err
				}
			}
		}
		if err := rt.cfg.Quota.call(r.Context(), p.TenantID); err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(r.Context(), rt.cfg.Timeout)
		defer cancel()
		select { // the query's turn: its wait counts towards its time limit
		case rt.running <- struct{}{}:
			defer func() { <-rt.running }()
		case <-ctx.Done():
			return rt.runError(r, ctx, ctx.Err())
		}
		view, access, err := mdeapi.MachineScope(ctx, rt.cfg.Model, p)
		if err != nil {
			if ctx.Err() != nil {
				return rt.runError(r, ctx, err)
			}
			return err
		}
		defer view.Release()
		if access != nil && !access.Has(openatp.PermViewData) {
			return openatp.CodedErrorf(openatp.Forbidden, "Forbidden",
				"The user %s has no role with the '%s' permission.", mdeapi.ClipID(p.UserName), openatp.PermViewData)
		}
		src := &huntables.Source{TenantID: p.TenantID, View: view, Access: access, Events: rt.cfg.Store,
			Logons: rt.cfg.Logons, Vuln: rt.cfg.Vuln, From: from, To: to}
		start := time.Now()
		var res *kql.Result
		lowPriority(func() { res, err = kql.Run(ctx, query, tablesOf(src), kql.Options{Now: now, MaxRows: hunting.MaxRows}) })
		elapsed := time.Since(start)
		rt.cfg.Quota.spend(p.TenantID, elapsed)
		if err != nil {
			return rt.runError(r, ctx, err)
		}
		return rt.answer(w, r, f, res, elapsed)
	})
}

// runError is the answer of a query that failed: a 400 naming the
// operator or function and its position for a query the language
// refuses, the 400 of the time limit, or the error as it is (the client's
// cancellation, a store's error).
func (rt *routes) runError(r *http.Request, ctx context.Context, err error) error {
	var ke *kql.Error
	switch {
	case errors.As(err, &ke):
		return openatp.CodedErrorf(openatp.Invalid, "BadRequest", "%s", ke.Error())
	case r.Context().Err() != nil:
		return r.Context().Err() // the client went away
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return openatp.CodedErrorf(openatp.Invalid, "BadRequest", msgTimeout, rt.cfg.Timeout)
	}
	return err
}

// answer writes the result in the form's shape.
func (rt *routes) answer(w http.ResponseWriter, r *http.Request, f form, res *kql.Result, elapsed time.Duration) error {
	b := make([]byte, 0, 4096)
	b = append(b, '{')
	if f.graph {
		scheme, host := httpserve.BaseOf(r)
		b = append(b, `"@odata.context":`...)
		b = strconv.AppendQuote(b, scheme+host+"/v1.0/$metadata#microsoft.graph.security.huntingQueryResults")
		b = append(b, ',')
	}
	if f.stats {
		b = append(b, `"Stats":{"ExecutionTime":`...)
		b = strconv.AppendFloat(b, elapsed.Seconds(), 'f', 7, 64)
		b = append(b, `,"dataset_statistics":[{"table_row_count":`...)
		b = strconv.AppendInt(b, int64(len(res.Rows)), 10)
		b = append(b, `}]},`...)
	}
	n := len(b)
	b, err := res.AppendJSON(b, f.schema, f.results)
	if err != nil {
		return err
	}
	copy(b[n:], b[n+1:]) // the result's own '{': its members join ours
	b = b[:len(b)-1]
	if len(b) > rt.cfg.MaxResultBytes {
		return openatp.CodedErrorf(openatp.Invalid, "BadRequest", msgResultSize)
	}
	h := w.Header()
	if f.graph {
		h["Content-Type"] = mdeapi.ODataContentType
	} else {
		h.Set("Content-Type", "application/json; charset=utf-8")
	}
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
	return nil
}

// stringProperty reads the string property name of a request body, its
// name matched ignoring case (as the service binds it); required or "".
func stringProperty(body map[string]json.RawMessage, name string, required bool) (string, error) {
	for k, v := range body {
		if !strings.EqualFold(k, name) {
			continue
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return "", openatp.CodedErrorf(openatp.Invalid, "InvalidRequestBody", "The property %s of the request body must be a string.", name)
		}
		if required && strings.TrimSpace(s) == "" {
			break
		}
		return s, nil
	}
	if required {
		return "", openatp.CodedErrorf(openatp.Invalid, "InvalidRequestBody", "The request body must have a %s property: the query to run.", name)
	}
	return "", nil
}

// table is a hunting table as the language reads it.
type table struct {
	t    huntables.Table
	cols []kql.Column
	src  *huntables.Source
}

// kqlTypes are the language's types of the tables' type names.
var kqlTypes = map[string]kql.Type{"string": kql.String, "long": kql.Long, "int": kql.Int, "bool": kql.Bool,
	"datetime": kql.DateTime, "real": kql.Real, "dynamic": kql.Dynamic}

// tablesOf returns the tables of src as the language reads them.
func tablesOf(src *huntables.Source) []kql.Table {
	ts := huntables.Tables(src)
	out := make([]kql.Table, 0, len(ts))
	for _, t := range ts {
		cols := make([]kql.Column, len(t.Columns))
		for i, c := range t.Columns {
			cols[i] = kql.Column{Name: c.Name, Type: kqlTypes[c.Type]}
		}
		out = append(out, table{t: t, cols: cols, src: src})
	}
	return out
}

func (t table) Name() string          { return t.t.Name }
func (t table) Columns() []kql.Column { return t.cols }

// errStop ends a table's read when the query wants no more rows.
var errStop = errors.New("huntapi: no more rows wanted")

func (t table) Rows(ctx context.Context) iter.Seq2[[]any, error] {
	return t.read(ctx, t.t.Rows)
}

// RowsWhere reads the rows inside b's time range and DeviceId set, of a
// table that can read only those (kql filters the rows after).
func (t table) RowsWhere(ctx context.Context, b kql.Bounds) iter.Seq2[[]any, error] {
	if t.t.RowsWhere == nil {
		return t.Rows(ctx)
	}
	w := huntables.Where{From: b.From, To: b.To}
	if ids, ok := b.Equal["DeviceId"]; ok {
		if len(ids) == 0 {
			return func(func([]any, error) bool) {} // no DeviceId is two values at once
		}
		w.DeviceIDs = ids
	}
	return t.read(ctx, func(ctx context.Context, yield func([]any) error) error { return t.t.RowsWhere(ctx, w, yield) })
}

// pushed counts the plans the store ran, for the tests.
var pushed atomic.Int64

// Push runs the leading part of a query in the store (kql.PushTable), if
// it can.
func (t table) Push(p *kql.Plan) (func(context.Context) iter.Seq2[[]any, error], bool) {
	rows, ok := t.src.Push(p)
	if !ok {
		return nil, false
	}
	pushed.Add(1)
	return func(ctx context.Context) iter.Seq2[[]any, error] { return t.read(ctx, rows) }, true
}

func (t table) read(ctx context.Context, rows func(context.Context, func([]any) error) error) iter.Seq2[[]any, error] {
	return func(yield func([]any, error) bool) {
		err := rows(ctx, func(row []any) error {
			if !yield(row, nil) {
				return errStop
			}
			return nil
		})
		if err != nil && !errors.Is(err, errStop) {
			yield(nil, err)
		}
	}
}
