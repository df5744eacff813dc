-- The IP history of machines (openatp.MachineAPIStore.MachinesByIP), as
-- sqlite's 0007_machine_api.sql: a row for each address a machine write
-- reported (LastIPAddress and each ipAddresses entry, in openatp.IPKey
-- form), at the machine's lastSeen or the time of the write. No foreign
-- keys: the store is its only writer, and DeleteMachine and ResetTenant
-- delete its rows.
--
-- The primary key is the one index: MachinesByIP reads one range of it
-- (tenant, ip, seen between from and to), and a row written again (the
-- same machine, address and lastSeen) is found there and skipped (ON
-- CONFLICT DO NOTHING). There is no index by machine: it would cost every
-- machine written another index insert, for DeleteMachine alone, which
-- reads the tenant's range of the primary key instead.
CREATE TABLE machine_ips (
	tenant_seq bigint NOT NULL,
	ip         text   COLLATE "C" NOT NULL, -- openatp.IPKey
	seen       bigint NOT NULL,
	machine_id text   COLLATE "C" NOT NULL, -- machines.id
	PRIMARY KEY (tenant_seq, ip, seen, machine_id)
);

-- user_machines keeps no index by machine either (as in sqlite's
-- 0007_machine_api.sql): MachineUsers reads the tenant's range of its
-- primary key.
