package sqlstore

import (
	"strconv"
	"strings"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/jsonlex"
)

// The lists of an alert (evidence, comments, MITRE techniques, users) are
// stored as encoding/json writes them (AlertArgs: Go field names, times in
// RFC 3339). A scan of a million alerts spent half its time in
// encoding/json reading them back; listReader reads that form with
// jsonlex instead: no reflection, and the short strings that repeat from
// alert to alert (entity types, file names, domains) shared rather than
// allocated for each. It reads what encoding/json would read of it: keys
// matched as encoding/json matches them to fields (exactly, else ignoring
// case), unknown keys skipped, null for an absent value.
type listReader struct {
	l      jsonlex.Lexer
	shared map[string]string
}

// maxShared bounds listReader.shared; maxSharedLen is the longest string
// it keeps.
const (
	maxShared    = 4096
	maxSharedLen = 48
)

func (r *listReader) str(b []byte) string {
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
func (r *listReader) strPtr(p **string) error {
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
func (r *listReader) timePtr(p **time.Time) error {
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
func (r *listReader) intPtr(p **int64) error {
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

// array calls item for each element of the array that b holds; null
// reports false (a nil list; an empty array is an empty list, as
// encoding/json reads them).
func (r *listReader) array(b string, item func() error) (bool, error) {
	r.l.Reset([]byte(b))
	if r.l.Null() {
		return false, r.l.End()
	}
	if !r.l.Consume('[') {
		return true, r.l.Errorf("expected an array")
	}
	if !r.l.Consume(']') {
		for {
			if err := item(); err != nil {
				return true, err
			}
			if r.l.Consume(']') {
				break
			}
			if !r.l.Consume(',') {
				return true, r.l.Errorf("expected ',' or ']'")
			}
		}
	}
	return true, r.l.End()
}

// field finds key among names (as encoding/json does: exactly, else
// ignoring case); -1 for none.
func field(key []byte, names []string) int {
	for i, n := range names {
		if string(key) == n {
			return i
		}
	}
	for i, n := range names {
		if strings.EqualFold(string(key), n) {
			return i
		}
	}
	return -1
}

// evidenceFields are the Go names of openatp.Evidence's fields, in order.
var evidenceFields = []string{"EntityType", "EvidenceCreationTime", "SHA1", "SHA256", "FileName", "FilePath",
	"ProcessID", "ProcessCommandLine", "ProcessCreationTime", "ParentProcessID", "ParentProcessCreationTime",
	"ParentProcessFileName", "ParentProcessFilePath", "IPAddress", "URL", "RegistryKey", "RegistryHive",
	"RegistryValueType", "RegistryValue", "RegistryValueName", "AccountName", "DomainName", "UserSID", "AADUserID",
	"UserPrincipalName", "DetectionStatus"}

func (r *listReader) evidence(b string) ([]openatp.Evidence, error) {
	out := []openatp.Evidence{}
	listed, err := r.array(b, func() error {
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
			switch i := field(key, evidenceFields); i {
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

var commentFields = []string{"Comment", "CreatedBy", "CreatedTime"}

func (r *listReader) comments(b string) ([]openatp.AlertComment, error) {
	out := []openatp.AlertComment{}
	listed, err := r.array(b, func() error {
		out = append(out, openatp.AlertComment{})
		c := &out[len(out)-1]
		if r.l.Null() {
			return nil
		}
		return r.l.Object(func(key []byte) error {
			switch field(key, commentFields) {
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

var accountFields = []string{"Name", "Domain"}

// account reads an AlertAccount object (or null: no change) at the lexer.
func (r *listReader) account(u *openatp.AlertAccount) error {
	if r.l.Null() {
		return nil
	}
	return r.l.Object(func(key []byte) error {
		switch field(key, accountFields) {
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

func (r *listReader) accounts(b string) ([]openatp.AlertAccount, error) {
	out := []openatp.AlertAccount{}
	listed, err := r.array(b, func() error {
		out = append(out, openatp.AlertAccount{})
		return r.account(&out[len(out)-1])
	})
	if !listed {
		out = nil
	}
	return out, err
}

func (r *listReader) strings(b string) ([]string, error) {
	out := []string{}
	listed, err := r.array(b, func() error {
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

// relatedUser reads a stored related user (an object, or null).
func (r *listReader) relatedUser(b string) (*openatp.AlertAccount, error) {
	r.l.Reset([]byte(b))
	u := &openatp.AlertAccount{} // null leaves it so, as encoding/json does
	if err := r.account(u); err != nil {
		return nil, err
	}
	return u, r.l.End()
}
