-- Vulnerability management (vuln.Store, issue 25), as sqlite's
-- 0015_tvm.sql: the catalog normalized (products, vulnerabilities, the versions they affect,
-- security updates); each machine's inventory is one row, its installed
-- software packed in one blob (internal/sqlstore/tvmsql/blob.go) and its
-- missing updates comma-separated: a tenant of 100,000 machines with 40
-- products each is 100,000 rows, not 4 million. tvm_state counts the
-- writes of a tenant's catalog and inventory, so that a reader knows
-- when what it derived from them is stale. Times are Unix nanoseconds.
CREATE TABLE tvm_state (
	tenant_seq        bigint  NOT NULL PRIMARY KEY REFERENCES tenants (seq),
	catalog_version   bigint  NOT NULL,
	inventory_version bigint  NOT NULL
);

CREATE TABLE tvm_products (
	tenant_seq bigint  NOT NULL REFERENCES tenants (seq),
	seq        bigint  NOT NULL,
	vendor     text    COLLATE "C" NOT NULL,
	name       text    COLLATE "C" NOT NULL,
	PRIMARY KEY (tenant_seq, seq),
	UNIQUE (tenant_seq, vendor, name)
);

-- exploit_types and exploit_uris one item a line.
CREATE TABLE tvm_vulnerabilities (
	tenant_seq       bigint  NOT NULL REFERENCES tenants (seq),
	seq              bigint  NOT NULL,
	id               text    COLLATE "C" NOT NULL,
	name             text    COLLATE "C" NOT NULL,
	description      text    NOT NULL,
	severity         text    NOT NULL,
	cvss_v3          double precision,
	published        bigint  NOT NULL,
	updated          bigint  NOT NULL,
	public_exploit   boolean NOT NULL,
	exploit_verified boolean NOT NULL,
	exploit_in_kit   boolean NOT NULL,
	exploit_types    text    NOT NULL,
	exploit_uris     text    NOT NULL,
	PRIMARY KEY (tenant_seq, seq),
	UNIQUE (tenant_seq, id)
);

-- created: when this (vulnerability, product, version) was first written
-- (a delta reports the installations it made vulnerable as New).
CREATE TABLE tvm_affected (
	tenant_seq    bigint  NOT NULL REFERENCES tenants (seq),
	vuln_seq      bigint  NOT NULL,
	product_seq   bigint  NOT NULL,
	version       text    COLLATE "C" NOT NULL,
	fixed_version text    NOT NULL,
	fixing_kb     text    NOT NULL,
	created       bigint  NOT NULL,
	PRIMARY KEY (tenant_seq, vuln_seq, product_seq, version)
);

-- products_names and cves one item a line.
CREATE TABLE tvm_updates (
	tenant_seq     bigint  NOT NULL REFERENCES tenants (seq),
	id             text    COLLATE "C" NOT NULL,
	name           text    COLLATE "C" NOT NULL,
	release_date   bigint  NOT NULL,
	os_build       bigint,
	products_names text    NOT NULL,
	url            text    NOT NULL,
	cves           text    NOT NULL,
	PRIMARY KEY (tenant_seq, id)
);

CREATE TABLE tvm_inventory (
	tenant_seq  bigint  NOT NULL REFERENCES tenants (seq),
	machine_seq bigint  NOT NULL,
	software    bytea   NOT NULL,
	kbs         text    NOT NULL,
	PRIMARY KEY (tenant_seq, machine_seq)
);

-- Install path lists (their paths joined by U+001F), kept once per tenant.
CREATE TABLE tvm_strings (
	tenant_seq bigint  NOT NULL REFERENCES tenants (seq),
	seq        bigint  NOT NULL,
	value      text    COLLATE "C" NOT NULL,
	PRIMARY KEY (tenant_seq, seq),
	UNIQUE (tenant_seq, value)
);
