-- What succeeded machine actions did to a machine (openatp.MachineState,
-- issue 23): a row per machine that an isolation, unisolation,
-- restriction, unrestriction or offboarding changed, written in the
-- transaction that makes the action Succeeded. A reset deletes the
-- tenant's rows; deleting a machine keeps its row, as its actions.
CREATE TABLE machine_states (
	tenant_seq     INTEGER NOT NULL REFERENCES tenants (seq),
	machine_id     TEXT    NOT NULL, -- machines.id
	isolated       INTEGER NOT NULL, -- 0 or 1
	isolation_type TEXT,
	restricted     INTEGER NOT NULL,
	offboarded     INTEGER NOT NULL,
	last_action_id TEXT    NOT NULL,
	updated        INTEGER NOT NULL, -- the action's success stamp, Unix nanoseconds
	PRIMARY KEY (tenant_seq, machine_id)
);
