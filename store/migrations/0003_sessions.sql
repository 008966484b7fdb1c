-- Server-side browser sessions (only token hashes are stored), one-time sign-in tickets,
-- and when each person last acknowledged the notices about their 2FA.

CREATE TABLE sessions (
    id VARCHAR PRIMARY KEY,
    user_id BIGINT NOT NULL,
    token_hash VARCHAR UNIQUE,
    ticket_hash VARCHAR UNIQUE,
    browser_hash VARCHAR NOT NULL,
    ticket_expires_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL,
    second_factor_at TIMESTAMPTZ,
    user_agent VARCHAR,
    source VARCHAR,
    ended_at TIMESTAMPTZ,
    end_reason VARCHAR
);
CREATE INDEX sessions_user ON sessions (user_id);

ALTER TABLE users ADD COLUMN notices_seen_at TIMESTAMPTZ;
ALTER TABLE users ADD COLUMN email VARCHAR;
