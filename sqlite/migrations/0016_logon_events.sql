-- Logon events kept as rows (hunting.LogonEventStore, issue 27): the rows
-- of DeviceLogonEvents, beside the (user, machine) relations they are
-- merged into. An event is identified by the whole primary key, so that
-- adding it again changes nothing; the key leads with the tenant and the
-- time, which serves the reads of a time range and the retention's
-- deletes (per tenant), without a second index to write. ts is Unix
-- nanoseconds, logon_type the type's bit (sqlstore.LogonTypeBits, 0 for
-- none), the machine its machines.seq (the read joins machines, so the
-- events of a deleted machine are not read; the retention deletes them).
-- No foreign key: the import writes millions of these rows.
CREATE TABLE logon_events (
	tenant_seq INTEGER NOT NULL,
	ts INTEGER NOT NULL,
	machine_seq INTEGER NOT NULL,
	account_name TEXT NOT NULL,
	account_domain TEXT NOT NULL,
	logon_type INTEGER NOT NULL,
	account_sid TEXT NOT NULL,
	PRIMARY KEY (tenant_seq, ts, machine_seq, account_name, account_domain, logon_type)
) WITHOUT ROWID;
