-- The failed-attempt throttle, keyed by an HMAC of the typed name (never the name itself).
-- One row per (name, client address) and one per name ("account"); user_id is set only when the
-- name is an account, so the manager's table joins on it. Rows expire a lockout window after
-- their last failure and are pruned. The old table held typed names in plaintext (sometimes a
-- password typed into the wrong box): it goes, and its counters start afresh.

DROP TABLE throttle;
CREATE TABLE throttle (
    key VARCHAR PRIMARY KEY,
    scope VARCHAR NOT NULL CHECK (scope IN ('account', 'address')),
    user_id BIGINT,
    failures INTEGER NOT NULL,
    last_failure_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    locked_until TIMESTAMPTZ
);

-- Lockouts of names that are not accounts were audited with the typed name as subject.
UPDATE audit SET subject = NULL
WHERE event = 'lockout' AND subject IS NOT NULL AND subject NOT IN (SELECT username FROM users);
