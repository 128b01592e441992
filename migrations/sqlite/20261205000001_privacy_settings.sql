-- Privacy settings, and data requests that also track corrections, objections and
-- restrictions, refusals and one appeal (sqlite). Keep in step with
-- ../postgres/20261205000001_privacy_settings.sql.
--
-- SQLite cannot change a CHECK constraint, so data_requests is rebuilt
-- (https://sqlite.org/lang_altertable.html#otheralter). sqlx runs every SQLite migration
-- inside a transaction, where `PRAGMA foreign_keys = OFF` does nothing: dropping the old
-- table therefore sets the request_id of every export and scheduled deletion to NULL
-- (their ON DELETE SET NULL). Those links are saved first and put back afterwards.
CREATE TEMP TABLE request_links AS
    SELECT 'export' AS owner, id AS owner_id, request_id FROM data_exports WHERE request_id IS NOT NULL
    UNION ALL
    SELECT 'deletion', user_id, request_id FROM account_deletions WHERE request_id IS NOT NULL;

CREATE TABLE data_requests_rebuilt (
    id INTEGER PRIMARY KEY,
    user_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    kind TEXT NOT NULL CHECK (kind IN ('export', 'deletion', 'correction', 'objection', 'restriction')),
    status TEXT NOT NULL CHECK (status IN ('open', 'done', 'withdrawn', 'failed', 'refused')),
    created_at INTEGER NOT NULL,
    due_at INTEGER NOT NULL,
    closed_at INTEGER,
    outcome TEXT,
    -- What the member wrote (a correction: what is wrong and what it should say).
    details TEXT,
    -- One appeal against a refusal: the member's text, when, and how it ended.
    appeal TEXT,
    appealed_at INTEGER,
    appeal_status TEXT CHECK (appeal_status IN ('open', 'upheld', 'rejected')),
    appeal_outcome TEXT,
    appeal_closed_at INTEGER
);
INSERT INTO data_requests_rebuilt (id, user_id, kind, status, created_at, due_at, closed_at, outcome)
    SELECT id, user_id, kind, status, created_at, due_at, closed_at, outcome FROM data_requests;
DROP TABLE data_requests;
-- The other tables' foreign keys name `data_requests`, so they point at the new table.
ALTER TABLE data_requests_rebuilt RENAME TO data_requests;
UPDATE data_exports SET request_id =
    (SELECT request_id FROM request_links WHERE owner = 'export' AND owner_id = data_exports.id)
    WHERE id IN (SELECT owner_id FROM request_links WHERE owner = 'export');
UPDATE account_deletions SET request_id =
    (SELECT request_id FROM request_links WHERE owner = 'deletion' AND owner_id = account_deletions.user_id)
    WHERE user_id IN (SELECT owner_id FROM request_links WHERE owner = 'deletion');
DROP TABLE request_links;
CREATE INDEX data_requests_by_user ON data_requests (user_id, created_at);
-- The staff queue: requests and appeals waiting for a person.
CREATE INDEX data_requests_by_status ON data_requests (status, due_at);

-- What a member lets us do with their data, changed on /account/privacy. A member without
-- a row has the defaults (see privacy::settings::PrivacySettings::default).
CREATE TABLE privacy_settings (
    user_id INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    -- 1: downloads are recorded with the member's account; 0: without it.
    analytics INTEGER NOT NULL,
    marketing_email INTEGER NOT NULL,
    -- 1: what the member writes in the studio and chat may be used to improve the service.
    improve_service INTEGER NOT NULL,
    personalised INTEGER NOT NULL,
    chat_retention TEXT NOT NULL CHECK (chat_retention IN ('keep', '30_days', 'none')),
    updated_at INTEGER NOT NULL
);

