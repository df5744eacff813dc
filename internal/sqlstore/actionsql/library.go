package actionsql

import (
	"context"

	"github.com/openatp/openatp"
	"github.com/openatp/openatp/internal/sqlstore"
)

// The live response library (openatp.LibraryStore) is written and read
// with the same SQL in both engines.

// libraryColumns are the columns of library_files read back, but the
// content, in the order of scanLibraryFile.
const libraryColumns = "file_name, sha256, description, creation_time, created_by, has_parameters, parameters_description, size"

// scanLibraryFile reads a row of libraryColumns.
func scanLibraryFile(s sqlstore.Scanner) (openatp.LibraryFile, error) {
	var f openatp.LibraryFile
	var created int64
	err := s.Scan(&f.FileName, &f.SHA256, &f.Description, &created, &f.CreatedBy, &f.HasParameters, &f.ParametersDescription, &f.Size)
	f.CreationTime = sqlstore.FromNanos(created)
	return f, err
}

// scanLibraryFileContent reads a row of libraryColumns and the content.
func scanLibraryFileContent(s sqlstore.Scanner) (openatp.LibraryFile, error) {
	var f openatp.LibraryFile
	var created int64
	err := s.Scan(&f.FileName, &f.SHA256, &f.Description, &created, &f.CreatedBy, &f.HasParameters, &f.ParametersDescription, &f.Size, &f.Content)
	f.CreationTime = sqlstore.FromNanos(created)
	f.Content = sqlstore.BytesOrEmpty(f.Content)
	return f, err
}

// PutLibraryFile stores a library file, replacing the one of its name if
// override (see openatp.LibraryStore).
func (d Store) PutLibraryFile(ctx context.Context, tenantID string, f openatp.LibraryFile, override bool) (openatp.LibraryFile, error) {
	f.CreationTime = d.w.Time()
	if err := f.Normalize(); err != nil {
		return openatp.LibraryFile{}, err
	}
	created, err := sqlstore.Nanos("creationTime", f.CreationTime)
	if err != nil {
		return openatp.LibraryFile{}, err
	}
	key := openatp.LibraryFileKey(f.FileName)
	err = d.w.TenantTx(ctx, tenantID, func(x sqlstore.Execer, seq int64) error {
		n, err := sqlstore.Exec(ctx, x, "cannot store the library file", `INSERT INTO library_files (tenant_seq, name_key, file_name, sha256,
			description, creation_time, created_by, has_parameters, parameters_description, size, content)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_seq, name_key) DO NOTHING`,
			seq, key, f.FileName, f.SHA256, f.Description, created, f.CreatedBy, f.HasParameters, f.ParametersDescription, f.Size, f.Content)
		if err != nil || n > 0 {
			return err
		}
		if !override {
			return openatp.LibraryFileExists(f.FileName)
		}
		_, err = sqlstore.Exec(ctx, x, "cannot store the library file", `UPDATE library_files SET file_name = ?, sha256 = ?, description = ?,
			creation_time = ?, created_by = ?, has_parameters = ?, parameters_description = ?, size = ?, content = ?
			WHERE tenant_seq = ? AND name_key = ?`,
			f.FileName, f.SHA256, f.Description, created, f.CreatedBy, f.HasParameters, f.ParametersDescription, f.Size, f.Content, seq, key)
		return err
	})
	f.Content = nil
	return f, err
}

// DeleteLibraryFile deletes a library file by name, ignoring case.
func (d Store) DeleteLibraryFile(ctx context.Context, tenantID, name string) error {
	return d.w.TenantTx(ctx, tenantID, func(x sqlstore.Execer, seq int64) error {
		n, err := sqlstore.Exec(ctx, x, "cannot delete the library file", "DELETE FROM library_files WHERE tenant_seq = ? AND name_key = ?",
			seq, openatp.LibraryFileKey(name))
		if err == nil && n == 0 {
			return openatp.LibraryFileNotFound(name)
		}
		return err
	})
}

// LibraryFiles returns the tenant's library ordered by name, without
// contents.
func (d Store) LibraryFiles(ctx context.Context, tenantID string) ([]openatp.LibraryFile, error) {
	seq, err := sqlstore.TenantSeq(ctx, d.q, tenantID)
	if err != nil {
		return nil, err
	}
	return sqlstore.List(ctx, d.q, "cannot list the library", scanLibraryFile,
		"SELECT "+libraryColumns+" FROM library_files WHERE tenant_seq = ? ORDER BY name_key", seq)
}

// LibraryFile returns one library file by name, ignoring case, with its
// content if content.
func (d Store) LibraryFile(ctx context.Context, tenantID, name string, content bool) (openatp.LibraryFile, error) {
	scan, cols := scanLibraryFile, libraryColumns
	if content {
		scan, cols = scanLibraryFileContent, libraryColumns+", content"
	}
	return sqlstore.Get(ctx, d.q, "cannot read the library file", func() error { return openatp.LibraryFileNotFound(name) }, scan,
		"SELECT "+cols+" FROM library_files f JOIN tenants t ON t.seq = f.tenant_seq WHERE t.id = ? AND f.name_key = ?",
		tenantID, openatp.LibraryFileKey(name))
}
