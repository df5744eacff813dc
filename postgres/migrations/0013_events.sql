-- Observed events (openatp.EventStore, issue 24), as sqlite's
-- 0014_events.sql: the columns of DeviceFileEvents and DeviceNetworkEvents
-- in snake case, ts Unix nanoseconds, absent texts '', identity
-- (device_id, ts, report_id).
CREATE TABLE file_events (
	tenant_seq bigint NOT NULL REFERENCES tenants (seq),
	ts bigint NOT NULL,
	device_id text COLLATE "C" NOT NULL,
	device_name text NOT NULL,
	action_type text NOT NULL,
	file_name text NOT NULL,
	folder_path text NOT NULL,
	sha1 text COLLATE "C" NOT NULL,
	sha256 text COLLATE "C" NOT NULL,
	md5 text COLLATE "C" NOT NULL,
	file_size bigint,
	signer text NOT NULL,
	previous_file_name text NOT NULL,
	previous_folder_path text NOT NULL,
	file_origin_url text NOT NULL,
	file_origin_ip text NOT NULL,
	initiating_process_account_domain text NOT NULL,
	initiating_process_account_name text NOT NULL,
	initiating_process_file_name text NOT NULL,
	initiating_process_folder_path text NOT NULL,
	initiating_process_sha1 text NOT NULL,
	initiating_process_sha256 text NOT NULL,
	initiating_process_md5 text NOT NULL,
	initiating_process_command_line text NOT NULL,
	initiating_process_id bigint,
	report_id bigint NOT NULL,
	PRIMARY KEY (tenant_seq, device_id, ts, report_id)
);
CREATE INDEX file_events_sha1 ON file_events (tenant_seq, sha1, ts);
CREATE INDEX file_events_sha256 ON file_events (tenant_seq, sha256, ts);
CREATE INDEX file_events_md5 ON file_events (tenant_seq, md5, ts);
CREATE INDEX file_events_ts ON file_events (ts);

CREATE TABLE network_events (
	tenant_seq bigint NOT NULL REFERENCES tenants (seq),
	ts bigint NOT NULL,
	device_id text COLLATE "C" NOT NULL,
	device_name text NOT NULL,
	action_type text NOT NULL,
	remote_ip text COLLATE "C" NOT NULL,
	remote_port bigint,
	remote_url text NOT NULL,
	local_ip text NOT NULL,
	local_port bigint,
	protocol text NOT NULL,
	local_ip_type text NOT NULL,
	remote_ip_type text NOT NULL,
	initiating_process_account_domain text NOT NULL,
	initiating_process_account_name text NOT NULL,
	initiating_process_file_name text NOT NULL,
	initiating_process_folder_path text NOT NULL,
	initiating_process_sha1 text NOT NULL,
	initiating_process_sha256 text NOT NULL,
	initiating_process_md5 text NOT NULL,
	initiating_process_command_line text NOT NULL,
	initiating_process_id bigint,
	report_id bigint NOT NULL,
	remote_domain text COLLATE "C" NOT NULL,
	PRIMARY KEY (tenant_seq, device_id, ts, report_id)
);
CREATE INDEX network_events_remote_ip ON network_events (tenant_seq, remote_ip, ts);
CREATE INDEX network_events_remote_domain ON network_events (tenant_seq, remote_domain, ts);
CREATE INDEX network_events_ts ON network_events (ts);

CREATE INDEX machine_ips_seen ON machine_ips (seen);
