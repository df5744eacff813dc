-- The count of a tenant's PutMachineActions, as sqlite's
-- 0012_action_puts.sql: the one action write that may store stamps older
-- than the tenant's last (internal/sqlstore MachineActionEpoch).
ALTER TABLE tenant_action_clock ADD COLUMN puts bigint NOT NULL DEFAULT 0;
