-- OpenID Connect single sign-on (sqlite). Keep in step with ../postgres/20261123000003_oidc.sql.

-- Which identity at which provider signs in as which member. (issuer, subject) is what the
-- provider vouches for; email is the verified address the ID token carried when the link
-- was made (the member's own address may change later).
CREATE TABLE oidc_identities (
    id INTEGER PRIMARY KEY,
    issuer TEXT NOT NULL,
    subject TEXT NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (issuer, subject)
);
-- One identity per provider per member: a second one claiming the same email is refused.
CREATE UNIQUE INDEX oidc_identities_one_per_member ON oidc_identities (user_id, issuer);

-- Sign-ins in progress: single-use and 10 minutes long. Keyed by the SHA-256 of the random
-- value in the browser's short-lived binding cookie; state is stored as its SHA-256 too.
-- The nonce and PKCE verifier stay here and never reach the browser. Expired rows are purged.
CREATE TABLE oidc_logins (
    binding_hash TEXT PRIMARY KEY,
    state_hash TEXT NOT NULL,
    nonce TEXT NOT NULL,
    pkce_verifier TEXT NOT NULL,
    next_path TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX oidc_logins_by_expiry ON oidc_logins (expires_at);

-- New members waiting to finish signing up after the provider vouched for their email: the
-- sign-up page still has to ask for the date of birth the minimum age needs. 10 minutes,
-- keyed by the SHA-256 of the random value in the browser's sign-up cookie; deleted when
-- the account is created, when the age check refuses, or when it expires (purged).
CREATE TABLE oidc_signups (
    binding_hash TEXT PRIMARY KEY,
    issuer TEXT NOT NULL,
    subject TEXT NOT NULL,
    email TEXT NOT NULL,
    name TEXT NOT NULL,
    next_path TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX oidc_signups_by_expiry ON oidc_signups (expires_at);
