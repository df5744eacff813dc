-- The content version is kept per tenant (openatp.Store.ContentVersion):
-- writes to one tenant's machines, users and logons no longer make every
-- other tenant's in-memory index re-read its content, nor do writes that
-- touch no content at all (apps, signing keys, settings).
--
-- The global counter of 0004 stays: processes of the previous version
-- (during an upgrade) still bump it on their writes, and ContentVersion
-- adds it in, so that their writes still change every tenant's version.
-- This version no longer bumps it.
ALTER TABLE tenants ADD COLUMN content_version INTEGER NOT NULL DEFAULT 0;
