package demo

import (
	"errors"
	"fmt"
	"iter"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/vuln"
)

// Vulnerability management's demo data: a catalog of real vendors and
// products of a Windows, Linux and macOS fleet, with version series,
// CVE-shaped vulnerabilities over their older versions (a few with public
// exploits), cumulative security updates for the Windows builds, and the
// software installed on each generated machine (its OS, then applications
// of its platform, mostly at the newest version, some behind), so that
// the demo's machines have software and vulnerabilities at once.

// streamSoftware is the random stream of the software data.
const streamSoftware = streamIndicator + 1

// The platforms a product runs on.
const (
	onWindows = 1 << iota
	onLinux
	onMac
	onAll = onWindows | onLinux | onMac
)

// product is a product of the catalog with its version series: format
// (one %d) from start, by step, count versions, oldest first.
type product struct {
	vendor, name string
	on           int
	format       string
	start, step  int
}

// versions returns the product's version series.
func (p *product) versions() []string {
	out := make([]string, seriesLength)
	for i := range out {
		out[i] = fmt.Sprintf(p.format, p.start+i*p.step)
	}
	return out
}

// seriesLength is the number of versions of each product.
const seriesLength = 10

// osProducts are the operating systems, by the machine's osPlatform; the
// Windows ones have a series per build (the build is in the format).
var osProducts = map[string]product{
	"Windows10":         {"microsoft", "windows_10", onWindows, "10.0.19045.%d", 4780, 111},
	"Windows11":         {"microsoft", "windows_11", onWindows, "10.0.22631.%d", 3880, 117},
	"WindowsServer2016": {"microsoft", "windows_server_2016", onWindows, "10.0.14393.%d", 6980, 93},
	"WindowsServer2019": {"microsoft", "windows_server_2019", onWindows, "10.0.17763.%d", 5830, 103},
	"WindowsServer2022": {"microsoft", "windows_server_2022", onWindows, "10.0.20348.%d", 2460, 109},
	"Linux":             {"linux", "linux_kernel", onLinux, "6.8.0-%d", 31, 4},
	"macOS":             {"apple", "macos", onMac, "14.%d", 0, 1},
}

// apps are the applications, by how often they are installed (first most).
var apps = []product{
	{"google", "chrome", onAll, "%d.0.6778.86", 122, 1},
	{"mozilla", "firefox", onAll, "%d.0", 124, 1},
	{"microsoft", "edge_chromium", onWindows | onMac, "%d.0.2903.70", 122, 1},
	{"openbsd", "openssh", onLinux | onMac, "9.%d", 0, 1},
	{"openssl", "openssl", onLinux | onMac, "3.0.%d", 6, 1},
	{"microsoft", "office", onWindows | onMac, "16.0.17%d.20178", 128, 11},
	{"microsoft", "teams", onWindows | onMac, "24%d.3001.2971.1986", 100, 9},
	{"microsoft", "onedrive", onWindows | onMac, "24.%d.0519.0003", 101, 11},
	{"zoom", "zoom", onAll, "6.%d.0.36878", 0, 1},
	{"slack", "slack", onAll, "4.%d.1", 33, 1},
	{"microsoft", "visual_studio_code", onAll, "1.%d.2", 86, 1},
	{"microsoft", ".net", onAll, "8.0.%d", 1, 1},
	{"microsoft", "powershell", onAll, "7.4.%d", 0, 1},
	{"gnu", "bash", onLinux | onMac, "5.%d", 0, 1},
	{"haxx", "curl", onLinux | onMac, "8.%d.0", 1, 1},
	{"sudo_project", "sudo", onLinux, "1.9.%d", 6, 1},
	{"gnu", "glibc", onLinux, "2.%d", 31, 1},
	{"tukaani", "xz", onLinux, "5.%d.0", 2, 1},
	{"systemd_project", "systemd", onLinux, "2%d", 49, 1},
	{"polkit_project", "polkit", onLinux, "12%d", 0, 1},
	{"microsoft", "visual_c++_2015-2022_redistributable", onWindows, "14.%d.33816.0", 30, 2},
	{"igor_pavlov", "7-zip", onWindows, "2%d.01", 2, 1},
	{"notepad-plus-plus", "notepad++", onWindows, "8.%d", 1, 1},
	{"adobe", "acrobat_reader_dc", onWindows | onMac, "24.00%d.20643", 1, 1},
	{"oracle", "jre", onWindows | onMac, "1.8.0_%d", 371, 10},
	{"python", "python", onAll, "3.12.%d", 0, 1},
	{"nodejs", "node.js", onAll, "20.%d.0", 9, 1},
	{"git-scm", "git", onAll, "2.4%d.0", 0, 1},
	{"docker", "docker_desktop", onWindows | onMac, "4.%d.0", 26, 1},
	{"docker", "docker_engine", onLinux, "26.%d.1", 0, 1},
	{"containerd", "containerd", onLinux, "1.7.%d", 11, 1},
	{"videolan", "vlc_media_player", onAll, "3.0.%d", 12, 1},
	{"teamviewer", "teamviewer", onAll, "15.%d.3", 50, 1},
	{"anydesk", "anydesk", onAll, "8.%d.0", 0, 1},
	{"filezilla-project", "filezilla_client", onAll, "3.6%d.0", 0, 1},
	{"libreoffice", "libreoffice", onAll, "24.%d.2", 2, 1},
	{"gimp", "gimp", onAll, "2.10.%d", 24, 2},
	{"wireshark", "wireshark", onWindows | onMac, "4.2.%d", 0, 1},
	{"postman", "postman", onWindows | onMac, "11.%d.0", 0, 1},
	{"agilebits", "1password", onWindows | onMac, "8.10.%d", 28, 2},
	{"dropbox", "dropbox", onWindows | onMac, "20%d.4.5515", 0, 1},
	{"spotify", "spotify", onWindows | onMac, "1.2.%d.1168", 30, 1},
	{"cisco", "secure_client", onWindows | onMac, "5.1.%d.136", 0, 1},
	{"fortinet", "forticlient", onWindows | onMac, "7.2.%d", 0, 1},
	{"rarlab", "winrar", onWindows, "7.0%d", 0, 1},
	{"simon_tatham", "putty", onWindows, "0.7%d", 4, 1},
	{"winscp", "winscp", onWindows, "6.%d", 0, 1},
	{"vmware", "tools", onWindows | onLinux, "12.%d.0", 0, 1},
	{"citrix", "workspace", onWindows | onMac, "24.%d.0.172", 1, 1},
	{"foxit", "pdf_reader", onWindows, "2024.%d", 0, 1},
	{"dotpdn", "paint.net", onWindows, "5.0.1%d", 0, 1},
	{"keepass", "keepass", onWindows, "2.5%d", 0, 1},
	{"microsoft", "sql_server_management_studio", onWindows, "20.%d", 0, 1},
	{"intel", "graphics_driver", onWindows, "31.0.101.%d", 5100, 35},
	{"nvidia", "geforce_experience", onWindows, "3.2%d.0.76", 0, 1},
	{"apache", "http_server", onLinux, "2.4.5%d", 0, 1},
	{"f5", "nginx", onLinux, "1.2%d.0", 0, 1},
	{"postgresql", "postgresql", onLinux, "16.%d", 0, 1},
	{"oracle", "mysql", onLinux, "8.0.3%d", 0, 1},
	{"redis", "redis", onLinux, "7.2.%d", 0, 1},
	{"samba", "samba", onLinux, "4.19.%d", 0, 1},
	{"vim", "vim", onLinux | onMac, "9.1.0%d", 100, 25},
	{"gnupg", "gnupg", onLinux | onMac, "2.4.%d", 0, 1},
	{"xmlsoft", "libxml2", onLinux, "2.12.%d", 0, 1},
	{"zlib", "zlib", onLinux, "1.3.%d", 0, 1},
	{"sqlite", "sqlite", onLinux | onMac, "3.4%d.0", 0, 1},
	{"openprinting", "cups", onLinux, "2.4.%d", 0, 1},
	{"perl", "perl", onLinux | onMac, "5.3%d.0", 0, 1},
	{"kubernetes", "kubectl", onLinux | onMac, "1.2%d.0", 0, 1},
	{"apple", "safari", onMac, "17.%d", 0, 1},
	{"apple", "xcode", onMac, "15.%d", 0, 1},
	{"homebrew", "homebrew", onMac, "4.%d.0", 0, 1},
	{"iterm2", "iterm2", onMac, "3.5.%d", 0, 1},
}

// SoftwareOptions say how much vulnerability data to generate.
type SoftwareOptions struct {
	// Seed selects the data set, as Options.Seed.
	Seed int64
	// CVEs is the number of vulnerabilities of the catalog (default 600).
	CVEs int
	// PerMachine is the number of products installed on each machine,
	// its OS included (default 12; at most the products of its platform).
	PerMachine int
	// Start is the end of the generated history: publication, release and
	// first-seen times are before it.
	Start time.Time
}

func (o SoftwareOptions) resolve() SoftwareOptions {
	if o.CVEs <= 0 {
		o.CVEs = 600
	}
	if o.PerMachine <= 0 {
		o.PerMachine = 12
	}
	if o.Start.IsZero() {
		o.Start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return o
}

// The exploit types of the generated vulnerabilities, and the kinds of
// weakness their descriptions name.
var (
	exploitTypes = []string{"Remote code execution", "Privilege escalation", "Denial of service", "Information disclosure", "Security feature bypass"}
	weaknesses   = []string{"use after free", "heap buffer overflow", "out-of-bounds read", "improper input validation", "type confusion",
		"integer overflow", "path traversal", "improper access control", "race condition", "command injection"}
)

// catalogProducts are every product: the operating systems, then the
// applications.
func catalogProducts() []product {
	var out []product
	for _, k := range []string{"Windows10", "Windows11", "WindowsServer2016", "WindowsServer2019", "WindowsServer2022", "Linux", "macOS"} {
		out = append(out, osProducts[k])
	}
	return append(out, apps...)
}

// windowsOS are the Windows products, in the order of their updates' ids.
var windowsOS = []string{"windows_10", "windows_11", "windows_server_2016", "windows_server_2019", "windows_server_2022"}

// kbOf is the security update that brings a Windows product to version i
// of its series.
func kbOf(p *product, i int) string {
	n := 0
	for k, name := range windowsOS {
		if name == p.name {
			n = k
		}
	}
	return strconv.Itoa(5031000 + n*1000 + i*37)
}

// isWindowsOS reports whether p is a Windows operating system (updated by
// security updates, not by versions).
func isWindowsOS(p *product) bool { return strings.HasPrefix(p.name, "windows_") }

// SoftwareCatalog returns the catalog of o: every product, o.CVEs
// vulnerabilities, the security updates of the Windows builds. The same o
// gives the same catalog.
func SoftwareCatalog(o SoftwareOptions) *vuln.Catalog {
	o = o.resolve()
	r := rand.New(rand.NewPCG(mix(uint64(o.Seed)^mix(streamSoftware)), mix(streamSoftware)))
	ps := catalogProducts()
	c := &vuln.Catalog{}
	for _, p := range ps {
		c.Products = append(c.Products, vuln.Product{Vendor: p.vendor, Name: p.name})
	}
	updates := map[string]*vuln.SecurityUpdate{}
	var kbOrder []string
	for pi := range ps {
		p := &ps[pi]
		if !isWindowsOS(p) {
			continue
		}
		vs := p.versions()
		for i := 1; i < len(vs); i++ {
			release := o.Start.AddDate(0, i-len(vs), -o.Start.Day()+10).Truncate(24 * time.Hour)
			build, _ := strconv.ParseInt(strings.Split(vs[i], ".")[2], 10, 64)
			u := &vuln.SecurityUpdate{ID: kbOf(p, i), ReleaseDate: release, OSBuild: &build, ProductsNames: []string{p.name},
				Name: release.Format("2006-01") + " Cumulative Update for " + displayName(p.name) + " (KB" + kbOf(p, i) + ")"}
			updates[u.ID] = u
			kbOrder = append(kbOrder, u.ID)
		}
	}
	seen := map[string]bool{}
	for i := range o.CVEs {
		// Browsers and operating systems have the most; every product some.
		var p *product
		switch k := r.IntN(10); {
		case k < 3:
			p = &ps[r.IntN(7)] // an operating system
		case k < 5:
			p = &ps[7+r.IntN(3)] // a browser
		default:
			p = &ps[7+r.IntN(len(ps)-7)]
		}
		id := ""
		for id == "" || seen[id] {
			year := o.Start.Year() - r.IntN(4)
			id = fmt.Sprintf("CVE-%d-%d", year, 1000+r.IntN(48000))
			if i%97 == 96 {
				id = fmt.Sprintf("TVM-%d-%04d", year, 1+r.IntN(9999))
			}
		}
		seen[id] = true
		vs := p.versions()
		// The versions [a, b) are affected, b fixes them.
		b := 1 + r.IntN(len(vs)-1)
		a := max(0, b-1-r.IntN(3))
		score := cvss(r)
		published := o.Start.Add(-time.Duration(r.Int64N(int64(3 * 365 * 24 * time.Hour)))).Truncate(time.Second)
		updated := published.Add(time.Duration(r.Int64N(int64(60 * 24 * time.Hour)))).Truncate(time.Second)
		if updated.After(o.Start) {
			updated = o.Start
		}
		w := weaknesses[r.IntN(len(weaknesses))]
		typ := exploitTypes[r.IntN(len(exploitTypes))]
		v := vuln.Vulnerability{ID: id, CVSSV3: &score, PublishedOn: published, UpdatedOn: updated,
			Name:        displayName(p.name) + " " + strings.ToLower(typ) + " vulnerability",
			Description: fmt.Sprintf("A %s in %s %s before %s allows %s.", w, displayName(p.vendor), displayName(p.name), vs[b], strings.ToLower(typ))}
		if r.IntN(100) < 8 {
			v.PublicExploit, v.ExploitTypes = true, []string{typ}
			v.ExploitURIs = []string{"https://www.exploit-db.com/exploits/" + strconv.Itoa(50000+r.IntN(2000))}
			v.ExploitVerified = r.IntN(2) == 0
			v.ExploitInKit = r.IntN(4) == 0
		}
		for j := a; j < b; j++ {
			af := vuln.Affected{Product: vuln.Product{Vendor: p.vendor, Name: p.name}, Version: vs[j], FixedVersion: vs[b]}
			if isWindowsOS(p) {
				af.FixedVersion, af.FixingKB = "", kbOf(p, b)
				u := updates[af.FixingKB]
				if j == a {
					u.CVEs = append(u.CVEs, id)
				}
			}
			v.Affected = append(v.Affected, af)
		}
		if err := v.Normalize(); err != nil {
			panic("demo: a generated vulnerability is invalid: " + err.Error())
		}
		c.Vulnerabilities = append(c.Vulnerabilities, v)
	}
	for _, id := range kbOrder {
		c.Updates = append(c.Updates, *updates[id])
	}
	return c
}

// cvss draws a CVSS v3 score: about 10 % critical, 35 % high, 45 %
// medium, 10 % low.
func cvss(r *rand.Rand) float64 {
	var lo, hi float64
	switch k := r.IntN(100); {
	case k < 10:
		lo, hi = 9, 10
	case k < 45:
		lo, hi = 7, 8.9
	case k < 90:
		lo, hi = 4, 6.9
	default:
		lo, hi = 2, 3.9
	}
	return float64(int((lo+r.Float64()*(hi-lo))*10+0.5)) / 10
}

// displayName writes a product or vendor name as a title ("windows_11":
// "Windows 11").
func displayName(s string) string {
	words := strings.Split(s, "_")
	for i, w := range words {
		if w != "" {
			words[i] = strings.ToUpper(w[:1]) + w[1:]
		}
	}
	return strings.Join(words, " ")
}

// platformOf is a machine's platform bit, and its OS product.
func platformOf(m *openatp.Machine) (int, *product) {
	name := ""
	if m.OSPlatform != nil {
		name = *m.OSPlatform
	}
	if p, ok := osProducts[name]; ok {
		return p.on, &p
	}
	switch {
	case strings.HasPrefix(name, "Windows"):
		p := osProducts["Windows10"]
		return onWindows, &p
	case strings.HasPrefix(name, "mac"):
		p := osProducts["macOS"]
		return onMac, &p
	}
	p := osProducts["Linux"]
	return onLinux, &p
}

// SoftwareInventory emits the inventory of machines ms under o: each
// machine's OS and o.PerMachine−1 applications of its platform, most at
// their newest version, with install paths and first/last seen times, and
// the security updates a Windows machine behind the newest build misses.
// A machine's records are adjacent; the same o and ms give the same
// records. The record passed to emit is reused.
func SoftwareInventory(o SoftwareOptions, ms []openatp.Machine, emit func(*vuln.InventoryRecord) error) error {
	o = o.resolve()
	pools := map[int][]*product{}
	for _, on := range []int{onWindows, onLinux, onMac} {
		for i := range apps {
			if apps[i].on&on != 0 {
				pools[on] = append(pools[on], &apps[i])
			}
		}
	}
	versions := map[*product][]string{}
	paths := map[[2]any][]string{}
	src := rand.NewPCG(0, 0)
	r := rand.New(src)
	var rec vuln.InventoryRecord
	var picked []int
	for mi := range ms {
		m := &ms[mi]
		src.Seed(mix(uint64(o.Seed)^mix(streamSoftware+1)), mix(hashID(m.ID)))
		on, osp := platformOf(m)
		pool := pools[on]
		n := min(o.PerMachine-1, len(pool))
		// The first half of the applications are the common ones, the
		// rest drawn from the whole pool.
		picked = picked[:0]
		for i := 0; i < len(pool) && len(picked) < n; i++ {
			if i < n/2 || r.IntN(len(pool)-i) < n-len(picked) {
				picked = append(picked, i)
			}
		}
		items := make([]*product, 0, n+1)
		items = append(items, osp)
		for _, i := range picked {
			items = append(items, pool[i])
		}
		for k, p := range items {
			vs, ok := versions[p]
			if !ok && k > 0 {
				vs = p.versions()
				versions[p] = vs
			} else if k == 0 {
				vs = p.versions()
			}
			// Most at the newest version, the rest further behind.
			idx := len(vs) - 1
			for idx > 0 && r.IntN(100) < 45 {
				idx--
			}
			key := [2]any{p, on}
			dp, ok := paths[key]
			if !ok {
				dp = installPath(p, on)
				paths[key] = dp
			}
			first := o.Start.Add(-time.Duration(2+r.IntN(400)) * 24 * time.Hour).Truncate(time.Second)
			last := o.Start.Add(-time.Duration(r.IntN(24)) * time.Hour).Truncate(time.Second)
			rec = vuln.InventoryRecord{Installed: vuln.Installed{MachineID: m.ID, Product: vuln.Product{Vendor: p.vendor, Name: p.name},
				Version: vs[idx], DiskPaths: dp, FirstSeen: first, LastSeen: last}}
			if on == onWindows {
				rec.RegistryPaths = []string{`HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\` + displayName(p.name)}
			}
			if err := emit(&rec); err != nil {
				return err
			}
			if k == 0 && isWindowsOS(p) {
				for j := idx + 1; j < len(vs); j++ {
					rec = vuln.InventoryRecord{Installed: vuln.Installed{MachineID: m.ID}, MissingKB: kbOf(p, j)}
					if err := emit(&rec); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

func hashID(id string) uint64 {
	var h uint64 = 14695981039346656037
	for i := 0; i < len(id); i++ {
		h = (h ^ uint64(id[i])) * 1099511628211
	}
	return h
}

// installPath is where a product is installed on a platform.
func installPath(p *product, on int) []string {
	switch on {
	case onWindows:
		if isWindowsOS(p) {
			return []string{`C:\Windows\System32\ntoskrnl.exe`}
		}
		return []string{`C:\Program Files\` + displayName(p.vendor) + `\` + displayName(p.name) + `\` + strings.ReplaceAll(p.name, "_", "") + ".exe"}
	case onMac:
		if p.name == "macos" {
			return []string{"/System/Library/CoreServices/SystemVersion.plist"}
		}
		return []string{"/Applications/" + displayName(p.name) + ".app"}
	}
	if p.name == "linux_kernel" {
		return []string{"/boot/vmlinuz"}
	}
	return []string{"/usr/bin/" + strings.ReplaceAll(p.name, "_", "-")}
}

// InventorySeq is SoftwareInventory as an iterator (for iter.Pull, which
// a store's PutInventory reads from). Its records are normalized; one
// that is not stops it, and the error is err's.
func InventorySeq(o SoftwareOptions, ms []openatp.Machine, err *error) iter.Seq[*vuln.InventoryRecord] {
	return func(yield func(*vuln.InventoryRecord) bool) {
		stop := errors.New("stopped")
		e := SoftwareInventory(o, ms, func(r *vuln.InventoryRecord) error {
			if err := r.Normalize(); err != nil {
				return err
			}
			if !yield(r) {
				return stop
			}
			return nil
		})
		if e != nil && e != stop {
			*err = e
		}
	}
}
