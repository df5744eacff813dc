package responseapi

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/httpserve"
	"github.com/openatp/openatp/internal/actionrequest"
	"github.com/openatp/openatp/mdeapi"
	"github.com/openatp/openatp/readmodel"
)

// Live response (issue 23; mde-reference §12.3.1.2): POST
// /api/machines/{id}/runliveresponse starts a LiveResponse action whose
// commands run when it succeeds (package actions' Clock, with
// actions.LibraryRunner under the admin API's actions.Controls); GET
// /api/machineactions/{id}/GetLiveResponseResultDownloadLink(index=N)
// answers a link to the result of command N (a RunScript's transcript, a
// GetFile's file), on openatp itself, signed
// and valid 30 minutes, which /api/liveresponse/results/... serves without a
// token (as clients fetch the service's blob links). The signature is
// the query parameter sig, which the journal and access log redact.

// resultLinkLifetime is how long a result link is valid, as documented.
const resultLinkLifetime = 30 * time.Minute

// resultPath is the path of the result route, before tenant/action/index.
const resultPath = "/api/liveresponse/results/"

// linkKeySetting is the store setting of the key that signs download
// links: one for every process on the store, kept across restarts.
const linkKeySetting = "download-link-key"

// linkSigner signs and checks download links with the store's key, read
// (or created) at first use.
type linkSigner struct {
	store openatp.Store
	mu    sync.Mutex
	key   []byte
}

func (s *linkSigner) keyOf(ctx context.Context) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.key != nil {
		return s.key, nil
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	v, err := s.store.SetSettingIfAbsent(ctx, linkKeySetting, hex.EncodeToString(b))
	if err != nil {
		return nil, err
	}
	key, err := hex.DecodeString(v)
	if err != nil || len(key) < 16 {
		return nil, openatp.Errorf(openatp.Internal, "the setting %s is not a key", linkKeySetting)
	}
	s.key = key
	return key, nil
}

// sign returns the signature of a link to what, valid until expiry (Unix
// seconds).
func (s *linkSigner) sign(ctx context.Context, what string, expiry int64) (string, error) {
	key, err := s.keyOf(ctx)
	if err != nil {
		return "", err
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(what + "\n" + strconv.FormatInt(expiry, 10)))
	return hex.EncodeToString(m.Sum(nil)), nil
}

// check reports whether sig signs what until expiry, which is not past.
func (s *linkSigner) check(ctx context.Context, what, expiry, sig string) (bool, error) {
	se, err := strconv.ParseInt(expiry, 10, 64)
	if err != nil || time.Now().Unix() > se {
		return false, nil
	}
	want, err := s.sign(ctx, what, se)
	if err != nil {
		return false, err
	}
	return hmac.Equal([]byte(want), []byte(sig)), nil
}

// handleRunLiveResponse serves POST /api/machines/{id}/runliveresponse:
// 201 and the new LiveResponse action, Pending, its commands Created.
// Machine.LiveResponse (application and delegated; delegated callers need
// "Live response advanced" for PutFile and RunScript, "Live response
// basic" for GetFile alone). More than openatp.MaxLiveResponseSessions live
// sessions in the tenant: 429.
func handleRunLiveResponse(model *readmodel.Model, store openatp.Store, authn *httpserve.Authenticator, limiter httpserve.Limiter, tracker ActionTracker) http.Handler {
	perm := []string{openatp.PermMachineLiveResponse}
	return httpserve.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		p, body, err := mdeapi.WriteCall(r, authn, limiter, "machines/runliveresponse")
		if err != nil {
			return err
		}
		if err := mdeapi.RequirePermissions(p, perm, perm); err != nil {
			return err
		}
		var req actionrequest.LiveResponse
		if raw, ok := body["Comment"]; ok && string(raw) != "null" {
			if err := json.Unmarshal(raw, &req.Comment); err != nil {
				return openatp.CodedErrorf(openatp.Invalid, "InvalidRequestBody", "Comment: must be a string.")
			}
		}
		if raw, ok := body["Commands"]; ok && string(raw) != "null" {
			var cs []struct {
				Type   string `json:"type"`
				Params []struct {
					Key   string `json:"key"`
					Value string `json:"value"`
				} `json:"params"`
			}
			if err := json.Unmarshal(raw, &cs); err != nil {
				return openatp.CodedErrorf(openatp.Invalid, "InvalidRequestBody",
					`Commands: must be an array of {"type": ..., "params": [{"key": ..., "value": ...}]} with string values.`)
			}
			for _, c := range cs {
				lc := openatp.LiveResponseCommand{Type: c.Type, Params: []openatp.CommandParam{}}
				for _, kv := range c.Params {
					lc.Params = append(lc.Params, openatp.CommandParam{Key: kv.Key, Value: kv.Value})
				}
				req.Commands = append(req.Commands, lc)
			}
		}
		if err := req.Validate(); err != nil {
			return err
		}
		role := openatp.PermLiveResponseBasic
		for _, c := range req.Commands {
			if c.Type != openatp.CommandGetFile {
				role = openatp.PermLiveResponseAdvanced
			}
		}
		view, access, err := mdeapi.ScopeFor(r, model, p, perm, perm, role)
		if err != nil {
			return err
		}
		id := r.PathValue("id")
		mid, err := mdeapi.VisibleMachineID(view, access, id, nil)
		if err != nil {
			return err
		}
		a, err := req.Action(&openatp.Machine{ID: mid}, requestor(p), openatp.ActionRequestSource)
		if err != nil {
			return err
		}
		a, err = store.CreateMachineAction(r.Context(), p.TenantID, a)
		switch {
		case openatp.IsKind(err, openatp.NotFound):
			return mdeapi.MachineNotFound(id)
		case openatp.IsKind(err, openatp.TooManyRequests):
			return httpserve.RetryAfter(60, err) // the tenant's sessions are all taken
		case err != nil:
			return err
		}
		trackNew(r, tracker, p.TenantID, a)
		writeAction(w, r, http.StatusCreated, &a)
		return nil
	})
}

// resultCall and packageCall match the function segment of the
// routes of an action's links.
var (
	resultCall  = regexp.MustCompile(`(?i)^GetLiveResponseResultDownloadLink\(index=(\d{1,4})\)$`)
	packageCall = regexp.MustCompile(`(?i)^getPackageUri$`)
)

// handleActionFunction serves GET /api/machineactions/{id}/{call}: the
// functions of an action that answer links,
// GetLiveResponseResultDownloadLink(index=N) and getPackageUri (with its
// own limiter, pkgLimiter); another call is 404, as the service answers a
// path it does not know (a POST to getPackageUri included).
func handleActionFunction(model *readmodel.Model, store openatp.Store, authn *httpserve.Authenticator, limiter, pkgLimiter httpserve.Limiter, signer *linkSigner,
	results resultSource) http.Handler {
	app := []string{openatp.PermMachineReadAll, openatp.PermMachineReadWriteAll}
	return httpserve.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		call := r.PathValue("call")
		m := resultCall.FindStringSubmatch(call)
		pkg := packageCall.MatchString(call)
		if m == nil && !pkg || pkg && r.Method != http.MethodGet {
			return openatp.CodedErrorf(openatp.NotFound, "NotFound", "No HTTP resource was found that matches the request URI '%s'.", mdeapi.ClipID(r.URL.EscapedPath()))
		}
		if r.Method != http.MethodGet {
			httpserve.MethodNotAllowed("GET").ServeHTTP(w, r)
			return nil
		}
		delegated, role, endpoint, lim := []string{openatp.PermMachineLiveResponse}, openatp.PermLiveResponseBasic, "machineactions", limiter
		if pkg {
			delegated, role, endpoint, lim = []string{openatp.PermMachineCollectForensics}, openatp.PermAlertsInvestigation, "machineactions/getPackageUri", pkgLimiter
		}
		p, err := mdeapi.Caller(r, authn, lim, endpoint, func(p *openatp.Principal) error { return mdeapi.RequirePermissions(p, app, delegated) })
		if err != nil {
			return err
		}
		id := r.PathValue("id")
		see, release, err := actionVisibility(r, model, p, role)
		if err != nil {
			return err
		}
		defer release()
		a, err := store.MachineAction(r.Context(), p.TenantID, strings.ToLower(id))
		if openatp.IsKind(err, openatp.NotFound) || (err == nil && see != nil && !see(a.MachineID)) {
			return actionNotFound(id)
		}
		if err != nil {
			return err
		}
		if pkg {
			return packageLink(w, r, p, &a, signer)
		}
		index, _ := strconv.Atoi(m[1])
		if _, err := liveResult(p.TenantID, &a, index, results); err != nil {
			return err
		}
		expiry := time.Now().Add(resultLinkLifetime).Unix()
		what := p.TenantID + "/" + a.ID + "/" + strconv.Itoa(index)
		sig, err := signer.sign(r.Context(), what, expiry)
		if err != nil {
			return err
		}
		scheme, host := httpserve.BaseOf(r)
		writeLink(w, r, scheme+host+resultPath+what+"?se="+strconv.FormatInt(expiry, 10)+"&sig="+sig)
		return nil
	})
}

// writeLink answers a link: 200 {"@odata.context": ".../$metadata#Edm.String",
// "value": link}.
func writeLink(w http.ResponseWriter, r *http.Request, link string) {
	b := append([]byte(`{"@odata.context":`), mdeapi.AppendMetadataURL(nil, r, "Edm.String")...)
	b = append(b, `,"value":`...)
	v, _ := json.Marshal(link)
	mdeapi.WriteOData(w, append(append(b, v...), '}'))
}

// resultSource has the result files that the admin API's controls made
// (actions.Clock.Result: a set script's transcript, a placed file).
type resultSource interface {
	Result(tenantID string, a *openatp.MachineAction, index int) ([]byte, bool)
}

// resultsOf is the resultSource of an ActionTracker, nil if it has none.
func resultsOf(tracker ActionTracker) resultSource {
	rs, _ := tracker.(resultSource)
	return rs
}

// liveResult returns the result file of command index of action a of a
// tenant: of a completed RunScript, its transcript (the one results has,
// else the deterministic one); of a completed GetFile, the file results
// has (the bytes as placed, not packaged). 404 for any other command, one
// not completed, a GetFile whose file results no longer keeps, or an
// action that is not a live response.
func liveResult(tenantID string, a *openatp.MachineAction, index int, results resultSource) ([]byte, error) {
	if a.Type != openatp.ActionLiveResponse || index >= len(a.Commands) {
		return nil, openatp.CodedErrorf(openatp.NotFound, "ResourceNotFound", "Machine action %s has no command %d.", a.ID, index)
	}
	c := &a.Commands[index]
	none := openatp.CodedErrorf(openatp.NotFound, "ResourceNotFound",
		"Command %d of machine action %s has no result (a %s command, %s).", index, a.ID, c.Command.Type, c.CommandStatus)
	if c.CommandStatus != openatp.CommandCompleted || c.Command.Type == openatp.CommandPutFile {
		return nil, none
	}
	if results != nil {
		if b, ok := results.Result(tenantID, a, index); ok {
			return b, nil
		}
	}
	if c.Command.Type == openatp.CommandGetFile {
		return nil, none
	}
	return openatp.MarshalTranscript(a.Transcript(&c.Command)), nil
}

// handleLiveResult serves GET /api/liveresponse/results/{tenant}/{id}/{index}
// without a token: a link that GetLiveResponseResultDownloadLink signed
// (se, sig) and that has not expired answers the result file; any other
// 403 AuthenticationFailed, as a blob link would.
func handleLiveResult(store openatp.Store, signer *linkSigner, results resultSource) http.Handler {
	return httpserve.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		tenant, id, idx := r.PathValue("tenant"), r.PathValue("id"), r.PathValue("index")
		q := r.URL.Query()
		ok, err := signer.check(r.Context(), tenant+"/"+id+"/"+idx, q.Get("se"), q.Get("sig"))
		if err != nil {
			return err
		}
		if !ok {
			return openatp.CodedErrorf(openatp.Forbidden, "AuthenticationFailed",
				"Server failed to authenticate the request: the link's signature is wrong or it has expired.")
		}
		index, err := strconv.Atoi(idx)
		if err != nil {
			return openatp.CodedErrorf(openatp.NotFound, "ResourceNotFound", "No such result.")
		}
		a, err := store.MachineAction(r.Context(), tenant, id)
		if err != nil {
			return err
		}
		b, err := liveResult(tenant, &a, index, results)
		if err != nil {
			return err
		}
		h := w.Header()
		h.Set("Content-Type", "application/octet-stream")
		h.Set("Content-Length", strconv.Itoa(len(b)))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(b)
		return nil
	})
}
