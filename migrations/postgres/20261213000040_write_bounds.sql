-- Bounds on what anyone can write (postgres). Keep in step with ../sqlite/20261213000040_write_bounds.sql.

-- Downloads counted once per visitor, image and day, the way views are (`image_views`):
-- visitor is a keyed hash of address, browser and day (it cannot be reversed, and changes
-- daily), so minting fresh download links does not inflate the count. Rows are removed
-- after a day.
CREATE TABLE download_visitors (
    image_id BIGINT NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    visitor TEXT NOT NULL,
    day TEXT NOT NULL,
    PRIMARY KEY (image_id, visitor, day)
);
CREATE INDEX download_visitors_by_day ON download_visitors (day);

-- The retention job deletes cookie decisions by age.
CREATE INDEX consent_records_by_age ON consent_records (decided_at);
