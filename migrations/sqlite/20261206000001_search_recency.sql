-- Search documents keyed by publication time (sqlite only: PostgreSQL's index is keyed by
-- image id and is unchanged).
--
-- A document's rowid becomes `(created_at - 1577836800) * 2^32 + image id` instead of the
-- image id (app/src/features/library/search.rs, sqlite_search_key). FTS5 reads a word's
-- documents in rowid order, so "newest first" is now the index's own order backwards: a
-- search sorted by newest, and the relevance window over the newest matches, read the top
-- of each list and stop, where they used to sort every match by date.
--
-- The table is rebuilt empty; the server fills it again at start (search::catch_up).
DROP TRIGGER image_search_follows_deletes;
DROP TABLE image_search;
CREATE VIRTUAL TABLE image_search USING fts5(
    title, tags, names, description, facets,
    tokenize = "unicode61 remove_diacritics 2 tokenchars '¤'",
    prefix = '2 3'
);
INSERT INTO image_search (image_search, rank) VALUES ('rank', 'bm25(10.0, 5.0, 3.0, 1.0, 0.0)');
CREATE TRIGGER image_search_follows_deletes AFTER DELETE ON images BEGIN
    DELETE FROM image_search WHERE rowid = (old.created_at - 1577836800) * 4294967296 + old.id;
END;
