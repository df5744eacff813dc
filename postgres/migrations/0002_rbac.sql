-- RBAC: who may see which device groups (as sqlite's 0003_rbac.sql).
ALTER TABLE device_groups ADD COLUMN user_groups text NOT NULL DEFAULT '[]'; -- JSON array of user group ids

CREATE TABLE user_groups (
	tenant_seq bigint NOT NULL REFERENCES tenants (seq),
	id         text   COLLATE "C" NOT NULL,
	name       text   COLLATE "C" NOT NULL,
	PRIMARY KEY (tenant_seq, id)
);

CREATE TABLE directory_users (
	tenant_seq    bigint NOT NULL REFERENCES tenants (seq),
	id            text   COLLATE "C" NOT NULL,
	user_name     text   NOT NULL,
	user_name_key text   COLLATE "C" NOT NULL, -- openatp.NameKey(user_name)
	display_name  text   NOT NULL,
	password_hash bytea  NOT NULL,
	groups        text   NOT NULL, -- JSON array of user group ids
	PRIMARY KEY (tenant_seq, id),
	UNIQUE (tenant_seq, user_name_key)
);

CREATE TABLE roles (
	tenant_seq  bigint NOT NULL REFERENCES tenants (seq),
	name        text   NOT NULL,
	name_key    text   COLLATE "C" NOT NULL,
	permissions text   NOT NULL, -- JSON array
	user_groups text   NOT NULL, -- JSON array of user group ids
	PRIMARY KEY (tenant_seq, name_key)
);
