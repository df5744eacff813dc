package indicatorapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/httpserve"
	"github.com/openatp/openatp/ingest/indicatorio"
	"github.com/openatp/openatp/internal/timatch"
	"github.com/openatp/openatp/mdeapi"
	"github.com/openatp/openatp/wire"
)

// The bounds of the request bodies: one indicator, and an import of
// openatp.MaxIndicatorBatch of them (or a BatchDelete).
const (
	maxSubmitBody = 64 << 10
	maxImportBody = 8 << 20
)

// readBody reads a request body of at most limit bytes: 413 beyond.
func readBody(r *http.Request, limit int64) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, limit))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.Is(err, httpserve.ErrBodyTimeout):
		return nil, err
	case errors.As(err, &tooLarge):
		return nil, openatp.CodedErrorf(openatp.TooLarge, "RequestEntityTooLarge", "The request body is larger than %d bytes.", limit)
	case err != nil:
		return nil, openatp.CodedErrorf(openatp.Invalid, "InvalidRequestBody", "The request body was cut off.")
	}
	return b, nil
}

// badBody is the 400 of a body that is not the JSON expected.
func badBody(what string) error { return indicatorio.BadBody(what) }

// creator is who writes: the fields of the indicators it creates or
// updates.
type creator struct {
	by, name, sourceType string
}

// creatorOf returns p as a creator: an application by its client id and
// name, a user by its name.
func (rt *routes) creatorOf(r *http.Request, p *openatp.Principal) (creator, error) {
	if p.Delegated {
		return creator{by: p.UserName, name: p.UserName, sourceType: openatp.IndicatorSourceUser}, nil
	}
	name := p.ClientID
	app, err := rt.store.App(r.Context(), p.TenantID, p.ClientID)
	switch {
	case err == nil:
		name = app.Name
	case !openatp.IsKind(err, openatp.NotFound):
		return creator{}, err
	}
	return creator{by: p.ClientID, name: name, sourceType: openatp.IndicatorSourceApp}, nil
}

// stamp sets the creator's fields of a submitted indicator (an update
// keeps the stored indicator's creation fields).
func (c creator) stamp(in *openatp.Indicator) {
	in.CreatedBy, in.CreatedBySource, in.CreatedByDisplayName, in.Source = c.by, c.name, c.name, c.name
	in.SourceType, in.LastUpdatedBy = c.sourceType, c.by
}

// resolveGroups sets the device group ids of in's rbacGroupNames: Invalid
// for a name no device group has, Forbidden for a group the caller may
// not see.
func (sc *scope) resolveGroups(in *openatp.Indicator) error {
	in.RBACGroupIDs = nil
	for _, name := range in.RBACGroupNames {
		found := false
		for _, g := range sc.groups {
			if openatp.NameKey(g.Name) == openatp.NameKey(name) {
				in.RBACGroupIDs, found = append(in.RBACGroupIDs, g.ID), true
				break
			}
		}
		if !found {
			return openatp.InvalidField("rbacGroupNames", "no device group is named %q", openatp.Clip(name, 64))
		}
		if sc.access != nil && !sc.access.CanSee(in.RBACGroupIDs[len(in.RBACGroupIDs)-1]) {
			return openatp.CodedErrorf(openatp.Forbidden, "Forbidden", "The user %s is not exposed to the device group %s.",
				mdeapi.ClipID(sc.p.UserName), openatp.Clip(name, 64))
		}
	}
	return nil
}

// loadGroups reads the tenant's device groups into sc.
func (rt *routes) loadGroups(r *http.Request, sc *scope) error {
	gs, err := rt.store.Groups(r.Context(), sc.p.TenantID)
	if err != nil {
		return err
	}
	sc.groups = append(gs, openatp.DeviceGroup{ID: openatp.DefaultGroupID, Name: openatp.DefaultGroupName})
	return nil
}

// Errors of may that the handlers answer per item.
var (
	errNotOwned   = errors.New("indicator created by another application")
	errNotExposed = errors.New("indicator of device groups the caller does not see")
)

// may is the check of an existing indicator before the caller updates it.
func (sc *scope) may(old *openatp.Indicator) error {
	switch {
	case !sc.owns(old):
		return errNotOwned
	case !sc.exposed(old):
		return errNotExposed
	}
	return nil
}

// itemError is the answer for the store's error of the item in.
func (sc *scope) itemError(in *openatp.Indicator, err error) error {
	switch {
	case errors.Is(err, errNotOwned) && in.ID != "":
		return openatp.IndicatorNotFound(in.ID)
	case errors.Is(err, errNotOwned):
		return openatp.CodedErrorf(openatp.Conflict, "Conflict",
			"An indicator of this indicatorType and indicatorValue exists and was created by another application.")
	case errors.Is(err, errNotExposed):
		return openatp.CodedErrorf(openatp.Forbidden, "Forbidden", "The caller is not exposed to the device groups of the indicator.")
	}
	return err
}

// prepare turns a submitted indicator into what the store writes.
func (sc *scope) prepare(in *openatp.Indicator, c creator) error {
	c.stamp(in)
	return sc.resolveGroups(in)
}

// handleSubmit serves POST /api/indicators: submit or update (the same
// type and value, or a given id); 200 and the indicator.
func (rt *routes) handleSubmit() http.Handler {
	return httpserve.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		p, err := mdeapi.Caller(r, rt.authn, rt.lim(endpointIndicators), endpointIndicators, requireTi)
		if err != nil {
			return err
		}
		raw, err := readBody(r, maxSubmitBody)
		if err != nil {
			return err
		}
		sc, err := rt.callerScope(r, p)
		if err != nil {
			return err
		}
		in, err := indicatorio.ParseSubmission(raw)
		if err != nil {
			return err
		}
		c, err := rt.creatorOf(r, p)
		if err != nil {
			return err
		}
		if err := rt.loadGroups(r, sc); err != nil {
			return err
		}
		if err := sc.prepare(&in, c); err != nil {
			return err
		}
		out, errs, err := rt.store.PutIndicators(r.Context(), p.TenantID, []openatp.Indicator{in}, rt.now(), sc.may)
		if err != nil {
			return err
		}
		if errs[0] != nil {
			return sc.itemError(&in, errs[0])
		}
		if err := timatch.LookBack(r.Context(), rt.store, p.TenantID, rt.now(), out); err != nil {
			return err
		}
		writeEntity(w, r, &out[0])
		return nil
	})
}

// property returns the value of the top-level property name of a JSON
// object, matched in any case; nil if absent.
func property(raw []byte, name string) (json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return nil, badBody("a JSON object")
	}
	for k, v := range m {
		if strings.EqualFold(k, name) {
			return v, nil
		}
	}
	return nil, nil
}

// batch reads the array of the property name, of 1 to
// openatp.MaxIndicatorBatch items.
func batch(raw []byte, name string) ([]json.RawMessage, error) {
	v, err := property(raw, name)
	if err != nil {
		return nil, err
	}
	var items []json.RawMessage
	if v == nil || json.Unmarshal(v, &items) != nil || items == nil {
		return nil, openatp.CodedErrorf(openatp.Invalid, "InvalidRequestBody", "%s: must be an array.", name)
	}
	if len(items) == 0 || len(items) > openatp.MaxIndicatorBatch {
		return nil, openatp.CodedErrorf(openatp.Invalid, "InvalidRequestBody", "%s: 1 to %d items, not %d.", name, openatp.MaxIndicatorBatch, len(items))
	}
	return items, nil
}

// message is the text of an item's error.
func message(err error) string {
	var e *openatp.Error
	if errors.As(err, &e) {
		return e.Message
	}
	return err.Error()
}

// batchCall is the start of a call of a batch endpoint (import,
// BatchDelete): the caller, its scope, and the items of the body's array
// property name.
func (rt *routes) batchCall(r *http.Request, endpoint, name string) (*openatp.Principal, *scope, []json.RawMessage, error) {
	p, err := mdeapi.Caller(r, rt.authn, rt.lim(endpoint), endpoint, requireTi)
	if err != nil {
		return nil, nil, nil, err
	}
	raw, err := readBody(r, maxImportBody)
	if err != nil {
		return nil, nil, nil, err
	}
	sc, err := rt.callerScope(r, p)
	if err != nil {
		return nil, nil, nil, err
	}
	items, err := batch(raw, name)
	if err != nil {
		return nil, nil, nil, err
	}
	return p, sc, items, nil
}

// handleImport serves POST /api/indicators/import: {"Indicators": [...]},
// 1 to 500, each submitted or updated on its own (in one transaction),
// answered per item: {id, indicator, isFailed, failureReason}.
func (rt *routes) handleImport() http.Handler {
	return httpserve.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		p, sc, items, err := rt.batchCall(r, endpointImport, "Indicators")
		if err != nil {
			return err
		}
		c, err := rt.creatorOf(r, p)
		if err != nil {
			return err
		}
		if err := rt.loadGroups(r, sc); err != nil {
			return err
		}
		type result struct {
			in  openatp.Indicator
			err error
		}
		results := make([]result, len(items))
		var ok []openatp.Indicator
		var at []int
		for i, item := range items {
			in, err := indicatorio.ParseSubmission(item)
			if err == nil {
				err = sc.prepare(&in, c)
			}
			results[i] = result{in, err}
			if err == nil {
				ok, at = append(ok, in), append(at, i)
			}
		}
		if len(ok) > 0 {
			out, errs, err := rt.store.PutIndicators(r.Context(), p.TenantID, ok, rt.now(), sc.may)
			if err != nil {
				return err
			}
			var stored []openatp.Indicator
			for j, i := range at {
				if errs[j] != nil {
					results[i].err = sc.itemError(&ok[j], errs[j])
				} else {
					results[i].in = out[j]
					stored = append(stored, out[j])
				}
			}
			if err := timatch.LookBack(r.Context(), rt.store, p.TenantID, rt.now(), stored); err != nil {
				return err
			}
		}
		b, end := mdeapi.OpenCollection(make([]byte, 0, 160*len(results)+256), r,
			"Collection(microsoft.windowsDefenderATP.api.ImportIndicatorResult)", false, len(results), "")
		for i, res := range results {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"id":`...)
			if res.err == nil {
				b = wire.AppendString(b, res.in.ID)
			} else {
				b = append(b, "null"...)
			}
			b = append(b, `,"indicator":`...)
			if res.in.IndicatorValue != "" {
				b = wire.AppendString(b, res.in.IndicatorValue)
			} else {
				b = append(b, "null"...)
			}
			b = append(b, `,"isFailed":`...)
			b = strconv.AppendBool(b, res.err != nil)
			b = append(b, `,"failureReason":`...)
			if res.err != nil {
				b = wire.AppendString(b, message(res.err))
			} else {
				b = append(b, "null"...)
			}
			b = append(b, '}')
		}
		mdeapi.WriteOData(w, append(b, end...))
		return nil
	})
}

// handleDelete serves DELETE /api/indicators/{id}: 204, or 404 for an
// indicator the caller does not see.
func (rt *routes) handleDelete() http.Handler {
	return httpserve.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		p, in, err := rt.oneCall(r)
		if err != nil {
			return err
		}
		if err := rt.store.DeleteIndicators(r.Context(), p.TenantID, []string{in.ID}); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}

// handleBatchDelete serves POST /api/indicators/BatchDelete:
// {"IndicatorIds": [...]}, 1 to 500 ids; 204 when all existed and were
// deleted; 404 if one does not exist (or has expired, or is another
// application's), 403 if the caller is not exposed to one's device
// groups, and then nothing is deleted.
func (rt *routes) handleBatchDelete() http.Handler {
	return httpserve.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		p, sc, items, err := rt.batchCall(r, endpointBatchDelete, "IndicatorIds")
		if err != nil {
			return err
		}
		ids := make([]string, 0, len(items))
		seen := map[string]bool{}
		for _, item := range items {
			var id string
			if json.Unmarshal(item, &id) != nil {
				id = string(bytes.TrimSpace(item)) // a number
			}
			if !openatp.ValidIndicatorID(id) {
				return openatp.InvalidField("IndicatorIds", "%s is not an indicator id", openatp.Clip(string(item), 64))
			}
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
		all, err := rt.store.Indicators(r.Context(), p.TenantID)
		if err != nil {
			return err
		}
		byID := make(map[string]*openatp.Indicator, len(all))
		for i := range all {
			byID[all[i].ID] = &all[i]
		}
		now := rt.now()
		var hidden string
		for _, id := range ids {
			in := byID[id]
			if in == nil || !in.Active(now) || !sc.owns(in) {
				return openatp.IndicatorNotFound(id)
			}
			if hidden == "" && !sc.exposed(in) {
				hidden = id
			}
		}
		if hidden != "" {
			return openatp.CodedErrorf(openatp.Forbidden, "Forbidden", "The caller is not exposed to the device groups of indicator %s.", hidden)
		}
		if err := rt.store.DeleteIndicators(r.Context(), p.TenantID, ids); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}
