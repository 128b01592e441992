-- Foundation schema (PostgreSQL). Keep in step with ../sqlite/20261122000001_foundation.sql:
-- a test proves both backends end with the same tables and columns.

CREATE TABLE users (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL DEFAULT 'member' CHECK (role IN ('member', 'moderator', 'admin')),
    email_verified_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE contributors (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    bio TEXT NOT NULL,
    style TEXT NOT NULL,
    location TEXT,
    accent_color TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE categories (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE images (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    public_id TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    alt_text TEXT NOT NULL,
    prompt TEXT NOT NULL,
    contributor_id BIGINT NOT NULL REFERENCES contributors (id) ON DELETE RESTRICT,
    category_id BIGINT REFERENCES categories (id) ON DELETE SET NULL,
    width BIGINT NOT NULL,
    height BIGINT NOT NULL,
    orientation TEXT NOT NULL CHECK (orientation IN ('landscape', 'portrait', 'square')),
    dominant_color TEXT NOT NULL,
    blurhash TEXT NOT NULL,
    view_count BIGINT NOT NULL DEFAULT 0,
    download_count BIGINT NOT NULL DEFAULT 0,
    visibility TEXT NOT NULL DEFAULT 'public' CHECK (visibility IN ('public', 'hidden')),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX images_by_newest ON images (visibility, created_at DESC, id DESC);
CREATE INDEX images_by_contributor ON images (contributor_id, created_at DESC);
CREATE INDEX images_by_category ON images (category_id, created_at DESC);

CREATE TABLE image_tags (
    image_id BIGINT NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    tag TEXT NOT NULL,
    PRIMARY KEY (image_id, tag)
);
CREATE INDEX image_tags_by_tag ON image_tags (tag);

CREATE TABLE image_files (
    image_id BIGINT NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    variant TEXT NOT NULL CHECK (variant IN ('thumb', 'small', 'full', 'original')),
    storage_key TEXT NOT NULL,
    content_type TEXT NOT NULL,
    width BIGINT NOT NULL,
    height BIGINT NOT NULL,
    byte_size BIGINT NOT NULL,
    PRIMARY KEY (image_id, variant)
);

CREATE TABLE jobs (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done', 'failed')),
    attempts BIGINT NOT NULL DEFAULT 0,
    max_attempts BIGINT NOT NULL DEFAULT 5,
    run_at BIGINT NOT NULL,
    locked_by TEXT,
    locked_at BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX jobs_due ON jobs (status, run_at, id);
