package auth

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/openatp/openatp"
)

// entraHosts are the host names of Entra ID's worldwide cloud, in the order
// of the aliases its instance discovery lists; the first is the preferred
// network, login.windows.net the preferred cache.
var entraHosts = []string{"login.microsoftonline.com", "login.windows.net", "login.microsoft.com", "sts.windows.net"}

// instanceDiscovery is the answer of Entra's instance discovery
// (GET /common/discovery/instance): where the authority's OpenID Connect
// document is, and which hosts are names of the same cloud.
type instanceDiscovery struct {
	TenantDiscoveryEndpoint string             `json:"tenant_discovery_endpoint"`
	APIVersion              string             `json:"api-version"`
	Metadata                []instanceMetadata `json:"metadata"`
}

// instanceMetadata is one cloud of an instance discovery answer.
type instanceMetadata struct {
	PreferredNetwork string   `json:"preferred_network"`
	PreferredCache   string   `json:"preferred_cache"`
	Aliases          []string `json:"aliases"`
}

// discoverInstance serves GET /{tenant}/discovery/instance (MSAL asks
// /common/...): given the authorization_endpoint of an authority, it names
// the authority's tenant discovery endpoint (its OpenID Connect document)
// and the hosts that are aliases of it. Microsoft's libraries make this call
// before their first token whenever authority validation is on.
//
// Entra answers for its own hosts and refuses others with invalid_instance;
// openatp answers for Entra's worldwide hosts, for the host the request was
// sent to, for its configured host names (Options.Hostnames) and for
// loopback names, and refuses the rest the same way.
func (h *handler) discoverInstance(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	ae := q.Get("authorization_endpoint")
	if ae == "" {
		return oauthErr(http.StatusBadRequest, "invalid_request", 90014,
			"The required field 'authorization_endpoint' is missing from the request.")
	}
	u, err := url.Parse(ae)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil {
		return invalidInstance()
	}
	// /{tenant}/oauth2/v2.0/authorize or /{tenant}/oauth2/authorize.
	parts := strings.Split(strings.TrimPrefix(u.EscapedPath(), "/"), "/")
	if len(parts) < 3 || parts[0] == "" || parts[1] != "oauth2" {
		return invalidInstance()
	}
	tenant, v2 := parts[0], len(parts) == 4 && parts[2] == "v2.0" && parts[3] == "authorize"
	if !v2 && !(len(parts) == 3 && parts[2] == "authorize") {
		return invalidInstance()
	}
	host := strings.ToLower(u.Host) // with its port, if any: MSAL compares host:port
	name := hostOnly(host)
	var own bool
	switch {
	case slices.Contains(entraHosts, host):
	case strings.EqualFold(name, hostOnly(h.host(r))), h.svc.hostnames[name], isLoopback(name):
		own = true
	default:
		return invalidInstance()
	}
	doc := "/.well-known/openid-configuration"
	if v2 {
		doc = "/v2.0/.well-known/openid-configuration"
	}
	version := q.Get("api-version")
	if version == "" {
		version = "1.1"
	}
	ans := instanceDiscovery{
		TenantDiscoveryEndpoint: "https://" + host + "/" + tenant + doc,
		APIVersion:              version,
		Metadata: []instanceMetadata{{
			PreferredNetwork: entraHosts[0],
			PreferredCache:   entraHosts[1],
			Aliases:          entraHosts,
		}},
	}
	// openatp's own names, each its own cloud: the authority's host first
	// (MSAL makes preferred_network its canonical host), then the others.
	seen := map[string]bool{}
	addOwn := func(n string) {
		if n == "" || seen[n] || slices.Contains(entraHosts, n) {
			return
		}
		seen[n] = true
		ans.Metadata = append(ans.Metadata, instanceMetadata{PreferredNetwork: n, PreferredCache: n, Aliases: []string{n}})
	}
	if own {
		addOwn(host)
	}
	addOwn(strings.ToLower(h.host(r)))
	for _, n := range h.svc.hostnameList() {
		addOwn(n)
	}
	w.Header().Set("Cache-Control", "max-age=86400, private")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	writeJSON(w, http.StatusOK, ans)
	return nil
}

func invalidInstance() error {
	return oauthErr(http.StatusBadRequest, "invalid_instance", 50049, "Unknown or invalid instance.")
}

// userRealm is the answer of Entra's user realm discovery, version 1.0.
type userRealm struct {
	Ver               string `json:"ver"`
	AccountType       string `json:"account_type"`
	DomainName        string `json:"domain_name,omitempty"`
	CloudInstanceName string `json:"cloud_instance_name"`
	CloudAudienceURN  string `json:"cloud_audience_urn,omitempty"`
}

// userRealm serves GET /common/userrealm/{upn} (MSAL for Python and .NET;
// MSAL for Go spells it UserRealm): whether the user's domain is managed by
// the directory (its users sign in with a password here) or federated.
// MSAL asks it before a password grant. openatp answers Managed for a domain
// that is a tenant's name and for a directory user of any tenant, and what
// Entra answers for a domain it does not know otherwise.
func (h *handler) userRealm(w http.ResponseWriter, r *http.Request) error {
	upn := r.PathValue("upn")
	domain := ""
	if i := strings.LastIndexByte(upn, '@'); i >= 0 {
		domain = strings.ToLower(upn[i+1:])
	}
	ans := userRealm{Ver: "1.0", AccountType: "Unknown", CloudInstanceName: cloudInstanceName(h.host(r))}
	managed, err := h.managedDomain(r, upn, domain)
	if err != nil {
		return err
	}
	if managed {
		ans.AccountType, ans.DomainName, ans.CloudAudienceURN = "Managed", domain, "urn:federation:MicrosoftOnline"
	}
	w.Header().Set("Cache-Control", "no-store, no-cache")
	writeJSON(w, http.StatusOK, ans)
	return nil
}

// managedDomain reports whether domain is a tenant's name or upn a
// directory user of some tenant.
func (h *handler) managedDomain(r *http.Request, upn, domain string) (bool, error) {
	if domain == "" {
		return false, nil
	}
	t, err := h.svc.store.Tenant(r.Context(), domain)
	switch {
	case err == nil && strings.EqualFold(t.Name, domain):
		return true, nil
	case err != nil && !openatp.IsKind(err, openatp.NotFound):
		return false, err
	}
	tenants, err := h.svc.store.Tenants(r.Context())
	if err != nil {
		return false, err
	}
	for _, t := range tenants {
		_, err := h.svc.store.DirectoryUser(r.Context(), t.ID, upn)
		if err == nil {
			return true, nil
		}
		if !openatp.IsKind(err, openatp.NotFound) {
			return false, err
		}
	}
	return false, nil
}

// cloudInstanceName is the cloud_instance_name of the documents served on
// host: Entra's for its own host names, else the host name itself.
func cloudInstanceName(host string) string {
	name := strings.ToLower(hostOnly(host))
	if slices.Contains(entraHosts, name) {
		return "microsoftonline.com"
	}
	return name
}
