package responseapi

import (
	"strings"
	"testing"
	"time"

	"github.com/openatp/openatp"
)

// packAction keeps every action's JSON whole: with every piece, with
// none, with a piece's text inside a value, and over the 2-byte offsets.
func TestPackAction(t *testing.T) {
	at := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	base := openatp.MachineAction{ID: "e33cac8a-5282-466a-8a9a-fad4db8f29ef", Type: openatp.ActionIsolate, Requestor: "app",
		RequestorComment: "c", Status: openatp.ActionSucceeded, MachineID: strings.Repeat("a", 40), CreationDateTimeUTC: at,
		LastUpdateDateTimeUTC: at, RequestSource: openatp.Ptr("PublicApi"), Commands: []openatp.ActionCommand{}}
	cancelled := base
	cancelled.Status, cancelled.CancellationRequestor, cancelled.CancellationDateTimeUTC = openatp.ActionCancelled, openatp.Ptr("x"), &at
	failed := base
	failed.ErrorHResult, failed.Title, failed.Scope = -2147024891, openatp.Ptr("t"), openatp.Ptr("Full")
	tricky := base
	tricky.RequestorComment = actionPieces[1] + actionPieces[2]
	live := base
	live.Type = openatp.ActionLiveResponse
	for i := range 600 {
		live.Commands = append(live.Commands, openatp.ActionCommand{Index: i, CommandStatus: "Created",
			Command: openatp.LiveResponseCommand{Type: "RunScript", Params: []openatp.CommandParam{{Key: "ScriptName", Value: strings.Repeat("s", 200)}}}})
	}
	for name, a := range map[string]openatp.MachineAction{"base": base, "cancelled": cancelled, "failed": failed, "tricky": tricky, "live": live} {
		js := appendAction(nil, &a)
		packed := packAction(nil, js)
		if got := unpackAction([]byte("["), packed); string(got) != "["+string(js) {
			t.Errorf("%s: unpacked\n%s\nwant\n%s", name, got, js)
		}
		if name == "base" && len(packed) > len(js)*3/4 {
			t.Errorf("base: packed %d bytes of %d", len(packed), len(js))
		}
	}
}
