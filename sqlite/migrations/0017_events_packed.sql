-- Observed events, rebuilt for import speed (issue 24; the events of
-- 0014 are dropped: see CHANGELOG). Measured with modernc's SQLite, the
-- cost of an event was its bound columns (about 1 µs each) and its
-- index entries at random places (a text device id, a text hash: several
-- µs each); entries appended in time order cost almost nothing. So:
--
-- - An event is a row of few columns: its identity (ts, device_id,
--   report_id), the key of its looked-up values, and the other columns
--   packed in rest (internal/sqlstore/eventpack.go).
-- - The table is clustered by its identity, time first (WITHOUT ROWID):
--   an import, in time order, appends; the retention deletes a range.
-- - The looked-up values are kept once each per tenant: a file's three
--   hashes in event_files, a connection's remote address and host in
--   event_remotes, indexed there; events name them by id, and one index
--   (tenant_seq, file_id | remote_id, ts) finds a value's events, which
--   it covers with the primary key's columns (the machines of a value
--   without reading a row).
-- - Events by machine are not indexed: a read by machine scans the
--   tenant's events in its time window.
DROP TABLE file_events;
DROP TABLE network_events;

CREATE TABLE event_files (
	id INTEGER PRIMARY KEY,
	tenant_seq INTEGER NOT NULL REFERENCES tenants (seq),
	sha1 TEXT NOT NULL,
	sha256 TEXT NOT NULL,
	md5 TEXT NOT NULL,
	UNIQUE (tenant_seq, sha1, sha256, md5)
);
CREATE INDEX event_files_sha256 ON event_files (tenant_seq, sha256);
CREATE INDEX event_files_md5 ON event_files (tenant_seq, md5);

CREATE TABLE event_remotes (
	id INTEGER PRIMARY KEY,
	tenant_seq INTEGER NOT NULL REFERENCES tenants (seq),
	remote_ip TEXT NOT NULL,
	remote_domain TEXT NOT NULL,
	UNIQUE (tenant_seq, remote_ip, remote_domain)
);
CREATE INDEX event_remotes_domain ON event_remotes (tenant_seq, remote_domain);

CREATE TABLE file_events (
	tenant_seq INTEGER NOT NULL,
	ts INTEGER NOT NULL,
	device_id TEXT NOT NULL,
	report_id INTEGER NOT NULL,
	file_id INTEGER NOT NULL,
	rest BLOB NOT NULL,
	PRIMARY KEY (tenant_seq, ts, device_id, report_id)
) WITHOUT ROWID;
CREATE INDEX file_events_file ON file_events (tenant_seq, file_id, ts);

CREATE TABLE network_events (
	tenant_seq INTEGER NOT NULL,
	ts INTEGER NOT NULL,
	device_id TEXT NOT NULL,
	report_id INTEGER NOT NULL,
	remote_id INTEGER NOT NULL,
	rest BLOB NOT NULL,
	PRIMARY KEY (tenant_seq, ts, device_id, report_id)
) WITHOUT ROWID;
CREATE INDEX network_events_remote ON network_events (tenant_seq, remote_id, ts);
