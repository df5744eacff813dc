-- Machine actions (openatp.MachineActionStore, issue 23), as sqlite's
-- 0009_machine_actions.sql: an action names a machine of its tenant by id
-- (no foreign key); computer_dns_name is the machine's name when the
-- action was created; related_file_info and commands are JSON of the
-- openatp types; times are Unix nanoseconds.
CREATE TABLE machine_actions (
	tenant_seq             bigint NOT NULL REFERENCES tenants (seq),
	id                     text   COLLATE "C" NOT NULL,
	type                   text   COLLATE "C" NOT NULL,
	title                  text,
	requestor              text   COLLATE "C" NOT NULL,
	requestor_comment      text   NOT NULL,
	status                 text   COLLATE "C" NOT NULL,
	machine_id             text   COLLATE "C" NOT NULL, -- machines.id
	computer_dns_name      text,
	creation_time          bigint NOT NULL,
	last_update_time       bigint NOT NULL, -- unique in the tenant: the action clock's stamp
	cancellation_requestor text,
	cancellation_comment   text,
	cancellation_time      bigint,
	error_hresult          bigint NOT NULL,
	scope                  text,
	external_id            text,
	request_source         text,
	related_file_info      text,            -- JSON of openatp.RelatedFileInfo, or NULL
	commands               text   NOT NULL, -- JSON array of openatp.ActionCommand
	troubleshoot_info      text,
	PRIMARY KEY (tenant_seq, id)
);
CREATE INDEX machine_actions_by_update ON machine_actions (tenant_seq, last_update_time);
CREATE INDEX machine_actions_by_creation ON machine_actions (tenant_seq, creation_time, id);
CREATE INDEX machine_actions_by_machine ON machine_actions (tenant_seq, machine_id, last_update_time);
CREATE INDEX machine_actions_live ON machine_actions (tenant_seq, machine_id)
	WHERE status IN ('Pending', 'InProgress');

-- The action clock of each tenant (openatp.MachineActionStore): the last
-- stamp, in Unix nanoseconds. Every action write of the tenant locks its
-- row first and holds it until the commit, so that stamps commit in order
-- and a new action's busy check sees every action committed before it.
CREATE TABLE tenant_action_clock (
	tenant_seq bigint PRIMARY KEY REFERENCES tenants (seq),
	t          bigint NOT NULL
);
