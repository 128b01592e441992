-- Data rights: tracked requests, exports and scheduled account deletions (postgres).
-- Keep in step with ../sqlite/20261203000001_data_rights.sql.

-- Every export or deletion a member asks for, with the date the law gives us to answer
-- and what came of it. When the account is deleted the row stays without its member, as
-- the record that the request was handled.
CREATE TABLE data_requests (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    kind TEXT NOT NULL CHECK (kind IN ('export', 'deletion')),
    status TEXT NOT NULL CHECK (status IN ('open', 'done', 'withdrawn', 'failed')),
    created_at BIGINT NOT NULL,
    due_at BIGINT NOT NULL,
    closed_at BIGINT,
    outcome TEXT
);
CREATE INDEX data_requests_by_user ON data_requests (user_id, created_at);

-- One zip of everything held about a member, built by the job queue. The file lives in
-- private media storage (never under /media); only its owner, signed in, can download it.
CREATE TABLE data_exports (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    request_id BIGINT REFERENCES data_requests (id) ON DELETE SET NULL,
    status TEXT NOT NULL CHECK (status IN ('queued', 'building', 'ready', 'failed', 'expired')),
    progress BIGINT NOT NULL DEFAULT 0,
    file_key TEXT,
    size_bytes BIGINT,
    created_at BIGINT NOT NULL,
    ready_at BIGINT,
    expires_at BIGINT
);
CREATE INDEX data_exports_by_user ON data_exports (user_id, created_at);
CREATE INDEX data_exports_by_expiry ON data_exports (status, expires_at);

-- An account waiting out its grace period before everything it owns is deleted.
CREATE TABLE account_deletions (
    user_id BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    request_id BIGINT REFERENCES data_requests (id) ON DELETE SET NULL,
    requested_at BIGINT NOT NULL,
    due_at BIGINT NOT NULL
);
CREATE INDEX account_deletions_by_due ON account_deletions (due_at);

-- What remains of a deleted account: its number and the day it went, so a reused id or a
-- late question ("was my account deleted?") can be answered without any personal data.
CREATE TABLE account_tombstones (
    user_id BIGINT PRIMARY KEY,
    deleted_at BIGINT NOT NULL
);
