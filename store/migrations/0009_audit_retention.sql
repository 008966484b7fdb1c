-- Audit retention (audit_keep_days): one row counting the events pruned so far and when the
-- last run was; each batch adds to it in the transaction that deletes, so the count is exact.

CREATE TABLE audit_retention (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    removed BIGINT NOT NULL DEFAULT 0,
    last_run_at TIMESTAMPTZ
);
INSERT INTO audit_retention (id, removed) VALUES (1, 0);
