-- Privacy settings, and data requests that also track corrections, objections and
-- restrictions, refusals and one appeal (postgres). Keep in step with
-- ../sqlite/20261205000001_privacy_settings.sql.

ALTER TABLE data_requests DROP CONSTRAINT data_requests_kind_check;
ALTER TABLE data_requests ADD CONSTRAINT data_requests_kind_check
    CHECK (kind IN ('export', 'deletion', 'correction', 'objection', 'restriction'));
ALTER TABLE data_requests DROP CONSTRAINT data_requests_status_check;
ALTER TABLE data_requests ADD CONSTRAINT data_requests_status_check
    CHECK (status IN ('open', 'done', 'withdrawn', 'failed', 'refused'));
-- What the member wrote (a correction: what is wrong and what it should say).
ALTER TABLE data_requests ADD COLUMN details TEXT;
-- One appeal against a refusal: the member's text, when, and how it ended.
ALTER TABLE data_requests ADD COLUMN appeal TEXT;
ALTER TABLE data_requests ADD COLUMN appealed_at BIGINT;
ALTER TABLE data_requests ADD COLUMN appeal_status TEXT CHECK (appeal_status IN ('open', 'upheld', 'rejected'));
ALTER TABLE data_requests ADD COLUMN appeal_outcome TEXT;
ALTER TABLE data_requests ADD COLUMN appeal_closed_at BIGINT;
-- The staff queue: requests and appeals waiting for a person.
CREATE INDEX data_requests_by_status ON data_requests (status, due_at);

-- What a member lets us do with their data, changed on /account/privacy. A member without
-- a row has the defaults (see privacy::settings::PrivacySettings::default).
CREATE TABLE privacy_settings (
    user_id BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    -- 1: downloads are recorded with the member's account; 0: without it.
    analytics BIGINT NOT NULL,
    marketing_email BIGINT NOT NULL,
    -- 1: what the member writes in the studio and chat may be used to improve the service.
    improve_service BIGINT NOT NULL,
    personalised BIGINT NOT NULL,
    chat_retention TEXT NOT NULL CHECK (chat_retention IN ('keep', '30_days', 'none')),
    updated_at BIGINT NOT NULL
);
