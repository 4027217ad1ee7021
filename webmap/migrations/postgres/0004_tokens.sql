-- Staff tokens for /admin/api: only a SHA-256 hash of each; revoked ones stay for the audit.
CREATE TABLE IF NOT EXISTS webmap_tokens (
    name text PRIMARY KEY,
    token_hash text NOT NULL UNIQUE,
    created timestamptz NOT NULL,
    revoked timestamptz
);
