// Package ratelimit counts calls against rolling-window limits: the
// Defender for Endpoint API allows an application 100 calls a minute and
// 1,500 an hour per endpoint. Memory counts in this process; package redis
// counts in a Redis shared by several replicas. Both pass the suite in
// ratelimittest.
package ratelimit

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Counter decides whether one more call under key may proceed, and records
// it if so. A refused call records nothing; retryAfter is then how long until
// a call would be accepted (always > 0). Errors are the store's (Redis
// unreachable with no fallback); a refusal is not an error.
type Counter interface {
	Allow(ctx context.Context, key string) (ok bool, retryAfter time.Duration, err error)
}

// WindowCounter is a Counter that also says which window of its policy
// refused a call: the one whose wait is the longest (retryAfter), the
// first of them if several wait as long. A limit whose answer names its
// window (the hunting quotas: "maximum allowed 45 per 00:01:00") counts
// every window in one Allow, so that a call refused by one window counts
// against none. Memory and package redis's Counter implement it.
type WindowCounter interface {
	Counter
	// AllowWindow is Allow; window is the policy index of the window that
	// refused the call (0 for an accepted one).
	AllowWindow(ctx context.Context, key string) (ok bool, retryAfter time.Duration, window int, err error)
}

// Window is one rolling limit: at no instant do more than Limit accepted
// calls lie inside any span of length Every.
type Window struct {
	Limit int
	Every time.Duration
}

// Policy is the set of windows a call must fit in. The empty policy allows
// everything.
type Policy []Window

// Service is the documented limit of the Defender for Endpoint API: 100
// calls per rolling minute and 1,500 per rolling hour.
var Service = Policy{{Limit: 100, Every: time.Minute}, {Limit: 1500, Every: time.Hour}}

// Endpoints are the limits of the endpoints that have documented limits
// of their own, tighter than Service, by the API's endpoint names: POST
// /api/alerts/batchUpdate allows 10 calls a minute and 500 an hour, POST
// /api/alerts/CreateAlertByReference 15 a minute (mde-reference §11.1),
// POST /api/machines/{id}/runliveresponse 10 a minute (§12.3.1.2), GET
// /api/machineactions/{id}/getPackageUri 2 a minute and 120 an hour
// (§12.3.1.3), POST /api/indicators/import and BatchDelete 30 a minute
// (§12.3.2.2). The family's limit (Service) counts as well (spec §8): a
// call must fit both, so CreateAlertByReference and runliveresponse also
// allow at most 1,500 calls an hour.
var Endpoints = map[string]Policy{
	"alerts/batchUpdate":            Both(Service, Policy{{Limit: 10, Every: time.Minute}, {Limit: 500, Every: time.Hour}}),
	"alerts/CreateAlertByReference": Both(Service, Policy{{Limit: 15, Every: time.Minute}}),
	"machines/runliveresponse":      Both(Service, Policy{{Limit: 10, Every: time.Minute}}),
	"machineactions/getPackageUri":  Both(Service, Policy{{Limit: 2, Every: time.Minute}, {Limit: 120, Every: time.Hour}}),
	"indicators/import":             Both(Service, Policy{{Limit: 30, Every: time.Minute}}),
	"indicators/BatchDelete":        Both(Service, Policy{{Limit: 30, Every: time.Minute}}),
	// TVM (§12.3.3): a machine's vulnerabilities 50 a minute; the
	// by-machine assessments 30 a minute and 1,000 an hour; their export
	// via files 5 a minute and 20 an hour, as their pages document.
	"machines/vulnerabilities":                         Both(Service, Policy{{Limit: 50, Every: time.Minute}}),
	"machines/SoftwareVulnerabilitiesByMachine":        Both(Service, assessment),
	"machines/SoftwareVulnerabilityChangesByMachine":   Both(Service, assessment),
	"machines/SoftwareInventoryByMachine":              Both(Service, assessment),
	"machines/SoftwareVulnerabilitiesExport":           Both(Service, exportFiles),
	"machines/SoftwareInventoryExport":                 Both(Service, exportFiles),
	"machines/SoftwareInventoryNoProductCodeByMachine": Both(Service, assessment),
	"machines/SoftwareInventoryNonCpeExport":           Both(Service, exportFiles),
}

// The limits of the TVM by-machine assessments and of their export.
var (
	assessment  = Policy{{Limit: 30, Every: time.Minute}, {Limit: 1000, Every: time.Hour}}
	exportFiles = Policy{{Limit: 5, Every: time.Minute}, {Limit: 20, Every: time.Hour}}
)

// Both returns the policy that a call fits when it fits both p and q:
// their windows, less each window that another one implies (one at least
// as long with a limit at most as high), ordered by length.
func Both(p, q Policy) Policy {
	all := append(slices.Clone(p), q...)
	var out Policy
	for i, w := range all {
		implied := false
		for j, v := range all {
			if j != i && v.Every >= w.Every && v.Limit <= w.Limit && (v != w || j < i) {
				implied = true
				break
			}
		}
		if !implied {
			out = append(out, w)
		}
	}
	slices.SortFunc(out, func(a, b Window) int { return cmp.Compare(a.Every, b.Every) })
	return out
}

// Off returns whether the policy never refuses a call.
func (p Policy) Off() bool { return len(p) == 0 }

// MaxLimit is the largest Limit of the policy's windows.
func (p Policy) MaxLimit() int {
	m := 0
	for _, w := range p {
		m = max(m, w.Limit)
	}
	return m
}

// MaxEvery is the longest window of the policy.
func (p Policy) MaxEvery() time.Duration {
	var m time.Duration
	for _, w := range p {
		m = max(m, w.Every)
	}
	return m
}

// String formats p as ParsePolicy reads it: "off", or "100/min,1500/hour".
func (p Policy) String() string {
	if p.Off() {
		return "off"
	}
	parts := make([]string, len(p))
	for i, w := range p {
		parts[i] = strconv.Itoa(w.Limit) + "/" + formatEvery(w.Every)
	}
	return strings.Join(parts, ",")
}

func formatEvery(d time.Duration) string {
	switch d {
	case time.Second:
		return "sec"
	case time.Minute:
		return "min"
	case time.Hour:
		return "hour"
	case 24 * time.Hour:
		return "day"
	}
	return d.String()
}

var units = map[string]time.Duration{
	"s": time.Second, "sec": time.Second, "second": time.Second,
	"m": time.Minute, "min": time.Minute, "minute": time.Minute,
	"h": time.Hour, "hour": time.Hour,
	"d": 24 * time.Hour, "day": 24 * time.Hour,
}

// ParsePolicy reads a policy: "service" (Service), "off" (no limit), or a
// comma-separated list of LIMIT/WINDOW where WINDOW is sec, min, hour, day
// (also s, m, h, d, second, minute) or a Go duration such as 30s or 90m:
// "20/min,300/hour".
func ParsePolicy(s string) (Policy, error) {
	s = strings.TrimSpace(s)
	switch strings.ToLower(s) {
	case "service", "":
		return slices.Clone(Service), nil
	case "off", "none":
		return Policy{}, nil
	}
	var p Policy
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		n, unit, ok := strings.Cut(part, "/")
		if !ok {
			return nil, fmt.Errorf("rate limit %q: want LIMIT/WINDOW such as 100/min", part)
		}
		limit, err := strconv.Atoi(strings.TrimSpace(n))
		if err != nil || limit < 1 {
			return nil, fmt.Errorf("rate limit %q: the limit must be a whole number of at least 1", part)
		}
		unit = strings.ToLower(strings.TrimSpace(unit))
		every, ok := units[unit]
		if !ok {
			every, err = time.ParseDuration(unit)
			if err != nil || every < time.Millisecond {
				return nil, fmt.Errorf("rate limit %q: the window must be sec, min, hour, day or a duration of at least 1ms such as 30s", part)
			}
		}
		p = append(p, Window{Limit: limit, Every: every})
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return p, nil
}

// maxLimit bounds a window's limit: the in-memory counter keeps one
// timestamp per call of the largest limit for each active key.
const maxLimit = 1 << 20

// Validate reports a window with a limit below 1 or above 1,048,576, or
// a length below a millisecond.
func (p Policy) Validate() error {
	for _, w := range p {
		if w.Limit < 1 || w.Limit > maxLimit {
			return errors.New("rate limit: a limit must be between 1 and 1048576")
		}
		if w.Every < time.Millisecond {
			return errors.New("rate limit: a window must be at least 1ms")
		}
	}
	return nil
}
