-- A counter bumped by every write transaction except RBAC and device-group
-- changes (openatp.Store.ContentVersion).
CREATE TABLE content_version (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	v  INTEGER NOT NULL
);
INSERT INTO content_version (id, v) VALUES (1, 0);
