package openatp

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"
	"unicode/utf8"
)

// LibraryFile is a file of a tenant's live response library: a script
// that RunScript runs or a file that PutFile puts on a machine, with the
// properties of the MDE LibraryFile entity (GET /api/libraryfiles).
type LibraryFile struct {
	FileName              string // unique in the tenant, ignoring case
	SHA256                string // of Content, lower-case hexadecimal
	Description           *string
	CreationTime          time.Time // stamped by the store at each upload
	CreatedBy             string    // the uploader: application client id or user name
	HasParameters         bool
	ParametersDescription *string
	Size                  int64  // len(Content); kept when Content is not read
	Content               []byte // read only by LibraryFile with content
}

// PermLibraryManage is the permission of the library routes, the same
// name for applications and delegated callers.
const PermLibraryManage = "Library.Manage"

// DefaultMaxLibraryFile is the default bound on the size of a library
// file: the 20 MB the service documents.
const DefaultMaxLibraryFile = 20 << 20

// maxLibraryFileName bounds a library file's name (the Windows limit).
const maxLibraryFileName = 255

// LibraryFileKey is how names of library files compare: ignoring case.
func LibraryFileKey(name string) string { return strings.ToLower(name) }

// Normalize validates a library file before the store keeps it: a name of
// valid UTF-8, 1 to 255 bytes, with no path separator or control
// character, not "." or ".."; texts of valid UTF-8 and bounded length. It
// sets SHA256 and Size from Content. The error is of kind Invalid and
// names the field.
func (f *LibraryFile) Normalize() error {
	n := f.FileName
	if n == "" || len(n) > maxLibraryFileName || !utf8.ValidString(n) || n == "." || n == ".." ||
		strings.ContainsAny(n, `/\:*?"<>|`) || strings.IndexFunc(n, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
		return InvalidField("FileName", "%q is not a file name", clip(n))
	}
	for _, s := range []struct {
		name string
		v    *string
	}{{"Description", f.Description}, {"ParametersDescription", f.ParametersDescription}, {"createdBy", &f.CreatedBy}} {
		if err := checkText(s.name, s.v); err != nil {
			return err
		}
	}
	if f.Content == nil {
		f.Content = []byte{}
	}
	sum := sha256.Sum256(f.Content)
	f.SHA256, f.Size = hex.EncodeToString(sum[:]), int64(len(f.Content))
	f.CreationTime = f.CreationTime.UTC().Round(TimePrecision)
	return nil
}

// LibraryFileNotFound is the NotFound error of a library file name.
func LibraryFileNotFound(name string) error {
	return CodedErrorf(NotFound, "NotFound", "Library file %s was not found", clip(name))
}

// LibraryFileExists is the error of an upload of a name the library has,
// without OverrideIfExists.
func LibraryFileExists(name string) error {
	return CodedErrorf(Invalid, "FileAlreadyExists", "File %s already exists in the library. Set OverrideIfExists to replace it.", clip(name))
}

// LibraryStore keeps the live response library of each tenant. Every call
// names its tenant; nothing of one tenant is ever visible through another.
type LibraryStore interface {
	// PutLibraryFile stores f (normalized; CreationTime stamped now),
	// replacing the file of the same name (ignoring case) if override,
	// else refusing it (LibraryFileExists: Invalid). The result has no
	// Content. NotFound if the tenant does not exist.
	PutLibraryFile(ctx context.Context, tenantID string, f LibraryFile, override bool) (LibraryFile, error)

	// LibraryFiles returns the tenant's library, ordered by name
	// (ignoring case), without contents; an empty list when none.
	// NotFound if the tenant does not exist.
	LibraryFiles(ctx context.Context, tenantID string) ([]LibraryFile, error)

	// LibraryFile returns one file by name (ignoring case), with its
	// content if content. NotFound (LibraryFileNotFound) if none.
	LibraryFile(ctx context.Context, tenantID, name string, content bool) (LibraryFile, error)

	// DeleteLibraryFile deletes one file by name (ignoring case).
	// NotFound (LibraryFileNotFound) if none.
	DeleteLibraryFile(ctx context.Context, tenantID, name string) error
}
