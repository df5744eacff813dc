package responseapi

import (
	"bytes"
	"context"
	"encoding/hex"
	"math"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/mdeapi"
	"github.com/openatp/openatp/odata"
)

// The poll of a SOAR tool, GET /api/machineactions?$filter=
// lastUpdateDateTimeUtc gt <the greatest seen>&$top=100, is answered from
// memory: an actionIndex keeps, for each tenant polled, the JSON of every
// stored action (as appendAction writes it) ordered by its stamp, in
// chunks outside the Go heap, and finds a page by binary search.
//
// It stays exact the way the read model does: before each answer it asks
// the store's DataVersion, and when a write has been committed since, it
// reads the actions stamped after the greatest stamp it holds (the store's
// action clock stamps every create and update after every stamp before it,
// and commits them in that order), then the store's MachineActionEpoch; a
// change of epoch (PutMachineActions, which stores older stamps, a reset,
// the tenant deleted and created again) makes it read the tenant's actions
// again. An updated action leaves its former JSON dead in the chunks until
// the dead outweigh the live and the list is copied afresh.

// actionIndex is the tenants' action lists. Its methods are safe for
// concurrent use.
type actionIndex struct {
	store openatp.Store

	mu    sync.Mutex
	lists map[string]*actionList
}

// newActionIndex returns the index of store's actions.
func newActionIndex(store openatp.Store) *actionIndex {
	return &actionIndex{store: store, lists: map[string]*actionList{}}
}

// actionList is one tenant's actions.
type actionList struct {
	refresh sync.Mutex // held by the one refresh at a time; guards what follows rw

	rw      sync.RWMutex // readers of items and chunks hold it shared
	items   []actionItem // by stamp, dead ones too
	chunks  [][]byte
	version uint64 // the store's DataVersion the list is exact for
	exact   bool

	epoch openatp.ActionEpoch
	last  int64 // the greatest stamp read
	byID  map[[16]byte]int32
	dead  int
	// machines are the machines of the items, numbered by machineNo.
	machines  [][20]byte
	machineNo map[[20]byte]uint32
}

// actionItem is one action of a list: its stamp, its machine and where its
// JSON is (packed: packAction).
type actionItem struct {
	stamp   int64
	chunk   uint32
	off     uint32
	n       uint32
	machine uint32 // in the list's machines
	dead    bool   // the action was updated since: a later item holds it
}

const actionChunkSize = 1 << 20

// actionPageSize is how many actions a refresh reads from the store at a
// time.
const actionPageSize = 4096

// list returns the tenant's list, exact for the store's current
// DataVersion, with its read lock held: the caller calls rw.RUnlock.
func (x *actionIndex) list(ctx context.Context, tenantID string) (*actionList, error) {
	x.mu.Lock()
	l := x.lists[tenantID]
	if l == nil {
		l = &actionList{byID: map[[16]byte]int32{}, machineNo: map[[20]byte]uint32{}}
		x.lists[tenantID] = l
	}
	x.mu.Unlock()
	v, err := x.store.DataVersion(ctx)
	if err != nil {
		return nil, err
	}
	l.rw.RLock()
	if l.exact && l.version == v {
		return l, nil
	}
	l.rw.RUnlock()
	l.refresh.Lock()
	defer l.refresh.Unlock()
	l.rw.RLock()
	fresh := l.exact && l.version == v
	l.rw.RUnlock()
	if !fresh {
		if err := x.refresh(ctx, tenantID, l, v); err != nil {
			return nil, err
		}
	}
	l.rw.RLock()
	return l, nil
}

// refresh brings l up to date, as of DataVersion v or later, while
// l.refresh is held.
func (x *actionIndex) refresh(ctx context.Context, tenantID string, l *actionList, v uint64) error {
	for {
		e0, err := x.store.MachineActionEpoch(ctx, tenantID)
		if err != nil {
			return err
		}
		full := !l.exact || e0 != l.epoch
		next := l
		if full {
			next = &actionList{byID: map[[16]byte]int32{}, last: math.MinInt64, machineNo: map[[20]byte]uint32{}}
		}
		// Read what was stamped after the last stamp read, a page at a
		// time (the pages are read in turn: an action updated meanwhile
		// comes again, later, and replaces itself).
		for {
			f := openatp.MachineActionFilter{Top: actionPageSize}
			if next.last != math.MinInt64 {
				after := time.Unix(0, next.last)
				f.Updated.After = &after
			}
			as, err := x.store.MachineActions(ctx, tenantID, f)
			if err != nil {
				return err
			}
			if err := next.apply(as, next != l); err != nil {
				return err
			}
			if len(as) < actionPageSize {
				break
			}
		}
		e1, err := x.store.MachineActionEpoch(ctx, tenantID)
		if err != nil {
			return err
		}
		if e1 != e0 {
			continue // read it all again
		}
		next.compact(next != l)
		l.rw.Lock()
		old := l.chunks
		if next != l {
			l.items, l.chunks, l.byID, l.dead, l.last = slices.Clip(next.items), next.chunks, next.byID, next.dead, next.last
			l.machines, l.machineNo = next.machines, next.machineNo
		}
		l.epoch, l.version, l.exact = e1, v, true
		l.rw.Unlock()
		if next != l {
			freeActionChunks(old)
		}
		return nil
	}
}

// apply adds the actions as (read by stamp, after l.last) to l; own says
// that no reader sees l yet, else it takes l's write lock.
func (l *actionList) apply(as []openatp.MachineAction, own bool) error {
	if len(as) == 0 {
		return nil
	}
	if !own {
		l.rw.Lock()
		defer l.rw.Unlock()
	}
	var buf, packed []byte
	for i := range as {
		a := &as[i]
		id, err := actionKey(a.ID)
		if err != nil {
			return err
		}
		var m [20]byte
		if _, err := hex.Decode(m[:], []byte(a.MachineID)); err != nil {
			return openatp.Errorf(openatp.Internal, "machine action %s: bad machine id %q", a.ID, a.MachineID)
		}
		mn, ok := l.machineNo[m]
		if !ok {
			mn = uint32(len(l.machines))
			l.machines = append(l.machines, m)
			l.machineNo[m] = mn
		}
		buf = appendAction(buf[:0], a)
		packed = packAction(packed[:0], buf)
		buf = packed
		it := actionItem{stamp: a.LastUpdateDateTimeUTC.UnixNano(), n: uint32(len(buf)), machine: mn}
		if len(l.chunks) == 0 || len(l.chunks[len(l.chunks)-1])+len(buf) > cap(l.chunks[len(l.chunks)-1]) {
			c, err := allocActionChunk(max(actionChunkSize, len(buf)))
			if err != nil {
				return openatp.Errorf(openatp.Internal, "cannot map memory for the machine actions: %v", err)
			}
			l.chunks = append(l.chunks, c[:0])
		}
		c := &l.chunks[len(l.chunks)-1]
		it.chunk, it.off = uint32(len(l.chunks)-1), uint32(len(*c))
		*c = append(*c, buf...)
		if j, ok := l.byID[id]; ok {
			l.items[j].dead = true
			l.dead++
		}
		l.byID[id] = int32(len(l.items))
		l.items = append(l.items, it)
		l.last = it.stamp
	}
	return nil
}

// compact copies the live items into fresh chunks once the dead outweigh
// them; own as for apply (the caller frees the former chunks of a list
// it owns not: only a list that no reader sees is compacted in place).
func (l *actionList) compact(own bool) {
	if l.dead < 1024 || l.dead < len(l.items)-l.dead {
		return
	}
	if !own {
		l.rw.Lock()
		defer l.rw.Unlock()
	}
	fresh := &actionList{byID: make(map[[16]byte]int32, len(l.items)-l.dead), items: make([]actionItem, 0, len(l.items)-l.dead)}
	for i := range l.items {
		it := l.items[i]
		if it.dead {
			continue
		}
		b := l.json(&it)
		if len(fresh.chunks) == 0 || len(fresh.chunks[len(fresh.chunks)-1])+len(b) > cap(fresh.chunks[len(fresh.chunks)-1]) {
			c, err := allocActionChunk(max(actionChunkSize, len(b)))
			if err != nil {
				freeActionChunks(fresh.chunks)
				return // keep the dead
			}
			fresh.chunks = append(fresh.chunks, c[:0])
		}
		c := &fresh.chunks[len(fresh.chunks)-1]
		it.chunk, it.off = uint32(len(fresh.chunks)-1), uint32(len(*c))
		*c = append(*c, b...)
		fresh.items = append(fresh.items, it)
	}
	for id, j := range l.byID {
		if !l.items[j].dead {
			fresh.byID[id] = int32(sort.Search(len(fresh.items), func(k int) bool { return fresh.items[k].stamp >= l.items[j].stamp }))
		}
	}
	old := l.chunks
	l.items, l.chunks, l.byID, l.dead = fresh.items, fresh.chunks, fresh.byID, 0
	freeActionChunks(old)
}

// json returns the packed JSON of item it (unpackAction).
func (l *actionList) json(it *actionItem) []byte {
	return l.chunks[it.chunk][it.off : it.off+it.n : it.off+it.n]
}

// actionKey is an action id (a GUID) as a map key.
func actionKey(id string) ([16]byte, error) {
	var k [16]byte
	h := strings.ReplaceAll(id, "-", "")
	if len(h) != 32 {
		return k, openatp.Errorf(openatp.Internal, "machine action id %q is not a GUID", id)
	}
	if _, err := hex.Decode(k[:], []byte(h)); err != nil {
		return k, openatp.Errorf(openatp.Internal, "machine action id %q is not a GUID", id)
	}
	return k, nil
}

// servable reports whether the index answers query q: a filter on
// lastUpdateDateTimeUtc alone (comparisons with dates, and-ed), or none;
// the order of the stamps (the default) or its reverse.
func servable(q *odata.Query) bool {
	if q.Filter != nil && !q.Filter.OnlyTimeRangeOn(maLastUpdate) {
		return false
	}
	return len(q.OrderBy) == 0 || (len(q.OrderBy) == 1 && q.OrderBy[0].Prop == maLastUpdate)
}

// writePage answers a servable query q from the tenant's list, as
// mdeapi.WriteList would: the actions in the filter's time range that see (nil:
// every one) keeps, by stamp, the page $skip and $top ask for.
func (x *actionIndex) writePage(w http.ResponseWriter, r *http.Request, tenantID string, q *odata.Query, see func(machineID string) bool) error {
	lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
	if q.Filter != nil {
		lo, hi, _ = q.Filter.TimeRange(maLastUpdate)
	}
	desc := len(q.OrderBy) == 1 && q.OrderBy[0].Desc
	top := mdeapi.MaxPage
	if q.Top >= 0 {
		top = q.Top
	} else if q.PageSize > 0 {
		top = q.PageSize
	}
	l, err := x.list(r.Context(), tenantID)
	if err != nil {
		return err
	}
	released := false
	defer func() {
		if !released {
			l.rw.RUnlock()
		}
	}()
	items := l.items
	from := sort.Search(len(items), func(i int) bool { return items[i].stamp >= lo })
	to := sort.Search(len(items), func(i int) bool { return items[i].stamp > hi })
	var hexID [40]byte
	keep := func(i int) bool {
		it := &items[i]
		if it.dead {
			return false
		}
		if see == nil {
			return true
		}
		hex.Encode(hexID[:], l.machines[it.machine][:])
		return see(string(hexID[:]))
	}
	// The matches in order: i from `from` up, or from `to` down.
	i, step := from, 1
	if desc {
		i, step = to-1, -1
	}
	in := func(i int) bool { return i >= from && i < to }
	skipped := 0
	for ; in(i) && skipped < q.Skip; i += step {
		if keep(i) {
			skipped++
		}
	}
	page := make([]int, 0, min(top, 256))
	for ; in(i) && len(page) < top; i += step {
		if keep(i) {
			page = append(page, i)
		}
	}
	more := false
	for ; in(i) && !more; i += step {
		more = keep(i)
	}
	total := 0
	if q.Count {
		for j := from; j < to; j++ {
			if keep(j) {
				total++
			}
		}
	}
	next := ""
	if more && top > 0 {
		next = mdeapi.NextLink(r, "$skip", strconv.Itoa(q.Skip+len(page)))
	}
	size := 256
	for _, j := range page {
		size += int(items[j].n)*3/2 + 1
	}
	// The page is copied out, so that the client's pace does not hold the
	// list (a refresh waits for every reader), into a buffer of a pool:
	// a fresh one of a poll's size (about 64 KiB) cost more to clear
	// and collect than to fill.
	pb := actionBuffers.Get().(*[]byte)
	b, end := mdeapi.OpenCollection((*pb)[:0], r, "MachineActions", q.Count, total, next)
	b = slices.Grow(b, size)
	for k, j := range page {
		if k > 0 {
			b = append(b, ',')
		}
		b = unpackAction(b, l.json(&items[j]))
	}
	l.rw.RUnlock()
	released = true
	b = append(b, end...)
	mdeapi.WriteOData(w, b)
	if cap(b) <= maxPooledBuffer {
		*pb = b
		actionBuffers.Put(pb)
	}
	return nil
}

// actionBuffers are the buffers of writePage; those over maxPooledBuffer
// (pages of thousands of actions) are left to the collector.
var actionBuffers = sync.Pool{New: func() any { return new([]byte) }}

const maxPooledBuffer = 1 << 20

// actionPieces are runs of an action's JSON (appendAction) that most
// actions have, each kept as a byte in a list (packAction): a third of the
// bytes of a typical action, so of the memory 100,000 actions take.
var actionPieces = []string{
	`,"title":null,"requestor":`,
	`,"cancellationRequestor":null,"cancellationComment":null,"cancellationDateTimeUtc":null,"errorHResult":0,"scope":`,
	`,"scope":null,"externalId":null,"requestSource":"PublicApi","relatedFileInfo":null,"commands":[],"troubleshootInfo":null}`,
	`,"externalId":null,"requestSource":"PublicApi","relatedFileInfo":null,"commands":[],"troubleshootInfo":null}`,
}

// packAction appends to dst the JSON js of an action with the first of
// each of actionPieces that it holds, in their order, cut out: a count,
// then where each was (2 bytes, little-endian) and which (1 byte), then
// the bytes left. JSON too long for 2-byte offsets is kept whole (count 0).
func packAction(dst, js []byte) []byte {
	if len(js) > math.MaxUint16 {
		return append(append(dst, 0), js...)
	}
	var marks [3 * 4]byte
	var tmp [1024]byte
	data, rest, n := tmp[:0], js, 0
	for id, p := range actionPieceBytes {
		j := bytes.Index(rest, p)
		if j < 0 {
			continue
		}
		data = append(data, rest[:j]...)
		marks[3*n], marks[3*n+1], marks[3*n+2] = byte(len(data)), byte(len(data)>>8), byte(id)
		n++
		rest = rest[j+len(p):]
	}
	dst = append(append(dst, byte(n)), marks[:3*n]...)
	return append(append(dst, data...), rest...)
}

var actionPieceBytes = func() [][]byte {
	if len(actionPieces) > 4 {
		panic("packAction keeps at most 4 pieces")
	}
	bs := make([][]byte, len(actionPieces))
	for i, p := range actionPieces {
		bs[i] = []byte(p)
	}
	return bs
}()

// unpackAction appends the JSON of an action packed by packAction.
func unpackAction(b, packed []byte) []byte {
	n := int(packed[0])
	marks, data := packed[1:1+3*n], packed[1+3*n:]
	prev := 0
	for k := 0; k < n; k++ {
		pos := int(marks[3*k]) | int(marks[3*k+1])<<8
		b = append(b, data[prev:pos]...)
		b = append(b, actionPieces[marks[3*k+2]]...)
		prev = pos
	}
	return append(b, data[prev:]...)
}
