package alertlists_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/alertlists"
	"github.com/openatp/openatp/internal/demo"
)

// The alert lists' reader answers what json.Unmarshal answers, for what
// the stores write (AlertArgs) and for anything else in valid UTF-8 (the
// stores write nothing else).
func FuzzAlertLists(f *testing.F) {
	_, a := demo.DocAlert()
	at := time.Date(2021, 1, 26, 20, 33, 59, 123456700, time.FixedZone("", 3600))
	tricky := "x\"\\\n\u2028<&>é"
	a.Comments = append(a.Comments, openatp.AlertComment{Comment: tricky, CreatedTime: &at}, openatp.AlertComment{})
	a.Evidence = append(a.Evidence, openatp.Evidence{ProcessID: openatp.Ptr(int64(-7)), FilePath: &tricky, ParentProcessCreationTime: &at}, openatp.Evidence{})
	for _, v := range []any{a.Evidence, a.Comments, a.LoggedOnUsers, a.RelatedUser, []openatp.Evidence{}, nil} {
		b, _ := json.Marshal(v)
		f.Add(b)
	}
	for _, s := range []string{"", "[", "[]x", "null ", " [ ] ", `[{"entitytype":"File","processId":1,"X":[1,{"a":null}]}]`,
		`[{"ProcessID":1.5}]`, `[{"ProcessID":"1"}]`, `[{"EvidenceCreationTime":"yesterday"}]`, `[{"Comment":null,"createdBy":"a"}]`,
		`{"Name":"a","Domain":null}`, `{"name":"a","NAME":"b"}`, `[{"Name":1}]`, `[{},]`, `[null]`, `{"Name":"\u00e9\ud83d\ude00"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !utf8.Valid(data) {
			return
		}
		var r alertlists.Reader
		check := func(name string, want any, wantErr error, got any, err error) {
			if (err != nil) != (wantErr != nil) || err == nil && !reflect.DeepEqual(got, want) {
				t.Fatalf("%s(%q) = %#v, %v; json: %#v, %v", name, data, got, err, want, wantErr)
			}
		}
		var ev []openatp.Evidence
		wantErr := json.Unmarshal(data, &ev)
		gotEv, err := r.Evidence(string(data))
		check("evidence", ev, wantErr, gotEv, err)
		var cs []openatp.AlertComment
		wantErr = json.Unmarshal(data, &cs)
		gotCs, err := r.Comments(string(data))
		check("comments", cs, wantErr, gotCs, err)
		var us []openatp.AlertAccount
		wantErr = json.Unmarshal(data, &us)
		gotUs, err := r.Accounts(string(data))
		check("accounts", us, wantErr, gotUs, err)
		var ss []string
		wantErr = json.Unmarshal(data, &ss)
		gotSs, err := r.Strings(string(data))
		check("strings", ss, wantErr, gotSs, err)
		u := &openatp.AlertAccount{}
		wantErr = json.Unmarshal(data, u)
		gotU, err := r.RelatedUser(string(data))
		check("relatedUser", u, wantErr, gotU, err)
	})
}
