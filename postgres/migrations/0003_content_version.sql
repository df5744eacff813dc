-- The content version (openatp.Store.ContentVersion): bumped with the data
-- version by every write transaction except those of RBAC configuration
-- (roles, user groups, directory users, device groups). It lives in the
-- data version's row, so that one UPDATE bumps both.
ALTER TABLE data_version ADD COLUMN c bigint NOT NULL DEFAULT 0;
UPDATE data_version SET c = floor(random() * 4503599627370496)::bigint;
