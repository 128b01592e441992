-- Library search (postgres). Keep in step with ../sqlite/20261124000001_search.sql; the
-- full-text index itself differs by design (tsvector here, FTS5 there) and the schema test
-- leaves `image_search*` tables out of its comparison.

-- A colour family from the dominant colour (red, orange, …, gray), for the colour filter.
-- Filled at ingest; rows from before this migration are filled at start.
ALTER TABLE images ADD COLUMN color_family TEXT NOT NULL DEFAULT '';
CREATE INDEX images_by_color ON images (color_family, created_at DESC);
CREATE INDEX images_by_popularity ON images (visibility, download_count DESC, view_count DESC, id DESC);

-- One document per image with weights A (title), B (tags), C (contributor and category
-- names) and D (description), in the 'simple' configuration: no stemming, like SQLite's
-- unicode61 tokenizer, so both backends match the same words.
CREATE TABLE image_search (
    image_id BIGINT NOT NULL PRIMARY KEY REFERENCES images (id) ON DELETE CASCADE,
    document TSVECTOR NOT NULL
);
CREATE INDEX image_search_documents ON image_search USING GIN (document);

-- Every word the index has seen (3–40 characters), for "did you mean" corrections.
CREATE TABLE search_terms (
    term TEXT NOT NULL PRIMARY KEY
);
