-- Image delivery: hotlink counts, download events and view de-duplication (postgres). Keep in
-- step with ../sqlite/20261123000004_image_delivery.sql.

-- Requests for an image from a page on another site: the referring domain only (never the
-- full URL, never the visitor), per image and UTC day. Hotlinking is counted, not blocked.
CREATE TABLE image_hotlinks (
    image_id BIGINT NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    domain TEXT NOT NULL,
    day TEXT NOT NULL,
    requests BIGINT NOT NULL,
    PRIMARY KEY (image_id, domain, day)
);

-- One row per signed download link followed (link_hash: SHA-256 of the link's token, so
-- retries and range requests of one link count once). user_id when a member was signed in.
CREATE TABLE download_events (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    image_id BIGINT NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    user_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    variant TEXT NOT NULL,
    link_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);
CREATE INDEX download_events_by_image ON download_events (image_id, created_at);
CREATE INDEX download_events_by_user ON download_events (user_id);

-- Views counted once per visitor, image and day without a cookie: visitor is a keyed hash
-- of address, browser and day (it cannot be reversed, and changes daily). Rows are removed
-- after a day.
CREATE TABLE image_views (
    image_id BIGINT NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    visitor TEXT NOT NULL,
    day TEXT NOT NULL,
    PRIMARY KEY (image_id, visitor, day)
);
CREATE INDEX image_views_by_day ON image_views (day);
