package sqlstore

import (
	"encoding/json"
	"strings"

	"github.com/openatp/openatp"
)

// The stores keep a machine's tags and IP addresses as the JSON that
// encoding/json writes for them. A full index build decodes a million of
// each; these read that exact layout directly and hand anything else
// (escapes, other spacing, older layouts) to encoding/json, so the result
// is always json.Unmarshal's.

// DecodeTags decodes a stored JSON list of tags as json.Unmarshal does.
func DecodeTags[T string | []byte](data T) ([]string, error) {
	if v, ok := fastTags(string(data)); ok {
		return v, nil
	}
	var v []string
	if err := json.Unmarshal([]byte(data), &v); err != nil {
		return nil, err
	}
	return v, nil
}

// DecodeIPAddresses decodes a stored JSON list of IP addresses as
// json.Unmarshal does.
func DecodeIPAddresses[T string | []byte](data T) ([]openatp.IPAddress, error) {
	if v, ok := fastIPs(string(data)); ok {
		return v, nil
	}
	var v []openatp.IPAddress
	if err := json.Unmarshal([]byte(data), &v); err != nil {
		return nil, err
	}
	return v, nil
}

// scanner reads the layout encoding/json writes; ok turns false at the
// first byte it does not expect. It reads the data as one string (a copy
// made once of a []byte, the caller's own string): the strings it returns
// are parts of it, not an allocation each.
type scanner struct {
	b  string
	ok bool
}

// lit reads l if it comes next.
func (s *scanner) lit(l string) bool {
	if s.ok && strings.HasPrefix(s.b, l) {
		s.b = s.b[len(l):]
		return true
	}
	return false
}

// must reads l, which must come next.
func (s *scanner) must(l string) {
	if !s.lit(l) {
		s.ok = false
	}
}

// str reads a string without escapes.
func (s *scanner) str() string {
	if !s.ok || len(s.b) == 0 || s.b[0] != '"' {
		s.ok = false
		return ""
	}
	for i := 1; i < len(s.b); i++ {
		switch c := s.b[i]; {
		case c == '"':
			v := s.b[1:i]
			s.b = s.b[i+1:]
			return v
		case c == '\\' || c < 0x20 || c >= 0x80:
			s.ok = false // escapes and non-ASCII: encoding/json decides
			return ""
		}
	}
	s.ok = false
	return ""
}

// optStr reads a string or null into *at, and returns at, or nil for null.
func (s *scanner) optStr(at *string) *string {
	if s.lit("null") {
		return nil
	}
	*at = s.str()
	return at
}

func fastTags(data string) ([]string, bool) {
	s := scanner{b: data, ok: true}
	if s.lit("null") {
		return nil, len(s.b) == 0
	}
	if s.lit("[]") {
		return []string{}, len(s.b) == 0
	}
	if !s.lit("[") {
		return nil, false
	}
	v := make([]string, 0, strings.Count(s.b, ",")+1)
	for {
		v = append(v, s.str())
		if !s.lit(",") {
			break
		}
	}
	ok := s.lit("]") && s.ok && len(s.b) == 0
	return v, ok
}

func fastIPs(data string) ([]openatp.IPAddress, bool) {
	s := scanner{b: data, ok: true}
	if s.lit("null") {
		return nil, len(s.b) == 0
	}
	if s.lit("[]") {
		return []openatp.IPAddress{}, len(s.b) == 0
	}
	if !s.lit("[") {
		return nil, false
	}
	// One allocation for the addresses and one for the strings their
	// optional fields point to.
	n := strings.Count(s.b, "{")
	v := make([]openatp.IPAddress, 0, n)
	opt := make([]string, 3*n)
	for len(v) < n {
		var ip openatp.IPAddress
		o := opt[3*len(v):]
		s.must(`{"IPAddress":`)
		ip.IPAddress = s.str()
		s.must(`,"MACAddress":`)
		ip.MACAddress = s.optStr(&o[0])
		s.must(`,"Type":`)
		ip.Type = s.optStr(&o[1])
		s.must(`,"OperationalStatus":`)
		ip.OperationalStatus = s.optStr(&o[2])
		s.must("}")
		if !s.ok {
			return nil, false
		}
		v = append(v, ip)
		if !s.lit(",") {
			break
		}
	}
	ok := s.lit("]") && s.ok && len(s.b) == 0
	return v, ok
}
