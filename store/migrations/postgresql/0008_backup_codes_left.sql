-- PostgreSQL: as the shared file, plus a partial index on open reset grants.
-- Each key's count of unused backup codes, kept current by store/factors.py in the same
-- transaction as every change of its codes (issue, use, regenerate; deleting a key deletes its
-- codes and this count with it), so the manager's overview reads one number per key instead of
-- counting millions of code rows. DuckDB cannot add a NOT NULL column to an indexed table: the
-- default fills it (existing rows too), and the store never writes NULL.

ALTER TABLE factors ADD COLUMN codes_left INTEGER DEFAULT 0;

UPDATE factors SET codes_left = unused.n
FROM (
    SELECT factor_id, count(*) AS n FROM backup_codes WHERE used_at IS NULL GROUP BY factor_id
) AS unused
WHERE unused.factor_id = factors.id;

-- A key's codes by their key (sign-in with a backup code, viewing them): without it each lookup
-- scanned every code row (about 6M at 1M accounts).
CREATE INDEX IF NOT EXISTS backup_codes_factor ON backup_codes (factor_id);

-- The overview finds the few open reset grants without reading every account (PostgreSQL only:
-- DuckDB has no partial index and uses an ART index only for equality).
CREATE INDEX IF NOT EXISTS users_reset_open ON users (reset_expires_at)
WHERE reset_expires_at IS NOT NULL;

-- The per-person summary of keys (the manager's table and overview) read from the index alone:
-- by user_id with the columns it needs, instead of visiting 680k factor rows in user order
-- (4 s of random reads at 1M accounts, 0.2 s from this index).
CREATE INDEX IF NOT EXISTS factors_user_summary ON factors (user_id)
INCLUDE (status, activated_at, codes_left);

-- A page of the table looks up its 50 people's failed attempts (a scan of every throttle row).
CREATE INDEX IF NOT EXISTS throttle_user ON throttle (user_id);
