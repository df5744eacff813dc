package auth

import (
	"context"
	"crypto/sha256"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openatp/openatp"
)

// memStore is an in-memory fake of the parts of openatp.Store the token
// service uses (the Store seam of this package). The real engines are
// checked by package storetest.
type memStore struct {
	mu       sync.Mutex
	tenants  []openatp.Tenant
	apps     []openatp.App
	users    map[string][]openatp.DirectoryUser // by tenant id
	keys     []openatp.SigningKey               // newest first
	settings map[string]string
	keyLoads int    // calls of SigningKeys
	version  uint64 // bumped by every write of keys and settings
}

var _ Store = (*memStore)(nil)

func (m *memStore) Tenant(_ context.Context, idOrName string) (openatp.Tenant, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, t := range m.tenants {
		if strings.EqualFold(t.ID, idOrName) || strings.EqualFold(t.Name, idOrName) {
			return t, nil
		}
	}
	return openatp.Tenant{}, openatp.Errorf(openatp.NotFound, "tenant %q not found", idOrName)
}

func (m *memStore) Tenants(context.Context) ([]openatp.Tenant, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.tenants), nil
}

func (m *memStore) DirectoryUser(_ context.Context, tenantID, userName string) (openatp.DirectoryUser, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, u := range m.users[tenantID] {
		if strings.EqualFold(u.UserName, userName) {
			return u, nil
		}
	}
	return openatp.DirectoryUser{}, openatp.Errorf(openatp.NotFound, "user %q not found", userName)
}

func (m *memStore) App(_ context.Context, tenantID, clientID string) (openatp.App, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, a := range m.apps {
		if a.TenantID == tenantID && strings.EqualFold(a.ClientID, clientID) {
			return a, nil
		}
	}
	return openatp.App{}, openatp.Errorf(openatp.NotFound, "app %q not found", clientID)
}

func (m *memStore) SigningKeys(context.Context) ([]openatp.SigningKey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.keyLoads++
	return slices.Clone(m.keys), nil
}

func (m *memStore) AddSigningKey(_ context.Context, k openatp.SigningKey) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if k.Active {
		for i := range m.keys {
			m.keys[i].Active = false
		}
	}
	m.keys = append([]openatp.SigningKey{k}, m.keys...)
	m.version++
	return nil
}

func (m *memStore) DataVersion(context.Context) (uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.version, nil
}

func (m *memStore) Settings(_ context.Context, prefix string) (map[string]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]string{}
	for k, v := range m.settings {
		if strings.HasPrefix(k, prefix) {
			out[k] = v
		}
	}
	return out, nil
}

func (m *memStore) Setting(_ context.Context, name string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.settings[name]
	if !ok {
		return "", openatp.Errorf(openatp.NotFound, "setting %q not found", name)
	}
	return v, nil
}

func (m *memStore) SetSettingIfAbsent(_ context.Context, name, value string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if v, ok := m.settings[name]; ok {
		return v, nil
	}
	if m.settings == nil {
		m.settings = map[string]string{}
	}
	m.settings[name] = value
	m.version++
	return value, nil
}

func (m *memStore) SetSetting(_ context.Context, name, value string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.settings == nil {
		m.settings = map[string]string{}
	}
	m.settings[name] = value
	m.version++
	return nil
}

func (m *memStore) loads() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.keyLoads
}

// Test fixtures: two tenants, an application in each.
const (
	tenantA   = "6f1c7a3e-2b4d-4e8f-9a1b-3c5d7e9f0a1b"
	tenantB   = "0b9a8c7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d"
	clientA   = "9d2f4b6a-8c1e-4d3f-a5b7-c9e1f3a5b7d9"
	objectA   = "1a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d"
	clientB   = "2c4e6a8b-0d1f-4b3c-9e5a-7c9e1a3c5e7a"
	secretA   = "s3cret~A.with-odd+chars/="
	secretB   = "secret-of-b"
	nameA     = "contoso.onmicrosoft.com"
	nameB     = "fabrikam.onmicrosoft.com"
	appNameA  = "MDE reader"
	roleRead  = openatp.PermMachineReadAll
	roleWrite = openatp.PermMachineReadWriteAll
)

func hash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func newMemStore() *memStore {
	return &memStore{
		tenants: []openatp.Tenant{
			{ID: tenantA, Name: nameA, Created: time.Unix(1700000000, 0)},
			{ID: tenantB, Name: nameB, Created: time.Unix(1700000000, 0)},
		},
		apps: []openatp.App{
			{TenantID: tenantA, ClientID: clientA, ObjectID: objectA, Name: appNameA, SecretHash: hash(secretA), Roles: []string{roleRead, roleWrite}},
			{TenantID: tenantB, ClientID: clientB, ObjectID: "3e5a7c9e-1a3c-4e7a-8c1e-3a5c7e9a1c3e", Name: "B app", SecretHash: hash(secretB)},
		},
		users: map[string][]openatp.DirectoryUser{
			tenantB: {{ID: "5c7e9a1c-3e5a-4c7e-9a1c-3e5a7c9e1a3c", UserName: "ann@fabrikam.example"}},
		},
	}
}

// clock is an adjustable time source for Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now().Truncate(time.Second)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newService(tb testing.TB, st Store, opts Options) *Service {
	tb.Helper()
	s, err := New(context.Background(), st, opts)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}
