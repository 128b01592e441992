-- The vocabulary compares byte for byte (postgres; SQLite's BINARY collation already does).
--
-- Searches look words up by prefix as a range, `term >= 'sun' AND term < 'sun' || U+10FFFF`
-- (app/src/features/library/search.rs: known_words_starting, corrections). Under a
-- database's linguistic collation that range is not the set of words starting "sun", and
-- the primary key's index could not serve it; under "C" it is, and it can.
ALTER TABLE search_terms ALTER COLUMN term TYPE TEXT COLLATE "C";
