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

-- Automated investigations (openatp.InvestigationStore, issue 23): seq is
-- the tenant's investigation number (the entity's id); start_time Unix
-- nanoseconds; the state is derived from it when read.
CREATE TABLE investigations (
	tenant_seq          INTEGER NOT NULL REFERENCES tenants (seq),
	seq                 INTEGER NOT NULL,
	start_time          INTEGER NOT NULL,
	end_time            INTEGER,
	state               TEXT    NOT NULL,
	cancelled_by        TEXT,
	status_details      TEXT,
	machine_id          TEXT    NOT NULL,
	computer_dns_name   TEXT,
	triggering_alert_id TEXT,
	requestor           TEXT    NOT NULL,
	comment             TEXT    NOT NULL,
	PRIMARY KEY (tenant_seq, seq)
);
