package storeutil

import (
	"bytes"
	"encoding/json"

	"github.com/openatp/openatp"
)

// The stores keep a machine's tags and IP addresses as the JSON that
// encoding/json writes for them. A full index build decodes a million of
// each; these read that exact layout directly and hand anything else
// (escapes, other spacing, older layouts) to encoding/json, so the result
// is always json.Unmarshal's.

// DecodeTags decodes a stored JSON list of tags as json.Unmarshal does.
func DecodeTags(data []byte) ([]string, error) {
	if v, ok := fastTags(data); ok {
		return v, nil
	}
	var v []string
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, err
	}
	return v, nil
}

// DecodeIPAddresses decodes a stored JSON list of IP addresses as
// json.Unmarshal does.
func DecodeIPAddresses(data []byte) ([]openatp.IPAddress, error) {
	if v, ok := fastIPs(data); ok {
		return v, nil
	}
	var v []openatp.IPAddress
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, err
	}
	return v, nil
}

// scanner reads the layout encoding/json writes; ok turns false at the
// first byte it does not expect.
type scanner struct {
	b  []byte
	ok bool
}

// lit reads l if it comes next.
func (s *scanner) lit(l string) bool {
	if s.ok && bytes.HasPrefix(s.b, []byte(l)) {
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
			v := string(s.b[1:i])
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

// optStr reads a string or null.
func (s *scanner) optStr() *string {
	if s.lit("null") {
		return nil
	}
	v := s.str()
	return &v
}

func fastTags(data []byte) ([]string, bool) {
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
	var v []string
	for {
		v = append(v, s.str())
		if !s.lit(",") {
			break
		}
	}
	ok := s.lit("]") && s.ok && len(s.b) == 0
	return v, ok
}

func fastIPs(data []byte) ([]openatp.IPAddress, bool) {
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
	var v []openatp.IPAddress
	for {
		var ip openatp.IPAddress
		s.must(`{"IPAddress":`)
		ip.IPAddress = s.str()
		s.must(`,"MACAddress":`)
		ip.MACAddress = s.optStr()
		s.must(`,"Type":`)
		ip.Type = s.optStr()
		s.must(`,"OperationalStatus":`)
		ip.OperationalStatus = s.optStr()
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
