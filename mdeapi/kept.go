package mdeapi

import (
	"context"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/httpserve"
	"github.com/openatp/openatp/internal/answercache"
	"github.com/openatp/openatp/readmodel"
)

// Kept answers (internal/answercache): the reads answered from the read
// model keep their encoded answer, by a key of everything of the request
// that decides it, and the dependencies read from the view it was built
// from. Authentication, permissions, the rate limit, the query's
// validation and the view's freshness check run on every request before
// the cache is asked; only the encoding is saved.

// answerKey is the key of r's answer for a caller of tenant with access
// (nil: the whole tenant): the tenant, the base URL the answer's links
// name, the path and the query as sent (the next link repeats the query
// byte for byte, so it is not normalized), the device groups the caller
// may see ("all", or their ids in order), and who (what else decides the
// answer, for DataKept; "" for this package's answers).
func answerKey(r *http.Request, tenant string, access *openatp.Access, who string) string {
	scheme, host := httpserve.BaseOf(r)
	var b strings.Builder
	b.Grow(len(tenant) + len(scheme) + len(host) + len(r.URL.Path) + len(r.URL.RawQuery) + len(who) + 16)
	b.WriteString(tenant)
	b.WriteByte(0)
	b.WriteString(scheme)
	b.WriteString(host)
	b.WriteByte(0)
	b.WriteString(r.URL.EscapedPath())
	b.WriteByte('?')
	b.WriteString(r.URL.RawQuery)
	b.WriteByte(0)
	if access == nil || access.AllGroups {
		b.WriteString("all")
		if who != "" {
			b.WriteByte(0)
			b.WriteString(who)
		}
		return b.String()
	}
	ids := make([]int64, 0, len(access.Groups))
	for id, ok := range access.Groups {
		if ok {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		b.WriteString(strconv.FormatInt(id, 10))
		b.WriteByte(',')
	}
	if who != "" {
		b.WriteByte(0)
		b.WriteString(who)
	}
	return b.String()
}

// versionOf is the version of view: its epoch and content version. Two
// views at one version hold the same data, so an answer built from one is
// the other's.
func versionOf(view *readmodel.View) answercache.Version {
	e, c := view.Version()
	return answercache.Version{e, c}
}

// viewDeps are the dependencies of an answer built from the whole of a
// view (a page of machines, a poll of alerts): its version. Any change to
// the tenant makes it stale.
func viewDeps(view *readmodel.View) func() []uint64 {
	return func() []uint64 { v := versionOf(view); return v[:] }
}

// machineDeps are the dependencies of an answer built from the machines
// list in a view, found by a lookup that the request repeats (a user's
// machines, a machine by id or name): the view's epoch, then each slot
// and its stamp. A change to another machine leaves it as it is. (Not a
// closure: one that kept's caller builds inline stays on its stack.)
func machineDeps(view *readmodel.View, list []uint32) []uint64 {
	e, _ := view.Version()
	deps := make([]uint64, 0, 1+2*len(list))
	deps = append(deps, e)
	for _, s := range list {
		deps = append(deps, uint64(s), view.MachineStamp(s))
	}
	return deps
}

// kept writes the answer of r kept under its key (see answerKey) if it is
// valid for view (at its version, or with the dependencies deps returns),
// or builds it with write and keeps it. An error of write (before it
// wrote anything: the adapter writes the error body) is returned, and
// nothing is kept.
func kept(cache *answercache.Cache, w http.ResponseWriter, r *http.Request, tenant string, access *openatp.Access, view *readmodel.View,
	deps func() []uint64, write func(http.ResponseWriter) error) error {
	return keptIf(cache, w, r, tenant, access, view, deps, write, false)
}

// keptOnSecond is kept for an answer a client seldom asks twice (an alert
// poll names a new time each time): its answer is kept only when its key
// was asked before (answercache.Cache.Admit), so a poll of a new time is
// written without a copy kept.
func keptOnSecond(cache *answercache.Cache, w http.ResponseWriter, r *http.Request, tenant string, access *openatp.Access, view *readmodel.View,
	deps func() []uint64, write func(http.ResponseWriter) error) error {
	return keptIf(cache, w, r, tenant, access, view, deps, write, true)
}

func keptIf(cache *answercache.Cache, w http.ResponseWriter, r *http.Request, tenant string, access *openatp.Access, view *readmodel.View,
	deps func() []uint64, write func(http.ResponseWriter) error, second bool) error {
	if cache == nil {
		return write(w)
	}
	key, version := answerKey(r, tenant, access, ""), versionOf(view)
	var d []uint64
	once := func() []uint64 {
		if d == nil {
			d = deps()
		}
		return d
	}
	if cache.Serve(w, key, version, once) {
		return nil
	}
	if second && !cache.Admit(key) {
		return write(w)
	}
	rec := cache.Record(w, key, version, once())
	if err := write(rec); err != nil {
		return err
	}
	rec.Done()
	return nil
}

// DataKept is the kept answer of a read of the family packages, built
// from the store (not only from the read model: indicators, events), at
// the store's data version: valid at that version and no other (its
// dependencies are the version itself: any write, of any tenant, makes it
// stale), and until the time Done is given. The zero DataKept keeps
// nothing.
type DataKept struct {
	cache   *answercache.Cache
	key     string
	version answercache.Version
	rec     *answercache.Recorder
}

// DataVersion returns the model's data version, read now, and false
// when the model is disabled or cannot say it (then nothing is kept).
func DataVersion(ctx context.Context, model *readmodel.Model) (uint64, bool) {
	if model == nil || model.Disabled() {
		return 0, false
	}
	dv, err := model.DataVersion(ctx)
	return dv, err == nil
}

// KeepAt returns the DataKept of r at data version dv (DataVersion, read
// before anything the answer is built from) for a caller of tenant with
// access (see answerKey), who naming anything else that decides the
// answer. A nil cache keeps nothing.
func KeepAt(cache *answercache.Cache, r *http.Request, tenant string, access *openatp.Access, who string, dv uint64) DataKept {
	if cache == nil {
		return DataKept{}
	}
	return DataKept{cache: cache, key: answerKey(r, tenant, access, who), version: answercache.Version{dv, 0}}
}

func (k *DataKept) deps() []uint64 { return k.version[:1] }

// Serve writes the kept answer if it is valid at now, and reports whether
// it did.
func (k *DataKept) Serve(w http.ResponseWriter, now time.Time) bool {
	return k.key != "" && k.cache.ServeAt(w, k.key, k.version, now.UnixNano(), k.deps)
}

// Writer returns the writer of the answer to build: w, or one that keeps
// a copy for Done.
func (k *DataKept) Writer(w http.ResponseWriter) http.ResponseWriter {
	if k.key == "" {
		return w
	}
	k.rec = k.cache.Record(w, k.key, k.version, k.deps())
	return k.rec
}

// Done keeps the answer written to Writer (if a 200 written whole), valid
// until until: the first time an item it lists expires (zero: none does;
// one past the year 2262 does not bound it).
func (k *DataKept) Done(until time.Time) {
	if k.rec == nil {
		return
	}
	if !until.IsZero() && until.Before(maxUnixNano) {
		k.rec.Until(until.UnixNano())
	}
	k.rec.Done()
}

// maxUnixNano is the last time UnixNano holds.
var maxUnixNano = time.Unix(0, math.MaxInt64)
