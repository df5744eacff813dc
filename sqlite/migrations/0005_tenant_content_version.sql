-- The content version is kept per tenant (openatp.Store.ContentVersion):
-- writes to one tenant's machines, users and logons no longer make every
-- other tenant's in-memory index re-read its content, nor do writes that
-- touch no content at all (apps, signing keys, settings).
ALTER TABLE tenants ADD COLUMN content_version INTEGER NOT NULL DEFAULT 0;
DROP TABLE content_version;
