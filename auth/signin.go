package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/openatp/openatp"
	pwhash "github.com/openatp/openatp/internal/password"
)

// Sign-in throttling, as Entra ID's smart lockout: after LockoutThreshold
// failed password sign-ins of one user name, the name is locked for
// LockoutDuration (AADSTS50053), and again, for twice as long each time
// up to maxLockout, at each failure after that until a sign-in succeeds.
// A repeat of one of the last three wrong passwords does not count (a
// client retrying a stale password does not lock its user out). Unknown
// user names are counted and locked like real ones, and a wrong password
// and an unknown user cost the same bcrypt comparison: the answers say
// nothing of which names exist. Counts are kept in this process, as each
// Entra data center keeps its own.

// The defaults Entra ID documents for smart lockout.
const (
	DefaultLockoutThreshold = 10
	DefaultLockoutDuration  = time.Minute
)

const (
	// lockoutWindow is how long a name's failures are remembered after
	// its last one.
	lockoutWindow = time.Hour
	// maxLockout bounds the growing lockout period.
	maxLockout = time.Hour
	// maxLockoutNames bounds the names tracked at once.
	maxLockoutNames = 100_000
	// hashWaitMax is how long a sign-in waits for a free password
	// hashing slot before it is refused as too busy.
	hashWaitMax = 10 * time.Second
)

// lockouts tracks failed sign-ins per (tenant, user name).
type lockouts struct {
	threshold int // 0: off
	duration  time.Duration
	key       [32]byte // keys the digests of wrong passwords kept

	mu    sync.Mutex
	names map[string]*lockout
}

type lockout struct {
	failures    int
	lastFailure time.Time
	lockedUntil time.Time
	locks       int         // lockouts since the last success
	recent      [3][16]byte // digests of the last wrong passwords
	nrecent     int
}

func newLockouts(threshold int, duration time.Duration) *lockouts {
	l := &lockouts{threshold: threshold, duration: duration, names: map[string]*lockout{}}
	_, _ = rand.Read(l.key[:])
	return l
}

func lockoutKey(tenantID, userName string) string {
	return tenantID + "\x00" + strings.ToLower(userName)
}

// locked reports whether the name is locked at now, and until when.
func (l *lockouts) locked(name string, now time.Time) (time.Time, bool) {
	if l.threshold <= 0 {
		return time.Time{}, false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if e := l.names[name]; e != nil && now.Before(e.lockedUntil) {
		return e.lockedUntil, true
	}
	return time.Time{}, false
}

// fail records a wrong password for the name; it reports whether the name
// is now locked.
func (l *lockouts) fail(name, password string, now time.Time) bool {
	if l.threshold <= 0 {
		return false
	}
	mac := hmac.New(sha256.New, l.key[:])
	mac.Write([]byte(password))
	var d [16]byte
	copy(d[:], mac.Sum(nil))

	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.names[name]
	if e != nil && now.Sub(e.lastFailure) > lockoutWindow && !now.Before(e.lockedUntil) {
		e = nil // forgotten
	}
	if e == nil {
		if len(l.names) >= maxLockoutNames {
			l.sweep(now)
		}
		e = &lockout{}
		l.names[name] = e
	}
	e.lastFailure = now
	for i := range e.nrecent {
		if hmac.Equal(e.recent[i][:], d[:]) {
			return false // a repeat of a recent wrong password
		}
	}
	copy(e.recent[1:], e.recent[:2])
	e.recent[0] = d
	e.nrecent = min(e.nrecent+1, len(e.recent))
	e.failures++
	if e.failures < l.threshold {
		return false
	}
	period := min(l.duration<<min(e.locks, 16), maxLockout)
	e.locks++
	e.lockedUntil = now.Add(period)
	return true
}

// succeed forgets the name's failures.
func (l *lockouts) succeed(name string) {
	if l.threshold <= 0 {
		return
	}
	l.mu.Lock()
	delete(l.names, name)
	l.mu.Unlock()
}

// sweep drops the names not locked at now; if all are locked, those whose
// lock ends first are kept anyway (the table stays bounded by the
// attackers' rate, which the per-address budget bounds).
func (l *lockouts) sweep(now time.Time) {
	for k, e := range l.names {
		if !now.Before(e.lockedUntil) {
			delete(l.names, k)
		}
	}
}

// hashing bounds the bcrypt comparisons running at once (each costs tens
// of milliseconds of one core).
type hashing struct{ slots chan struct{} }

func newHashing() *hashing {
	return &hashing{slots: make(chan struct{}, max(2, runtime.GOMAXPROCS(0)))}
}

// compare checks password against hash (against a hash of no password
// anyone knows when hash is nil: an unknown user costs what a wrong
// password costs), waiting for a free slot.
func (h *hashing) compare(ctx context.Context, hash []byte, password string) (bool, error) {
	wait := time.NewTimer(hashWaitMax)
	defer wait.Stop()
	select {
	case h.slots <- struct{}{}:
	case <-ctx.Done():
		return false, &openatp.Error{Kind: openatp.Canceled, Message: "sign-in canceled", Err: ctx.Err()}
	case <-wait.C:
		return false, oauthErr(http.StatusServiceUnavailable, "temporarily_unavailable", 90055,
			"Too many sign-ins are being checked at once. Retry in a few seconds.")
	}
	defer func() { <-h.slots }()
	if len(hash) == 0 {
		hash = dummyHash()
		_ = bcrypt.CompareHashAndPassword(hash, []byte(password))
		return false, nil
	}
	return pwhash.Check(hash, password), nil
}

// dummyHash is a bcrypt hash, at the cost pwhash.Hash uses, of a random
// password nobody knows.
var dummyHash = sync.OnceValue(func() []byte {
	var pw [18]byte
	_, _ = rand.Read(pw[:])
	h, err := pwhash.Hash(b64(pw[:]))
	if err != nil {
		panic(err) // bcrypt fails only for passwords over 72 bytes
	}
	return h
})
