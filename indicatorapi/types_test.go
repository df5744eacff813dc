package indicatorapi

import (
	"slices"
	"strings"
	"testing"

	"github.com/openatp/openatp"
)

// FuzzTypesOf: the lookup by value reads the keys of every type a value
// is valid for (a type missing would hide an indicator from the list).
func FuzzTypesOf(f *testing.F) {
	for _, v := range []string{strings.Repeat("ab", 20), strings.Repeat("AB", 32), strings.Repeat("0f", 16), "10.1.2.3", "2001:DB8::1",
		"::ffff:10.0.0.1", "contoso.com", "WWW.Contoso.COM", "https://contoso.com/x?q=1", "10.1.2.3/x", "http://[2001:db8::1]:8443/",
		"localhost", "a_b.example", "xn--bcher-kva.example", "1.2.3.4:80"} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		got := typesOf(v)
		for _, typ := range openatp.IndicatorTypes {
			if openatp.ValidateIndicatorValue(typ, v) == nil && !slices.Contains(got, typ) {
				t.Fatalf("%q is a valid %s, typesOf says %v", v, typ, got)
			}
		}
	})
}
