-- First-party usage events (sqlite). Keep in step with ../postgres/20261211000001_usage_events.sql.

-- One row per page view or search, written in batches off the request path. `subject` is
-- never free text a visitor typed: a page view's route pattern (`/images/{slug}`, not the
-- image), a search's outcome (`found` or `empty`). `user_id` only for a signed-in member
-- whose privacy settings allow usage statistics; page views never name anyone.
CREATE TABLE usage_events (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    user_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX usage_events_by_age ON usage_events (created_at);
CREATE INDEX usage_events_by_user ON usage_events (user_id);

-- Usage older than 90 days, counted per kind, subject and UTC day: the raw rows are deleted
-- as they are added here, so no identifier outlives them.
CREATE TABLE usage_daily (
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    day TEXT NOT NULL,
    events INTEGER NOT NULL,
    PRIMARY KEY (kind, subject, day)
);
