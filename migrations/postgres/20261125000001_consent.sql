-- Cookie consent decisions (postgres). Keep in step with ../sqlite/20261125000001_consent.sql.

-- One row per decision (never updated): the browser's consent id (also in its essential
-- consent cookie), the member when signed in, the policy version decided on, the optional
-- categories allowed (0/1), how (accept_all, reject_all, custom), whether the browser sent
-- Global Privacy Control, the network the request came from (/24 or /48, never the full
-- address) and the time.
CREATE TABLE consent_records (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    consent_id TEXT NOT NULL,
    user_id BIGINT REFERENCES users (id) ON DELETE CASCADE,
    policy_version BIGINT NOT NULL,
    preferences BIGINT NOT NULL,
    analytics BIGINT NOT NULL,
    method TEXT NOT NULL,
    gpc BIGINT NOT NULL,
    ip_prefix TEXT,
    decided_at BIGINT NOT NULL
);
CREATE INDEX consent_records_by_consent_id ON consent_records (consent_id, decided_at);
CREATE INDEX consent_records_by_user ON consent_records (user_id);
