-- Credits: each member's balance and the append-only ledger that explains it (sqlite).
-- Keep in step with ../postgres/20261209000001_credits.sql.

-- The balance, kept beside the ledger so a spend is one conditional UPDATE: it either
-- finds enough credits and takes them, or changes nothing. Never negative.
CREATE TABLE credit_accounts (
    user_id INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    balance INTEGER NOT NULL DEFAULT 0 CHECK (balance >= 0),
    updated_at INTEGER NOT NULL
);

-- Every change to a balance, with its reason and what it was for. Entries are only ever
-- added: corrections are new entries. The idempotency key makes a retried grant, spend or
-- refund a no-op.
CREATE TABLE credit_ledger (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    amount INTEGER NOT NULL CHECK (amount <> 0),
    reason TEXT NOT NULL,
    reference TEXT NOT NULL DEFAULT '',
    idempotency_key TEXT NOT NULL UNIQUE,
    balance_after INTEGER NOT NULL CHECK (balance_after >= 0),
    created_at INTEGER NOT NULL
);
CREATE INDEX credit_ledger_by_member ON credit_ledger (user_id, id);

CREATE TRIGGER credit_ledger_append_only BEFORE UPDATE ON credit_ledger
BEGIN
    SELECT RAISE(ABORT, 'the credit ledger is append-only');
END;
