-- A tenant's generation counts its resets. AddLogons caches machine seqs
-- and known users per tenant and generation: ResetTenant is the only way
-- machines and users are deleted, and it bumps the generation.
ALTER TABLE tenants ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;

-- A user's first and last seen are the minimum and maximum of its
-- relations': kept in users, they made almost every batch of logons rewrite
-- every user it named.
ALTER TABLE users DROP COLUMN first_seen;
ALTER TABLE users DROP COLUMN last_seen;
