package sqlstore

import (
	"context"

	"github.com/openatp/openatp"
)

// The live response library (openatp.LibraryStore) is written and read
// with the same SQL in both engines.

// libraryColumns are the columns of library_files read back, but the
// content, in the order of scanLibraryFile.
const libraryColumns = "file_name, sha256, description, creation_time, created_by, has_parameters, parameters_description, size"

// scanLibraryFile reads a row of libraryColumns.
func scanLibraryFile(s Scanner) (openatp.LibraryFile, error) {
	var f openatp.LibraryFile
	var created int64
	err := s.Scan(&f.FileName, &f.SHA256, &f.Description, &created, &f.CreatedBy, &f.HasParameters, &f.ParametersDescription, &f.Size)
	f.CreationTime = FromNanos(created)
	return f, err
}

// scanLibraryFileContent reads a row of libraryColumns and the content.
func scanLibraryFileContent(s Scanner) (openatp.LibraryFile, error) {
	var f openatp.LibraryFile
	var created int64
	err := s.Scan(&f.FileName, &f.SHA256, &f.Description, &created, &f.CreatedBy, &f.HasParameters, &f.ParametersDescription, &f.Size, &f.Content)
	f.CreationTime = FromNanos(created)
	f.Content = BytesOrEmpty(f.Content)
	return f, err
}

// PutLibraryFile stores a library file, replacing the one of its name if
// override (see openatp.LibraryStore).
func (w Writer) PutLibraryFile(ctx context.Context, tenantID string, f openatp.LibraryFile, override bool) (openatp.LibraryFile, error) {
	f.CreationTime = w.e.Now()
	if err := f.Normalize(); err != nil {
		return openatp.LibraryFile{}, err
	}
	created, err := Nanos("creationTime", f.CreationTime)
	if err != nil {
		return openatp.LibraryFile{}, err
	}
	key := openatp.LibraryFileKey(f.FileName)
	err = w.tenantTx(ctx, tenantID, func(x Execer, seq int64) error {
		n, err := exec(ctx, x, "cannot store the library file", `INSERT INTO library_files (tenant_seq, name_key, file_name, sha256,
			description, creation_time, created_by, has_parameters, parameters_description, size, content)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_seq, name_key) DO NOTHING`,
			seq, key, f.FileName, f.SHA256, f.Description, created, f.CreatedBy, f.HasParameters, f.ParametersDescription, f.Size, f.Content)
		if err != nil || n > 0 {
			return err
		}
		if !override {
			return openatp.LibraryFileExists(f.FileName)
		}
		_, err = exec(ctx, x, "cannot store the library file", `UPDATE library_files SET file_name = ?, sha256 = ?, description = ?,
			creation_time = ?, created_by = ?, has_parameters = ?, parameters_description = ?, size = ?, content = ?
			WHERE tenant_seq = ? AND name_key = ?`,
			f.FileName, f.SHA256, f.Description, created, f.CreatedBy, f.HasParameters, f.ParametersDescription, f.Size, f.Content, seq, key)
		return err
	})
	f.Content = nil
	return f, err
}

// DeleteLibraryFile deletes a library file by name, ignoring case.
func (w Writer) DeleteLibraryFile(ctx context.Context, tenantID, name string) error {
	return w.tenantTx(ctx, tenantID, func(x Execer, seq int64) error {
		n, err := exec(ctx, x, "cannot delete the library file", "DELETE FROM library_files WHERE tenant_seq = ? AND name_key = ?",
			seq, openatp.LibraryFileKey(name))
		if err == nil && n == 0 {
			return openatp.LibraryFileNotFound(name)
		}
		return err
	})
}

// LibraryFiles returns the tenant's library ordered by name, without
// contents.
func (r Reader) LibraryFiles(ctx context.Context, tenantID string) ([]openatp.LibraryFile, error) {
	seq, err := TenantSeq(ctx, r.q, tenantID)
	if err != nil {
		return nil, err
	}
	return List(ctx, r.q, "cannot list the library", scanLibraryFile,
		"SELECT "+libraryColumns+" FROM library_files WHERE tenant_seq = ? ORDER BY name_key", seq)
}

// LibraryFile returns one library file by name, ignoring case, with its
// content if content.
func (r Reader) LibraryFile(ctx context.Context, tenantID, name string, content bool) (openatp.LibraryFile, error) {
	scan, cols := scanLibraryFile, libraryColumns
	if content {
		scan, cols = scanLibraryFileContent, libraryColumns+", content"
	}
	return Get(ctx, r.q, "cannot read the library file", func() error { return openatp.LibraryFileNotFound(name) }, scan,
		"SELECT "+cols+" FROM library_files f JOIN tenants t ON t.seq = f.tenant_seq WHERE t.id = ? AND f.name_key = ?",
		tenantID, openatp.LibraryFileKey(name))
}
