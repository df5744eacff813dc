-- Observed events (openatp.EventStore, issue 24): one row an event, the
-- columns those of the advanced hunting tables DeviceFileEvents and
-- DeviceNetworkEvents in snake case (Timestamp is ts, Unix nanoseconds).
-- Texts absent are ''; a long or int absent is NULL. An event is
-- identified by (device_id, ts, report_id): the primary key, so that
-- adding it again changes nothing, and the read by machine and time.
-- remote_domain is the host of remote_url (openatp.EventDomain). The ts
-- indexes serve the retention's deletes, as machine_ips_seen does the IP
-- history's. The machine is named by id, as machine_ips does.
CREATE TABLE file_events (
	tenant_seq INTEGER NOT NULL REFERENCES tenants (seq),
	ts INTEGER NOT NULL,
	device_id TEXT NOT NULL,
	device_name TEXT NOT NULL,
	action_type TEXT NOT NULL,
	file_name TEXT NOT NULL,
	folder_path TEXT NOT NULL,
	sha1 TEXT NOT NULL,
	sha256 TEXT NOT NULL,
	md5 TEXT NOT NULL,
	file_size INTEGER,
	signer TEXT NOT NULL,
	previous_file_name TEXT NOT NULL,
	previous_folder_path TEXT NOT NULL,
	file_origin_url TEXT NOT NULL,
	file_origin_ip TEXT NOT NULL,
	initiating_process_account_domain TEXT NOT NULL,
	initiating_process_account_name TEXT NOT NULL,
	initiating_process_file_name TEXT NOT NULL,
	initiating_process_folder_path TEXT NOT NULL,
	initiating_process_sha1 TEXT NOT NULL,
	initiating_process_sha256 TEXT NOT NULL,
	initiating_process_md5 TEXT NOT NULL,
	initiating_process_command_line TEXT NOT NULL,
	initiating_process_id INTEGER,
	report_id INTEGER NOT NULL,
	PRIMARY KEY (tenant_seq, device_id, ts, report_id)
);
CREATE INDEX file_events_sha1 ON file_events (tenant_seq, sha1, ts);
CREATE INDEX file_events_sha256 ON file_events (tenant_seq, sha256, ts);
CREATE INDEX file_events_md5 ON file_events (tenant_seq, md5, ts);
CREATE INDEX file_events_ts ON file_events (ts);

CREATE TABLE network_events (
	tenant_seq INTEGER NOT NULL REFERENCES tenants (seq),
	ts INTEGER NOT NULL,
	device_id TEXT NOT NULL,
	device_name TEXT NOT NULL,
	action_type TEXT NOT NULL,
	remote_ip TEXT NOT NULL,
	remote_port INTEGER,
	remote_url TEXT NOT NULL,
	local_ip TEXT NOT NULL,
	local_port INTEGER,
	protocol TEXT NOT NULL,
	local_ip_type TEXT NOT NULL,
	remote_ip_type TEXT NOT NULL,
	initiating_process_account_domain TEXT NOT NULL,
	initiating_process_account_name TEXT NOT NULL,
	initiating_process_file_name TEXT NOT NULL,
	initiating_process_folder_path TEXT NOT NULL,
	initiating_process_sha1 TEXT NOT NULL,
	initiating_process_sha256 TEXT NOT NULL,
	initiating_process_md5 TEXT NOT NULL,
	initiating_process_command_line TEXT NOT NULL,
	initiating_process_id INTEGER,
	report_id INTEGER NOT NULL,
	remote_domain TEXT NOT NULL,
	PRIMARY KEY (tenant_seq, device_id, ts, report_id)
);
CREATE INDEX network_events_remote_ip ON network_events (tenant_seq, remote_ip, ts);
CREATE INDEX network_events_remote_domain ON network_events (tenant_seq, remote_domain, ts);
CREATE INDEX network_events_ts ON network_events (ts);

CREATE INDEX machine_ips_seen ON machine_ips (seen);
