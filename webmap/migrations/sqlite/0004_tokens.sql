-- Staff tokens for /admin/api: only a SHA-256 hash of each; revoked ones stay for the audit.
CREATE TABLE webmap_tokens (
    name TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    created TEXT NOT NULL,
    revoked TEXT
);
