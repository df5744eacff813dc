package openatp

import (
	"context"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/openatp/openatp/observable"
)

// Custom indicators (issue 24, mde-reference §12.3.2): file hashes,
// certificates, IP addresses, domains and URLs that a tenant allows,
// audits, warns about or blocks. An indicator is active until its
// expirationTime; an expired one is no longer listed nor found (computed
// when read, against the clock: nothing sweeps them).

// The permissions of the indicator routes.
const (
	PermTiReadWrite    = "Ti.ReadWrite"     // application: the indicators it created; delegated: the tenant's
	PermTiReadWriteAll = "Ti.ReadWrite.All" // application: every indicator of the tenant
)

// The indicator types.
const (
	IndicatorFileSha1              = "FileSha1"
	IndicatorFileSha256            = "FileSha256"
	IndicatorFileMd5               = "FileMd5"
	IndicatorCertificateThumbprint = "CertificateThumbprint"
	IndicatorIPAddress             = "IpAddress"
	IndicatorDomainName            = "DomainName"
	IndicatorURL                   = "Url"
)

// The limits of indicators.
const (
	// MaxActiveIndicators is the number of active indicators a tenant may
	// have (mde-reference §12.3.2: raised from 5,000 to 15,000).
	MaxActiveIndicators = 15_000
	// MaxIndicatorBatch bounds an import and a BatchDelete.
	MaxIndicatorBatch = 500
	// maxIndicatorText bounds title, description, recommendedActions and
	// the other free texts, in bytes.
	maxIndicatorText = 4096
	// maxIndicatorURL bounds a Url indicator's value and an educateUrl.
	maxIndicatorURL = observable.MaxURL
	// maxIndicatorGroups bounds rbacGroupNames.
	maxIndicatorGroups = 200
)

// The source types of an indicator: created through the API by an
// application, or by a user.
const (
	IndicatorSourceApp  = "AadApp"
	IndicatorSourceUser = "User"
)

var (
	// IndicatorTypes are the values of Indicator.IndicatorType.
	IndicatorTypes = []string{IndicatorFileSha1, IndicatorFileSha256, IndicatorFileMd5, IndicatorCertificateThumbprint,
		IndicatorIPAddress, IndicatorDomainName, IndicatorURL}
	// IndicatorActions are the values of Indicator.Action (Alert and
	// AlertAndBlock are documented as retired but still sent by clients).
	IndicatorActions = []string{"Warn", "Block", "Audit", "Alert", "AlertAndBlock", "BlockAndRemediate", "Allowed"}
	// IndicatorSeverities are the values of Indicator.Severity, lowest first.
	IndicatorSeverities = []string{"Informational", "Low", "Medium", "High"}
	// IndicatorSourceTypes are the values of Indicator.SourceType.
	IndicatorSourceTypes = []string{IndicatorSourceApp, IndicatorSourceUser}
)

// Indicator is a custom indicator of compromise (the ti-indicator entity).
type Indicator struct {
	ID                   string // a number, given by the store
	IndicatorValue       string
	IndicatorType        string // one of IndicatorTypes
	Action               string // one of IndicatorActions
	Application          *string
	Source               string // the creator's name
	SourceType           string // one of IndicatorSourceTypes
	Severity             string // one of IndicatorSeverities
	Title                string
	Description          string
	RecommendedActions   *string
	ExternalID           *string
	EducateURL           *string
	CreatedBy            string // the creating application's client id, or user's name
	CreatedBySource      string
	CreatedByDisplayName string
	LastUpdatedBy        string
	CreationTime         time.Time // creationTimeDateTimeUtc
	LastUpdateTime       time.Time
	ExpirationTime       *time.Time
	RBACGroupNames       []string // device groups where it applies; none: every device
	RBACGroupIDs         []int64  // their ids, in the order of the names
	GenerateAlert        bool
}

// Active reports whether the indicator has not expired at now.
func (in *Indicator) Active(now time.Time) bool {
	return in.ExpirationTime == nil || in.ExpirationTime.After(now)
}

// Normalize checks an indicator as submitted (value, type, action,
// texts, groups) and fills its defaults: severity Informational, the
// value without surrounding spaces. Invalid naming the field otherwise.
func (in *Indicator) Normalize() error {
	if in.IndicatorType == "" {
		return InvalidField("indicatorType", "is required")
	}
	if !slices.Contains(IndicatorTypes, in.IndicatorType) {
		return InvalidField("indicatorType", "%q is not one of %s", clip(in.IndicatorType), strings.Join(IndicatorTypes, ", "))
	}
	in.IndicatorValue = strings.TrimSpace(in.IndicatorValue)
	if in.IndicatorValue == "" {
		return InvalidField("indicatorValue", "is required")
	}
	if err := ValidateIndicatorValue(in.IndicatorType, in.IndicatorValue); err != nil {
		return err
	}
	switch {
	case in.Action == "":
		return InvalidField("action", "is required")
	case !slices.Contains(IndicatorActions, in.Action):
		return InvalidField("action", "%q is not one of %s", clip(in.Action), strings.Join(IndicatorActions, ", "))
	case in.Action == "Audit" && !in.GenerateAlert:
		return InvalidField("generateAlert", "must be true for the Audit action")
	}
	if in.Severity == "" {
		in.Severity = IndicatorSeverities[0]
	} else if !slices.Contains(IndicatorSeverities, in.Severity) {
		return InvalidField("severity", "%q is not one of %s", clip(in.Severity), strings.Join(IndicatorSeverities, ", "))
	}
	for _, f := range []struct {
		name     string
		v        string
		required bool
	}{{"title", in.Title, true}, {"description", in.Description, true}, {"recommendedActions", deref(in.RecommendedActions), false},
		{"application", deref(in.Application), false}, {"externalId", deref(in.ExternalID), false}} {
		if f.required && strings.TrimSpace(f.v) == "" {
			return InvalidField(f.name, "is required")
		}
		if len(f.v) > maxIndicatorText || !utf8.ValidString(f.v) {
			return InvalidField(f.name, "at most %d bytes of UTF-8", maxIndicatorText)
		}
	}
	if in.EducateURL != nil {
		network := in.IndicatorType == IndicatorURL || in.IndicatorType == IndicatorDomainName || in.IndicatorType == IndicatorIPAddress
		if !network || (in.Action != "Block" && in.Action != "Warn") {
			return InvalidField("educateUrl", "only for Url, DomainName and IpAddress indicators with the Block or Warn action")
		}
		if u, err := url.Parse(*in.EducateURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(*in.EducateURL) > maxIndicatorURL {
			return InvalidField("educateUrl", "must be an http or https URL of at most %d bytes", maxIndicatorURL)
		}
	}
	names, err := normalizeGroupNames(in.RBACGroupNames)
	if err != nil {
		return err
	}
	in.RBACGroupNames = names
	return nil
}

// normalizeGroupNames trims the names, drops duplicates (ignoring case)
// and checks each.
func normalizeGroupNames(names []string) ([]string, error) {
	if len(names) > maxIndicatorGroups {
		return nil, InvalidField("rbacGroupNames", "at most %d device groups", maxIndicatorGroups)
	}
	var out []string
	seen := map[string]bool{}
	for _, n := range names {
		n = strings.TrimSpace(n)
		if err := checkName("rbacGroupNames", n, maxRoleOrGroupNameRunes); err != nil {
			return nil, err
		}
		if k := NameKey(n); !seen[k] {
			seen[k] = true
			out = append(out, n)
		}
	}
	return out, nil
}

// SplitGroupNames reads rbacGroupNames sent as one comma-separated string
// (as the documentation's table types it).
func SplitGroupNames(s string) []string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	return strings.Split(s, ",")
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// ValidateIndicatorValue checks that value fits the indicator type typ:
// the hex lengths of the hashes (SHA-1 40, SHA-256 64, MD5 32; a
// certificate thumbprint is a SHA-1, 40), an IPv4 or IPv6 address (no
// CIDR range, no zone), a domain name (ASCII labels, at least two), a URL
// (http or https, or no scheme, with a domain or an address for host).
// Invalid naming indicatorValue otherwise.
func ValidateIndicatorValue(typ, value string) error {
	hex := func(n int, what string) error {
		if !observable.IsHex(value, n) {
			return InvalidField("indicatorValue", "a %s is %d hexadecimal digits", what, n)
		}
		return nil
	}
	switch typ {
	case IndicatorFileSha1:
		return hex(observable.SHA1Len, "SHA-1 hash")
	case IndicatorFileSha256:
		return hex(observable.SHA256Len, "SHA-256 hash")
	case IndicatorFileMd5:
		return hex(observable.MD5Len, "MD5 hash")
	case IndicatorCertificateThumbprint:
		return hex(observable.SHA1Len, "certificate thumbprint (SHA-1)")
	case IndicatorIPAddress:
		if observable.IsRange(value) {
			return InvalidField("indicatorValue", "CIDR ranges are not supported: give one IP address")
		}
		if _, ok := observable.Addr(value); !ok {
			return InvalidField("indicatorValue", "is not an IPv4 or IPv6 address")
		}
		return nil
	case IndicatorDomainName:
		if !observable.IsDomain(value) {
			return InvalidField("indicatorValue", "is not a domain name")
		}
		return nil
	case IndicatorURL:
		if !observable.IsURL(value) {
			return InvalidField("indicatorValue", "is not a URL (http or https, with a domain or an IP address)")
		}
		return nil
	}
	return InvalidField("indicatorType", "%q is not one of %s", clip(typ), strings.Join(IndicatorTypes, ", "))
}

// IndicatorValueKey is the key under which a tenant has at most one
// indicator of a type: hashes, thumbprints, domains and URLs without
// regard to case, addresses in their canonical form.
func IndicatorValueKey(typ, value string) string {
	if typ == IndicatorIPAddress {
		if a, err := netip.ParseAddr(value); err == nil {
			value = a.String()
		}
	}
	return typ + ":" + strings.ToLower(value)
}

// IndicatorNotFound is the answer for an indicator that does not exist,
// has expired, or that the caller may not see.
func IndicatorNotFound(id string) error {
	return CodedErrorf(NotFound, "ResourceNotFound", "Indicator %s was not found", clip(id))
}

// TooManyIndicators is the error of a submission beyond
// MaxActiveIndicators active indicators.
func TooManyIndicators() error {
	return CodedErrorf(Invalid, "BadRequest", "The number of active indicators in the tenant has reached the limit of %d. Delete indicators before adding new ones.", MaxActiveIndicators)
}

// ValidIndicatorID reports whether id can name an indicator: a positive
// decimal number of at most 18 digits.
func ValidIndicatorID(id string) bool {
	return id != "" && len(id) <= 18 && id[0] != '0' && strings.Trim(id, "0123456789") == ""
}

// IndicatorStore keeps the custom indicators of tenants. Every call
// names its tenant; NotFound if the tenant does not exist.
type IndicatorStore interface {
	// PutIndicators creates or updates indicators (normalized, with the
	// creator's and updater's fields set), each on its own, in one
	// transaction: an item with an ID updates that indicator (NotFound if
	// none); without, the tenant's indicator of the same type and value
	// (IndicatorValueKey), if any, is updated, else a new one is created
	// with the next number. An update keeps the id, application,
	// creation time and creator fields. may, when not nil, is asked about
	// each existing indicator before it is updated: its error becomes the
	// item's. A new (or revived) indicator beyond MaxActiveIndicators
	// active ones at now fails with TooManyIndicators. It returns, per
	// item, the stored indicator or the item's error (Invalid, NotFound,
	// or may's); the error is the store's own.
	PutIndicators(ctx context.Context, tenantID string, ins []Indicator, now time.Time, may func(old *Indicator) error) ([]Indicator, []error, error)
	// ImportIndicators is PutIndicators (may nil) all or nothing: the first
	// item's error (Invalid ones naming it, with an ItemError), and then nothing is written.
	ImportIndicators(ctx context.Context, tenantID string, ins []Indicator, now time.Time) ([]Indicator, error)
	// Indicators returns the tenant's indicators, expired ones included,
	// by id; with keys (IndicatorValueKey), only those of these keys.
	Indicators(ctx context.Context, tenantID string, keys ...string) ([]Indicator, error)
	// Indicator returns one indicator by id (expired or not).
	// IndicatorNotFound if none.
	Indicator(ctx context.Context, tenantID, id string) (Indicator, error)
	// DeleteIndicators deletes indicators by id, all or nothing:
	// IndicatorNotFound naming the first id that does not exist, and
	// then nothing is deleted.
	DeleteIndicators(ctx context.Context, tenantID string, ids []string) error
}
