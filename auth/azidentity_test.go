package auth

import (
	"context"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// TestAzidentityClientSecretCredential gets a token with Microsoft's own Go
// library (azidentity over MSAL), unmodified but for the authority host.
func TestAzidentityClientSecretCredential(t *testing.T) {
	st := newMemStore()
	svc := newService(t, st, Options{})
	srv := httptest.NewTLSServer(NewHandler(svc, nil))
	defer srv.Close()

	for _, scope := range []string{
		"https://api.securitycenter.microsoft.com/.default",
		"https://securitycenter.onmicrosoft.com/windowsatpservice/.default",
	} {
		for _, tenant := range []string{tenantA, nameA} {
			cred, err := azidentity.NewClientSecretCredential(tenant, clientA, secretA, &azidentity.ClientSecretCredentialOptions{
				ClientOptions: azcore.ClientOptions{
					Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: srv.URL + "/"},
					Transport: srv.Client(),
				},
				DisableInstanceDiscovery: true,
			})
			if err != nil {
				t.Fatal(err)
			}
			tok, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{scope}})
			if err != nil {
				t.Fatalf("GetToken(%s, %s): %v", tenant, scope, err)
			}
			p, err := svc.Verify(context.Background(), tok.Token, srv.Listener.Addr().String())
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if p.TenantID != tenantA || p.ClientID != clientA || !slices.Equal(p.Roles, []string{roleRead, roleWrite}) {
				t.Errorf("principal %+v", p)
			}
		}
	}

	// A wrong secret is an authentication failure carrying Entra's code.
	cred, err := azidentity.NewClientSecretCredential(tenantA, clientA, "wrong", &azidentity.ClientSecretCredentialOptions{
		ClientOptions:            azcore.ClientOptions{Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: srv.URL + "/"}, Transport: srv.Client()},
		DisableInstanceDiscovery: true,
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
