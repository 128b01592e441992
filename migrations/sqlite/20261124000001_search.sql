-- Library search (sqlite). Keep in step with ../postgres/20261124000001_search.sql; the
-- full-text index itself differs by design (FTS5 here, tsvector there) and the schema test
-- leaves `image_search*` tables out of its comparison.

-- A colour family from the dominant colour (red, orange, …, gray), for the colour filter.
-- Filled at ingest; rows from before this migration are filled at start.
ALTER TABLE images ADD COLUMN color_family TEXT NOT NULL DEFAULT '';
CREATE INDEX images_by_color ON images (color_family, created_at DESC);
CREATE INDEX images_by_popularity ON images (visibility, download_count DESC, view_count DESC, id DESC);

-- One row per image (rowid = images.id). Columns in weight order: bm25 ranks a title match
-- above a tag, a tag above a contributor or category name, and those above the description.
-- `prefix` keeps 2- and 3-letter prefix indexes so "sun*" does not scan the whole term list.
CREATE VIRTUAL TABLE image_search USING fts5(
    title, tags, names, description,
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '2 3'
);
INSERT INTO image_search (image_search, rank) VALUES ('rank', 'bm25(10.0, 5.0, 3.0, 1.0)');
-- A virtual table has no foreign key: remove an image's document with the image.
CREATE TRIGGER image_search_follows_deletes AFTER DELETE ON images BEGIN
    DELETE FROM image_search WHERE rowid = old.id;
END;

-- Every word the index has seen (3–40 characters), for "did you mean" corrections.
CREATE TABLE search_terms (
    term TEXT NOT NULL PRIMARY KEY
);
