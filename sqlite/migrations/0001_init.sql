-- The initial schema. Times are INTEGER nanoseconds since the Unix epoch,
-- UTC. Rows refer to their tenant by tenants.seq, a small integer, so the
-- large tables do not repeat 36-byte tenant GUIDs.

CREATE TABLE tenants (
	seq      INTEGER PRIMARY KEY,
	id       TEXT    NOT NULL UNIQUE,
	name     TEXT    NOT NULL,
	name_key TEXT    NOT NULL UNIQUE, -- openatp.NameKey(name)
	created  INTEGER NOT NULL
);

CREATE TABLE apps (
	client_id   TEXT    PRIMARY KEY,
	tenant_seq  INTEGER NOT NULL REFERENCES tenants (seq),
	object_id   TEXT    NOT NULL,
	name        TEXT    NOT NULL,
	secret_hash BLOB    NOT NULL,
	roles       TEXT    NOT NULL, -- JSON array
	scopes      TEXT    NOT NULL, -- JSON array
	created     INTEGER NOT NULL
);
CREATE INDEX apps_by_tenant ON apps (tenant_seq, name, client_id);

CREATE TABLE machines (
	seq                      INTEGER PRIMARY KEY,
	tenant_seq               INTEGER NOT NULL REFERENCES tenants (seq),
	id                       TEXT    NOT NULL,
	computer_dns_name        TEXT,
	first_seen               INTEGER,
	last_seen                INTEGER,
	os_platform              TEXT,
	os_version               TEXT,
	os_processor             TEXT,
	version                  TEXT,
	last_ip_address          TEXT,
	last_external_ip_address TEXT,
	agent_version            TEXT,
	os_build                 INTEGER,
	health_status            TEXT,
	onboarding_status        TEXT,
	risk_score               TEXT,
	exposure_level           TEXT,
	is_aad_joined            INTEGER,
	aad_device_id            TEXT,
	machine_tags             TEXT    NOT NULL, -- JSON array, order kept
	device_value             TEXT,
	ip_addresses             TEXT    NOT NULL, -- JSON array of openatp.IPAddress
	os_architecture          TEXT,
	UNIQUE (tenant_seq, id)
);

-- users holds one row per (tenant, domain, account name), matched ignoring
-- case; account_name and account_domain keep the first spelling seen.
-- users and user_machines are keyed by the name keys themselves, not by a
-- surrogate id: AddLogons then upserts both without reading anything back,
-- and UserMachines is one range scan of user_machines.
CREATE TABLE users (
	tenant_seq     INTEGER NOT NULL REFERENCES tenants (seq),
	name_key       TEXT    NOT NULL, -- openatp.NameKey(account_name)
	domain_key     TEXT    NOT NULL, -- openatp.NameKey(account_domain)
	account_name   TEXT    NOT NULL,
	account_domain TEXT    NOT NULL,
	sid            TEXT    NOT NULL,
	first_seen     INTEGER NOT NULL,
	last_seen      INTEGER NOT NULL,
	PRIMARY KEY (tenant_seq, name_key, domain_key)
) WITHOUT ROWID;

-- user_machines is the (user, machine) relation. It declares no foreign
-- keys: it is the largest table, the store is its only writer and checks
-- both ends, and ResetTenant deletes relations before users and machines;
-- without them an insert costs no parent lookups and deleting a machine no
-- search for its children. logon_types is a bit set: bit i is
-- openatp.LogonTypes[i].
CREATE TABLE user_machines (
	tenant_seq  INTEGER NOT NULL,
	name_key    TEXT    NOT NULL,
	domain_key  TEXT    NOT NULL,
	machine_seq INTEGER NOT NULL, -- machines.seq
	first_seen  INTEGER NOT NULL,
	last_seen   INTEGER NOT NULL,
	logon_types INTEGER NOT NULL,
	PRIMARY KEY (tenant_seq, name_key, domain_key, machine_seq)
) WITHOUT ROWID;

CREATE TABLE device_groups (
	tenant_seq  INTEGER NOT NULL REFERENCES tenants (seq),
	id          INTEGER NOT NULL,
	name        TEXT    NOT NULL,
	name_key    TEXT    NOT NULL, -- openatp.NameKey(name)
	description TEXT    NOT NULL,
	rank        INTEGER NOT NULL,
	rules       TEXT    NOT NULL, -- JSON array of openatp.RuleRow
	PRIMARY KEY (tenant_seq, id),
	UNIQUE (tenant_seq, name_key)
);

CREATE TABLE signing_keys (
	id          TEXT    PRIMARY KEY,
	private_pem BLOB    NOT NULL,
	created     INTEGER NOT NULL,
	active      INTEGER NOT NULL
);

CREATE TABLE settings (
	name  TEXT PRIMARY KEY,
	value TEXT NOT NULL
);
