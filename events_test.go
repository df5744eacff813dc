package openatp_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/openatp/openatp"
)

// Normalize canonicalizes what has one form, derives what is derived,
// and names the column of what it refuses.
func TestEventNormalize(t *testing.T) {
	at := time.Date(2024, 3, 1, 10, 0, 0, 123456789, time.FixedZone("", 3600))
	e := openatp.NetworkEvent{Timestamp: at, DeviceId: strings.Repeat("AB", 20), ActionType: "ConnectionSuccess",
		RemoteIP: "::FFFF:8.8.8.8", LocalIP: "192.168.1.9", InitiatingProcessSHA1: strings.Repeat("F", 40)}
	if err := e.Normalize(); err != nil {
		t.Fatal(err)
	}
	if e.DeviceId != strings.Repeat("ab", 20) || e.RemoteIP != "8.8.8.8" || e.RemoteIPType != "Public" || e.LocalIPType != "Private" ||
		e.InitiatingProcessSHA1 != strings.Repeat("f", 40) || !e.Timestamp.Equal(at.Round(100)) || e.Timestamp.Location() != time.UTC || e.ReportId <= 0 {
		t.Errorf("normalized: %+v", e)
	}
	again := e
	if err := again.Normalize(); err != nil || again != e {
		t.Errorf("normalizing twice changed the event: %+v, %v", again, err)
	}
	other := e
	other.ReportId, other.RemotePort = 0, openatp.Ptr(int64(53))
	if err := other.Normalize(); err != nil || other.ReportId == e.ReportId {
		t.Errorf("two different events got one ReportId (%v)", err)
	}
	for field, f := range map[string]func(e *openatp.FileEvent){
		"Timestamp":  func(e *openatp.FileEvent) { e.Timestamp = time.Time{} },
		"DeviceId":   func(e *openatp.FileEvent) { e.DeviceId = "x" },
		"ActionType": func(e *openatp.FileEvent) { e.ActionType = "FileCopied" },
		"FileName":   func(e *openatp.FileEvent) { e.FileName = "" },
		"SHA256":     func(e *openatp.FileEvent) { e.SHA256 = "abc" },
		"FileSize":   func(e *openatp.FileEvent) { e.FileSize = openatp.Ptr(int64(-1)) },
		"FolderPath": func(e *openatp.FileEvent) { e.FolderPath = strings.Repeat("a", openatp.MaxEventString+1) },
		"Signer":     func(e *openatp.FileEvent) { e.Signer = "\xff" },
	} {
		e := openatp.FileEvent{Timestamp: at, DeviceId: strings.Repeat("ab", 20), ActionType: "FileCreated", FileName: "a.exe"}
		f(&e)
		err := e.Normalize()
		var fe *openatp.FieldError
		if !openatp.IsKind(err, openatp.Invalid) || !errors.As(err, &fe) || fe.Field != field {
			t.Errorf("%s: error %v", field, err)
		}
	}
}
