// Package demo generates realistic, deterministic tenant data: the machines,
// logon events and alerts of the demo tenant (a few hundred machines), of
// benchmarks (millions of records) and of `openatp seed`.
//
// Generate streams its output to an Emitter, machines first, then logons,
// then alerts, without building the data set in memory; the same Options
// always give the same records in the same order. DocExample returns the
// Microsoft documentation's own example (user1 of contoso and its two
// machines), DocAlert its example alert.
package demo

import (
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/openatp/openatp"
)

// Options say what Generate produces. The zero value is the demo tenant.
type Options struct {
	// Seed selects the data set; the same seed gives the same records.
	Seed int64
	// Machines is the number of machines (default 300).
	Machines int
	// Users is the number of user accounts (default 3/4 of Machines). From
	// 10 users on, the data set always holds the special users: svc-scanner
	// (logged on to a quarter of the machines), svc-backup, admin, and the
	// case twins JDoe (first domain) and jdoe (second domain) on two
	// different machines.
	Users int
	// Logons is the exact number of logon events to emit; every user has at
	// least one, so it must be 0 or at least Users. Zero means about 1.5 per
	// (user, machine) relation. A total below the number of relations the
	// users would have shrinks every user's machine count in proportion.
	Logons int
	// Domains are the account domains (NetBIOS names such as "contoso", or
	// DNS names such as "contoso.com"). Default: contoso, fabrikam,
	// northwind. The first domain is the most common.
	Domains []string
	// Start is the data set's "now": every timestamp is at or before it.
	// Default 2026-01-01T00:00:00Z; never the clock, so output is stable.
	// Seeding a tenant passes the clock (see StartAt), so that a client
	// asking for the last days finds data.
	Start time.Time
	// AADTenant is the aadTenantId of the alerts: the id of the tenant
	// they are written to. Default: a GUID drawn from Seed.
	AADTenant string
	// Alerts is the number of alerts to emit after the logons (default
	// none): detections on users' own machines, created over the 30 days
	// before Start in order, in every severity and status.
	Alerts int
}

// DefaultDomains are the account domains used when Options.Domains is empty.
var DefaultDomains = []string{"contoso", "fabrikam", "northwind"}

// DefaultStart is the Start used when Options.Start is zero.
var DefaultStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// StartAt returns the Start of a data set seeded at now: now in UTC,
// truncated to the second, so that every generated time is before it.
func StartAt(now time.Time) time.Time {
	return now.UTC().Truncate(time.Second)
}

// Emitter receives generated records: every machine, then every logon,
// then every alert. An error stops Generate, which returns it.
type Emitter interface {
	Machine(openatp.Machine) error
	Logon(openatp.Logon) error
	Alert(openatp.Alert) error
}

// Funcs is an Emitter made of functions; a nil function drops its
// records.
type Funcs struct {
	OnMachine func(openatp.Machine) error
	OnLogon   func(openatp.Logon) error
	OnAlert   func(openatp.Alert) error
}

// Alert calls f.OnAlert.
func (f Funcs) Alert(a openatp.Alert) error {
	if f.OnAlert == nil {
		return nil
	}
	return f.OnAlert(a)
}

// Machine calls f.OnMachine.
func (f Funcs) Machine(m openatp.Machine) error {
	if f.OnMachine == nil {
		return nil
	}
	return f.OnMachine(m)
}

// Logon calls f.OnLogon.
func (f Funcs) Logon(l openatp.Logon) error {
	if f.OnLogon == nil {
		return nil
	}
	return f.OnLogon(l)
}

// Resolve returns o with its defaults filled in and Logons set to the exact
// number of logon events Generate will emit (for progress reporting). It
// fails on invalid options.
func (o Options) Resolve() (Options, error) {
	g, err := newGen(o)
	if err != nil {
		return Options{}, err
	}
	return g.o, nil
}

// Generate emits opts.Machines machines, then the logon events of
// opts.Users users (opts.Logons of them, or the number Resolve reports),
// then opts.Alerts alerts.
// Every record passes Normalize unchanged and every logon names an emitted
// machine. Memory use does not grow with the size of the data set.
func Generate(opts Options, emit Emitter) error {
	g, err := newGen(opts)
	if err != nil {
		return err
	}
	for i := range g.o.Machines {
		if err := emit.Machine(g.machine(i)); err != nil {
			return err
		}
	}
	if err := g.logons(emit); err != nil {
		return err
	}
	for i := range g.o.Alerts {
		if err := emit.Alert(g.alert(i)); err != nil {
			return err
		}
	}
	return nil
}

// Random streams: each record is drawn from its own PCG, seeded from the
// data set's seed, the stream and the record's index, so any machine's
// properties can be recomputed without keeping them.
const (
	streamMachine uint64 = iota + 1
	streamUser
	streamSetup
)

type gen struct {
	o          Options
	seed       uint64
	domains    []domain
	twinDomain domain // jdoe's domain: the second one

	// Machine choice: user u's own machine is (u*ownStride + ownOffset) % M.
	ownStride, ownOffset int
	shared               int // machines [0, shared) are shared by many users
	tokenStride          uint64

	// Logon budget (see logons).
	relations int64 // relations before trimming
	total     int64 // logons
	trim      bool
	weight    int64 // sum of activity*relations over users
	extra     int64 // logons beyond one per relation

	mpcg, upcg *rand.PCG
	mr, ur     *rand.Rand
}

type domain struct {
	name     string // account domain
	dns      string // DNS suffix of Windows and Mac machines
	linuxDNS string
	sid      string // domain SID prefix
	egress   []string
}

func mix(x uint64) uint64 { // splitmix64 finalizer
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

func (g *gen) reseed(p *rand.PCG, stream uint64, index int) {
	p.Seed(mix(g.seed^mix(stream)), mix(uint64(index)+stream<<56))
}

func newGen(o Options) (*gen, error) {
	if o.Machines < 0 || o.Users < 0 || o.Logons < 0 || o.Alerts < 0 {
		return nil, fmt.Errorf("demo: negative count in options")
	}
	if o.Machines == 0 {
		o.Machines = 300
	}
	if o.Users == 0 {
		o.Users = max(1, o.Machines*3/4)
	}
	if o.Logons != 0 && o.Logons < o.Users {
		return nil, fmt.Errorf("demo: %d logons cannot cover %d users (every user has at least one logon)", o.Logons, o.Users)
	}
	if len(o.Domains) == 0 {
		o.Domains = DefaultDomains
	}
	if o.Start.IsZero() {
		o.Start = DefaultStart
	}
	o.Start = o.Start.UTC().Round(openatp.TimePrecision)
	if o.AADTenant == "" {
		o.AADTenant = seedTenant(uint64(o.Seed))
	}
	g := &gen{o: o, seed: uint64(o.Seed)}
	g.mpcg, g.upcg = rand.NewPCG(0, 0), rand.NewPCG(0, 0)
	g.mr, g.ur = rand.New(g.mpcg), rand.New(g.upcg)

	setup := rand.New(rand.NewPCG(mix(g.seed^streamSetup), mix(streamSetup)))
	seen := map[string]bool{}
	for k, name := range o.Domains {
		d, err := newDomain(k, name, setup)
		if err != nil {
			return nil, err
		}
		if seen[openatp.NameKey(d.name)] {
			return nil, fmt.Errorf("demo: domain %q is listed twice", d.name)
		}
		seen[openatp.NameKey(d.name)] = true
		g.domains = append(g.domains, d)
	}
	if len(g.domains) > 1 {
		g.twinDomain = g.domains[1]
	} else {
		other := "fabrikam"
		if openatp.NameKey(g.domains[0].name) == other {
			other = "contoso"
		}
		g.twinDomain, _ = newDomain(1, other, setup)
	}
	m := o.Machines
	g.ownStride = coprime(m, setup)
	g.ownOffset = setup.IntN(m)
	g.shared = max(1, m/50)
	g.tokenStride = 1 + 2*uint64(setup.IntN(36*36*36*36*36/2))
	for g.tokenStride%3 == 0 {
		g.tokenStride += 2
	}

	// Budget the logons: one pass to count the users' relations, one to
	// weigh them after trimming.
	for u := range o.Users {
		_, k, _ := g.plan(u)
		g.relations += k
	}
	g.total = int64(o.Logons)
	if g.total == 0 {
		g.total = g.relations + g.relations/2
	}
	g.trim = g.total < g.relations
	var relations int64
	for u := range o.Users {
		_, k, activity := g.plan(u)
		k = g.trimmed(k)
		relations += k
		g.weight += k * activity
	}
	g.extra = g.total - relations
	g.o.Logons = int(g.total)
	return g, nil
}

// trimmed scales a user's relation count k down when the logon total is
// below the number of relations, keeping at least one.
func (g *gen) trimmed(k int64) int64 {
	if !g.trim {
		return k
	}
	u := int64(g.o.Users)
	return 1 + (k-1)*(g.total-u)/(g.relations-u)
}

// share returns floor(c*extra/weight) without overflow.
func (g *gen) share(c int64) int64 {
	if g.weight == 0 {
		return 0
	}
	hi, lo := bits.Mul64(uint64(c), uint64(g.extra))
	q, _ := bits.Div64(hi, lo, uint64(g.weight))
	return int64(q)
}

func newDomain(k int, name string, r *rand.Rand) (domain, error) {
	d := domain{name: name}
	if before, _, ok := strings.Cut(name, "."); ok && before != "" {
		d.name, d.dns = before, name
	} else if k%2 == 0 {
		d.dns = name + ".com"
	} else {
		d.dns = name + ".local"
	}
	if err := openatp.ValidAccountName(d.name); err != nil {
		return domain{}, fmt.Errorf("demo: domain %q: %v", name, err)
	}
	d.linuxDNS = d.name + ".io"
	d.sid = fmt.Sprintf("S-1-5-21-%d-%d-%d", 1000000000+r.Uint32N(3000000000), 1000000000+r.Uint32N(3000000000), 100000000+r.Uint32N(900000000))
	firstOctets := []int{13, 20, 40, 52, 79, 85, 91, 104, 167, 185, 203}
	for range 3 {
		d.egress = append(d.egress, fmt.Sprintf("%d.%d.%d.%d", firstOctets[r.IntN(len(firstOctets))], r.IntN(256), r.IntN(256), 1+r.IntN(254)))
	}
	return d, nil
}

// coprime returns a number in [1, n] that is coprime with n, about n*0.618.
func coprime(n int, r *rand.Rand) int {
	x := max(1, n*618/1000+r.IntN(max(1, n/10)))
	for gcd(x, n) != 1 {
		x++
	}
	return x
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// machineID is the id of machine i: SHA-1 of the seed and the index.
func (g *gen) machineID(i int) string {
	var in [24]byte
	copy(in[:8], "openatp\x00")
	binary.BigEndian.PutUint64(in[8:], g.seed)
	binary.BigEndian.PutUint64(in[16:], uint64(i))
	sum := sha1.Sum(in[:])
	return hex.EncodeToString(sum[:])
}

// pick returns a value of a distribution in parts per thousand; "" means
// null.
func pick(r *rand.Rand, dist []weighted) string {
	x := r.IntN(1000)
	for _, d := range dist {
		if x < d.w {
			return d.v
		}
		x -= d.w
	}
	return dist[len(dist)-1].v
}

func pickVariant(r *rand.Rand, vs []osVariant) *osVariant {
	total := 0
	for _, v := range vs {
		total += v.weight
	}
	x := r.IntN(total)
	for i := range vs {
		if x < vs[i].weight {
			return &vs[i]
		}
		x -= vs[i].weight
	}
	return &vs[len(vs)-1]
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// ticks returns a random duration in [lo, hi] with the documented precision.
func ticks(r *rand.Rand, lo, hi time.Duration) time.Duration {
	n := int64((hi - lo) / openatp.TimePrecision)
	return lo + time.Duration(r.Int64N(n+1))*openatp.TimePrecision
}
