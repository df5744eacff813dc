-- RBAC: who may see which device groups (issue 3).
ALTER TABLE device_groups ADD COLUMN user_groups TEXT NOT NULL DEFAULT '[]'; -- JSON array of user group ids

CREATE TABLE user_groups (
	tenant_seq INTEGER NOT NULL REFERENCES tenants (seq),
	id         TEXT    NOT NULL,
	name       TEXT    NOT NULL,
	PRIMARY KEY (tenant_seq, id)
);

CREATE TABLE directory_users (
	tenant_seq    INTEGER NOT NULL REFERENCES tenants (seq),
	id            TEXT    NOT NULL,
	user_name     TEXT    NOT NULL,
	user_name_key TEXT    NOT NULL, -- openatp.NameKey(user_name)
	display_name  TEXT    NOT NULL,
	password_hash BLOB    NOT NULL,
	groups        TEXT    NOT NULL, -- JSON array of user group ids
	PRIMARY KEY (tenant_seq, id),
	UNIQUE (tenant_seq, user_name_key)
);

CREATE TABLE roles (
	tenant_seq  INTEGER NOT NULL REFERENCES tenants (seq),
	name        TEXT    NOT NULL,
	name_key    TEXT    NOT NULL,
	permissions TEXT    NOT NULL, -- JSON array
	user_groups TEXT    NOT NULL, -- JSON array of user group ids
	PRIMARY KEY (tenant_seq, name_key)
);
