-- What succeeded machine actions did to a machine (openatp.MachineState,
-- issue 23), as sqlite's 0010_machine_states.sql: a row per machine that
-- an isolation, unisolation, restriction, unrestriction or offboarding
-- changed, written in the transaction that makes the action Succeeded.
-- Booleans are 0 or 1, so that both engines run the same SQL.
CREATE TABLE machine_states (
	tenant_seq     bigint   NOT NULL REFERENCES tenants (seq),
	machine_id     text     COLLATE "C" NOT NULL, -- machines.id
	isolated       smallint NOT NULL,
	isolation_type text,
	restricted     smallint NOT NULL,
	offboarded     smallint NOT NULL,
	last_action_id text     COLLATE "C" NOT NULL,
	updated        bigint   NOT NULL, -- the action's success stamp, Unix nanoseconds
	PRIMARY KEY (tenant_seq, machine_id)
);
