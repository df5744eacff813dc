-- Alerts (openatp.AlertStore, issue 13). An alert belongs to a machine of
-- its tenant, named by id as machine_ips does (DeleteMachine and
-- ResetTenant delete its alerts; the store is the only writer, so there is
-- no foreign key). Its machine-derived properties (computerDnsName,
-- rbacGroupName) are not stored: they are read from the machine. The lists
-- (mitreTechniques, loggedOnUsers, comments, evidence) and relatedUser are
-- JSON of the openatp types. A rowid table: a row with its evidence is
-- often larger than WITHOUT ROWID tables are meant for.
CREATE TABLE alerts (
	tenant_seq          INTEGER NOT NULL REFERENCES tenants (seq),
	id                  TEXT    NOT NULL,
	machine_id          TEXT    NOT NULL, -- machines.id
	incident_id         INTEGER,
	investigation_id    INTEGER,
	assigned_to         TEXT,
	severity            TEXT    NOT NULL,
	status              TEXT    NOT NULL,
	classification      TEXT,
	determination       TEXT,
	investigation_state TEXT,
	detection_source    TEXT,
	detector_id         TEXT,
	category            TEXT,
	threat_family_name  TEXT,
	title               TEXT,
	description         TEXT,
	alert_creation_time INTEGER,
	first_event_time    INTEGER,
	last_event_time     INTEGER,
	last_update_time    INTEGER NOT NULL,
	resolved_time       INTEGER,
	aad_tenant_id       TEXT,
	threat_name         TEXT,
	mitre_techniques    TEXT    NOT NULL, -- JSON array of strings
	related_user        TEXT,             -- JSON of openatp.AlertAccount, or NULL
	logged_on_users     TEXT    NOT NULL, -- JSON array of openatp.AlertAccount
	comments            TEXT    NOT NULL, -- JSON array of openatp.AlertComment
	evidence            TEXT    NOT NULL, -- JSON array of openatp.Evidence
	UNIQUE (tenant_seq, id)
);
-- The alerts of a machine: /api/machines/{id}/alerts (from the read model),
-- DeleteMachine, and CreateAlertByReference's search for an open alert of
-- the same title.
CREATE INDEX alerts_by_machine ON alerts (tenant_seq, machine_id);

-- The alert clock of each tenant (openatp.AlertStore): the last
-- LastUpdateTime stamped, in Unix nanoseconds. Only writers of alerts read
-- it, inside their IMMEDIATE transaction.
ALTER TABLE tenants ADD COLUMN alert_clock INTEGER NOT NULL DEFAULT 0;

-- Alert changes in the feed: a row with an alert_id (its other keys empty).
-- Processes of the previous version count such a row as a rebuild marker
-- (machine_id = ''), which is safe: they rebuild.
ALTER TABLE content_changes ADD COLUMN alert_id TEXT NOT NULL DEFAULT '';
