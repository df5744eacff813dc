package huntapi

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/httpserve"
	"github.com/openatp/openatp/hunting"
	"github.com/openatp/openatp/ratelimit"
)

// Quota is what each tenant may spend on hunting: calls a minute and an
// hour (every caller of the tenant together, on every form of the route),
// and query run time an hour (the service's CPU quota, counted as the
// time queries ran). The calls are counted by a ratelimit.WindowCounter
// of CallPolicy: in Redis when the server is configured with one, so that
// replicas share each tenant's calls, else in this process. The run time
// is counted in this process. A nil *Quota limits nothing.
type Quota struct {
	calls ratelimit.WindowCounter // nil: calls are not counted
	cpu   time.Duration           // 0: run time is not counted
	now   func() time.Time

	mu   sync.Mutex
	runs map[string][]run // tenant → its runs of the last hour, oldest first
}

// run is a query's run time, counted at its end.
type run struct {
	end time.Time
	d   time.Duration
}

// CallPolicy is the hunting calls' quota of a tenant: hunting.CallsPerMinute
// a minute and hunting.CallsPerHour an hour, in that order.
var CallPolicy = ratelimit.Policy{{Limit: hunting.CallsPerMinute, Every: time.Minute}, {Limit: hunting.CallsPerHour, Every: time.Hour}}

// callKey is the key of a tenant's hunting calls in calls (apart from the
// per-app keys, tenant|client|endpoint, when a Redis holds both).
func callKey(tenant string) string { return "hunting:" + tenant }

// NewQuota returns a quota counting calls with calls, a counter of
// CallPolicy (nil: calls are not counted; ratelimit.NewMemory(CallPolicy,
// now) counts them in this process), and cpu run time an hour when cpu >
// 0; now is its clock (nil: time.Now).
func NewQuota(calls ratelimit.WindowCounter, cpu time.Duration, now func() time.Time) *Quota {
	if now == nil {
		now = time.Now
	}
	return &Quota{calls: calls, cpu: cpu, now: now, runs: map[string][]run{}}
}

// call counts a call of the tenant: nil if it may run, else the 429 of
// the quota reached, with the service's body ("code":"429" and the
// message naming the limit and its window: the one with the longest
// wait) and Retry-After. Both windows are checked and the call recorded
// in one step of the counter: a call refused counts against neither.
func (q *Quota) call(ctx context.Context, tenant string) error {
	if q == nil {
		return nil
	}
	if q.calls != nil {
		ok, retry, window, err := q.calls.AllowWindow(ctx, callKey(tenant))
		if err != nil {
			return err
		}
		if !ok {
			w := CallPolicy[min(max(window, 0), len(CallPolicy)-1)]
			return tooMany(retry, "API calls quota exceeded! maximum allowed %d per %s", w.Limit, clock(w.Every))
		}
	}
	if q.cpu <= 0 {
		return nil
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	used, oldest := q.used(tenant)
	if used >= q.cpu {
		return tooMany(oldest.Add(time.Hour).Sub(q.now()),
			"CPU quota exceeded! maximum allowed %s of query run time per %s", clock(q.cpu), clock(time.Hour))
	}
	return nil
}

// used returns the run time the tenant spent in the last hour and the
// end of its oldest run in it; q.mu is held.
func (q *Quota) used(tenant string) (time.Duration, time.Time) {
	cut := q.now().Add(-time.Hour)
	rs := q.runs[tenant]
	i := 0
	for i < len(rs) && !rs[i].end.After(cut) {
		i++
	}
	rs = rs[i:]
	if len(rs) == 0 {
		delete(q.runs, tenant)
		return 0, time.Time{}
	}
	q.runs[tenant] = rs
	var sum time.Duration
	for _, r := range rs {
		sum += r.d
	}
	return sum, rs[0].end
}

// spend counts a query's run time against the tenant.
func (q *Quota) spend(tenant string, d time.Duration) {
	if q == nil || q.cpu <= 0 {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.runs[tenant] = append(q.runs[tenant], run{end: q.now(), d: d})
}

// tooMany is a 429 whose code is "429", as the hunting API answers.
func tooMany(retry time.Duration, format string, args ...any) error {
	secs := max(int((retry+time.Second-1)/time.Second), 1)
	return httpserve.RetryAfter(secs, openatp.CodedErrorf(openatp.TooManyRequests, "429", format, args...))
}

// clock prints a duration as .NET prints a TimeSpan: hh:mm:ss.
func clock(d time.Duration) string {
	s := int(d / time.Second)
	return fmt.Sprintf("%02d:%02d:%02d", s/3600, s/60%60, s%60)
}
