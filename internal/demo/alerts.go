package demo

import (
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/openatp/openatp"
)

// streamAlert is the random stream of the alerts: alert i is drawn from
// its own PCG, like machines and users.
const streamAlert = streamSetup + 1

// detection is the template of an alert: what a detector reports.
type detection struct {
	title, description, category, source, detector string
	family, threat                                 string // threatFamilyName, threatName; "" null
	severity                                       []weighted
	mitre                                          []string
	evidence                                       []string // entity types: File, Process, User, Ip, Url, Registry
}

// detections are the detectors of generated alerts, worded after the
// service's own.
var detections = []detection{
	{"Suspicious PowerShell command line", "A suspicious PowerShell activity was observed on the machine. This behavior may indicate that PowerShell was used during installation, exploration, or in some cases in lateral movement activities which are used by attackers to invoke modules, download external payloads, or get more information about the system.",
		"Execution", "WindowsDefenderAtp", "7f1c3609-a3ff-40e2-995b-c01770161d68", "", "",
		[]weighted{{"Medium", 700}, {"High", 300}}, []string{"T1059.001", "T1086"}, []string{"Process", "User"}},
	{"'EICAR_Test_File' malware was detected", "Malware and unwanted software are undesirable applications that perform annoying, disruptive, or harmful actions on affected machines.",
		"Malware", "WindowsDefenderAv", "3d5f6a7e-8a2d-4a1b-9d2b-0b3b1e2c4f11", "EICAR_Test_File", "Virus:DOS/EICAR_Test_File",
		[]weighted{{"Informational", 600}, {"Low", 400}}, []string{}, []string{"File"}},
	{"Low-reputation arbitrary code executed by signed executable", "Binaries signed by Microsoft can be used to run low-reputation arbitrary code. This technique hides the execution of malicious code within a trusted process.",
		"Execution", "WindowsDefenderAtp", "17e10bbc-3a68-474a-8aad-faef14d43952", "", "",
		[]weighted{{"Low", 800}, {"Medium", 200}}, []string{"T1064", "T1085", "T1220"}, []string{"Process", "File", "User"}},
	{"Suspicious connection to a known command-and-control server", "The machine connected to an address that is associated with a command-and-control (C&C) server of known malware.",
		"CommandAndControl", "WindowsDefenderAtp", "b5c5f7a1-6c1d-4b77-9f0e-8d3a1c2e5f90", "", "",
		[]weighted{{"High", 700}, {"Medium", 300}}, []string{"T1071", "T1095"}, []string{"Process", "Ip", "Url"}},
	{"Credential dumping activity observed", "A process accessed the memory of the Local Security Authority Subsystem Service (LSASS), possibly to read credentials.",
		"CredentialAccess", "WindowsDefenderAtp", "5a9e6c2d-3b7f-4d1e-8a0c-2f4b6d8e1a35", "", "",
		[]weighted{{"High", 1000}}, []string{"T1003.001"}, []string{"Process", "User"}},
	{"Suspicious scheduled task", "A scheduled task was created or modified in a way attackers use to keep their foothold on a machine.",
		"Persistence", "WindowsDefenderAtp", "c2d8a4f6-1e3b-4c5d-9a7f-6b0e2d4c8a19", "", "",
		[]weighted{{"Medium", 800}, {"Low", 200}}, []string{"T1053.005"}, []string{"Process", "Registry"}},
	{"Possible lateral movement using remote service creation", "A service was created remotely on this machine, a technique attackers use to move between machines.",
		"LateralMovement", "WindowsDefenderAtp", "9e4b2c7a-5d1f-4e8b-a3c6-0d7f9b1e2a48", "", "",
		[]weighted{{"Medium", 600}, {"High", 400}}, []string{"T1021.002", "T1569.002"}, []string{"Process", "User", "Ip"}},
	{"Ransomware behavior detected in the file system", "Files were renamed and encrypted in a pattern typical of ransomware.",
		"Ransomware", "WindowsDefenderAv", "e1f3a5c7-9b2d-4f6e-8c0a-3d5b7e9f1a26", "Ryuk", "Ransom:Win32/Ryuk.A",
		[]weighted{{"High", 1000}}, []string{"T1486"}, []string{"File", "Process"}},
	{"Unwanted software was detected", "Potentially unwanted applications can affect the performance and security of machines.",
		"UnwantedSoftware", "WindowsDefenderAv", "4b6d8f0a-2c4e-4a6b-9d8f-1e3a5c7b9d02", "InstallCore", "PUA:Win32/InstallCore",
		[]weighted{{"Informational", 700}, {"Low", 300}}, []string{}, []string{"File"}},
	{"Automated investigation started manually", "An analyst initiated an automated investigation on the machine. The investigation automatically identifies and reviews threat artifacts for possible remediation.",
		"SuspiciousActivity", "AutomatedInvestigation", "5c6b7d86-c91f-4f8c-8aec-9d2086f46527", "", "",
		[]weighted{{"Informational", 1000}}, []string{}, []string{"Ip"}},
	{"Suspicious sign-in from an unusual location", "A user signed in from a location and device that were not seen for this user before.",
		"InitialAccess", "CustomerTI", "a7c9e1b3-5d7f-4a9c-8e0b-2d4f6a8c0e57", "", "",
		[]weighted{{"UnSpecified", 150}, {"Low", 400}, {"Medium", 450}}, []string{"T1078"}, []string{"User", "Ip"}},
	{"Exfiltration of files to a cloud storage site", "A process uploaded a large amount of data to a cloud storage site that the organization does not use.",
		"Exfiltration", "WindowsDefenderAtp", "d3e5f7a9-1b3d-4e5f-a7b9-c1d3e5f7a9b1", "", "",
		[]weighted{{"Medium", 500}, {"High", 500}}, []string{"T1567.002"}, []string{"Process", "Url", "File"}},
}

var (
	statusDist = []weighted{{"New", 300}, {"InProgress", 150}, {"Resolved", 530}, {"Unknown", 20}}
	stateDist  = []weighted{{"Queued", 120}, {"Running", 80}, {"PendingApproval", 40}, {"SuccessfullyRemediated", 220}, {"Benign", 180},
		{"PartiallyRemediated", 40}, {"TerminatedBySystem", 30}, {"Failed", 20}, {"UnsupportedAlertType", 120}, {"", 150}}
	// verdicts are the classification and determination of resolved alerts,
	// of both eras.
	verdicts = []struct {
		classification, determination string
		weight                        int
	}{
		{"TruePositive", "Malware", 200}, {"TruePositive", "MultiStagedAttack", 60}, {"TruePositive", "CompromisedUser", 40},
		{"TruePositive", "UnwantedSoftware", 80}, {"InformationalExpectedActivity", "SecurityTesting", 150},
		{"InformationalExpectedActivity", "LineOfBusinessApplication", 120}, {"FalsePositive", "Clean", 150},
		{"FalsePositive", "InsufficientData", 60}, {"TruePositive", "Apt", 20}, {"FalsePositive", "NotAvailable", 20}, {"", "", 100},
	}
	analysts = []string{"secop1@contoso.com", "secop2@contoso.com", "soc-tier1@contoso.com", "soc-tier2@contoso.com", "API Action", "Automation"}
	comments = []string{"Investigating.", "Confirmed with the user: expected activity.", "Escalated to tier 2.", "Machine isolated pending review.",
		"Resolved by automated investigation.", "Test file from the red team exercise."}
)

// alert returns generated alert i: the detection, on the own machine of
// a user drawn from the users (who is its related and logged-on user),
// created at a time spread over the 30 days before Start in the order of
// i, and last updated between then and Start.
func (g *gen) alert(i int) openatp.Alert {
	g.reseed(g.mpcg, streamAlert, i)
	r := g.mr
	u := r.IntN(g.o.Users)
	span := 30 * day
	created := g.o.Start.Add(-span + time.Duration(int64(span)/int64(max(g.o.Alerts, 1))*int64(i))).Add(ticks(r, 0, time.Minute))
	mi := int((uint64(u)*uint64(g.ownStride) + uint64(g.ownOffset)) % uint64(g.o.Machines))
	kind, _, _ := g.plan(u)
	name, d, sid := g.identity(u, kind, g.ur)
	a := newAlert(r, g.machineID(mi), name, d.name, sid, created, g.o.AADTenant)
	updated := created.Add(ticks(r, time.Minute, 3*day))
	if updated.After(g.o.Start) {
		updated = g.o.Start.Add(-time.Duration(g.o.Alerts-i) * openatp.TimePrecision)
	}
	settle(a, r, pick(r, statusDist), updated)
	return *a
}

// seedTenant is the Azure AD tenant id of the alerts of seed when
// Options.AADTenant is empty.
func seedTenant(seed uint64) string {
	r := rand.New(rand.NewPCG(mix(seed^streamAlert), mix(streamSetup)))
	return guid(r)
}

// newAlert draws a new alert of machine machineID whose related user is
// domain\name, created at created: status New.
func newAlert(r *rand.Rand, machineID, name, domain, sid string, created time.Time, aadTenant string) *openatp.Alert {
	det := &detections[r.IntN(len(detections))]
	ticksNow := created.UnixNano()/100 + 621355968000000000
	first := created.Add(-ticks(r, time.Second, 10*time.Minute))
	last := first.Add(ticks(r, 0, time.Minute))
	if last.After(created) {
		last = created
	}
	dom := strings.ToUpper(domain)
	a := &openatp.Alert{
		ID:              "da" + strconv.FormatInt(ticksNow, 10) + "_" + strconv.FormatUint(uint64(r.Uint32N(1<<31)), 10),
		Severity:        pick(r, det.severity),
		Status:          "New",
		DetectionSource: openatp.Ptr(det.source), DetectorID: openatp.Ptr(det.detector), Category: openatp.Ptr(det.category),
		ThreatFamilyName: optional(det.family), ThreatName: optional(det.threat),
		Title: openatp.Ptr(det.title), Description: openatp.Ptr(det.description),
		AlertCreationTime: openatp.Ptr(created), FirstEventTime: openatp.Ptr(first), LastEventTime: openatp.Ptr(last),
		MachineID:       machineID,
		AADTenantID:     openatp.Ptr(aadTenant),
		MitreTechniques: append([]string{}, det.mitre...),
		RelatedUser:     &openatp.AlertAccount{Name: name, Domain: openatp.Ptr(dom)},
		LoggedOnUsers:   []openatp.AlertAccount{{Name: name, Domain: openatp.Ptr(dom)}},
		Comments:        []openatp.AlertComment{},
	}
	if s := pick(r, stateDist); s != "" {
		a.InvestigationState = &s
		a.InvestigationID = openatp.Ptr(int64(1 + r.IntN(50000)))
	}
	a.IncidentID = openatp.Ptr(int64(1000 + r.IntN(1_000_000)))
	at := created.Add(-ticks(r, 0, time.Second))
	for _, kind := range det.evidence {
		a.Evidence = append(a.Evidence, evidence(r, kind, name, dom, sid, at))
	}
	return a
}

// settle moves a new alert to status, as analysts would have by updated:
// assigned once in progress; classified, commented and resolved once
// resolved.
func settle(a *openatp.Alert, r *rand.Rand, status string, updated time.Time) {
	a.Status = status
	a.LastUpdateTime = &updated
	if status == "New" || status == "Unknown" {
		return
	}
	a.AssignedTo = openatp.Ptr(analysts[r.IntN(len(analysts))])
	if status != "Resolved" {
		return
	}
	resolved := updated.Add(-ticks(r, 0, time.Second))
	a.ResolvedTime = &resolved
	total := 0
	for _, v := range verdicts {
		total += v.weight
	}
	x := r.IntN(total)
	for _, v := range verdicts {
		if x < v.weight {
			a.Classification, a.Determination = optional(v.classification), optional(v.determination)
			break
		}
		x -= v.weight
	}
	if r.IntN(3) == 0 {
		a.Comments = append(a.Comments, openatp.AlertComment{Comment: comments[r.IntN(len(comments))], CreatedBy: a.AssignedTo, CreatedTime: &resolved})
	}
}

// evidence draws an evidence item of kind.
func evidence(r *rand.Rand, kind, name, domain, sid string, at time.Time) openatp.Evidence {
	e := openatp.Evidence{EntityType: openatp.Ptr(kind), EvidenceCreationTime: openatp.Ptr(at)}
	hexOf := func(n int) *string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return openatp.Ptr(hex.EncodeToString(b))
	}
	switch kind {
	case "File":
		files := []string{"invoice.docm", "setup.exe", "eicar.com", "payload.dll", "update.ps1", "report.xlsm"}
		e.SHA1, e.SHA256 = hexOf(20), hexOf(32)
		e.FileName = openatp.Ptr(files[r.IntN(len(files))])
		e.FilePath = openatp.Ptr(`C:\Users\` + name + `\Downloads`)
		e.DetectionStatus = openatp.Ptr("Detected")
	case "Process":
		procs := []struct{ file, path, cmd string }{
			{"powershell.exe", `C:\Windows\System32\WindowsPowerShell\v1.0`, `powershell.exe -NoProfile -ExecutionPolicy Bypass -EncodedCommand SQBFAFgA`},
			{"rundll32.exe", `C:\Windows\SysWOW64`, `rundll32.exe  c:\temp\suspicious.dll,RepeatAfterMe`},
			{"cmd.exe", `C:\Windows\System32`, `cmd.exe /c schtasks /create /tn Updater /tr c:\temp\update.exe /sc minute`},
			{"procdump64.exe", `C:\Tools`, `procdump64.exe -ma lsass.exe lsass.dmp`},
		}
		p := procs[r.IntN(len(procs))]
		e.SHA1, e.SHA256 = hexOf(20), hexOf(32)
		e.FileName, e.FilePath, e.ProcessCommandLine = openatp.Ptr(p.file), openatp.Ptr(p.path), openatp.Ptr(p.cmd)
		e.ProcessID = openatp.Ptr(int64(1000 + r.IntN(20000)))
		e.ProcessCreationTime = openatp.Ptr(at.Add(-ticks(r, time.Second, time.Minute)))
		e.ParentProcessID = openatp.Ptr(int64(500 + r.IntN(10000)))
		e.ParentProcessCreationTime = openatp.Ptr(e.ProcessCreationTime.Add(-ticks(r, time.Second, time.Hour)))
		e.ParentProcessFileName, e.ParentProcessFilePath = openatp.Ptr("explorer.exe"), openatp.Ptr(`C:\Windows`)
		e.DetectionStatus = openatp.Ptr("Detected")
	case "User":
		e.AccountName, e.DomainName, e.UserSID = openatp.Ptr(name), openatp.Ptr(domain), openatp.Ptr(sid)
		e.UserPrincipalName = openatp.Ptr(strings.ToLower(name) + "@" + strings.ToLower(domain) + ".com")
	case "Ip":
		e.IPAddress = openatp.Ptr(fmt.Sprintf("%d.%d.%d.%d", homeOctets[r.IntN(len(homeOctets))], r.IntN(256), r.IntN(256), 1+r.IntN(254)))
	case "Url":
		hosts := []string{"files.example-share.net", "cdn.update-check.org", "paste.example.io"}
		e.URL = openatp.Ptr("https://" + hosts[r.IntN(len(hosts))] + "/" + *hexOf(4))
	case "Registry":
		e.RegistryKey = openatp.Ptr(`SOFTWARE\Microsoft\Windows\CurrentVersion\Run`)
		e.RegistryHive, e.RegistryValueType = openatp.Ptr("HKEY_LOCAL_MACHINE"), openatp.Ptr("String")
		e.RegistryValueName, e.RegistryValue = openatp.Ptr("Updater"), openatp.Ptr(`c:\temp\update.exe`)
	}
	return e
}

// LiveAlert returns alert i of a live stream of seed: a new alert (status
// New) of machine machineID of tenant tenantID (its aadTenantId), related
// to user domain\name (to no user when name is empty), created at now.
// The store stamps its lastUpdateTime when it is written.
func LiveAlert(seed int64, i int, tenantID, machineID, name, domain string, now time.Time) openatp.Alert {
	r := rand.New(rand.NewPCG(mix(uint64(seed)^mix(streamAlert)), mix(uint64(i)+1<<40)))
	a := newAlert(r, machineID, name, domain, "", now.UTC().Round(openatp.TimePrecision), tenantID)
	a.LastUpdateTime = nil
	if name == "" { // a machine nobody logged on to
		a.RelatedUser, a.LoggedOnUsers = nil, []openatp.AlertAccount{}
		a.Evidence = slices.DeleteFunc(a.Evidence, func(e openatp.Evidence) bool { return *e.EntityType == "User" })
	}
	return *a
}

// Advance moves an alert of a live stream one step along its life, as an
// analyst would, at stamp: New (or Unknown) to InProgress, assigned;
// InProgress to Resolved, classified, perhaps commented. It reports false
// for a resolved alert, which it leaves alone.
func Advance(a *openatp.Alert, r *rand.Rand, stamp time.Time) bool {
	switch a.Status {
	case "Resolved":
		return false
	case "InProgress":
		settle(a, r, "Resolved", stamp)
	default:
		settle(a, r, "InProgress", stamp)
	}
	a.LastUpdateTime = nil // the store's stamp
	return true
}

// DocAlert returns the documentation's example alert (mde-reference
// §11.3, da637472900382838869_1364969609) with the evidence the example
// abridges (a User and a File besides its Process), and the machine it is
// on, temp123.middleeast.corp.microsoft.com, with plausible properties.
func DocAlert() (openatp.Machine, openatp.Alert) {
	tm := func(s string) *time.Time {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			panic(err)
		}
		return &t
	}
	p := openatp.Ptr[string]
	m := openatp.Machine{
		ID: "111e6dd8c833c8a052ea231ec1b19adaf497b625", ComputerDNSName: p("temp123.middleeast.corp.microsoft.com"),
		FirstSeen: tm("2020-11-09T08:22:41.6730132Z"), LastSeen: tm("2021-01-26T20:34:11.3391823Z"),
		OSPlatform: p("Windows10"), OSVersion: p("10.0.19042.746"), OSProcessor: p("x64"), Version: p("20H2"),
		LastIPAddress: p("10.0.0.27"), LastExternalIPAddress: p("167.220.196.71"), AgentVersion: p("10.7740.19041.746"),
		OSBuild: openatp.Ptr(int64(19042)), HealthStatus: p("Active"), OnboardingStatus: p("Onboarded"), RiskScore: p("Medium"),
		ExposureLevel: p("Medium"), IsAADJoined: openatp.Ptr(true), AADDeviceID: p("a9b1c3d5-e7f9-4a1b-8c3d-5e7f9a1b3c5d"),
		MachineTags: []string{}, DeviceValue: p("Normal"), OSArchitecture: p("64-bit"),
		IPAddresses: []openatp.IPAddress{{IPAddress: "10.0.0.27", MACAddress: p("00155D2A3B4C"), Type: p("Ethernet"), OperationalStatus: p("Up")}},
	}
	a := openatp.Alert{
		ID: "da637472900382838869_1364969609", IncidentID: openatp.Ptr(int64(1126093)), Severity: "Low", Status: "New",
		InvestigationState: p("Queued"), DetectionSource: p("WindowsDefenderAtp"), DetectorID: p("17e10bbc-3a68-474a-8aad-faef14d43952"),
		Category: p("Execution"), Title: p("Low-reputation arbitrary code executed by signed executable"),
		Description:       p("Binaries signed by Microsoft can be used to run low-reputation arbitrary code. This technique hides the execution of malicious code within a trusted process. As a result, the trusted process might exhibit suspicious behaviors, such as opening a listening port or connecting to a command-and-control (C&C) server."),
		AlertCreationTime: tm("2021-01-26T20:33:57.7220239Z"), FirstEventTime: tm("2021-01-26T20:31:32.9562661Z"),
		LastEventTime: tm("2021-01-26T20:31:33.0577322Z"), LastUpdateTime: tm("2021-01-26T20:33:59.2Z"),
		MachineID: m.ID, AADTenantID: p("a839b112-1253-6432-9bf6-94542403f21c"),
		MitreTechniques: []string{"T1064", "T1085", "T1220"},
		RelatedUser:     &openatp.AlertAccount{Name: "temp123", Domain: p("DOMAIN")},
		LoggedOnUsers:   []openatp.AlertAccount{},
		Comments:        []openatp.AlertComment{{Comment: "test comment for docs", CreatedBy: p("secop123@contoso.com"), CreatedTime: tm("2021-01-26T01:00:37.8404534Z")}},
		Evidence: []openatp.Evidence{
			{EntityType: p("User"), EvidenceCreationTime: tm("2021-01-26T20:33:58.42Z"), AccountName: p("name"), DomainName: p("DOMAIN"),
				UserSID: p("S-1-5-21-11111607-1111760036-109187956-75141"), AADUserID: p("11118379-2a59-1111-ac3c-a51eb4a3c627"),
				UserPrincipalName: p("temp123@microsoft.com")},
			{EntityType: p("Process"), EvidenceCreationTime: tm("2021-01-26T20:33:58.6133333Z"),
				SHA1: p("ff836cfb1af40252bd2a2ea843032e99a5b262ed"), SHA256: p("a4752c71d81afd3d5865d24ddb11a6b0c615062fcc448d24050c2172d2cbccd6"),
				FileName: p("rundll32.exe"), FilePath: p(`C:\Windows\SysWOW64`), ProcessID: openatp.Ptr(int64(3276)),
				ProcessCommandLine: p(`rundll32.exe  c:\temp\suspicious.dll,RepeatAfterMe`), ProcessCreationTime: tm("2021-01-26T20:31:32.9581596Z"),
				ParentProcessID: openatp.Ptr(int64(8420)), ParentProcessCreationTime: tm("2021-01-26T20:31:32.9004163Z"),
				ParentProcessFileName: p("rundll32.exe"), ParentProcessFilePath: p(`C:\Windows\System32`), DetectionStatus: p("Detected")},
			{EntityType: p("File"), EvidenceCreationTime: tm("2021-01-26T20:33:58.42Z"),
				SHA1: p("8563f95b2f8a284fc99da44500cd51a77c1ff36c"), SHA256: p("dc0ade0c95d6db98882bc8fa6707e64353cd6f7767ff48d6a81a6c2aef21c608"),
				FileName: p("suspicious.dll"), FilePath: p(`c:\temp`), DetectionStatus: p("Detected")},
		},
	}
	return m, a
}
