package auth

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/openatp/openatp/internal/tlsca"
)

// TestAzidentityClientSecretCredential gets tokens with Microsoft's own Go
// library (azidentity over MSAL): on all its defaults (authority
// login.microsoftonline.com, instance discovery and authority validation
// on) with that name led to openatp as a hosts file would, and with
// openatp's own name as the authority host and instance discovery off.
func TestAzidentityClientSecretCredential(t *testing.T) {
	st := newMemStore()
	svc := newService(t, st, Options{})
	bundle, err := tlsca.Load(t.TempDir(), []string{"login.microsoftonline.com"})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var asked []string // host and path of the identity requests, in order
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		asked = append(asked, r.Host+r.URL.Path)
		mu.Unlock()
		NewHandler(svc, nil).ServeHTTP(w, r)
	}))
	srv.TLS = bundle.TLSConfig.Clone()
	srv.StartTLS()
	defer srv.Close()
	// Every name resolves to openatp, as with a hosts-file entry.
	dial := func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, srv.Listener.Addr().String())
	}
	transport := &http.Client{Transport: &http.Transport{DialContext: dial, TLSClientConfig: &tls.Config{RootCAs: bundle.CAPool}}}

	type setup struct {
		name string
		opts *azidentity.ClientSecretCredentialOptions
		host string // the host the token is used on
	}
	for _, s := range []setup{
		{"defaults", &azidentity.ClientSecretCredentialOptions{ClientOptions: azcore.ClientOptions{Transport: transport}}, "login.microsoftonline.com"},
		{"own name", &azidentity.ClientSecretCredentialOptions{
			ClientOptions: azcore.ClientOptions{
				Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: srv.URL + "/"},
				Transport: srv.Client(),
			},
			DisableInstanceDiscovery: true,
		}, srv.Listener.Addr().String()},
	} {
		for _, scope := range []string{
			"https://api.securitycenter.microsoft.com/.default",
			"https://securitycenter.onmicrosoft.com/windowsatpservice/.default",
		} {
			for _, tenant := range []string{tenantA, nameA} {
				mu.Lock()
				asked = nil
				mu.Unlock()
				cred, err := azidentity.NewClientSecretCredential(tenant, clientA, secretA, s.opts)
				if err != nil {
					t.Fatal(err)
				}
				tok, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{scope}})
				if err != nil {
					t.Fatalf("%s: GetToken(%s, %s): %v", s.name, tenant, scope, err)
				}
				p, err := svc.Verify(context.Background(), tok.Token, s.host)
				if err != nil {
					t.Fatalf("%s: Verify: %v", s.name, err)
				}
				if p.TenantID != tenantA || p.ClientID != clientA || !slices.Equal(p.Roles, []string{roleRead, roleWrite}) {
					t.Errorf("%s: principal %+v", s.name, p)
				}
				mu.Lock()
				if s.name == "defaults" && !slices.Contains(asked, "login.microsoftonline.com/common/discovery/instance") {
					t.Errorf("defaults: the library did not ask for instance discovery: %v", asked)
				}
				mu.Unlock()
			}
		}
	}

	// A wrong secret is an authentication failure carrying Entra's code.
	cred, err := azidentity.NewClientSecretCredential(tenantA, clientA, "wrong", &azidentity.ClientSecretCredentialOptions{
		ClientOptions: azcore.ClientOptions{Transport: transport},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{"https://api.securitycenter.microsoft.com/.default"}})
	if err == nil {
		t.Fatal("wrong secret accepted")
	}
	t.Logf("wrong secret: %v", err)
}
