-- API keys of the code-check API (POST /api/validate): only a SHA-256 hash of each key's
-- secret is stored; the key is shown once when created. `sources` limits the client addresses
-- (comma-separated IPs/CIDRs, '' = any). A revoked key keeps its row (and its name) for the audit.

CREATE TABLE api_keys (
    id VARCHAR PRIMARY KEY,
    name VARCHAR NOT NULL UNIQUE,
    secret_hash VARCHAR NOT NULL,
    sources VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    created_by VARCHAR NOT NULL,
    last_used_at TIMESTAMPTZ,
    last_used_from VARCHAR,
    revoked_at TIMESTAMPTZ,
    revoked_by VARCHAR
);
