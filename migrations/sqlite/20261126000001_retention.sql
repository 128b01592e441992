-- Retention (sqlite). Keep in step with ../postgres/20261126000001_retention.sql.

-- Downloads older than 90 days, counted per image, size and UTC day: the raw rows (which
-- may name a member) are deleted as they are added here, so no identifier outlives them.
CREATE TABLE download_daily (
    image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    variant TEXT NOT NULL,
    day TEXT NOT NULL,
    downloads INTEGER NOT NULL,
    PRIMARY KEY (image_id, variant, day)
);

-- The retention job looks for old rows by age.
CREATE INDEX download_events_by_age ON download_events (created_at);
CREATE INDEX sessions_by_creation ON sessions (created_at);
