-- Forward-auth denials, counted per day, protected host and reason (allowed requests are not
-- recorded: one row per page load of every protected app would drown the audit trail).
-- `host` is one of the authz_hosts or '(other)', `reason` one of a fixed set: bounded rows.

CREATE TABLE authz_denials (
    day DATE NOT NULL,
    host VARCHAR NOT NULL,
    reason VARCHAR NOT NULL,
    count BIGINT NOT NULL,
    last_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (day, host, reason)
);
