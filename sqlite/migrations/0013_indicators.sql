-- Custom indicators (openatp.IndicatorStore, issue 24): seq is the
-- tenant's indicator number (the entity's id), value_key the type and
-- value as openatp.IndicatorValueKey compares them (one indicator a key).
-- Times are Unix nanoseconds; rbac_group_names one name a line,
-- rbac_group_ids comma-separated. indicator_counters keeps the last
-- number given, so that a deleted indicator's number is not given again.
CREATE TABLE indicators (
	tenant_seq              INTEGER NOT NULL REFERENCES tenants (seq),
	seq                     INTEGER NOT NULL,
	value_key               TEXT    NOT NULL,
	indicator_value         TEXT    NOT NULL,
	indicator_type          TEXT    NOT NULL,
	action                  TEXT    NOT NULL,
	application             TEXT,
	source                  TEXT    NOT NULL,
	source_type             TEXT    NOT NULL,
	severity                TEXT    NOT NULL,
	title                   TEXT    NOT NULL,
	description             TEXT    NOT NULL,
	recommended_actions     TEXT,
	external_id             TEXT,
	educate_url             TEXT,
	created_by              TEXT    NOT NULL,
	created_by_source       TEXT    NOT NULL,
	created_by_display_name TEXT    NOT NULL,
	last_updated_by         TEXT    NOT NULL,
	creation_time           INTEGER NOT NULL,
	last_update_time        INTEGER NOT NULL,
	expiration_time         INTEGER,
	rbac_group_names        TEXT    NOT NULL,
	rbac_group_ids          TEXT    NOT NULL,
	generate_alert          INTEGER NOT NULL,
	PRIMARY KEY (tenant_seq, seq),
	UNIQUE (tenant_seq, value_key)
);

CREATE TABLE indicator_counters (
	tenant_seq INTEGER NOT NULL PRIMARY KEY REFERENCES tenants (seq),
	last_seq   INTEGER NOT NULL
);
