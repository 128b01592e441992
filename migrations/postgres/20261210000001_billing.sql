-- Billing state kept from Stripe (postgres). Keep in step with ../sqlite/20261210000001_billing.sql.
-- Only identifiers and the subscription's state: never a card, an address or any other
-- payment credential (Stripe holds those; a black-box test checks every column name).

-- One row per member who has been to Checkout: their Stripe customer and subscription.
-- `synced_at` is when this state was read from Stripe (ms); a write carrying an older
-- reading is ignored, so a slow job can never put back a state that was replaced.
CREATE TABLE billing_accounts (
    user_id BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    stripe_customer_id TEXT NOT NULL UNIQUE,
    subscription_id TEXT UNIQUE,
    status TEXT,
    plan TEXT NOT NULL DEFAULT 'free',
    price_id TEXT,
    current_period_end BIGINT,
    cancel_at_period_end BIGINT NOT NULL DEFAULT 0 CHECK (cancel_at_period_end IN (0, 1)),
    synced_at BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Credit packs bought once through Checkout, so a refunded charge can find its credits.
CREATE TABLE credit_purchases (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    checkout_session_id TEXT NOT NULL UNIQUE,
    payment_intent_id TEXT UNIQUE,
    pack TEXT NOT NULL,
    credits BIGINT NOT NULL CHECK (credits > 0),
    refunded_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX credit_purchases_by_member ON credit_purchases (user_id);

-- Each Stripe event is taken once: the id is the key, so a redelivery finds its row.
-- Holds no member data (the event's content is re-read from Stripe when it is handled).
CREATE TABLE stripe_events (
    event_id TEXT PRIMARY KEY,
    event_type TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    -- The job that handles it, so a redelivery can retry one that gave up.
    job_id BIGINT
);
