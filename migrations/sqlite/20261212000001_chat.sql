-- Chat with AI contributors (sqlite). Keep in step with ../postgres/20261212000001_chat.sql.

-- A contributor's chat profile beyond their bio and style: how they talk and how they
-- greet. Contributors without a row get one made from their bio.
CREATE TABLE chat_personas (
    contributor_id INTEGER PRIMARY KEY REFERENCES contributors (id) ON DELETE CASCADE,
    voice TEXT NOT NULL,
    greeting TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

-- A member's conversation with one contributor. `title_source`: auto (from the first
-- message) or member (renamed).
CREATE TABLE chat_conversations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    public_id TEXT NOT NULL UNIQUE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    contributor_id INTEGER NOT NULL REFERENCES contributors (id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    title_source TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX chat_conversations_by_member ON chat_conversations (user_id, updated_at);
CREATE INDEX chat_conversations_by_age ON chat_conversations (updated_at);

-- Every message, the member's and the persona's. A persona reply is `streaming` while it
-- arrives, then `complete`, `stopped` (the member stopped it or left) or `failed`; `html`
-- is its Markdown rendered and sanitised when it ended. `charge`: what the reply drew on
-- (allowance, credits, or none for the member's own messages); a stopped or failed reply
-- gives it back once, as it leaves `streaming`. AUTOINCREMENT: a reply's id names its credit
-- spend (`chat:<id>`), so an id must never come back after a delete.
CREATE TABLE chat_messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id INTEGER NOT NULL REFERENCES chat_conversations (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    content TEXT NOT NULL,
    html TEXT NOT NULL,
    state TEXT NOT NULL,
    charge TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX chat_messages_by_conversation ON chat_messages (conversation_id, id);
CREATE INDEX chat_messages_by_member ON chat_messages (user_id);

-- Free replies used per member and UTC day.
CREATE TABLE chat_allowance (
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    day TEXT NOT NULL,
    used INTEGER NOT NULL,
    PRIMARY KEY (user_id, day)
);
