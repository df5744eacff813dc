-- Custom indicators (openatp.IndicatorStore, issue 24), as sqlite's
-- 0013_indicators.sql: seq the tenant's indicator number, value_key the
-- type and value as openatp.IndicatorValueKey compares them; times are
-- Unix nanoseconds.
CREATE TABLE indicators (
	tenant_seq              bigint  NOT NULL REFERENCES tenants (seq),
	seq                     bigint  NOT NULL,
	value_key               text    COLLATE "C" NOT NULL,
	indicator_value         text    NOT NULL,
	indicator_type          text    NOT NULL,
	action                  text    NOT NULL,
	application             text,
	source                  text    NOT NULL,
	source_type             text    NOT NULL,
	severity                text    NOT NULL,
	title                   text    NOT NULL,
	description             text    NOT NULL,
	recommended_actions     text,
	external_id             text,
	educate_url             text,
	created_by              text    NOT NULL,
	created_by_source       text    NOT NULL,
	created_by_display_name text    NOT NULL,
	last_updated_by         text    NOT NULL,
	creation_time           bigint  NOT NULL,
	last_update_time        bigint  NOT NULL,
	expiration_time         bigint,
	rbac_group_names        text    NOT NULL,
	rbac_group_ids          text    NOT NULL,
	generate_alert          boolean NOT NULL,
	PRIMARY KEY (tenant_seq, seq),
	UNIQUE (tenant_seq, value_key)
);

CREATE TABLE indicator_counters (
	tenant_seq bigint NOT NULL PRIMARY KEY REFERENCES tenants (seq),
	last_seq   bigint NOT NULL
);
