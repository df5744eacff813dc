-- The IP history of machines (openatp.MachineAPIStore.MachinesByIP): a
-- row for each address a machine write reported (LastIPAddress and each
-- ipAddresses entry, in openatp.IPKey form), at the machine's lastSeen or
-- the time of the write. Like user_machines it declares no foreign keys
-- (the store is its only writer; DeleteMachine and ResetTenant delete its
-- rows) and has no rowid.
--
-- The primary key is the one index: MachinesByIP reads one range of it
-- (tenant, ip, seen between from and to), and a row written again (the
-- same machine, address and lastSeen: an unchanged machine upserted once
-- more) is found there and skipped (ON CONFLICT DO NOTHING). There is no
-- index by machine: it would cost every machine written another B-tree
-- insert, for DeleteMachine alone, which scans the tenant's rows instead.
CREATE TABLE machine_ips (
	tenant_seq INTEGER NOT NULL,
	ip         TEXT    NOT NULL, -- openatp.IPKey
	seen       INTEGER NOT NULL,
	machine_id TEXT    NOT NULL, -- machines.id
	PRIMARY KEY (tenant_seq, ip, seen, machine_id)
) WITHOUT ROWID;

-- user_machines keeps no index by machine either: MachineUsers scans the
-- tenant's relations (about 25 ms for 100,000 machines and 500,000 logon
-- events), where an index would answer in 0.1 ms but cost a logon import
-- about a quarter more CPU time per event (BenchmarkAddLogons).
