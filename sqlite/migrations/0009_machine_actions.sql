-- Machine actions (openatp.MachineActionStore, issue 23). An action names
-- a machine of its tenant by id (no foreign key, as alerts: the store is
-- the only writer); computer_dns_name is the machine's name when the
-- action was created, as the service keeps it. related_file_info and
-- commands are JSON of the openatp types. Times are Unix nanoseconds.
CREATE TABLE machine_actions (
	tenant_seq             INTEGER NOT NULL REFERENCES tenants (seq),
	id                     TEXT    NOT NULL,
	type                   TEXT    NOT NULL,
	title                  TEXT,
	requestor              TEXT    NOT NULL,
	requestor_comment      TEXT    NOT NULL,
	status                 TEXT    NOT NULL,
	machine_id             TEXT    NOT NULL, -- machines.id
	computer_dns_name      TEXT,
	creation_time          INTEGER NOT NULL,
	last_update_time       INTEGER NOT NULL, -- unique in the tenant: the action clock's stamp
	cancellation_requestor TEXT,
	cancellation_comment   TEXT,
	cancellation_time      INTEGER,
	error_hresult          INTEGER NOT NULL,
	scope                  TEXT,
	external_id            TEXT,
	request_source         TEXT,
	related_file_info      TEXT,             -- JSON of openatp.RelatedFileInfo, or NULL
	commands               TEXT    NOT NULL, -- JSON array of openatp.ActionCommand
	troubleshoot_info      TEXT,
	UNIQUE (tenant_seq, id)
);
-- The poll (lastUpdateDateTimeUtc gt ..., the default order).
CREATE INDEX machine_actions_by_update ON machine_actions (tenant_seq, last_update_time);
-- $orderby=creationDateTimeUtc, $filter on it.
CREATE INDEX machine_actions_by_creation ON machine_actions (tenant_seq, creation_time, id);
-- A machine's actions ($filter=machineId eq ...).
CREATE INDEX machine_actions_by_machine ON machine_actions (tenant_seq, machine_id, last_update_time);
-- The live actions: the busy check of a new action, and the lifecycle's
-- clock resuming after a restart.
CREATE INDEX machine_actions_live ON machine_actions (tenant_seq, machine_id)
	WHERE status IN ('Pending', 'InProgress');

-- The action clock of each tenant (openatp.MachineActionStore): the last
-- stamp, in Unix nanoseconds. A table of its own, as PostgreSQL's, so that
-- both engines run the same SQL (internal/sqlstore/machineactions.go).
CREATE TABLE tenant_action_clock (
	tenant_seq INTEGER PRIMARY KEY REFERENCES tenants (seq),
	t          INTEGER NOT NULL
);
