-- The live response library (openatp.LibraryStore, issue 23), as sqlite's
-- 0011_library_investigations.sql: name_key the lower-cased name, content the
-- file's bytes; times are Unix nanoseconds.
CREATE TABLE library_files (
	tenant_seq             bigint  NOT NULL REFERENCES tenants (seq),
	name_key               text    COLLATE "C" NOT NULL,
	file_name              text    NOT NULL,
	sha256                 text    NOT NULL,
	description            text,
	creation_time          bigint  NOT NULL,
	created_by             text    NOT NULL,
	has_parameters         boolean NOT NULL,
	parameters_description text,
	size                   bigint  NOT NULL,
	content                bytea   NOT NULL,
	PRIMARY KEY (tenant_seq, name_key)
);

-- Automated investigations (openatp.InvestigationStore, issue 23), as
-- sqlite's: seq is the tenant's investigation number (the entity's id).
CREATE TABLE investigations (
	tenant_seq          bigint NOT NULL REFERENCES tenants (seq),
	seq                 bigint NOT NULL,
	start_time          bigint NOT NULL,
	end_time            bigint,
	state               text   COLLATE "C" NOT NULL,
	cancelled_by        text,
	status_details      text,
	machine_id          text   COLLATE "C" NOT NULL,
	computer_dns_name   text,
	triggering_alert_id text   COLLATE "C",
	requestor           text   NOT NULL,
	comment             text   NOT NULL,
	PRIMARY KEY (tenant_seq, seq)
);
