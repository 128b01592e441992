-- Member avatars (sqlite). Keep in step with ../postgres/20261123000002_avatar.sql.

-- Media key of the member's avatar (`ab/cd/<sha256>.webp` under ATELIER_MEDIA_DIR): a
-- 256 × 256 lossless WebP re-encoded from pixels, so it carries no EXIF, GPS or ICC data.
-- NULL: no avatar; pages show the member's initials.
ALTER TABLE users ADD COLUMN avatar_key TEXT;
