-- The change feed of tenants' content (openatp.ChangeStore): each content
-- write records, with the content version it bumps its tenant to, the
-- machines and (user, machine) relations it changed (see
-- internal/storeutil/changes.go). Rows are compacted as versions go on.
CREATE TABLE content_changes (
	tenant_seq bigint NOT NULL,
	version    bigint NOT NULL,
	machine_id text   COLLATE "C" NOT NULL, -- '' for a rebuild marker
	name_key   text   COLLATE "C" NOT NULL, -- '' for a machine change
	domain_key text   COLLATE "C" NOT NULL
);
CREATE INDEX content_changes_by_version ON content_changes (tenant_seq, version);
