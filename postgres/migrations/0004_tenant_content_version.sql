-- The content version is kept per tenant (openatp.Store.ContentVersion):
-- writes to one tenant's machines, users and logons no longer make every
-- other tenant's in-memory index re-read its content, nor do writes that
-- touch no content at all (apps, signing keys, settings). It has a table
-- of its own, not a column of tenants, whose rows writers lock FOR SHARE:
-- two writers of a tenant each bumping the tenant's row would deadlock.
-- A tenant's counter starts at a random value, so that a recreated
-- database does not repeat the numbers a running server has seen.
--
-- The global counter data_version.c of 0003 stays: replicas of the
-- previous version (during a rolling upgrade) still bump it on their
-- writes, and ContentVersion adds it in, so that their writes still change
-- every tenant's version. This version no longer bumps it.
CREATE TABLE tenant_content_version (
	tenant_seq bigint PRIMARY KEY REFERENCES tenants (seq),
	v          bigint NOT NULL
);
