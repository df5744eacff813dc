package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/openatp/openatp/internal/demotenant"
)

// The client tests run Microsoft's identity libraries (MSAL and
// azure-identity for Python, @azure/identity and @azure/msal-node, azidentity
// for Go) and the curl recipes, unmodified, against `openatp serve` on a
// real listener, in the two set-ups of docs/clients.md:
//
//   - as Microsoft (TestClientsAsMicrosoft): `serve --as-microsoft` on
//     127.0.0.1:443, the hosts file leading Microsoft's names there and
//     openatp's CA in the system's trust store; the clients on all their
//     defaults, Microsoft's hosts and all;
//   - by its own name (TestClientsOwnName): `serve` on https://localhost,
//     each client given what docs/clients.md says: the authority and API
//     base, instance discovery off, the CA.
//
// Each set-up runs in a network and mount namespace of its own, made by
// re-running this test binary in it: port 443 is free there whoever else
// runs on the machine, and /etc/hosts and the trust store are replaced for
// that namespace only, exactly as the recipe changes them on a machine.
// That needs root (CI) or unprivileged user namespaces.
//
// A client whose library is not installed is skipped, unless
// OPENATP_TEST_CLIENTS=required (test.sh sets it; it installs the Python
// libraries with apt-get and the Node ones with npm).
const (
	clientsRequiredEnv = "OPENATP_TEST_CLIENTS"
	inNamespaceEnv     = "OPENATP_TEST_CLIENTS_NAMESPACE"
)

func TestClientsAsMicrosoft(t *testing.T) { clientsTest(t, "as-microsoft") }

func TestClientsOwnName(t *testing.T) { clientsTest(t, "own-name") }

func clientsRequired() bool { return os.Getenv(clientsRequiredEnv) == "required" }

// skipClient skips, or fails when the clients are required.
func skipClient(t *testing.T, format string, args ...any) {
	t.Helper()
	if clientsRequired() {
		t.Fatalf(format+" ("+clientsRequiredEnv+"=required)", args...)
	}
	t.Skipf(format, args...)
}

func clientsTest(t *testing.T, setup string) {
	if os.Getenv(inNamespaceEnv) == setup {
		runClients(t, setup)
		return
	}
	if testing.Short() {
		t.Skip("starts a namespace and client processes")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.v", "-test.count=1", "-test.timeout=10m")
	cmd.Env = append(os.Environ(), inNamespaceEnv+"="+setup)
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET | syscall.CLONE_NEWNS}
	if os.Geteuid() != 0 {
		// Root of a user namespace of our own may bind 443 and mount there.
		cmd.SysProcAttr.Cloneflags |= syscall.CLONE_NEWUSER
		cmd.SysProcAttr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Geteuid(), Size: 1}}
		cmd.SysProcAttr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}}
	}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		skipClient(t, "cannot start a network namespace (root, or unprivileged user namespaces, needed): %v", err)
	}
	for line := range strings.Lines(string(out)) {
		if strings.Contains(line, "--- SKIP") || strings.Contains(line, "--- FAIL") {
			t.Log(strings.TrimSpace(line))
		}
	}
	if err != nil {
		t.Fatalf("the clients in the namespace failed: %v\n%s", err, out)
	}
	if testing.Verbose() {
		t.Logf("in the namespace:\n%s", out)
	}
}

// runClients runs inside the namespace.
func runClients(t *testing.T, setup string) {
	// Mounts made here must never reach the machine's namespace.
	if err := syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
		t.Fatalf("make mounts private: %v", err)
	}
	if err := loopbackUp(); err != nil {
		t.Fatalf("bring lo up: %v", err)
	}
	data := t.TempDir()
	args := []string{"--addr", "127.0.0.1:80", "--tls-addr", "127.0.0.1:443", "--rate-limit", "off"}
	openatpURL := "https://localhost" // by its own name
	if setup == "as-microsoft" {
		args = []string{"--as-microsoft", "--addr", "127.0.0.1:80", "--rate-limit", "off"} // HTTPS on 127.0.0.1:443
		openatpURL = ""
	}
	c, log := startServeLog(t, data, args...)
	env := clientEnv(t, c, openatpURL)
	if setup == "as-microsoft" {
		installRecipe(t, c.CAFile)
	}

	want := map[string][]string{
		"client_credentials": {"mymachine1.contoso.com", "mymachine2.contoso.com"},
		"password":           {"mymachine1.contoso.com"}, // the demo analyst
	}
	repo, _ := filepath.Abs("../..")
	clients := []struct {
		name  string
		cmd   []string
		flows []string
		needs func(t *testing.T)
	}{
		{"python-msal", []string{pythonWith(t, "msal"), filepath.Join(repo, "clients/python/msal_client.py")}, []string{"client_credentials", "password"}, nil},
		{"python-azure-identity", []string{pythonWith(t, "azure.identity"), filepath.Join(repo, "clients/python/azure_identity_client.py")}, []string{"client_credentials", "password"}, nil},
		{"node-azure-identity", []string{"node", filepath.Join(repo, "clients/node/identity.mjs")}, []string{"client_credentials"}, nodeModules(repo, "@azure/identity")},
		{"node-msal-node", []string{"node", filepath.Join(repo, "clients/node/msal.mjs")}, []string{"client_credentials"}, nodeModules(repo, "@azure/msal-node")},
		{"curl-v1", []string{"sh", filepath.Join(repo, "clients/curl/v1.sh")}, nil, needsCommand("curl")},
		{"curl-v2", []string{"sh", filepath.Join(repo, "clients/curl/v2.sh")}, nil, needsCommand("curl")},
	}
	if setup == "as-microsoft" {
		clients = append(clients, struct {
			name  string
			cmd   []string
			flows []string
			needs func(t *testing.T)
		}{"python-hardcoded-hosts", []string{pythonWith(t, ""), filepath.Join(repo, "clients/python/hardcoded_client.py")}, []string{"client_credentials"}, nil})
	}
	for _, cl := range clients {
		t.Run(cl.name, func(t *testing.T) {
			if cl.cmd[0] == "" {
				skipClient(t, "no python3 with the library installed (Debian: apt-get install python3-msal python3-azure)")
			}
			if cl.needs != nil {
				cl.needs(t)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, cl.cmd[0], cl.cmd[1:]...)
			cmd.Env = env
			cmd.Dir = t.TempDir()
			var stderr strings.Builder
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("%v: %v\n%s%s", cl.cmd, err, out, stderr.String())
			}
			if cl.flows == nil { // curl prints the API's answer
				var a machinesAnswer
				if err := json.Unmarshal(out, &a); err != nil {
					t.Fatalf("%s: %v", out, err)
				}
				checkMachines(t, "client_credentials", a, want["client_credentials"])
				return
			}
			var got []string
			for line := range strings.Lines(string(out)) {
				var r struct {
					Flow     string   `json:"flow"`
					Machines []string `json:"machines"`
				}
				if err := json.Unmarshal([]byte(line), &r); err != nil {
					t.Fatalf("output line %q: %v", line, err)
				}
				got = append(got, r.Flow)
				if !slices.Equal(r.Machines, want[r.Flow]) {
					t.Errorf("%s: machines %v, want %v", r.Flow, r.Machines, want[r.Flow])
				}
			}
			if !slices.Equal(got, cl.flows) {
				t.Errorf("flows %v, want %v\n%s", got, cl.flows, stderr.String())
			}
		})
	}
	t.Run("go-azidentity", func(t *testing.T) { goClient(t, c, openatpURL) })
	t.Run("curl-http2", func(t *testing.T) {
		needsCommand("curl")(t)
		base := "https://api.security.microsoft.com"
		if openatpURL != "" {
			base = openatpURL
		}
		cmd := exec.Command("curl", "-sS", "--http2", "-o", "/dev/null", "-w", "%{http_version} %{http_code}", base+"/healthz")
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil || string(out) != "2 200" {
			t.Errorf("curl --http2: %q %v, want HTTP/2 200", out, err)
		}
	})
	if setup == "as-microsoft" {
		// Every request reached openatp under Microsoft's names, and the
		// libraries asked for instance discovery first.
		for _, part := range []string{"path=/common/discovery/instance", "path=/" + c.Tenant + "/v2.0/.well-known/openid-configuration"} {
			if !strings.Contains(log.String(), part) {
				t.Errorf("no request with %s in the log", part)
			}
		}
	}
}

// checkMachines compares the machine names of an answer.
func checkMachines(t *testing.T, flow string, a machinesAnswer, want []string) {
	t.Helper()
	var got []string
	for _, m := range a.Value {
		got = append(got, m.ComputerDNSName)
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s: machines %v, want %v", flow, got, want)
	}
}

// clientEnv is the environment of the client processes: the demo's
// credentials and, by its own name, openatp's URL and CA as docs/clients.md
// tells each client. Nothing else of the test's environment leaks in.
func clientEnv(t *testing.T, c demotenant.Credentials, openatpURL string) []string {
	t.Helper()
	var analyst demotenant.User
	for _, u := range c.Users {
		if strings.HasPrefix(u.Username, "analyst@") {
			analyst = u
		}
	}
	env := []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "LANG=C.UTF-8",
		"OPENATP_TENANT=" + c.Tenant, "OPENATP_CLIENT_ID=" + c.ClientID, "OPENATP_CLIENT_SECRET=" + c.ClientSecret,
		"OPENATP_USERNAME=" + analyst.Username, "OPENATP_PASSWORD=" + analyst.Password,
		// Node.js trusts its own CA list, not the system's (docs/clients.md).
		"NODE_EXTRA_CA_CERTS=" + c.CAFile,
	}
	if openatpURL != "" {
		env = append(env, "OPENATP_URL="+openatpURL, "REQUESTS_CA_BUNDLE="+c.CAFile, "CURL_CA_BUNDLE="+c.CAFile)
	}
	return env
}

// installRecipe does in this namespace what docs/clients.md has a machine
// do: Microsoft's names in /etc/hosts, openatp's CA in the system's trust
// store (Debian's bundle, which curl, Go, OpenSSL and Debian's Python read).
func installRecipe(t *testing.T, caFile string) {
	t.Helper()
	dir := t.TempDir()
	hosts := "127.0.0.1 localhost\n::1 localhost\n127.0.0.1 " + strings.Join(MicrosoftHosts, " ") + "\n"
	bind(t, filepath.Join(dir, "hosts"), []byte(hosts), "/etc/hosts")
	system, err := os.ReadFile("/etc/ssl/certs/ca-certificates.crt")
	if err != nil {
		t.Fatalf("the system's trust store: %v (the recipe is written for Debian's)", err)
	}
	ca, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	bind(t, filepath.Join(dir, "ca-certificates.crt"), append(append(system, '\n'), ca...), "/etc/ssl/certs/ca-certificates.crt")
}

// bind writes content to file and mounts it over target, in this
// namespace only.
func bind(t *testing.T, file string, content []byte, target string) {
	t.Helper()
	if err := os.WriteFile(file, content, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount(file, target, "", syscall.MS_BIND, ""); err != nil {
		t.Fatalf("bind %s over %s: %v", file, target, err)
	}
}

// loopbackUp brings up lo, which a new network namespace has down.
func loopbackUp() error {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM, 0)
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	var ifr struct {
		name  [syscall.IFNAMSIZ]byte
		flags uint16
		_     [22]byte
	}
	copy(ifr.name[:], "lo")
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.SIOCGIFFLAGS, uintptr(unsafe.Pointer(&ifr))); e != 0 {
		return e
	}
	ifr.flags |= syscall.IFF_UP
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.SIOCSIFFLAGS, uintptr(unsafe.Pointer(&ifr))); e != 0 {
		return e
	}
	return nil
}

// pythonWith returns a python3 that imports module ("" for any python3):
// Debian's first, where apt-get installs the libraries.
func pythonWith(t *testing.T, module string) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/python3", "python3"} {
		path, err := exec.LookPath(p)
		if err != nil {
			continue
		}
		if module == "" || exec.Command(path, "-c", "import "+module).Run() == nil {
			return path
		}
	}
	return ""
}

func nodeModules(repo, pkg string) func(t *testing.T) {
	return func(t *testing.T) {
		needsCommand("node")(t)
		if _, err := os.Stat(filepath.Join(repo, "clients/node/node_modules", pkg, "package.json")); err != nil {
			skipClient(t, "%s is not installed (npm ci --prefix clients/node)", pkg)
		}
	}
}

func needsCommand(name string) func(t *testing.T) {
	return func(t *testing.T) {
		if _, err := exec.LookPath(name); err != nil {
			skipClient(t, "%s is not installed", name)
		}
	}
}

// goClient is Microsoft's Go library, in this process: on all its defaults
// as Microsoft, or given openatp's authority, CA and no instance discovery.
func goClient(t *testing.T, c demotenant.Credentials, openatpURL string) {
	api := "https://api.security.microsoft.com"
	client := http.DefaultClient // the system's trust store: the recipe's
	var opts azcore.ClientOptions
	disable := false
	if openatpURL != "" {
		api = openatpURL
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			t.Fatal(err)
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pem)
		client = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
		opts = azcore.ClientOptions{Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: openatpURL + "/"}, Transport: client}
		disable = true
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	scope := policy.TokenRequestOptions{Scopes: []string{"https://api.securitycenter.microsoft.com/.default"}}
	read := func(flow string, cred azcore.TokenCredential) {
		tok, err := cred.GetToken(ctx, scope)
		if err != nil {
			t.Fatalf("%s: %v", flow, err)
		}
		status, a, body := getMachines(t, client, api+"/api/users/user1/machines", tok.Token)
		if status != 200 {
			t.Fatalf("%s: status %d: %s", flow, status, body)
		}
		want := []string{"mymachine1.contoso.com", "mymachine2.contoso.com"}
		if flow == "password" {
			want = want[:1]
		}
		checkMachines(t, flow, a, want)
	}
	cred, err := azidentity.NewClientSecretCredential(c.Tenant, c.ClientID, c.ClientSecret,
		&azidentity.ClientSecretCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: disable})
	if err != nil {
		t.Fatal(err)
	}
	read("client_credentials", cred)
	var analyst demotenant.User
	for _, u := range c.Users {
		if strings.HasPrefix(u.Username, "analyst@") {
			analyst = u
		}
	}
	// The password grant is what the service documents for user context.
	//lint:ignore SA1019 deprecated by Microsoft for MFA, still served
	uopts := &azidentity.UsernamePasswordCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: disable}
	ucred, err := azidentity.NewUsernamePasswordCredential(c.Tenant, c.ClientID, analyst.Username, analyst.Password, uopts)
	if err != nil {
		t.Fatal(err)
	}
	read("password", ucred)
}
