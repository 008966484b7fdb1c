-- PostgreSQL: as the shared file, with BYTEA where DuckDB says BLOB (PostgreSQL has no BLOB).
-- Accounts, TOTP factors, backup codes, throttling and the audit trail.
-- Secrets (TOTP keys, backup codes) are stored only as AES-GCM ciphertext.

CREATE TABLE meta (
    key VARCHAR PRIMARY KEY,
    value BYTEA NOT NULL
);

CREATE SEQUENCE users_id_seq START 1;
CREATE TABLE users (
    id BIGINT PRIMARY KEY DEFAULT nextval('users_id_seq'),
    username VARCHAR NOT NULL UNIQUE,
    display_name VARCHAR NOT NULL,
    role VARCHAR NOT NULL CHECK (role IN ('user', 'security_manager')),
    password_hash VARCHAR NOT NULL,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMPTZ NOT NULL,
    last_sign_in_at TIMESTAMPTZ,
    reset_granted_at TIMESTAMPTZ,
    reset_expires_at TIMESTAMPTZ,
    reset_granted_by VARCHAR
);

CREATE SEQUENCE factors_id_seq START 1;
CREATE TABLE factors (
    id BIGINT PRIMARY KEY DEFAULT nextval('factors_id_seq'),
    user_id BIGINT NOT NULL,
    status VARCHAR NOT NULL CHECK (status IN ('pending', 'active')),
    secret_enc BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    verified_at TIMESTAMPTZ,
    activated_at TIMESTAMPTZ,
    last_step BIGINT
);
CREATE INDEX factors_user ON factors (user_id);

CREATE SEQUENCE backup_codes_id_seq START 1;
CREATE TABLE backup_codes (
    id BIGINT PRIMARY KEY DEFAULT nextval('backup_codes_id_seq'),
    user_id BIGINT NOT NULL,
    factor_id BIGINT NOT NULL,
    code_enc BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    used_at TIMESTAMPTZ
);
CREATE INDEX backup_codes_user ON backup_codes (user_id);

CREATE TABLE throttle (
    subject VARCHAR PRIMARY KEY,
    failures INTEGER NOT NULL DEFAULT 0,
    last_failure_at TIMESTAMPTZ,
    locked_until TIMESTAMPTZ
);

CREATE SEQUENCE audit_id_seq START 1;
CREATE TABLE audit (
    id BIGINT PRIMARY KEY DEFAULT nextval('audit_id_seq'),
    occurred_at TIMESTAMPTZ NOT NULL,
    event VARCHAR NOT NULL,
    actor VARCHAR,
    subject VARCHAR,
    source VARCHAR,
    detail VARCHAR
);
CREATE INDEX audit_occurred_at ON audit (occurred_at);
