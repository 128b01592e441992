-- Server-side sessions (SQLite). Keep in step with ../postgres/20261122000002_sessions.sql.
-- The cookie carries a random token; only its SHA-256 is stored, so a copy of this table
-- cannot be used to sign in.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    handle TEXT NOT NULL UNIQUE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    remember INTEGER NOT NULL DEFAULT 0,
    ip TEXT,
    user_agent TEXT,
    country TEXT,
    created_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_id, last_seen_at DESC);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);
