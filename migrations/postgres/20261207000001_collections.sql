-- Collections: a member's named sets of library images, private unless made public
-- (postgres). Keep in step with ../sqlite/20261207000001_collections.sql.
CREATE TABLE collections (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- The address, `/collections/{slug}`: the name's words and a random tail, so a shared
    -- link cannot be guessed from the name. It stays when the collection is renamed.
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    is_public BIGINT NOT NULL DEFAULT 0 CHECK (is_public IN (0, 1)),
    -- Chosen by the member; NULL shows the first image in the collection's order.
    cover_image_id BIGINT REFERENCES images (id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    -- Deleted but still restorable ("Undo"); the maintenance loop removes it for good.
    deleted_at BIGINT
);
CREATE INDEX collections_by_owner ON collections (user_id, updated_at);

CREATE TABLE collection_items (
    collection_id BIGINT NOT NULL REFERENCES collections (id) ON DELETE CASCADE,
    image_id BIGINT NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    -- The collection's owner, repeated so "is this image saved anywhere" is one index
    -- lookup and the data inventory finds the rows by member.
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- The member's own order, ascending; new images go first.
    position BIGINT NOT NULL,
    added_at BIGINT NOT NULL,
    PRIMARY KEY (collection_id, image_id)
);
CREATE INDEX collection_items_in_order ON collection_items (collection_id, position);
CREATE INDEX collection_items_by_member ON collection_items (user_id, image_id);
