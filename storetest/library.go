package storetest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"

	"github.com/openatp/openatp"
)

// testLibrary checks the live response library: upload, names compared
// ignoring case, override, list order, content, delete, tenant isolation,
// reset.
func testLibrary(t *testing.T, su *suite) {
	s := su.open(t)
	a := mustTenant(t, s, 1, "A")
	b := mustTenant(t, s, 2, "B")
	before := time.Now().Add(-time.Minute)
	in := openatp.LibraryFile{FileName: "Collect.ps1", Description: openatp.Ptr("collects"), CreatedBy: "app-1",
		HasParameters: true, ParametersDescription: openatp.Ptr("-Path <dir>"), Content: []byte("Get-ChildItem $Path\n")}
	got, err := s.PutLibraryFile(ctx, a, in, false)
	noErr(t, err)
	if !got.CreationTime.After(before) {
		t.Errorf("creationTime %v, want now", got.CreationTime)
	}
	want := in
	want.Content, want.CreationTime, want.Size = nil, got.CreationTime, int64(len(in.Content))
	sum := sha256.Sum256(in.Content)
	want.SHA256 = hex.EncodeToString(sum[:])
	diff(t, "uploaded file", want, got)

	// Read back with and without content, by any case of the name.
	one, err := s.LibraryFile(ctx, a, "collect.PS1", true)
	noErr(t, err)
	if !bytes.Equal(one.Content, in.Content) {
		t.Errorf("content %q, want %q", one.Content, in.Content)
	}
	one.Content = nil
	diff(t, "stored file", want, one)
	bare, err := s.LibraryFile(ctx, a, "COLLECT.ps1", false)
	noErr(t, err)
	diff(t, "stored file without content", want, bare)

	// Same name in another case: refused without override, replaced with.
	_, err = s.PutLibraryFile(ctx, a, openatp.LibraryFile{FileName: "collect.ps1", CreatedBy: "app-2", Content: []byte("x")}, false)
	wantCode(t, err, openatp.Invalid, "FileAlreadyExists")
	repl, err := s.PutLibraryFile(ctx, a, openatp.LibraryFile{FileName: "collect.ps1", CreatedBy: "app-2", Content: []byte{}}, true)
	noErr(t, err)
	if repl.Size != 0 || repl.HasParameters || repl.Description != nil || repl.FileName != "collect.ps1" {
		t.Errorf("replaced file %+v", repl)
	}
	if repl.SHA256 != "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" {
		t.Errorf("sha256 of nothing %s", repl.SHA256)
	}
	empty, err := s.LibraryFile(ctx, a, "Collect.ps1", true)
	noErr(t, err)
	if empty.Content == nil || len(empty.Content) != 0 || empty.CreatedBy != "app-2" {
		t.Errorf("replaced file read back %+v", empty)
	}

	// The list is ordered by name ignoring case, without contents.
	for _, n := range []string{"b.txt", "A.sh"} {
		_, err := s.PutLibraryFile(ctx, a, openatp.LibraryFile{FileName: n, CreatedBy: "app-1", Content: []byte(n)}, false)
		noErr(t, err)
	}
	list, err := s.LibraryFiles(ctx, a)
	noErr(t, err)
	var names []string
	for _, f := range list {
		names = append(names, f.FileName)
		if f.Content != nil {
			t.Errorf("listed %s with its content", f.FileName)
		}
	}
	diff(t, "library names", []string{"A.sh", "b.txt", "collect.ps1"}, names)

	// Another tenant sees none of it.
	other, err := s.LibraryFiles(ctx, b)
	noErr(t, err)
	if len(other) != 0 {
		t.Errorf("tenant B sees %v", other)
	}
	_, err = s.LibraryFile(ctx, b, "A.sh", false)
	wantCode(t, err, openatp.NotFound, "NotFound")
	wantCode(t, s.DeleteLibraryFile(ctx, b, "A.sh"), openatp.NotFound, "NotFound")
	_, err = s.LibraryFiles(ctx, tenantID(99))
	wantKind(t, err, openatp.NotFound)
	_, err = s.PutLibraryFile(ctx, tenantID(99), openatp.LibraryFile{FileName: "x", Content: []byte{}}, false)
	wantKind(t, err, openatp.NotFound)

	// Bad names are refused, naming the field.
	for _, n := range []string{"", "..", `a\b.ps1`, "a/b", "tab\there", string([]byte{0xff})} {
		_, err := s.PutLibraryFile(ctx, a, openatp.LibraryFile{FileName: n, Content: []byte{}}, true)
		wantKind(t, err, openatp.Invalid)
	}

	// Delete by any case; then it is gone.
	noErr(t, s.DeleteLibraryFile(ctx, a, "a.SH"))
	wantCode(t, s.DeleteLibraryFile(ctx, a, "A.sh"), openatp.NotFound, "NotFound")
	list, err = s.LibraryFiles(ctx, a)
	noErr(t, err)
	if len(list) != 2 {
		t.Errorf("after delete: %d files, want 2", len(list))
	}

	// A reset empties the library.
	noErr(t, s.ResetTenant(ctx, a))
	list, err = s.LibraryFiles(ctx, a)
	noErr(t, err)
	if len(list) != 0 {
		t.Errorf("after reset: %d files, want none", len(list))
	}
}
