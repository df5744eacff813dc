package journal

import (
	"net/url"
	"slices"
	"strings"
)

// Redacted replaces a secret in a path or query string.
const Redacted = "REDACTED"

// secretParams are the query parameters whose values are never kept:
// OAuth2 credentials and codes, tokens, passwords and signatures. Keys are
// compared ignoring case.
var secretParams = []string{
	"access_token", "refresh_token", "id_token", "token", "assertion", "client_assertion",
	"client_secret", "password", "code", "sig", "signature", "key", "api_key", "apikey", "secret",
}

// RedactQuery returns a raw query string with the value of every secret
// parameter (secretParams) replaced by REDACTED, and every token-shaped
// word elsewhere too (see RedactPath); the rest byte for byte. A key that
// cannot be unescaped is compared as it is.
func RedactQuery(raw string) string {
	if !queryMayHoldSecret(raw) {
		return raw // nothing to redact: no copy
	}
	var b strings.Builder
	for i, part := range strings.Split(raw, "&") {
		if i > 0 {
			b.WriteByte('&')
		}
		if secretParam(part) {
			b.WriteString(part[:strings.IndexByte(part, '=')+1])
			b.WriteString(Redacted)
			continue
		}
		b.WriteString(RedactPath(part))
	}
	return b.String()
}

// queryMayHoldSecret reports whether RedactQuery could change raw: a
// parameter of secretParams with a value, or a part of secret shape
// (mayHoldSecret). It allocates nothing.
func queryMayHoldSecret(raw string) bool {
	for rest := raw; rest != ""; {
		var part string
		part, rest, _ = strings.Cut(rest, "&")
		if secretParam(part) || mayHoldSecret(part) {
			return true
		}
	}
	return false
}

// secretParam reports whether the query string part key=value names a
// parameter of secretParams (its key unescaped, ignoring case) and has a
// value. A key that cannot be unescaped is compared as it is.
func secretParam(part string) bool {
	key, _, hasValue := strings.Cut(part, "=")
	if !hasValue {
		return false
	}
	if strings.ContainsAny(key, "%+") {
		if k, err := url.QueryUnescape(key); err == nil {
			key = k
		}
	}
	return slices.ContainsFunc(secretParams, func(s string) bool { return strings.EqualFold(s, key) })
}

// RedactPath returns s with every word that has the shape of a credential
// replaced by REDACTED, where a word is a run of the characters of
// base64url (A-Z a-z 0-9 - _) and dots:
//
//   - a JSON Web Token: a word of 20 characters or more that holds "eyJ"
//     (the base64url of `{"`, how every JWT header starts) and a dot;
//   - a client secret or generated password: a run of base64url
//     characters (no dot) 40 characters long or longer that holds a
//     character other than 0-9, a-f and '-' (so machine ids, hex digests
//     and GUIDs are kept).
//
// It is meant for what clients send in paths and query strings, where
// nothing of that shape is expected: a long tag or user name without dots
// can be redacted too, which is the side to err on.
func RedactPath(s string) string {
	if !mayHoldSecret(s) {
		return s
	}
	var b strings.Builder
	i := 0
	for i < len(s) {
		if !isWordByte(s[i]) {
			b.WriteByte(s[i])
			i++
			continue
		}
		j := i
		for j < len(s) && isWordByte(s[j]) {
			j++
		}
		b.WriteString(redactWord(s[i:j]))
		i = j
	}
	return b.String()
}

// mayHoldSecret is a quick check that lets most paths through without
// building a copy: no "eyJ", and no secret-shaped run.
func mayHoldSecret(s string) bool {
	if len(s) < 20 {
		return false
	}
	if strings.Contains(s, "eyJ") {
		return true
	}
	if len(s) < 40 { // no room for a run of 40 (most paths: no scan)
		return false
	}
	run, nonHex := 0, false
	for i := 0; i < len(s); i++ {
		k := class[s[i]]
		if k&b64 == 0 {
			run, nonHex = 0, false
			continue
		}
		run++
		nonHex = nonHex || k&hex == 0
		if run >= 40 && nonHex {
			return true
		}
	}
	return false
}

// class holds, for each byte, whether isB64 and isHex hold for it.
var class = func() (t [256]uint8) {
	for c := range 256 {
		if isB64(byte(c)) {
			t[c] |= b64
		}
		if isHex(byte(c)) {
			t[c] |= hex
		}
	}
	return t
}()

const (
	b64 = 1 << iota
	hex
)

// redactWord redacts a whole word if it is a JWT, else the secret-shaped
// runs within it (between its dots).
func redactWord(w string) string {
	if len(w) >= 20 && strings.Contains(w, "eyJ") && strings.Contains(w, ".") {
		return Redacted
	}
	if !strings.Contains(w, ".") {
		if secretShaped(w) {
			return Redacted
		}
		return w
	}
	parts := strings.Split(w, ".")
	for i, p := range parts {
		if secretShaped(p) {
			parts[i] = Redacted
		}
	}
	return strings.Join(parts, ".")
}

func secretShaped(s string) bool {
	if len(s) < 40 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isHex(s[i]) {
			return true
		}
	}
	return false
}

// isHex reports whether c may appear in a machine id, a hex digest or a
// GUID.
func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c == '-' }

func isB64(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

func isWordByte(c byte) bool { return isB64(c) || c == '.' }
