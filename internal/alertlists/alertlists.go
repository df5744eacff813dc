// Package alertlists reads the lists of an alert (evidence, comments,
// MITRE techniques, users) from their JSON with the hand-written lexer
// (internal/jsonlex): no reflection, and the short strings that repeat
// from alert to alert (entity types, file names, domains) shared rather
// than allocated for each. It reads what encoding/json would read into
// the root package's types: keys matched as encoding/json matches them to
// fields (exactly, else ignoring case), unknown keys skipped, null for an
// absent value. So it reads both the form the SQL stores write (Go field
// names, internal/sqlstore) and the API's (camelCase, as the read model
// writes an alert: huntables).
package alertlists

import (
	"strconv"
	"strings"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/jsonlex"
)

// Reader reads alert lists. A scan of a million alerts spent half its
// time in encoding/json reading them back. Its zero value is ready; it is
// not safe for concurrent use (each scan has its own).
type Reader struct {
	l      jsonlex.Lexer
	shared map[string]string
}

// maxShared bounds listReader.shared; maxSharedLen is the longest string
// it keeps.
const (
	maxShared    = 4096
	maxSharedLen = 48
)

func (r *Reader) str(b []byte) string {
	if len(b) > maxSharedLen {
		return string(b)
	}
	if s, ok := r.shared[string(b)]; ok {
		return s
	}
	s := string(b)
	if r.shared == nil {
		r.shared = map[string]string{}
	}
	if len(r.shared) < maxShared {
		r.shared[s] = s
	}
	return s
}

// strPtr reads a string or null.
func (r *Reader) strPtr(p **string) error {
	if r.l.Null() {
		*p = nil
		return nil
	}
	b, err := r.l.StringBytes()
	if err != nil {
		return err
	}
	s := r.str(b)
	*p = &s
	return nil
}

// timePtr reads a time in RFC 3339 or null.
func (r *Reader) timePtr(p **time.Time) error {
	if r.l.Null() {
		*p = nil
		return nil
	}
	b, err := r.l.StringBytes()
	if err != nil {
		return err
	}
	t, err := time.Parse(time.RFC3339Nano, string(b))
	if err != nil {
		return err
	}
	*p = &t
	return nil
}

// intPtr reads an integer or null.
func (r *Reader) intPtr(p **int64) error {
	if r.l.Null() {
		*p = nil
		return nil
	}
	b, err := r.l.Number()
	if err != nil {
		return err
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return err
	}
	*p = &n
	return nil
}

// whole reads the JSON text b with read, which reads one value at the
// lexer; the text must hold nothing else.
func (r *Reader) whole(b string, read func() error) error {
	r.l.Reset([]byte(b))
	if err := read(); err != nil {
		return err
	}
	return r.l.End()
}

// array calls item for each element of the array at the lexer; null
// reports false (a nil list; an empty array is an empty list, as
// encoding/json reads them).
func (r *Reader) array(item func() error) (bool, error) {
	if r.l.Null() {
		return false, nil
	}
	if !r.l.Consume('[') {
		return true, r.l.Errorf("expected an array")
	}
	if r.l.Consume(']') {
		return true, nil
	}
	for {
		if err := item(); err != nil {
			return true, err
		}
		if r.l.Consume(']') {
			return true, nil
		}
		if !r.l.Consume(',') {
			return true, r.l.Errorf("expected ',' or ']'")
		}
	}
}

// Lexer is the lexer the methods ending in At read from, at its position:
// a caller reading an object that holds lists (an alert) resets it to the
// object's text and calls them for the lists' values.
func (r *Reader) Lexer() *jsonlex.Lexer { return &r.l }

// StringAt reads a string or null (nil) at the lexer.
func (r *Reader) StringAt(p **string) error { return r.strPtr(p) }

// TimeAt reads a time in RFC 3339 or null (nil) at the lexer.
func (r *Reader) TimeAt(p **time.Time) error { return r.timePtr(p) }

// fields are the Go names of a type's fields, in order, and their ASCII
// lower case forms (no two of one type's fold to the same).
type fields struct {
	names  []string
	folded map[string]int
}

func newFields(names ...string) *fields {
	f := &fields{names: names, folded: make(map[string]int, len(names))}
	for i, n := range names {
		f.folded[strings.ToLower(n)] = i
	}
	return f
}

// find finds key among the names (as encoding/json does: exactly, else
// ignoring case); -1 for none. The names being distinct when folded, an
// ASCII key is one look-up of its lower case form: the stores' keys are
// the Go names, the API's their camelCase forms, and a loop of
// EqualFold over the names for each key cost more than the rest of a
// list's reading.
func (f *fields) find(key []byte) int {
	var buf [32]byte
	if len(key) <= len(buf) {
		ascii := true
		for i, c := range key {
			if c >= 0x80 {
				ascii = false
				break
			}
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			buf[i] = c
		}
		if ascii {
			if i, ok := f.folded[string(buf[:len(key)])]; ok {
				return i
			}
			return -1
		}
	}
	for i, n := range f.names {
		if string(key) == n {
			return i
		}
	}
	for i, n := range f.names {
		if strings.EqualFold(string(key), n) {
			return i
		}
	}
	return -1
}

// evidenceFields are the Go names of openatp.Evidence's fields, in order.
var evidenceFields = newFields("EntityType", "EvidenceCreationTime", "SHA1", "SHA256", "FileName", "FilePath",
	"ProcessID", "ProcessCommandLine", "ProcessCreationTime", "ParentProcessID", "ParentProcessCreationTime",
	"ParentProcessFileName", "ParentProcessFilePath", "IPAddress", "URL", "RegistryKey", "RegistryHive",
	"RegistryValueType", "RegistryValue", "RegistryValueName", "AccountName", "DomainName", "UserSID", "AADUserID",
	"UserPrincipalName", "DetectionStatus")

// Evidence reads a list of evidence, the JSON text b.
func (r *Reader) Evidence(b string) (out []openatp.Evidence, err error) {
	err = r.whole(b, func() error {
		out, err = r.EvidenceAt()
		return err
	})
	return out, err
}

// EvidenceAt reads a list of evidence at the lexer.
func (r *Reader) EvidenceAt() ([]openatp.Evidence, error) {
	out := []openatp.Evidence{}
	listed, err := r.array(func() error {
		out = append(out, openatp.Evidence{})
		e := &out[len(out)-1]
		if r.l.Null() {
			return nil
		}
		strs := [...]**string{0: &e.EntityType, 2: &e.SHA1, 3: &e.SHA256, 4: &e.FileName, 5: &e.FilePath,
			7: &e.ProcessCommandLine, 11: &e.ParentProcessFileName, 12: &e.ParentProcessFilePath, 13: &e.IPAddress,
			14: &e.URL, 15: &e.RegistryKey, 16: &e.RegistryHive, 17: &e.RegistryValueType, 18: &e.RegistryValue,
			19: &e.RegistryValueName, 20: &e.AccountName, 21: &e.DomainName, 22: &e.UserSID, 23: &e.AADUserID,
			24: &e.UserPrincipalName, 25: &e.DetectionStatus}
		return r.l.Object(func(key []byte) error {
			switch i := evidenceFields.find(key); i {
			case -1:
				return r.l.Skip(0)
			case 1:
				return r.timePtr(&e.EvidenceCreationTime)
			case 8:
				return r.timePtr(&e.ProcessCreationTime)
			case 10:
				return r.timePtr(&e.ParentProcessCreationTime)
			case 6:
				return r.intPtr(&e.ProcessID)
			case 9:
				return r.intPtr(&e.ParentProcessID)
			default:
				return r.strPtr(strs[i])
			}
		})
	})
	if !listed {
		out = nil
	}
	return out, err
}

var commentFields = newFields("Comment", "CreatedBy", "CreatedTime")

// Comments reads a list of comments, the JSON text b.
func (r *Reader) Comments(b string) (out []openatp.AlertComment, err error) {
	err = r.whole(b, func() error {
		out, err = r.commentsAt()
		return err
	})
	return out, err
}

func (r *Reader) commentsAt() ([]openatp.AlertComment, error) {
	out := []openatp.AlertComment{}
	listed, err := r.array(func() error {
		out = append(out, openatp.AlertComment{})
		c := &out[len(out)-1]
		if r.l.Null() {
			return nil
		}
		return r.l.Object(func(key []byte) error {
			switch commentFields.find(key) {
			case 0:
				var s *string
				if err := r.strPtr(&s); err != nil || s == nil {
					return err
				}
				c.Comment = *s
				return nil
			case 1:
				return r.strPtr(&c.CreatedBy)
			case 2:
				return r.timePtr(&c.CreatedTime)
			}
			return r.l.Skip(0)
		})
	})
	if !listed {
		out = nil
	}
	return out, err
}

var accountFields = newFields("Name", "Domain")

// account reads an AlertAccount object (or null: no change) at the lexer.
func (r *Reader) account(u *openatp.AlertAccount) error {
	if r.l.Null() {
		return nil
	}
	return r.l.Object(func(key []byte) error {
		switch accountFields.find(key) {
		case 0:
			var s *string
			if err := r.strPtr(&s); err != nil || s == nil {
				return err
			}
			u.Name = *s
			return nil
		case 1:
			return r.strPtr(&u.Domain)
		}
		return r.l.Skip(0)
	})
}

// Accounts reads a list of accounts (logged-on users), the JSON text b.
func (r *Reader) Accounts(b string) (out []openatp.AlertAccount, err error) {
	err = r.whole(b, func() error {
		out, err = r.accountsAt()
		return err
	})
	return out, err
}

func (r *Reader) accountsAt() ([]openatp.AlertAccount, error) {
	out := []openatp.AlertAccount{}
	listed, err := r.array(func() error {
		out = append(out, openatp.AlertAccount{})
		return r.account(&out[len(out)-1])
	})
	if !listed {
		out = nil
	}
	return out, err
}

// Strings reads a list of strings (MITRE techniques), the JSON text b.
func (r *Reader) Strings(b string) (out []string, err error) {
	err = r.whole(b, func() error {
		out, err = r.StringsAt()
		return err
	})
	return out, err
}

// StringsAt reads a list of strings at the lexer.
func (r *Reader) StringsAt() ([]string, error) {
	out := []string{}
	listed, err := r.array(func() error {
		var s *string
		if err := r.strPtr(&s); err != nil {
			return err
		}
		if s == nil {
			out = append(out, "")
		} else {
			out = append(out, *s)
		}
		return nil
	})
	if !listed {
		out = nil
	}
	return out, err
}

// RelatedUser reads a related user (an object, or null), the JSON text b.
func (r *Reader) RelatedUser(b string) (*openatp.AlertAccount, error) {
	u := &openatp.AlertAccount{} // null leaves it so, as encoding/json does
	if err := r.whole(b, func() error { return r.account(u) }); err != nil {
		return nil, err
	}
	return u, nil
}
