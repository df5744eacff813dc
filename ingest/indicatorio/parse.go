// Package indicatorio reads and writes custom indicators outside the API
// (issue 24): the indicator JSON the API takes (ParseSubmission, shared
// with the routes), `openatp import` and the admin API's import of files
// of indicators (JSON as GET /api/indicators answers it or as the import
// route takes it, JSON Lines, CSV: Read, with errors naming the line and
// the property; Import, all or nothing), and the entity's JSON for
// `openatp export` (AppendIndicator, shared with the routes).
package indicatorio

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/openatp/openatp"
)

// submission is the JSON of a submitted indicator. Property names match
// in any case (as the service's do); unknown properties are ignored.
type submission struct {
	ID                 json.RawMessage `json:"id"`
	IndicatorValue     *string         `json:"indicatorValue"`
	IndicatorType      *string         `json:"indicatorType"`
	Action             *string         `json:"action"`
	Application        *string         `json:"application"`
	Title              *string         `json:"title"`
	Description        *string         `json:"description"`
	Severity           *string         `json:"severity"`
	RecommendedActions *string         `json:"recommendedActions"`
	ExpirationTime     *string         `json:"expirationTime"`
	RBACGroupNames     json.RawMessage `json:"rbacGroupNames"`
	GenerateAlert      json.RawMessage `json:"generateAlert"`
	EducateURL         *string         `json:"educateUrl"`
	ExternalID         *string         `json:"externalId"`
}

// BadBody is the 400 of a body that is not the JSON expected.
func BadBody(what string) error {
	return openatp.CodedErrorf(openatp.Invalid, "InvalidRequestBody", "The request body is not %s.", what)
}

// ParseSubmission reads one indicator's JSON (an object) as the API
// takes it (POST /api/indicators, an item of an import): Invalid naming
// the property for a value of the wrong type or that Normalize refuses.
func ParseSubmission(raw []byte) (openatp.Indicator, error) {
	var s submission
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '{' {
		return openatp.Indicator{}, BadBody("a JSON object")
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return openatp.Indicator{}, openatp.InvalidField(te.Field, "must be %s", jsonKind(te.Type.Kind().String()))
		}
		return openatp.Indicator{}, BadBody("a JSON object")
	}
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	in := openatp.Indicator{IndicatorValue: str(s.IndicatorValue), IndicatorType: str(s.IndicatorType), Action: str(s.Action),
		Application: s.Application, Title: str(s.Title), Description: str(s.Description), Severity: str(s.Severity),
		RecommendedActions: s.RecommendedActions, EducateURL: s.EducateURL, ExternalID: s.ExternalID}
	if id := bytes.TrimSpace(s.ID); len(id) > 0 && string(id) != "null" {
		var v string
		if err := json.Unmarshal(id, &v); err != nil {
			v = string(id) // a number
		}
		if v != "" && !openatp.ValidIndicatorID(v) {
			return in, openatp.InvalidField("id", "%q is not an indicator id", openatp.Clip(v, 64))
		}
		in.ID = v
	}
	if s.ExpirationTime != nil && *s.ExpirationTime != "" {
		t, err := ParseTime(*s.ExpirationTime)
		if err != nil {
			return in, openatp.InvalidField("expirationTime", "%q is not a date and time (such as 2030-12-12T00:00:00Z)", openatp.Clip(*s.ExpirationTime, 64))
		}
		in.ExpirationTime = &t
	}
	if g := bytes.TrimSpace(s.GenerateAlert); len(g) > 0 && string(g) != "null" {
		var b bool
		var text string
		switch {
		case json.Unmarshal(g, &b) == nil:
		case json.Unmarshal(g, &text) == nil && (strings.EqualFold(text, "true") || strings.EqualFold(text, "false")):
			b = strings.EqualFold(text, "true")
		default:
			return in, openatp.InvalidField("generateAlert", "must be true or false")
		}
		in.GenerateAlert = b
	}
	if g := bytes.TrimSpace(s.RBACGroupNames); len(g) > 0 && string(g) != "null" {
		var list []string
		var text string
		switch {
		case json.Unmarshal(g, &list) == nil:
			in.RBACGroupNames = list
		case json.Unmarshal(g, &text) == nil:
			in.RBACGroupNames = openatp.SplitGroupNames(text)
		default:
			return in, openatp.InvalidField("rbacGroupNames", "must be an array of device group names or a comma-separated string")
		}
	}
	return in, in.Normalize()
}

// jsonKind names a Go kind as a JSON type.
func jsonKind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice":
		return "an array"
	}
	return "a " + k
}

// ParseTime reads a DateTimeOffset: RFC 3339, or a date and time (or a
// date) without offset, taken as UTC.
func ParseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC().Round(openatp.TimePrecision), nil
		}
	}
	return time.Time{}, errors.New("not a time")
}
