-- Alerts (openatp.AlertStore, issue 13), as sqlite's 0008_alerts.sql: an
-- alert belongs to a machine of its tenant, named by id; machine-derived
-- properties are read from the machine; the lists and relatedUser are JSON
-- of the openatp types. No foreign key to machines: the store is the only
-- writer, and DeleteMachine and ResetTenant delete a machine's alerts.
CREATE TABLE alerts (
	tenant_seq          bigint NOT NULL REFERENCES tenants (seq),
	id                  text   COLLATE "C" NOT NULL,
	machine_id          text   COLLATE "C" NOT NULL, -- machines.id
	incident_id         bigint,
	investigation_id    bigint,
	assigned_to         text,
	severity            text   NOT NULL,
	status              text   NOT NULL,
	classification      text,
	determination       text,
	investigation_state text,
	detection_source    text,
	detector_id         text,
	category            text,
	threat_family_name  text,
	title               text,
	description         text,
	alert_creation_time bigint,
	first_event_time    bigint,
	last_event_time     bigint,
	last_update_time    bigint NOT NULL,
	resolved_time       bigint,
	aad_tenant_id       text,
	threat_name         text,
	mitre_techniques    text   NOT NULL, -- JSON array of strings
	related_user        text,            -- JSON of openatp.AlertAccount, or NULL
	logged_on_users     text   NOT NULL, -- JSON array of openatp.AlertAccount
	comments            text   NOT NULL, -- JSON array of openatp.AlertComment
	evidence            text   NOT NULL, -- JSON array of openatp.Evidence
	PRIMARY KEY (tenant_seq, id)
);
CREATE INDEX alerts_by_machine ON alerts (tenant_seq, machine_id);

-- The alert clock of each tenant (openatp.AlertStore): the last
-- LastUpdateTime stamped, in Unix nanoseconds. A table of its own, not a
-- column of tenants: an alert write locks its tenant's row here until it
-- commits (so stamps commit in order), and must not hold up the writers
-- that lock the tenant's row FOR SHARE.
CREATE TABLE tenant_alert_clock (
	tenant_seq bigint PRIMARY KEY REFERENCES tenants (seq),
	t          bigint NOT NULL
);

-- Alert changes in the feed: a row with an alert_id (its other keys empty).
-- Processes of the previous version count such a row as a rebuild marker
-- (machine_id = ''), which is safe: they rebuild.
ALTER TABLE content_changes ADD COLUMN alert_id text COLLATE "C" NOT NULL DEFAULT '';
