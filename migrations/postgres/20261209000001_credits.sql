-- Credits: each member's balance and the append-only ledger that explains it (postgres).
-- Keep in step with ../sqlite/20261209000001_credits.sql.

-- The balance, kept beside the ledger so a spend is one conditional UPDATE: it either
-- finds enough credits and takes them, or changes nothing. Never negative.
CREATE TABLE credit_accounts (
    user_id BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    balance BIGINT NOT NULL DEFAULT 0 CHECK (balance >= 0),
    updated_at BIGINT NOT NULL
);

-- Every change to a balance, with its reason and what it was for. Entries are only ever
-- added: corrections are new entries. The idempotency key makes a retried grant, spend or
-- refund a no-op.
CREATE TABLE credit_ledger (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    amount BIGINT NOT NULL CHECK (amount <> 0),
    reason TEXT NOT NULL,
    reference TEXT NOT NULL DEFAULT '',
    idempotency_key TEXT NOT NULL UNIQUE,
    balance_after BIGINT NOT NULL CHECK (balance_after >= 0),
    created_at BIGINT NOT NULL
);
CREATE INDEX credit_ledger_by_member ON credit_ledger (user_id, id);

CREATE FUNCTION credit_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the credit ledger is append-only';
END;
$$;
CREATE TRIGGER credit_ledger_append_only BEFORE UPDATE ON credit_ledger
    FOR EACH ROW EXECUTE FUNCTION credit_ledger_append_only();
