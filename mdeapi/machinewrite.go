package mdeapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/httpserve"
	"github.com/openatp/openatp/readmodel"
	"github.com/openatp/openatp/wire"
)

// The writes of the Machine API: tags, device value, PATCH. Each needs
// Machine.ReadWrite.All (application) or Machine.ReadWrite with a role
// that has the documented permission and access to the machine's device
// group (delegated); a machine the Caller may not see is answered as one
// that does not exist. Each answers the machine as the very next read
// sees it: device-group moves included.

// maxBulkTagMachines is the most machines of one
// AddOrRemoveTagForMultipleMachines call (as the service documents).
const maxBulkTagMachines = 500

// stringField reads a required (or optional) string property; names are
// case-sensitive, as documented.
func stringField(body map[string]json.RawMessage, name string, required bool) (string, bool, error) {
	raw, ok := body[name]
	if !ok {
		if required {
			return "", false, openatp.CodedErrorf(openatp.Invalid, "InvalidRequestBody", "The property '%s' is required.", name)
		}
		return "", false, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false, openatp.CodedErrorf(openatp.Invalid, "InvalidRequestBody", "%s: must be a string.", name)
	}
	return s, true, nil
}

// tagAction reads {"Value": tag, "Action": "Add"|"Remove"}.
func tagAction(body map[string]json.RawMessage) (func(m *openatp.Machine) error, error) {
	tag, _, err := stringField(body, "Value", true)
	if err != nil {
		return nil, err
	}
	action, _, err := stringField(body, "Action", true)
	if err != nil {
		return nil, err
	}
	if tag == "" {
		return nil, openatp.CodedErrorf(openatp.Invalid, "InvalidRequestBody", "Value: a tag must not be empty.")
	}
	switch action {
	case "Add":
		return func(m *openatp.Machine) error {
			if !slices.Contains(m.MachineTags, tag) {
				m.MachineTags = append(m.MachineTags, tag)
			}
			return nil
		}, nil
	case "Remove":
		return func(m *openatp.Machine) error {
			m.MachineTags = slices.DeleteFunc(m.MachineTags, func(t string) bool { return t == tag })
			return nil
		}, nil
	}
	return nil, openatp.CodedErrorf(openatp.Invalid, "InvalidRequestBody", "Action: %q is not Add or Remove.", ClipID(action))
}

// deviceValue reads a device value; nil for JSON null is refused.
func deviceValue(raw json.RawMessage, name string) (string, error) {
	var v string
	if err := json.Unmarshal(raw, &v); err != nil || !slices.Contains(openatp.DeviceValues, v) {
		return "", openatp.CodedErrorf(openatp.Invalid, "InvalidRequestBody", "%s: must be one of %s.", name, strings.Join(openatp.DeviceValues, ", "))
	}
	return v, nil
}

// updateOne applies change to the machine {id} the Caller may see, and
// answers it as the next read sees it.
func updateOne(w http.ResponseWriter, r *http.Request, model *readmodel.Model, store openatp.Store, p *openatp.Principal,
	perm string, change func(m *openatp.Machine) error) error {
	view, access, err := writeScope(r, model, p, perm)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	mid, err := VisibleMachineID(view, access, id, nil)
	if err != nil {
		return err
	}
	if _, err := store.UpdateMachine(r.Context(), p.TenantID, mid, change); err != nil {
		if openatp.IsKind(err, openatp.NotFound) {
			return MachineNotFound(id)
		}
		return err
	}
	view, err = waitView(r.Context(), model, p.TenantID)
	if err != nil {
		return err
	}
	defer view.Release()
	s, ok := view.Machine(mid)
	if !ok {
		return MachineNotFound(id) // deleted meanwhile
	}
	writeMachineEntity(w, r, view, s)
	return nil
}

// handleMachineTags serves POST /api/machines/{id}/tags.
func handleMachineTags(model *readmodel.Model, store openatp.Store, authn *httpserve.Authenticator, limiter httpserve.Limiter) http.Handler {
	return httpserve.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		p, body, err := WriteCall(r, authn, limiter, "machines/tags")
		if err != nil {
			return err
		}
		change, err := tagAction(body)
		if err != nil {
			return err
		}
		return updateOne(w, r, model, store, p, openatp.PermManageSecuritySettings, change)
	})
}

// handleSetDeviceValue serves POST /api/machines/{id}/setDeviceValue.
func handleSetDeviceValue(model *readmodel.Model, store openatp.Store, authn *httpserve.Authenticator, limiter httpserve.Limiter) http.Handler {
	return httpserve.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		p, body, err := WriteCall(r, authn, limiter, "machines/setDeviceValue")
		if err != nil {
			return err
		}
		raw, ok := body["DeviceValue"]
		if !ok {
			return openatp.CodedErrorf(openatp.Invalid, "InvalidRequestBody", "The property 'DeviceValue' is required.")
		}
		v, err := deviceValue(raw, "DeviceValue")
		if err != nil {
			return err
		}
		return updateOne(w, r, model, store, p, openatp.PermManageSecuritySettings, func(m *openatp.Machine) error {
			m.DeviceValue = &v
			return nil
		})
	})
}

// handlePatchMachine serves PATCH /api/machines/{id}: machineTags (the
// list replaces the machine's tags) and deviceValue; other properties are
// refused.
func handlePatchMachine(model *readmodel.Model, store openatp.Store, authn *httpserve.Authenticator, limiter httpserve.Limiter) http.Handler {
	return httpserve.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		p, body, err := WriteCall(r, authn, limiter, "machines")
		if err != nil {
			return err
		}
		var tags []string
		var value *string
		for name, raw := range body {
			switch name {
			case "machineTags":
				if err := json.Unmarshal(raw, &tags); err != nil || tags == nil {
					return openatp.CodedErrorf(openatp.Invalid, "InvalidRequestBody", "machineTags: must be an array of strings.")
				}
			case "deviceValue":
				v, err := deviceValue(raw, "deviceValue")
				if err != nil {
					return err
				}
				value = &v
			default:
				return openatp.CodedErrorf(openatp.Invalid, "InvalidRequestBody", "%s: only machineTags and deviceValue can be updated.", ClipID(name))
			}
		}
		if tags == nil && value == nil {
			return openatp.CodedErrorf(openatp.Invalid, "InvalidRequestBody", "The body names nothing to update: give machineTags or deviceValue.")
		}
		return updateOne(w, r, model, store, p, openatp.PermAlertsInvestigation, func(m *openatp.Machine) error {
			if tags != nil {
				m.MachineTags = slices.Compact(tags)
			}
			if value != nil {
				m.DeviceValue = value
			}
			return nil
		})
	})
}

// handleBulkTags serves POST /api/machines/AddOrRemoveTagForMultipleMachines:
// {"Value","Action","MachineIds":[...]}, all or none: an id the Caller may
// not see fails the call before anything is written, and the machines are
// changed in one transaction. It answers the updated machines.
func handleBulkTags(model *readmodel.Model, store openatp.Store, authn *httpserve.Authenticator, limiter httpserve.Limiter) http.Handler {
	return httpserve.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		p, body, err := WriteCall(r, authn, limiter, "machines/tags")
		if err != nil {
			return err
		}
		change, err := tagAction(body)
		if err != nil {
			return err
		}
		var ids []string
		if err := json.Unmarshal(body["MachineIds"], &ids); err != nil || len(ids) == 0 {
			return openatp.CodedErrorf(openatp.Invalid, "InvalidRequestBody", "MachineIds: must be a non-empty array of machine ids.")
		}
		if len(ids) > maxBulkTagMachines {
			return openatp.CodedErrorf(openatp.Invalid, "InvalidRequestBody", "MachineIds: at most %d machines per call.", maxBulkTagMachines)
		}
		view, access, err := writeScope(r, model, p, openatp.PermManageSecuritySettings)
		if err != nil {
			return err
		}
		mids := make([]string, 0, len(ids))
		for _, id := range ids {
			s, ok := view.Machine(id)
			if !ok || access != nil && !access.CanSee(view.GroupID(s)) || !openatp.ValidMachineID(strings.ToLower(id)) {
				view.Release()
				return MachineNotFound(id)
			}
			mids = append(mids, view.MachineID(s))
		}
		view.Release()
		slices.Sort(mids)
		mids = slices.Compact(mids)
		if _, err := store.UpdateMachines(r.Context(), p.TenantID, mids, change); err != nil {
			if openatp.IsKind(err, openatp.NotFound) {
				return MachineNotFound(ids[0]) // deleted meanwhile; nothing was written
			}
			return err
		}
		view, err = waitView(r.Context(), model, p.TenantID)
		if err != nil {
			return err
		}
		defer view.Release()
		var page []uint32
		for _, id := range mids {
			if s, ok := view.Machine(id); ok {
				page = append(page, s)
			}
		}
		writeMachinePage(w, r, view, page, nil, false, 0, "")
		return nil
	})
}

// handleLogonUsers serves GET /api/machines/{id}/logonusers.
func handleLogonUsers(model *readmodel.Model, store openatp.Store, authn *httpserve.Authenticator, limiter httpserve.Limiter) http.Handler {
	return httpserve.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		p, err := Caller(r, authn, limiter, "machines/logonusers", requireUserRead)
		if err != nil {
			return err
		}
		if err := NoQuery(r); err != nil {
			return err
		}
		view, access, err := MachineScope(r.Context(), model, p)
		if err != nil {
			return err
		}
		defer view.Release()
		id := r.PathValue("id")
		s, ok := view.Machine(id)
		if !ok || access != nil && !access.CanSee(view.GroupID(s)) {
			return MachineNotFound(id)
		}
		users, err := store.MachineUsers(r.Context(), p.TenantID, view.MachineID(s))
		if openatp.IsKind(err, openatp.NotFound) {
			return MachineNotFound(id)
		}
		if err != nil {
			return err
		}
		var b bytes.Buffer
		b.WriteString(`{"@odata.context":`)
		b.Write(AppendMetadataURL(nil, r, "Users"))
		b.WriteString(`,"value":[`)
		for i := range users {
			if i > 0 {
				b.WriteByte(',')
			}
			n := 0
			if list, ok := view.UserMachines(openatp.UserRef{Name: users[i].AccountName, Domain: users[i].AccountDomain}, nil); ok {
				n = len(list)
				if access != nil {
					n = len(view.Visible(list, access))
				}
			}
			b.Write(wire.AppendLogonUser(nil, &users[i], n))
		}
		b.WriteString("]}")
		WriteOData(w, b.Bytes())
		return nil
	})
}
