-- The change feed of tenants' content (openatp.ChangeStore): each content
-- write records, with the content version it bumps its tenant to, the
-- machines and (user, machine) relations it changed (see
-- internal/storeutil/changes.go). Rows are compacted as versions go on.
CREATE TABLE content_changes (
	tenant_seq INTEGER NOT NULL,
	version    INTEGER NOT NULL,
	machine_id TEXT    NOT NULL, -- '' for a rebuild marker
	name_key   TEXT    NOT NULL, -- '' for a machine change
	domain_key TEXT    NOT NULL
);
CREATE INDEX content_changes_by_version ON content_changes (tenant_seq, version);
