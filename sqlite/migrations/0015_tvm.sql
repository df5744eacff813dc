-- Vulnerability management (vuln.Store, issue 25). The catalog is
-- normalized (products, vulnerabilities, the versions they affect,
-- security updates); each machine's inventory is one row, its installed
-- software packed in one blob (internal/sqlstore/tvmsql/blob.go) and its
-- missing updates comma-separated: a tenant of 100,000 machines with 40
-- products each is 100,000 rows, not 4 million. tvm_state counts the
-- writes of a tenant's catalog and inventory, so that a reader knows
-- when what it derived from them is stale. Times are Unix nanoseconds.
CREATE TABLE tvm_state (
	tenant_seq        INTEGER NOT NULL PRIMARY KEY REFERENCES tenants (seq),
	catalog_version   INTEGER NOT NULL,
	inventory_version INTEGER NOT NULL
);

CREATE TABLE tvm_products (
	tenant_seq INTEGER NOT NULL REFERENCES tenants (seq),
	seq        INTEGER NOT NULL,
	vendor     TEXT    NOT NULL,
	name       TEXT    NOT NULL,
	PRIMARY KEY (tenant_seq, seq),
	UNIQUE (tenant_seq, vendor, name)
) WITHOUT ROWID;

-- exploit_types and exploit_uris one item a line.
CREATE TABLE tvm_vulnerabilities (
	tenant_seq       INTEGER NOT NULL REFERENCES tenants (seq),
	seq              INTEGER NOT NULL,
	id               TEXT    NOT NULL,
	name             TEXT    NOT NULL,
	description      TEXT    NOT NULL,
	severity         TEXT    NOT NULL,
	cvss_v3          REAL,
	published        INTEGER NOT NULL,
	updated          INTEGER NOT NULL,
	public_exploit   INTEGER NOT NULL,
	exploit_verified INTEGER NOT NULL,
	exploit_in_kit   INTEGER NOT NULL,
	exploit_types    TEXT    NOT NULL,
	exploit_uris     TEXT    NOT NULL,
	PRIMARY KEY (tenant_seq, seq),
	UNIQUE (tenant_seq, id)
) WITHOUT ROWID;

-- created: when this (vulnerability, product, version) was first written
-- (a delta reports the installations it made vulnerable as New).
CREATE TABLE tvm_affected (
	tenant_seq    INTEGER NOT NULL REFERENCES tenants (seq),
	vuln_seq      INTEGER NOT NULL,
	product_seq   INTEGER NOT NULL,
	version       TEXT    NOT NULL,
	fixed_version TEXT    NOT NULL,
	fixing_kb     TEXT    NOT NULL,
	created       INTEGER NOT NULL,
	PRIMARY KEY (tenant_seq, vuln_seq, product_seq, version)
) WITHOUT ROWID;

-- products_names and cves one item a line.
CREATE TABLE tvm_updates (
	tenant_seq     INTEGER NOT NULL REFERENCES tenants (seq),
	id             TEXT    NOT NULL,
	name           TEXT    NOT NULL,
	release_date   INTEGER NOT NULL,
	os_build       INTEGER,
	products_names TEXT    NOT NULL,
	url            TEXT    NOT NULL,
	cves           TEXT    NOT NULL,
	PRIMARY KEY (tenant_seq, id)
) WITHOUT ROWID;

-- A rowid table: its rows (a kilobyte or two) are too large for the
-- B-tree of a WITHOUT ROWID table.
CREATE TABLE tvm_inventory (
	tenant_seq  INTEGER NOT NULL REFERENCES tenants (seq),
	machine_seq INTEGER NOT NULL,
	software    BLOB    NOT NULL,
	kbs         TEXT    NOT NULL,
	PRIMARY KEY (tenant_seq, machine_seq)
);

-- Install path lists (their paths joined by U+001F), kept once per tenant:
-- the blobs name them by seq.
CREATE TABLE tvm_strings (
	tenant_seq INTEGER NOT NULL REFERENCES tenants (seq),
	seq        INTEGER NOT NULL,
	value      TEXT    NOT NULL,
	PRIMARY KEY (tenant_seq, seq),
	UNIQUE (tenant_seq, value)
) WITHOUT ROWID;
