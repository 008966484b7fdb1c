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
