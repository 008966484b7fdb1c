-- Saved notebooks of the security managers (issue 18): ordered markdown and SQL cells with typed
-- parameters, both kept as JSON text. `version` grows by one per save; a save is a conditional
-- UPDATE on the version the editor loaded, so a second manager's stale save is refused.
-- notebook_versions keeps the last saves of each notebook (the service prunes beyond 20).
-- Built-in notebooks (builtin = TRUE) are seeded by the service and are never updated or deleted.

CREATE SEQUENCE notebooks_id_seq START 1;
CREATE TABLE notebooks (
    id BIGINT PRIMARY KEY DEFAULT nextval('notebooks_id_seq'),
    name VARCHAR NOT NULL UNIQUE,
    description VARCHAR NOT NULL,
    params VARCHAR NOT NULL,
    cells VARCHAR NOT NULL,
    builtin BOOLEAN NOT NULL DEFAULT FALSE,
    created_by VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_by VARCHAR NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    version INTEGER NOT NULL
);

CREATE TABLE notebook_versions (
    notebook_id BIGINT NOT NULL,
    version INTEGER NOT NULL,
    name VARCHAR NOT NULL,
    params VARCHAR NOT NULL,
    cells VARCHAR NOT NULL,
    saved_by VARCHAR NOT NULL,
    saved_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (notebook_id, version)
);
