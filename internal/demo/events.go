package demo

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/openatp/openatp"
)

// streamEvent is the random stream of the observed events: event i is
// drawn from its own PCG, like actions.
const streamEvent = streamAction + 1

// EventSpan is how far before Options.Start generated events go back:
// well inside the default retention, so that a seeded tenant keeps them.
const EventSpan = 7 * 24 * time.Hour

// knownFile is a file of the generated file events. Its hashes are
// derived from its name, so the same file has the same hashes on every
// machine; common files are seen on many machines, rare ones on a few.
type knownFile struct {
	name, folder, signer string
	size                 int64
	weight               int // per thousand events
}

var knownFiles = []knownFile{
	{"chrome.exe", `C:\Program Files\Google\Chrome\Application`, "Google LLC", 2_834_520, 120},
	{"msedge.exe", `C:\Program Files (x86)\Microsoft\Edge\Application`, "Microsoft Corporation", 3_987_392, 120},
	{"Teams.exe", `C:\Users\%u\AppData\Local\Microsoft\Teams\current`, "Microsoft Corporation", 120_861_232, 90},
	{"OneDrive.exe", `C:\Users\%u\AppData\Local\Microsoft\OneDrive`, "Microsoft Corporation", 3_571_560, 90},
	{"WINWORD.EXE", `C:\Program Files\Microsoft Office\root\Office16`, "Microsoft Corporation", 1_611_128, 80},
	{"Q3-report.docx", `C:\Users\%u\Documents`, "", 48_213, 80},
	{"budget_2026.xlsx", `C:\Users\%u\OneDrive - Contoso\Finance`, "", 131_072, 60},
	{"setup.msi", `C:\Users\%u\Downloads`, "Zoom Video Communications, Inc.", 27_504_640, 60},
	{"python.exe", `C:\Users\%u\AppData\Local\Programs\Python\Python312`, "Python Software Foundation", 103_192, 50},
	{"AcroRd32.exe", `C:\Program Files (x86)\Adobe\Acrobat Reader DC\Reader`, "Adobe Inc.", 3_285_312, 50},
	{"notepad++.exe", `C:\Program Files\Notepad++`, "Notepad++", 6_489_600, 40},
	{"git.exe", `C:\Program Files\Git\cmd`, "Johannes Schindelin", 45_320, 40},
	{"invoice_8812.pdf.exe", `C:\Users\%u\Downloads`, "", 734_208, 8},
	{"svchost32.exe", `C:\ProgramData\Microsoft\Crypto\RSA`, "", 201_728, 6},
	{"mimikatz.exe", `C:\Windows\Temp`, "", 1_250_056, 3},
	{"update.ps1", `C:\Users\%u\AppData\Roaming`, "", 4_096, 3},
}

// knownHost is a remote end of the generated network events.
type knownHost struct {
	domain string
	ips    []string
	port   int64
	weight int // per thousand events
}

var knownHosts = []knownHost{
	{"login.microsoftonline.com", []string{"20.190.151.7", "40.126.23.162"}, 443, 180},
	{"outlook.office365.com", []string{"52.98.207.18", "40.99.34.226"}, 443, 160},
	{"teams.microsoft.com", []string{"52.113.194.132"}, 443, 120},
	{"www.google.com", []string{"142.250.185.100", "142.250.74.36"}, 443, 120},
	{"github.com", []string{"140.82.121.4", "140.82.121.3"}, 443, 80},
	{"update.googleapis.com", []string{"142.250.186.67"}, 443, 70},
	{"slack.com", []string{"3.68.124.168"}, 443, 60},
	{"ctldl.windowsupdate.com", []string{"93.184.221.240"}, 80, 60},
	{"pypi.org", []string{"151.101.0.223"}, 443, 50},
	{"dns.google", []string{"8.8.8.8"}, 53, 40},
	{"cdn-updates.azureedge-dl.com", []string{"185.225.74.51"}, 443, 8},
	{"paste.ee", []string{"104.21.43.99"}, 443, 6},
	{"xmr-pool.example-mine.net", []string{"45.9.148.117"}, 3333, 4},
}

var eventUsers = []string{"ana.silva", "bwilson", "chen.li", "dpatel", "emma.jones", "fkowalski", "gmuller", "hnakamura"}

// GenerateEvents emits nFile file events and nNet network events on the
// machines Generate emits for o, spread over EventSpan before o.Start:
// files of a fixed catalogue (real names, folders, signers; the same
// hashes for the same file on every machine), connections to public hosts
// (a few rare ones, shared by a few machines). The same o and counts give
// the same events; every one passes Normalize unchanged.
func GenerateEvents(o Options, nFile, nNet int, file func(openatp.FileEvent) error, conn func(openatp.NetworkEvent) error) error {
	if nFile < 0 || nNet < 0 {
		return fmt.Errorf("demo: negative count of events")
	}
	g, err := newGen(o)
	if err != nil {
		return err
	}
	if g.o.Machines == 0 && nFile+nNet > 0 {
		return fmt.Errorf("demo: events need machines")
	}
	for i := range nFile {
		if err := file(g.fileEvent(i, nFile)); err != nil {
			return err
		}
	}
	for i := range nNet {
		if err := conn(g.networkEvent(i, nNet)); err != nil {
			return err
		}
	}
	return nil
}

// eventRand returns the random source of event i of stream kind (0 file,
// 1 network).
func (g *gen) eventRand(kind, i int) *rand.Rand {
	src := rand.NewPCG(0, 0)
	g.reseed(src, streamEvent, 2*i+kind)
	return rand.New(src)
}

// eventHead returns the machine (id, name), the time and the account of
// event i of n: rare values (low weights) fall on the first machines, so
// that a few machines share them.
func (g *gen) eventHead(r *rand.Rand, i, n int, rare bool) (id, name string, at time.Time, user string) {
	k := r.IntN(g.o.Machines)
	if rare {
		k = r.IntN(min(g.o.Machines, 3))
	}
	m := g.machine(k)
	if m.ComputerDNSName != nil {
		name = *m.ComputerDNSName
	}
	at = g.o.Start.Add(-EventSpan + time.Duration(int64(EventSpan)/int64(max(n, 1))*int64(i))).Add(ticks(r, 0, time.Minute))
	at = at.Round(openatp.TimePrecision)
	if !at.Before(g.o.Start) {
		at = g.o.Start.Add(-openatp.TimePrecision)
	}
	return m.ID, name, at, eventUsers[r.IntN(len(eventUsers))]
}

func pickWeighted[T any](r *rand.Rand, items []T, weight func(T) int) (T, bool) {
	total := 0
	for _, it := range items {
		total += weight(it)
	}
	x := r.IntN(total)
	for _, it := range items {
		if x -= weight(it); x < 0 {
			return it, weight(it) < 10
		}
	}
	return items[len(items)-1], false
}

// fileHashes returns the SHA-1, SHA-256 and MD5 of a catalogue file.
func fileHashes(name string) (string, string, string) {
	in := []byte("openatp demo file " + name)
	s1, s256, m5 := sha1.Sum(in), sha256.Sum256(in), md5.Sum(in)
	return hex.EncodeToString(s1[:]), hex.EncodeToString(s256[:]), hex.EncodeToString(m5[:])
}

var fileActions = []string{"FileCreated", "FileCreated", "FileModified", "FileRenamed", "FileDeleted", "ProcessCreated", "ProcessCreated"}

// fileEvent returns file event i of n.
func (g *gen) fileEvent(i, n int) openatp.FileEvent {
	r := g.eventRand(0, i)
	f, rare := pickWeighted(r, knownFiles, func(f knownFile) int { return f.weight })
	id, name, at, user := g.eventHead(r, i, n, rare)
	sha1, sha256, md5 := fileHashes(f.name)
	folder := strings.ReplaceAll(f.folder, "%u", user)
	e := openatp.FileEvent{Timestamp: at, DeviceId: id, DeviceName: name, ActionType: fileActions[r.IntN(len(fileActions))],
		FileName: f.name, FolderPath: folder + `\` + f.name, SHA1: sha1, SHA256: sha256, MD5: md5,
		FileSize: openatp.Ptr(f.size), Signer: f.signer, InitiatingProcessAccountDomain: DefaultDomains[0],
		InitiatingProcessAccountName: user, InitiatingProcessFileName: "explorer.exe", InitiatingProcessFolderPath: `C:\Windows\explorer.exe`,
		InitiatingProcessId: openatp.Ptr(int64(1000 + r.IntN(30000))), ReportId: int64(i + 1)}
	if strings.Contains(f.folder, `Downloads`) {
		e.InitiatingProcessFileName, e.InitiatingProcessFolderPath = "msedge.exe", `C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe`
		e.FileOriginUrl = "https://" + knownHosts[r.IntN(len(knownHosts))].domain + "/download/" + f.name
	}
	if e.ActionType == "FileRenamed" {
		e.PreviousFileName, e.PreviousFolderPath = f.name+".partial", folder+`\`+f.name+".partial"
	}
	if e.ActionType == "FileDeleted" {
		e.FileSize = nil
	}
	return e
}

var connActions = []string{"ConnectionSuccess", "ConnectionSuccess", "ConnectionSuccess", "ConnectionSuccess", "ConnectionFailed", "ConnectionAttempt"}
var connProcesses = []string{"msedge.exe", "chrome.exe", "Teams.exe", "OneDrive.exe", "svchost.exe", "powershell.exe"}

// networkEvent returns network event i of n.
func (g *gen) networkEvent(i, n int) openatp.NetworkEvent {
	r := g.eventRand(1, i)
	h, rare := pickWeighted(r, knownHosts, func(h knownHost) int { return h.weight })
	id, name, at, user := g.eventHead(r, i, n, rare)
	proc := connProcesses[r.IntN(len(connProcesses))]
	if rare {
		proc = "powershell.exe"
	}
	sha1, sha256, md5 := fileHashes(proc)
	url := h.domain
	if h.port == 443 || h.port == 80 {
		url = map[int64]string{443: "https://", 80: "http://"}[h.port] + h.domain + "/"
	}
	e := openatp.NetworkEvent{Timestamp: at, DeviceId: id, DeviceName: name, ActionType: connActions[r.IntN(len(connActions))],
		RemoteIP: h.ips[r.IntN(len(h.ips))], RemotePort: openatp.Ptr(h.port), RemoteUrl: url,
		LocalIP: fmt.Sprintf("10.%d.%d.%d", 1+r.IntN(20), r.IntN(256), 2+r.IntN(250)), LocalPort: openatp.Ptr(int64(49152 + r.IntN(16000))),
		Protocol: "Tcp", LocalIPType: "Private", RemoteIPType: "Public", InitiatingProcessAccountDomain: DefaultDomains[0],
		InitiatingProcessAccountName: user, InitiatingProcessFileName: proc, InitiatingProcessSHA1: sha1,
		InitiatingProcessSHA256: sha256, InitiatingProcessMD5: md5, InitiatingProcessId: openatp.Ptr(int64(1000 + r.IntN(30000))),
		ReportId: int64(i + 1)}
	if h.port == 53 {
		e.Protocol = "Udp"
	}
	return e
}
