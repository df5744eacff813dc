-- Logon events kept as rows (hunting.LogonEventStore, issue 27), as
-- sqlite's 0015_logon_events.sql: the primary key is the event's identity
-- and serves the reads of a time range and the retention's deletes.
CREATE TABLE logon_events (
	tenant_seq bigint NOT NULL,
	ts bigint NOT NULL,
	machine_seq bigint NOT NULL,
	account_name text COLLATE "C" NOT NULL,
	account_domain text COLLATE "C" NOT NULL,
	logon_type bigint NOT NULL,
	account_sid text NOT NULL,
	PRIMARY KEY (tenant_seq, ts, machine_seq, account_name, account_domain, logon_type)
);
