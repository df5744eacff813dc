package actionsuite

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/storetest/internal/fixture"
)

// Library checks the live response library: upload, names compared
// ignoring case, override, list order, content, delete, tenant isolation,
// reset.
func Library(t *testing.T, su *fixture.Suite) {
	s := su.Open(t)
	a := fixture.MustTenant(t, s, 1, "A")
	b := fixture.MustTenant(t, s, 2, "B")
	before := time.Now().Add(-time.Minute)
	in := openatp.LibraryFile{FileName: "Collect.ps1", Description: openatp.Ptr("collects"), CreatedBy: "app-1",
		HasParameters: true, ParametersDescription: openatp.Ptr("-Path <dir>"), Content: []byte("Get-ChildItem $Path\n")}
	got, err := s.PutLibraryFile(ctx, a, in, false)
	fixture.NoErr(t, err)
	if !got.CreationTime.After(before) {
		t.Errorf("creationTime %v, want now", got.CreationTime)
	}
	want := in
	want.Content, want.CreationTime, want.Size = nil, got.CreationTime, int64(len(in.Content))
	sum := sha256.Sum256(in.Content)
	want.SHA256 = hex.EncodeToString(sum[:])
	fixture.Diff(t, "uploaded file", want, got)

	// Read back with and without content, by any case of the name.
	one, err := s.LibraryFile(ctx, a, "collect.PS1", true)
	fixture.NoErr(t, err)
	if !bytes.Equal(one.Content, in.Content) {
		t.Errorf("content %q, want %q", one.Content, in.Content)
	}
	one.Content = nil
	fixture.Diff(t, "stored file", want, one)
	bare, err := s.LibraryFile(ctx, a, "COLLECT.ps1", false)
	fixture.NoErr(t, err)
	fixture.Diff(t, "stored file without content", want, bare)

	// Same name in another case: refused without override, replaced with.
	_, err = s.PutLibraryFile(ctx, a, openatp.LibraryFile{FileName: "collect.ps1", CreatedBy: "app-2", Content: []byte("x")}, false)
	fixture.WantCode(t, err, openatp.Invalid, "FileAlreadyExists")
	repl, err := s.PutLibraryFile(ctx, a, openatp.LibraryFile{FileName: "collect.ps1", CreatedBy: "app-2", Content: []byte{}}, true)
	fixture.NoErr(t, err)
	if repl.Size != 0 || repl.HasParameters || repl.Description != nil || repl.FileName != "collect.ps1" {
		t.Errorf("replaced file %+v", repl)
	}
	if repl.SHA256 != "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" {
		t.Errorf("sha256 of nothing %s", repl.SHA256)
	}
	empty, err := s.LibraryFile(ctx, a, "Collect.ps1", true)
	fixture.NoErr(t, err)
	if empty.Content == nil || len(empty.Content) != 0 || empty.CreatedBy != "app-2" {
		t.Errorf("replaced file read back %+v", empty)
	}

	// The list is ordered by name ignoring case, without contents.
	for _, n := range []string{"b.txt", "A.sh"} {
		_, err := s.PutLibraryFile(ctx, a, openatp.LibraryFile{FileName: n, CreatedBy: "app-1", Content: []byte(n)}, false)
		fixture.NoErr(t, err)
	}
	list, err := s.LibraryFiles(ctx, a)
	fixture.NoErr(t, err)
	var names []string
	for _, f := range list {
		names = append(names, f.FileName)
		if f.Content != nil {
			t.Errorf("listed %s with its content", f.FileName)
		}
	}
	fixture.Diff(t, "library names", []string{"A.sh", "b.txt", "collect.ps1"}, names)

	// Another tenant sees none of it.
	other, err := s.LibraryFiles(ctx, b)
	fixture.NoErr(t, err)
	if len(other) != 0 {
		t.Errorf("tenant B sees %v", other)
	}
	_, err = s.LibraryFile(ctx, b, "A.sh", false)
	fixture.WantCode(t, err, openatp.NotFound, "NotFound")
	fixture.WantCode(t, s.DeleteLibraryFile(ctx, b, "A.sh"), openatp.NotFound, "NotFound")
	_, err = s.LibraryFiles(ctx, fixture.TenantID(99))
	fixture.WantKind(t, err, openatp.NotFound)
	_, err = s.PutLibraryFile(ctx, fixture.TenantID(99), openatp.LibraryFile{FileName: "x", Content: []byte{}}, false)
	fixture.WantKind(t, err, openatp.NotFound)

	// Bad names are refused, naming the field.
	for _, n := range []string{"", "..", `a\b.ps1`, "a/b", "tab\there", string([]byte{0xff})} {
		_, err := s.PutLibraryFile(ctx, a, openatp.LibraryFile{FileName: n, Content: []byte{}}, true)
		fixture.WantKind(t, err, openatp.Invalid)
	}

	// Delete by any case; then it is gone.
	fixture.NoErr(t, s.DeleteLibraryFile(ctx, a, "a.SH"))
	fixture.WantCode(t, s.DeleteLibraryFile(ctx, a, "A.sh"), openatp.NotFound, "NotFound")
	list, err = s.LibraryFiles(ctx, a)
	fixture.NoErr(t, err)
	if len(list) != 2 {
		t.Errorf("after delete: %d files, want 2", len(list))
	}

	// A reset empties the library.
	fixture.NoErr(t, s.ResetTenant(ctx, a))
	list, err = s.LibraryFiles(ctx, a)
	fixture.NoErr(t, err)
	if len(list) != 0 {
		t.Errorf("after reset: %d files, want none", len(list))
	}
}
