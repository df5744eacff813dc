package demo

import (
	"math/rand/v2"
	"slices"
	"strconv"

	"github.com/openatp/openatp"
)

// Kinds of user accounts.
const (
	kindRegular   = iota
	kindScanner   // svc-scanner: a network scanner on a quarter of the machines
	kindBackup    // svc-backup
	kindAdmin     // admin (RID 500)
	kindTwinUpper // JDoe in the first domain
	kindTwinLower // jdoe in the second domain
	kindService   // svc-<app>N: service accounts on tens of machines
	kindPower     // adm-<name>: administrators on hundreds or thousands
)

// The special users of a data set of at least this many users.
const specialUsers = 10

// plan draws user u's kind, number of machines (before trimming) and
// activity (the relative number of logons per machine). They are the first
// draws of the user's random stream.
func (g *gen) plan(u int) (kind int, k, activity int64) {
	g.reseed(g.upcg, streamUser, u)
	r := g.ur
	m := int64(g.o.Machines)
	if g.o.Users >= specialUsers {
		switch u {
		case 0:
			return kindScanner, max(1, m/4), 1
		case 1:
			return kindBackup, max(1, m/20), 3
		case 2:
			return kindAdmin, max(1, m/50), 2
		case 3:
			return kindTwinUpper, 1, 4
		case 4:
			return kindTwinLower, 1, 4
		}
	}
	kind, activity = kindRegular, 1+r.Int64N(6)
	switch x := r.IntN(10000); {
	case x < 5500:
		k = 1
	case x < 8000:
		k = 2
	case x < 9000:
		k = 3
	case x < 9700:
		k = 4 + r.Int64N(7)
	case x < 9950:
		k = 11 + r.Int64N(40)
	case x < 9990:
		kind, k, activity = kindService, 5+r.Int64N(100), 4
	default:
		kind, k = kindPower, 100+r.Int64N(1900)
	}
	return kind, min(k, m), activity
}

// baseName is a person's account name, unique per user index: "jsmith" or
// "alice.wong", with a number appended once the names run out.
func baseName(u int) string {
	fl := len(firstNames) * len(lastNames)
	q, n := u%fl*7919%fl, u/fl
	f, l := q%len(firstNames), q/len(firstNames)
	var s string
	if f < 26 && l%2 == 0 {
		s = firstNames[f][:1] + lastNames[l]
	} else {
		s = firstNames[f] + "." + lastNames[l]
	}
	if n > 0 {
		s += strconv.Itoa(n + 1)
	}
	return s
}

// identity returns user u's account name, domain and SID.
func (g *gen) identity(u, kind int, r *rand.Rand) (string, *domain, string) {
	d := &g.domains[0]
	rid := 1100 + u
	var name string
	switch kind {
	case kindScanner:
		name = "svc-scanner"
	case kindBackup:
		name = "svc-backup"
	case kindAdmin:
		name, rid = "admin", 500
	case kindTwinUpper:
		name = "JDoe"
	case kindTwinLower:
		name, d = "jdoe", &g.twinDomain
	case kindService:
		d = &g.domains[g.pickDomain(r)]
		name = "svc-" + serviceApps[u%len(serviceApps)] + strconv.Itoa(u/len(serviceApps))
	case kindPower:
		d = &g.domains[g.pickDomain(r)]
		name = "adm-" + baseName(u)
	default:
		d = &g.domains[g.pickDomain(r)]
		name = baseName(u)
	}
	return name, d, d.sid + "-" + strconv.Itoa(rid)
}

// logons emits every user's logons, user by user.
func (g *gen) logons(emit Emitter) error {
	m := g.o.Machines
	var cum int64 // cumulative activity*relations of the users before u
	picked := make([]int, 0, 16)
	for u := range g.o.Users {
		kind, k, activity := g.plan(u)
		k = g.trimmed(k)
		before := g.share(cum)
		cum += k * activity
		extras := g.share(cum) - before
		r := g.ur
		name, d, sid := g.identity(u, kind, r)
		l := openatp.Logon{AccountName: name, AccountDomain: d.name, AccountSID: sid}

		// Many machines: walk the machines with a stride coprime with
		// their number, which visits k distinct ones without memory.
		start, stride := 0, 0
		if k > 16 {
			start, stride = r.IntN(m), coprime(m, r)
		}
		picked = picked[:0]
		for j := range k {
			var mi int
			if stride != 0 {
				mi = int((int64(start) + j*int64(stride)) % int64(m))
			} else {
				mi = g.choose(u, j, picked, r)
				picked = append(picked, mi)
			}
			n := int64(1)
			if left := k - j; left == 1 {
				n += extras
			} else if extras > 0 {
				e := r.Int64N(min(extras, 2*extras/left) + 1)
				n, extras = n+e, extras-e
			}
			h := g.head(mi)
			l.MachineID = g.machineID(mi)
			span := h.last.Sub(h.first)
			for range n {
				l.LogonType = logonType(r, kind, h.class, j == 0)
				l.Timestamp = h.first.Add(ticks(r, 0, span))
				if err := emit.Logon(l); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// choose returns the j-th machine of a user with few machines: first the
// user's own machine, then shared machines or any other, never twice.
func (g *gen) choose(u int, j int64, picked []int, r *rand.Rand) int {
	m := g.o.Machines
	var c int
	switch {
	case j == 0:
		c = int((int64(u)*int64(g.ownStride) + int64(g.ownOffset)) % int64(m))
	case r.IntN(2) == 0:
		c = r.IntN(g.shared)
	default:
		c = r.IntN(m)
	}
	for slices.Contains(picked, c) {
		c = (c + 1) % m
	}
	return c
}

func logonType(r *rand.Rand, kind, class int, own bool) string {
	x := r.IntN(100)
	switch kind {
	case kindScanner:
		return "Network"
	case kindBackup, kindService:
		switch {
		case x < 40:
			return "Service"
		case x < 70:
			return "Batch"
		}
		return "Network"
	case kindAdmin, kindPower:
		switch {
		case x < 60:
			return "RemoteInteractive"
		case x < 90:
			return "Network"
		}
		return "Interactive"
	}
	if class == classServer || class == classLinux {
		if x < 60 {
			return "Network"
		}
		return "RemoteInteractive"
	}
	if own {
		switch {
		case x < 80:
			return "Interactive"
		case x < 90:
			return "Network"
		case x < 95:
			return "RemoteInteractive"
		}
		return "Unlock"
	}
	switch {
	case x < 50:
		return "Interactive"
	case x < 90:
		return "Network"
	}
	return "RemoteInteractive"
}
