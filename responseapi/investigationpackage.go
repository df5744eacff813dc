package responseapi

import (
	"archive/zip"
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/httpserve"
)

// Investigation packages (issue 23; mde-reference §12.3.1.3): GET
// /api/machineactions/{id}/getPackageUri answers, once the
// CollectInvestigationPackage action has succeeded, a link to openatp
// itself, signed and valid packageLinkLifetime, which
// /api/investigationpackages/{tenant}/{id}/package.zip serves without a token: a zip with
// the documented folder layout, filled with what openatp knows of the
// machine (its names, OS, addresses, logged-on users).

// packageLinkLifetime is how long a package link is valid: the service
// calls its link short-lived without a figure.
const packageLinkLifetime = 30 * time.Minute

// packagePath and packageFile make the path of the package route:
// packagePath + tenant/action/ + packageFile.
const (
	packagePath = "/api/investigationpackages/"
	packageFile = "package.zip"
)

// packageFolders are the folders of an investigation package, as the
// collect-investigation-package page lists them.
var packageFolders = []string{"Autoruns", "Installed programs", "Network connections", "Prefetch files", "Processes",
	"Scheduled tasks", "Security event log", "Services", "Windows Server Message Block (SMB) sessions",
	"System Information", "Temp Directories", "Users and Groups", "WdSupportLogs"}

// packageLink answers the getPackageUri call of action id for p: the
// link, or 404 while the action is not a succeeded collection.
func packageLink(w http.ResponseWriter, r *http.Request, p *openatp.Principal, a *openatp.MachineAction, signer *linkSigner) error {
	if a.Type != openatp.ActionCollectInvestigationPackage || a.Status != openatp.ActionSucceeded {
		return openatp.CodedErrorf(openatp.NotFound, "ResourceNotFound", "Machine action %s has no investigation package (a %s action, %s).", a.ID, a.Type, a.Status)
	}
	expiry := time.Now().Add(packageLinkLifetime).Unix()
	what := p.TenantID + "/" + a.ID
	sig, err := signer.sign(r.Context(), "package/"+what, expiry)
	if err != nil {
		return err
	}
	scheme, host := httpserve.BaseOf(r)
	writeLink(w, r, scheme+host+packagePath+what+"/"+packageFile+"?se="+strconv.FormatInt(expiry, 10)+"&sig="+sig)
	return nil
}

// handlePackage serves GET /api/investigationpackages/{tenant}/{id}/package.zip without a
// token, for a link getPackageUri signed that has not expired (else 403
// AuthenticationFailed): the package zip.
func handlePackage(store openatp.Store, signer *linkSigner) http.Handler {
	return httpserve.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		tenant, id := r.PathValue("tenant"), r.PathValue("id")
		q := r.URL.Query()
		ok, err := signer.check(r.Context(), "package/"+tenant+"/"+id, q.Get("se"), q.Get("sig"))
		if err != nil {
			return err
		}
		if !ok {
			return openatp.CodedErrorf(openatp.Forbidden, "AuthenticationFailed",
				"Server failed to authenticate the request: the link's signature is wrong or it has expired.")
		}
		a, err := store.MachineAction(r.Context(), tenant, id)
		if err != nil {
			return err
		}
		m, err := store.Machine(r.Context(), tenant, a.MachineID)
		if openatp.IsKind(err, openatp.NotFound) {
			m, err = openatp.Machine{ID: a.MachineID, ComputerDNSName: a.ComputerDNSName}, nil // deleted since
		}
		if err != nil {
			return err
		}
		users, err := store.MachineUsers(r.Context(), tenant, a.MachineID)
		if err != nil && !openatp.IsKind(err, openatp.NotFound) {
			return err
		}
		b, err := investigationPackage(&a, &m, users)
		if err != nil {
			return err
		}
		h := w.Header()
		h.Set("Content-Type", "application/zip")
		h.Set("Content-Length", strconv.Itoa(len(b)))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(b)
		return nil
	})
}

// investigationPackage returns the zip of action a on machine m with its
// logged-on users: every documented folder, files where openatp has
// data (System Information, Network connections, Users and Groups,
// Installed programs with its header only), and CollectionSummaryReport.xls
// (tab-separated text). Entries are dated at the action's last update, so
// the same action gives the same bytes.
func investigationPackage(a *openatp.MachineAction, m *openatp.Machine, users []openatp.UserMachine) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	stamp := a.LastUpdateDateTimeUTC
	put := func(name, text string) error {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: stamp})
		if err != nil {
			return err
		}
		_, err = w.Write([]byte(strings.ReplaceAll(text, "\n", "\r\n")))
		return err
	}
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	var sys strings.Builder
	for _, kv := range [][2]string{{"Host Name", str(m.ComputerDNSName)}, {"Machine Id", m.ID}, {"OS Name", str(m.OSPlatform)},
		{"OS Version", str(m.OSVersion)}, {"Last IP Address", str(m.LastIPAddress)}, {"Last External IP Address", str(m.LastExternalIPAddress)},
		{"Collected", stamp.Format(time.RFC3339)}} {
		sys.WriteString(kv[0] + ": " + kv[1] + "\n")
	}
	var net strings.Builder
	net.WriteString("Windows IP Configuration\n")
	for i, ip := range m.IPAddresses {
		net.WriteString("\nAdapter " + strconv.Itoa(i) + ":\n")
		if ip.MACAddress != nil {
			net.WriteString("   Physical Address. . . . . . . . . : " + *ip.MACAddress + "\n")
		}
		net.WriteString("   IP Address. . . . . . . . . . . . : " + ip.IPAddress + "\n")
		if ip.OperationalStatus != nil {
			net.WriteString("   Status. . . . . . . . . . . . . . : " + *ip.OperationalStatus + "\n")
		}
	}
	var us strings.Builder
	us.WriteString("AccountDomain\tAccountName\tAccountSid\tFirstSeen\tLastSeen\tLogonTypes\n")
	for _, u := range users {
		us.WriteString(u.AccountDomain + "\t" + u.AccountName + "\t" + u.AccountSID + "\t" + u.FirstSeen.UTC().Format(time.RFC3339) + "\t" +
			u.LastSeen.UTC().Format(time.RFC3339) + "\t" + strings.Join(u.LogonTypes, ",") + "\n")
	}
	files := map[string][2]string{
		"System Information":  {"SystemInformation.txt", sys.String()},
		"Network connections": {"Ipconfig.txt", net.String()},
		"Users and Groups":    {"LoggedOnUsers.txt", us.String()},
		"Installed programs":  {"InstalledPrograms.csv", "Name,Version,Publisher,InstallDate\n"},
	}
	var summary strings.Builder
	summary.WriteString("Folder\tStatus\n")
	for _, folder := range packageFolders {
		if f, ok := files[folder]; ok {
			if err := put(folder+"/"+f[0], f[1]); err != nil {
				return nil, err
			}
			summary.WriteString(folder + "\tCollected\n")
			continue
		}
		if _, err := zw.CreateHeader(&zip.FileHeader{Name: folder + "/", Modified: stamp}); err != nil {
			return nil, err
		}
		summary.WriteString(folder + "\tNo data\n")
	}
	if err := put("CollectionSummaryReport.xls", summary.String()); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
