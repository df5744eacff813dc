package demo

import (
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/openatp/openatp"
)

const day = 24 * time.Hour

// head holds the properties of a machine that its logons depend on. They are
// the first draws of the machine's random stream, so logons recompute them
// cheaply.
type head struct {
	class       int
	health      string
	first, last time.Time
}

func (g *gen) head(i int) head {
	g.reseed(g.mpcg, streamMachine, i)
	r := g.mr
	var h head
	switch x := r.IntN(1000); {
	case x < 300:
		h.class = classWorkstation
	case x < 700:
		h.class = classLaptop
	case x < 850:
		h.class = classServer
	case x < 950:
		h.class = classLinux
	default:
		h.class = classMac
	}
	h.health = pick(r, healthDist)
	var ago time.Duration
	switch h.health {
	case "Active":
		ago = ticks(r, 0, 2*day)
	case "Inactive":
		ago = ticks(r, 8*day, 170*day)
	default:
		ago = ticks(r, 0, 30*day)
	}
	h.last = g.o.Start.Add(-ago)
	if r.IntN(10) == 0 { // recently onboarded
		h.first = h.last.Add(-ticks(r, 0, 30*day))
	} else {
		h.first = h.last.Add(-ticks(r, 30*day, 3*365*day))
	}
	return h
}

// pickDomain returns a domain index; domain k has weight n-k.
func (g *gen) pickDomain(r *rand.Rand) int {
	n := len(g.domains)
	x := r.IntN(n * (n + 1) / 2)
	for k := range n {
		if x < n-k {
			return k
		}
		x -= n - k
	}
	return 0
}

// token is a 5-character base-36 name unique per machine index (below 36^5).
func (g *gen) token(i int) string {
	const n = 36 * 36 * 36 * 36 * 36
	v := (uint64(i)*g.tokenStride + g.seed) % n
	var b [5]byte
	for j := 4; j >= 0; j-- {
		b[j] = "0123456789abcdefghijklmnopqrstuvwxyz"[v%36]
		v /= 36
	}
	return string(b[:])
}

func twoDigits(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}

func (g *gen) machine(i int) openatp.Machine {
	h := g.head(i)
	r := g.mr
	d := &g.domains[g.pickDomain(r)]
	m := openatp.Machine{
		ID:           g.machineID(i),
		FirstSeen:    &h.first,
		LastSeen:     &h.last,
		HealthStatus: openatp.Ptr(h.health),
		OSProcessor:  openatp.Ptr("x64"),
	}

	var v *osVariant
	var name string
	switch h.class {
	case classWorkstation:
		v = pickVariant(r, windowsClient)
		name = "desktop-" + g.token(i) + "." + d.dns
	case classLaptop:
		v = pickVariant(r, windowsClient)
		name = "lap-" + firstNames[r.IntN(26)][:1] + lastNames[r.IntN(len(lastNames))] + "-" + strconv.Itoa(1000 + r.IntN(1000))[1:] + "." + d.dns
	case classServer:
		v = pickVariant(r, windowsServer)
		name = "srv-" + serverRoles[r.IntN(len(serverRoles))] + "-" + twoDigits(1+r.IntN(40)) + "." + d.dns
	case classLinux:
		v = pickVariant(r, linuxOS)
		name = linuxRoles[r.IntN(len(linuxRoles))] + "-" + strconv.Itoa(1+r.IntN(60)) + "." + d.linuxDNS
	default:
		v = pickVariant(r, macOS)
		name = "mbp-" + firstNames[r.IntN(len(firstNames))]
		if r.IntN(3) == 0 {
			name += "-" + strconv.Itoa(2+r.IntN(8))
		}
		name += "." + d.dns
		if r.IntN(2) == 0 {
			m.OSProcessor = openatp.Ptr("ARM64")
		}
	}
	m.ComputerDNSName = &name
	m.OSPlatform, m.Version = openatp.Ptr(v.platform), openatp.Ptr(v.version)
	arch := "64-bit"
	if v.platform == "Windows10" && r.IntN(40) == 0 {
		arch = "32-bit"
		m.OSProcessor = openatp.Ptr("x86")
	}
	m.OSArchitecture = &arch
	if v.build != 0 {
		build := v.build
		m.OSBuild = &build
		ubr := strconv.Itoa(1000 + r.IntN(4500))
		m.OSVersion = openatp.Ptr(v.osVersion + "." + ubr)
		m.AgentVersion = openatp.Ptr(v.agent[:len(v.agent)-2] + twoDigits(r.IntN(100)) + "." + strconv.FormatInt(v.build, 10) + "." + ubr)
	} else {
		m.OSVersion = openatp.Ptr(v.osVersion)
		m.AgentVersion = openatp.Ptr(v.agent + "." + strconv.Itoa(10000 + r.IntN(30))[1:])
	}

	m.OnboardingStatus = openatp.Ptr(pick(r, onboardDist))
	m.RiskScore = optional(pick(r, riskDist))
	m.ExposureLevel = optional(pick(r, exposeDist))
	m.DeviceValue = optional(pick(r, valueDist))
	if *m.OnboardingStatus != "Onboarded" {
		m.AgentVersion, m.ExposureLevel = nil, nil
	}

	joined := false
	switch h.class {
	case classWorkstation, classLaptop:
		joined = r.IntN(100) < 75
	case classServer:
		joined = r.IntN(100) < 15
	}
	m.IsAADJoined = &joined
	if joined {
		m.AADDeviceID = openatp.Ptr(guid(r))
	}

	m.MachineTags = make([]string, 0, 3)
	n := 0
	switch x := r.IntN(100); {
	case x < 50:
	case x < 80:
		n = 1
	case x < 95:
		n = 2
	default:
		n = 3
	}
	for len(m.MachineTags) < n {
		t := tagVocab[r.IntN(len(tagVocab))]
		dup := false
		for _, have := range m.MachineTags {
			dup = dup || have == t
		}
		if !dup {
			m.MachineTags = append(m.MachineTags, t)
		}
	}

	g.addresses(r, &m, h.class, d)
	return m
}

var (
	serverOUIs = []string{"00155D", "005056", "000C29"}
	clientOUIs = []string{"8CEC4B", "F8B156", "3C7C3F", "A4BB6D", "D89EF3", "E4B97A"}
	appleOUIs  = []string{"F01898", "3C0630", "A8886B"}
	// First octets of consumer ISP address space (no private or reserved ranges).
	homeOctets = []int{24, 67, 73, 76, 79, 82, 86, 89, 94, 98, 151, 176, 188, 217}
)

func octet(r *rand.Rand) string { return strconv.Itoa(r.IntN(256)) }

func host(r *rand.Rand) string { return strconv.Itoa(1 + r.IntN(254)) }

// addresses sets the internal and external IP addresses and the interfaces.
func (g *gen) addresses(r *rand.Rand, m *openatp.Machine, class int, d *domain) {
	ouis, ifType := clientOUIs, "Ethernet"
	var ip string
	home := false
	switch class {
	case classServer, classLinux:
		ouis = serverOUIs
		ip = "10.10." + octet(r) + "." + host(r)
	case classWorkstation:
		ip = "10." + strconv.Itoa(20+r.IntN(180)) + "." + octet(r) + "." + host(r)
	default: // laptops and Macs, sometimes at home
		ifType = "Wireless80211"
		if class == classMac {
			ouis = appleOUIs
		}
		switch x := r.IntN(10); {
		case x < 6:
			ip = "10." + strconv.Itoa(20+r.IntN(180)) + "." + octet(r) + "." + host(r)
		case x < 9:
			ip, home = "192.168."+strconv.Itoa(r.IntN(3))+"."+host(r), true
		default:
			ip = "172." + strconv.Itoa(16+r.IntN(16)) + "." + octet(r) + "." + host(r)
		}
	}
	m.LastIPAddress = &ip

	switch x := r.IntN(100); {
	case home:
		ext := strconv.Itoa(homeOctets[r.IntN(len(homeOctets))]) + "." + octet(r) + "." + octet(r) + "." + host(r)
		m.LastExternalIPAddress = &ext
	case class == classServer || class == classLinux:
		if x < 50 {
			m.LastExternalIPAddress = &d.egress[x%len(d.egress)]
		}
	case x < 85:
		m.LastExternalIPAddress = &d.egress[x%len(d.egress)]
	}
	if m.LastExternalIPAddress != nil {
		ext := *m.LastExternalIPAddress // a copy: no two machines share a pointer
		m.LastExternalIPAddress = &ext
	}

	mac := ouis[r.IntN(len(ouis))] + hex6(r.Uint32())
	up := "Up"
	m.IPAddresses = make([]openatp.IPAddress, 1, 3)
	m.IPAddresses[0] = openatp.IPAddress{IPAddress: ip, MACAddress: &mac, Type: &ifType, OperationalStatus: &up}
	if r.IntN(10) < 4 {
		v6 := "fe80::" + hex4(r.Uint32()) + ":" + hex4(r.Uint32()) + ":" + hex4(r.Uint32()) + ":" + hex4(r.Uint32())
		m.IPAddresses = append(m.IPAddresses, openatp.IPAddress{IPAddress: v6, MACAddress: openatp.Ptr(mac), Type: openatp.Ptr(ifType), OperationalStatus: openatp.Ptr(up)})
	}
	if r.IntN(10) < 3 {
		m.IPAddresses = append(m.IPAddresses, openatp.IPAddress{IPAddress: "127.0.0.1", Type: openatp.Ptr("SoftwareLoopback"), OperationalStatus: openatp.Ptr(up)})
	}
}

const hexUpper = "0123456789ABCDEF"

func hex6(v uint32) string {
	var b [6]byte
	for j := 5; j >= 0; j-- {
		b[j] = hexUpper[v&15]
		v >>= 4
	}
	return string(b[:])
}

// hex4 is a lowercase IPv6 group without leading zeros.
func hex4(v uint32) string {
	return strconv.FormatUint(uint64(v&0xffff), 16)
}

// guid returns a random (version 4) GUID in lowercase.
func guid(r *rand.Rand) string {
	var b [16]byte
	binary := func(off int, v uint64) {
		for j := range 8 {
			b[off+j] = byte(v >> (8 * j))
		}
	}
	binary(0, r.Uint64())
	binary(8, r.Uint64())
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	const hx = "0123456789abcdef"
	out := make([]byte, 0, 36)
	for j, c := range b {
		if j == 4 || j == 6 || j == 8 || j == 10 {
			out = append(out, '-')
		}
		out = append(out, hx[c>>4], hx[c&15])
	}
	return string(out)
}
