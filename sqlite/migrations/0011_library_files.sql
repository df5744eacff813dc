-- The live response library (openatp.LibraryStore, issue 23): one row a
-- file, name_key the lower-cased name (names compare ignoring case),
-- content the file's bytes (bounded by the API's upload limit). Times are
-- Unix nanoseconds.
CREATE TABLE library_files (
	tenant_seq             INTEGER NOT NULL REFERENCES tenants (seq),
	name_key               TEXT    NOT NULL,
	file_name              TEXT    NOT NULL,
	sha256                 TEXT    NOT NULL,
	description            TEXT,
	creation_time          INTEGER NOT NULL,
	created_by             TEXT    NOT NULL,
	has_parameters         INTEGER NOT NULL,
	parameters_description TEXT,
	size                   INTEGER NOT NULL,
	content                BLOB    NOT NULL,
	PRIMARY KEY (tenant_seq, name_key)
);
