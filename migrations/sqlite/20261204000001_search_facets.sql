-- Search filters as index tokens (sqlite). Keep in step with
-- ../postgres/20261204000001_search_facets.sql.
--
-- Each document gains a `facets` column of tokens like `¤oportrait¤k5` (every combination
-- of orientation, category, contributor and colour family; see
-- app/src/features/library/facets.rs), so a filtered search is one more term FTS5
-- intersects with the words. `¤` joins the tokens' parts (`tokenchars`); searched words
-- never contain it. The facets column weighs nothing in relevance.
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
    DELETE FROM image_search WHERE rowid = old.id;
END;
