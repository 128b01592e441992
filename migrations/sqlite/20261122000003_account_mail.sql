-- Single-use account tokens and the local mail outbox (sqlite). Keep in step with
-- ../postgres/20261122000003_account_mail.sql.

-- Email verification, password reset and email change links. Only the SHA-256 of the
-- token is stored: the link in the mail is the only copy of the secret.
CREATE TABLE account_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose TEXT NOT NULL CHECK (purpose IN ('verify_email', 'reset_password', 'change_email')),
    -- The address being confirmed (sign-up address, or the new address of a change).
    email TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
);
CREATE INDEX account_tokens_by_user ON account_tokens (user_id, purpose);
CREATE INDEX account_tokens_by_expiry ON account_tokens (expires_at);

-- Mail delivered by the embedded "outbox" transport: read at /admin/outbox and by
-- `server mail latest --to`. Rows older than 7 days are purged.
CREATE TABLE mail_outbox (
    id INTEGER PRIMARY KEY,
    to_address TEXT NOT NULL,
    subject TEXT NOT NULL,
    text_body TEXT NOT NULL,
    html_body TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX mail_outbox_by_recipient ON mail_outbox (to_address, id DESC);
CREATE INDEX mail_outbox_by_age ON mail_outbox (created_at);

-- Profile fields of the account pages.
ALTER TABLE users ADD COLUMN bio TEXT NOT NULL DEFAULT '';
-- Which size a download gives by default: small, full or original.
ALTER TABLE users ADD COLUMN download_size TEXT NOT NULL DEFAULT 'original' CHECK (download_size IN ('small', 'full', 'original'));
