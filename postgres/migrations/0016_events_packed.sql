-- Observed events, rebuilt as sqlite's 0015_events_packed.sql (the
-- events of 0013 are dropped: see CHANGELOG): few columns, the others
-- packed in rest; a file's hashes and a connection's remote address and
-- host kept once per tenant and named by id; the primary key time first;
-- one index per table on the looked-up value, then time.
DROP TABLE file_events;
DROP TABLE network_events;

CREATE TABLE event_files (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	tenant_seq bigint NOT NULL REFERENCES tenants (seq),
	sha1 text COLLATE "C" NOT NULL,
	sha256 text COLLATE "C" NOT NULL,
	md5 text COLLATE "C" NOT NULL,
	UNIQUE (tenant_seq, sha1, sha256, md5)
);
CREATE INDEX event_files_sha256 ON event_files (tenant_seq, sha256);
CREATE INDEX event_files_md5 ON event_files (tenant_seq, md5);

CREATE TABLE event_remotes (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	tenant_seq bigint NOT NULL REFERENCES tenants (seq),
	remote_ip text COLLATE "C" NOT NULL,
	remote_domain text COLLATE "C" NOT NULL,
	UNIQUE (tenant_seq, remote_ip, remote_domain)
);
CREATE INDEX event_remotes_domain ON event_remotes (tenant_seq, remote_domain);

CREATE TABLE file_events (
	tenant_seq bigint NOT NULL,
	ts bigint NOT NULL,
	device_id text COLLATE "C" NOT NULL,
	report_id bigint NOT NULL,
	file_id bigint NOT NULL,
	rest bytea NOT NULL,
	PRIMARY KEY (tenant_seq, ts, device_id, report_id)
);
CREATE INDEX file_events_file ON file_events (tenant_seq, file_id, ts) INCLUDE (device_id);

CREATE TABLE network_events (
	tenant_seq bigint NOT NULL,
	ts bigint NOT NULL,
	device_id text COLLATE "C" NOT NULL,
	report_id bigint NOT NULL,
	remote_id bigint NOT NULL,
	rest bytea NOT NULL,
	PRIMARY KEY (tenant_seq, ts, device_id, report_id)
);
CREATE INDEX network_events_remote ON network_events (tenant_seq, remote_id, ts) INCLUDE (device_id);
