package tvmapi

import (
	"net/http"
	"strconv"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/mdeapi"
	"github.com/openatp/openatp/readmodel"
	"github.com/openatp/openatp/wire"
)

// noGroup ends the organization's score: the properties of a device
// group's (the ConfigurationScore entity's), null.
const noGroup = `,"rbacGroupName":null,"rbacGroupId":null}`

// handleExposureScore serves GET /api/exposureScore (the organization's,
// in the caller's scope) and /api/exposureScore/ByMachineGroups (one per
// device group the caller sees that has machines, ordered by rank, the
// default group last).
func (rt *routes) handleExposureScore(byGroup bool) http.Handler {
	return rt.serve(endpointTVM, scorePerms, func(w http.ResponseWriter, r *http.Request, rd *reader) error {
		if err := mdeapi.NoQuery(r); err != nil {
			return err
		}
		e, err := rt.store.Exposure(r.Context(), rd.p.TenantID, rd.sc)
		if err != nil {
			return err
		}
		now := rt.now().UTC()
		if !byGroup {
			b := append([]byte(`{"time":`), wire.AppendTime(nil, &now)...)
			b = append(b, `,"score":`...)
			b = appendFloat(b, e.Score(nil))
			mdeapi.WriteEntity(w, r, http.StatusOK, "ExposureScore", append(b, noGroup...))
			return nil
		}
		members := map[int64][]string{}
		page, _, _ := rd.view.QueryMachines(readmodel.MachineQuery{Access: rd.access, Top: rd.view.Machines() + 1})
		for _, s := range page {
			g := rd.view.GroupID(s)
			members[g] = append(members[g], rd.view.MachineID(s))
		}
		ids := make([]int64, 0, len(members))
		for _, g := range rd.view.RBAC().Groups() {
			if members[g.ID] != nil {
				ids = append(ids, g.ID)
			}
		}
		if members[openatp.DefaultGroupID] != nil {
			ids = append(ids, openatp.DefaultGroupID)
		}
		b, end := mdeapi.OpenCollection(nil, r, "ExposureScore", false, 0, "")
		for i, g := range ids {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"time":`...)
			b = wire.AppendTime(b, &now)
			b = append(b, `,"score":`...)
			b = appendFloat(b, e.Score(members[g]))
			b = append(b, `,"rbacGroupName":`...)
			b = wire.AppendString(b, rd.names[g])
			b = append(b, `,"rbacGroupId":`...)
			b = strconv.AppendInt(b, g, 10)
			b = append(b, '}')
		}
		mdeapi.WriteOData(w, append(b, end...))
		return nil
	})
}

// handleConfigurationScore serves GET /api/configurationScore.
func (rt *routes) handleConfigurationScore() http.Handler {
	return rt.serve(endpointTVM, scorePerms, func(w http.ResponseWriter, r *http.Request, rd *reader) error {
		if err := mdeapi.NoQuery(r); err != nil {
			return err
		}
		e, err := rt.store.Exposure(r.Context(), rd.p.TenantID, rd.sc)
		if err != nil {
			return err
		}
		now := rt.now().UTC()
		b := append([]byte(`{"time":`), wire.AppendTime(nil, &now)...)
		b = append(b, `,"score":`...)
		b = strconv.AppendInt(b, int64(e.ConfigurationScore()), 10)
		mdeapi.WriteEntity(w, r, http.StatusOK, "ConfigurationScore", append(b, noGroup...))
		return nil
	})
}
