-- The count of a tenant's PutMachineActions (openatp.MachineActionStore):
-- the one action write that may store stamps older than the tenant's
-- last, so that a reader keeping the tenant's actions by stamp (the poll
-- of GET /api/machineactions, responseapi) knows to read them all again
-- (internal/sqlstore MachineActionEpoch).
ALTER TABLE tenant_action_clock ADD COLUMN puts INTEGER NOT NULL DEFAULT 0;
