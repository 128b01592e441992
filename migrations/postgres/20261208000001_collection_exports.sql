-- Collection exports: a zip of one collection's images and a manifest, built by the job
-- queue (postgres). Keep in step with ../sqlite/20261208000001_collection_exports.sql.
CREATE TABLE collection_exports (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- NULL once the collection is deleted for good; the zip then lives out its day and
    -- goes like any other (the maintenance loop deletes files past `expires_at`).
    collection_id BIGINT REFERENCES collections (id) ON DELETE SET NULL,
    -- The size every image is exported at, and whether the originals come too.
    variant TEXT NOT NULL CHECK (variant IN ('small', 'full', 'original')),
    with_originals BIGINT NOT NULL DEFAULT 0 CHECK (with_originals IN (0, 1)),
    status TEXT NOT NULL CHECK (status IN ('queued', 'building', 'ready', 'failed', 'expired')),
    progress BIGINT NOT NULL DEFAULT 0,
    item_count BIGINT,
    file_key TEXT,
    size_bytes BIGINT,
    -- Why a failed export failed, in words the member can act on.
    error TEXT,
    created_at BIGINT NOT NULL,
    ready_at BIGINT,
    expires_at BIGINT
);
CREATE INDEX collection_exports_by_collection ON collection_exports (collection_id, created_at);
CREATE INDEX collection_exports_by_user ON collection_exports (user_id, created_at);
CREATE INDEX collection_exports_by_expiry ON collection_exports (status, expires_at);
-- One export in the making per member: a second request while one is queued or building
-- fails this index, however close together the two arrive.
CREATE UNIQUE INDEX collection_exports_one_at_a_time ON collection_exports (user_id)
    WHERE status IN ('queued', 'building');
