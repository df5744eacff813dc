package pivotapi

import (
	"cmp"
	"net/http"
	"slices"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/httpserve"
	"github.com/openatp/openatp/mdeapi"
	"github.com/openatp/openatp/readmodel/evidence"
	"github.com/openatp/openatp/wire"
)

// handleAlertValues serves GET /api/alerts/{id}/files, …/ips and
// …/domains: the files (File entities), IP addresses ({"id"}) and
// domains ({"host"}) of the alert's evidence, each once, in the order of
// the evidence.
func (rt *routes) handleAlertValues(k *kind) http.Handler {
	return httpserve.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		p, err := mdeapi.Caller(r, rt.authn, rt.cfg.Limiter, "alerts/"+k.set, nil)
		if err != nil {
			return err
		}
		if err := mdeapi.NoQuery(r); err != nil {
			return err
		}
		view, access, err := mdeapi.ScopeFor(r, rt.cfg.Model, p, k.app, k.delegated, openatp.PermViewData)
		if err != nil {
			return err
		}
		defer view.Release()
		id := r.PathValue("id")
		notFound := openatp.CodedErrorf(openatp.NotFound, "ResourceNotFound", "Alert %s was not found", mdeapi.ClipID(id))
		s, ok := view.Alert(id)
		if !ok || access != nil && !access.CanSee(view.AlertGroupID(s)) {
			return notFound
		}
		a, err := rt.cfg.Store.Alert(r.Context(), p.TenantID, view.AlertID(s))
		if openatp.IsKind(err, openatp.NotFound) {
			return notFound // deleted meanwhile
		}
		if err != nil {
			return err
		}
		var values []string
		for i := range a.Evidence {
			e := &a.Evidence[i]
			s1, s256, ip, host := evidence.Values(e)
			v := map[*kind]string{fileKind: cmp.Or(s1, s256), ipKind: ip, domainKind: host}[k]
			if v != "" && !slices.Contains(values, v) {
				values = append(values, v)
			}
		}
		set := map[*kind]string{fileKind: "Files", ipKind: "Ips", domainKind: "Domains"}[k]
		b, end := mdeapi.OpenCollection(nil, r, set, false, 0, "")
		for i, v := range values {
			if i > 0 {
				b = append(b, ',')
			}
			switch k {
			case fileKind:
				pv, err := read(r.Context(), rt.cfg.Store, p.TenantID, view, access, k, v, time.Time{}, false)
				if err != nil {
					return err
				}
				b = appendFile(b, pv)
			case ipKind:
				b = append(wire.AppendString(append(b, `{"id":`...), v), '}')
			default:
				b = append(wire.AppendString(append(b, `{"host":`...), v), '}')
			}
		}
		mdeapi.WriteOData(w, append(b, end...))
		return nil
	})
}
