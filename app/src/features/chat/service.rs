//! Conversations and messages, stored: starting, listing, loading, renaming and deleting
//! conversations; beginning a reply (one at a time per conversation, charged to the free
//! allowance or the ledger in the transaction that creates it) and finishing it (a stopped
//! or failed reply gives its charge back exactly once, in the transaction that moves it
//! out of `streaming`); and the retention sweeps.

use super::{
    metering::{charge, finish_on},
    persona::Persona,
    provider::{Speaker, Turn},
    ChatMessage, ChatPartner, ConversationSummary, MessageState, MAX_MESSAGE_CHARS, MAX_TITLE_CHARS,
};
use crate::{features::billing::ledger::LedgerError, platform::db::Database};
use sqlx::{any::AnyRow, AnyConnection, Row};

/// Ending a reply (and giving its charge back) lives with the rest of the metering.
pub use super::metering::finish;

#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    #[error("no such conversation")]
    NotFound,
    #[error("{0}")]
    Invalid(&'static str),
    #[error("{0}")]
    Refused(&'static str),
    #[error("a reply is still being written")]
    Busy,
    #[error("no free replies or credits left")]
    NoCredits { free_daily: u32 },
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Ledger(LedgerError),
    #[error(transparent)]
    Billing(#[from] crate::features::billing::account::BillingError),
}

impl From<ChatError> for crate::error::AppError {
    fn from(error: ChatError) -> Self {
        use crate::error::AppError;
        match error {
            ChatError::NotFound => AppError::NotFound,
            ChatError::Invalid(message) | ChatError::Refused(message) => AppError::Invalid(message.to_owned()),
            ChatError::Busy => AppError::Invalid(BUSY.to_owned()),
            ChatError::NoCredits { free_daily } => AppError::Invalid(no_credits(free_daily)),
            ChatError::Database(error) => error.into(),
            other => {
                tracing::error!(error = %other, "chat failed");
                AppError::Internal
            }
        }
    }
}

/// What a member reads when a reply is already being written.
pub const BUSY: &str = "A reply is still being written here. Wait for it, or stop it, before sending another message.";

/// What a member reads with no free replies and no credits left.
pub fn no_credits(free_daily: u32) -> String {
    format!(
        "You have used today's {free_daily} free replies and have no credits left. Credits are on the pricing page, \
         or come back tomorrow for more free replies."
    )
}

impl From<LedgerError> for ChatError {
    fn from(error: LedgerError) -> Self {
        match error {
            LedgerError::Database(error) => ChatError::Database(error),
            other => ChatError::Ledger(other),
        }
    }
}

pub(super) type Result<T> = std::result::Result<T, ChatError>;

/// Turns of history sent with a new message, at most, and their characters.
const HISTORY_TURNS: usize = 30;
const HISTORY_CHARS: usize = 24_000;
/// Conversations listed, newest first.
const LISTED: i64 = 200;
/// A reply still `streaming` after this long belongs to a process that died: replies are
/// cut off at [`MAX_REPLY_SECS`], well before it.
pub const ABANDONED_AFTER_SECS: i64 = 45 * 60;
/// The longest a reply may stream before it is cut off.
pub const MAX_REPLY_SECS: u64 = 20 * 60;

fn new_public_id() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    (0..12)
        .map(|_| ALPHABET[fastrand::usize(..ALPHABET.len())] as char)
        .collect()
}

/// A message as typed, checked: trimmed, not empty, not too long, no control characters
/// other than line breaks and tabs.
pub fn clean_message(text: &str) -> Result<String> {
    let text = text.trim();
    if text.is_empty() {
        return Err(ChatError::Invalid("Write a message first."));
    }
    if text.chars().count() > MAX_MESSAGE_CHARS {
        return Err(ChatError::Invalid("Messages can be at most 4,000 characters."));
    }
    if text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        return Err(ChatError::Invalid("The message cannot contain control characters."));
    }
    Ok(text.to_owned())
}

/// A title as given on rename, checked.
pub fn clean_title(title: &str) -> Result<String> {
    let title = title.split_whitespace().collect::<Vec<_>>().join(" ");
    if title.is_empty() {
        return Err(ChatError::Invalid("Give the conversation a title."));
    }
    if title.chars().count() > MAX_TITLE_CHARS {
        return Err(ChatError::Invalid("Titles can be at most 80 characters."));
    }
    if title.chars().any(char::is_control) {
        return Err(ChatError::Invalid("The title cannot contain control characters."));
    }
    Ok(title)
}

/// A title made from the first message: its first line, cut at a word near 60 characters.
pub fn title_from(message: &str) -> String {
    let line = message.lines().find(|line| !line.trim().is_empty()).unwrap_or_default();
    let words: Vec<&str> = line.split_whitespace().collect();
    let mut title = String::new();
    for word in words {
        if title.chars().count() + word.chars().count() + 1 > 60 {
            title.push('…');
            return title;
        }
        if !title.is_empty() {
            title.push(' ');
        }
        title.push_str(word);
    }
    title
}

/// Conversations a member may keep at once. Starting one is free (only replies are
/// metered) and writes a row, so without a cap one account could fill the database; 500 is
/// far more than anyone rereads (the list shows the latest 200), and deleting one, by hand
/// or through the chat-history setting, makes room.
pub const MAX_CONVERSATIONS: i64 = 500;

/// What a member reads at [`MAX_CONVERSATIONS`] (a unit test keeps the number in step).
pub const TOO_MANY_CONVERSATIONS: &str =
    "You have 500 conversations, the most one account can keep. Delete one you no longer need to start another.";

/// Starts a conversation with `persona` and returns its public id, unless the member has
/// [`MAX_CONVERSATIONS`] already.
pub async fn start(db: &Database, user_id: i64, persona: &Persona, now: i64) -> Result<String> {
    let public_id = new_public_id();
    let mut tx = db.pool().begin().await?;
    if db.backend() == crate::platform::db::Backend::Postgres {
        // Two starts at once would each miss the other's row in their count; the member's
        // row lock makes the second wait for the first. SQLite needs none: the one
        // statement that counts and inserts holds its write lock throughout.
        crate::platform::db::lock_member(&mut tx, db.backend(), user_id).await?;
    }
    let inserted = sqlx::query(
        "INSERT INTO chat_conversations (public_id, user_id, contributor_id, title, title_source, created_at, updated_at) \
         SELECT $1, $2, $3, $4, 'auto', $5, $5 \
         WHERE (SELECT COUNT(*) FROM chat_conversations WHERE user_id = $2) < $6",
    )
    .bind(&public_id)
    .bind(user_id)
    .bind(persona.contributor_id)
    .bind(format!("Chat with {}", persona.name))
    .bind(now)
    .bind(MAX_CONVERSATIONS)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Err(ChatError::Refused(TOO_MANY_CONVERSATIONS));
    }
    tx.commit().await?;
    Ok(public_id)
}

/// The member's conversations, most recently active first.
pub async fn list(db: &Database, user_id: i64) -> Result<Vec<ConversationSummary>> {
    let rows = sqlx::query(
        "SELECT c.public_id, c.title, c.updated_at, k.name, k.accent_color, \
           (SELECT m.content FROM chat_messages m WHERE m.conversation_id = c.id ORDER BY m.id DESC LIMIT 1) AS last \
         FROM chat_conversations c JOIN contributors k ON k.id = c.contributor_id \
         WHERE c.user_id = $1 ORDER BY c.updated_at DESC, c.id DESC LIMIT $2",
    )
    .bind(user_id)
    .bind(LISTED)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|row| {
            let last: Option<String> = row.try_get("last")?;
            Ok(ConversationSummary {
                public_id: row.try_get("public_id")?,
                title: row.try_get("title")?,
                contributor_name: row.try_get("name")?,
                accent: row.try_get("accent_color")?,
                preview: preview(last.as_deref().unwrap_or_default()),
                updated_at: row.try_get("updated_at")?,
            })
        })
        .collect()
}

fn preview(text: &str) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= 120 {
        flat
    } else {
        let cut: String = flat.chars().take(119).collect();
        format!("{}…", cut.trim_end())
    }
}

/// A conversation the member owns: its row id, title and contributor.
pub struct Owned {
    pub id: i64,
    pub title: String,
    pub contributor_id: i64,
}

pub async fn owned(db: &Database, user_id: i64, public_id: &str) -> Result<Owned> {
    // Ids are 12 letters and digits; other text names no conversation (and a NUL would
    // make PostgreSQL refuse the query).
    if public_id.len() > 32 || !public_id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(ChatError::NotFound);
    }
    let row =
        sqlx::query("SELECT id, title, contributor_id FROM chat_conversations WHERE public_id = $1 AND user_id = $2")
            .bind(public_id)
            .bind(user_id)
            .fetch_optional(db.pool())
            .await?
            .ok_or(ChatError::NotFound)?;
    Ok(Owned {
        id: row.try_get(0)?,
        title: row.try_get(1)?,
        contributor_id: row.try_get(2)?,
    })
}

fn message(row: &AnyRow) -> Result<ChatMessage> {
    let state: String = row.try_get("state")?;
    Ok(ChatMessage {
        id: row.try_get("id")?,
        from_member: row.try_get::<String, _>("role")? == "member",
        text: row.try_get("content")?,
        html: row.try_get("html")?,
        state: MessageState::parse(&state).unwrap_or(MessageState::Failed),
    })
}

/// Every message of a conversation, oldest first.
pub async fn messages(db: &Database, conversation_id: i64) -> Result<Vec<ChatMessage>> {
    let rows =
        sqlx::query("SELECT id, role, content, html, state FROM chat_messages WHERE conversation_id = $1 ORDER BY id")
            .bind(conversation_id)
            .fetch_all(db.pool())
            .await?;
    rows.iter().map(message).collect()
}

pub fn partner(persona: &Persona) -> ChatPartner {
    ChatPartner {
        slug: persona.slug.clone(),
        name: persona.name.clone(),
        style: persona.style.clone(),
        accent: persona.accent.clone(),
        greeting: persona.greeting.clone(),
    }
}

pub async fn rename(db: &Database, user_id: i64, public_id: &str, title: &str, now: i64) -> Result<String> {
    let title = clean_title(title)?;
    let changed = sqlx::query(
        "UPDATE chat_conversations SET title = $1, title_source = 'member', updated_at = $2 \
         WHERE public_id = $3 AND user_id = $4",
    )
    .bind(&title)
    .bind(now)
    .bind(public_id)
    .bind(user_id)
    .execute(db.pool())
    .await?
    .rows_affected();
    if changed == 0 {
        return Err(ChatError::NotFound);
    }
    Ok(title)
}

/// Deletes a conversation and its messages. A reply still streaming is ended as stopped,
/// and its charge given back, in the same transaction; its stream then finds its row gone.
pub async fn delete(db: &Database, user_id: i64, public_id: &str, now: i64) -> Result<()> {
    let conversation = owned(db, user_id, public_id).await?;
    let mut tx = db.pool().begin().await?;
    // The conversation's row lock first (a write lock on SQLite), as `begin` takes it: a
    // reply being begun here is either committed, charged, before the look below, or
    // begins after and finds the conversation gone. None is deleted unrefunded.
    sqlx::query("UPDATE chat_conversations SET updated_at = $1 WHERE id = $2")
        .bind(now)
        .bind(conversation.id)
        .execute(&mut *tx)
        .await?;
    let streaming: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM chat_messages WHERE conversation_id = $1 AND state = 'streaming'")
            .bind(conversation.id)
            .fetch_all(&mut *tx)
            .await?;
    for reply in streaming {
        finish_on(&mut tx, user_id, reply, MessageState::Stopped, "", "", now).await?;
    }
    sqlx::query("DELETE FROM chat_conversations WHERE id = $1")
        .bind(conversation.id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Free replies a day on the member's plan.
pub async fn free_daily(db: &Database, user_id: i64, base: u32) -> Result<u32> {
    let plan = crate::features::billing::account::effective_plan(db, user_id).await?;
    Ok(base.saturating_mul(plan.facts().chat_factor))
}

/// Free replies used today.
pub async fn used_today(db: &Database, user_id: i64, now: i64) -> Result<u32> {
    let used: Option<i64> = sqlx::query_scalar("SELECT used FROM chat_allowance WHERE user_id = $1 AND day = $2")
        .bind(user_id)
        .bind(crate::dates::iso_day(now))
        .fetch_optional(db.pool())
        .await?;
    Ok(used.unwrap_or(0).max(0) as u32)
}

/// A reply that has begun: its row, and the turns to send with it.
#[derive(Debug)]
pub struct PendingReply {
    pub reply_id: i64,
    pub turns: Vec<Turn>,
    /// The conversation's title after this message (a first message names it).
    pub title: String,
}

/// What to answer: a new message, or the last one again.
pub enum Ask<'a> {
    Message(&'a str),
    Retry,
}

/// Begins a reply in `conversation`: stores the member's message (for `Ask::Message`) and
/// an empty `streaming` reply and charges it — a free reply while today's allowance lasts,
/// else [`super::REPLY_CREDITS`] from the ledger under the key `chat:<reply id>` — all in one
/// transaction. So a reply never exists, not for a moment, without the charge an ending
/// gives back, and nothing is kept when there is nothing to charge. A retry replaces the
/// last reply in the same transaction, so only once the new one is paid for.
pub async fn begin(
    db: &Database,
    user_id: i64,
    conversation: &Owned,
    ask: Ask<'_>,
    free_daily: u32,
    now: i64,
) -> Result<PendingReply> {
    let mut tx = db.pool().begin().await?;
    // The row lock (a write lock on SQLite) makes the busy check and the inserts one step
    // per conversation, so two tabs cannot start two replies at once; a conversation
    // deleted meanwhile has no row left to lock.
    let touched = sqlx::query("UPDATE chat_conversations SET updated_at = $1 WHERE id = $2")
        .bind(now)
        .bind(conversation.id)
        .execute(&mut *tx)
        .await?;
    if touched.rows_affected() == 0 {
        return Err(ChatError::NotFound);
    }
    let busy: Option<i64> =
        sqlx::query_scalar("SELECT id FROM chat_messages WHERE conversation_id = $1 AND state = 'streaming' LIMIT 1")
            .bind(conversation.id)
            .fetch_optional(&mut *tx)
            .await?;
    if busy.is_some() {
        return Err(ChatError::Busy);
    }
    let mut title = conversation.title.clone();
    let mut replaced = None;
    match ask {
        Ask::Message(text) => {
            if store_message(&mut tx, user_id, conversation.id, text, now).await? {
                title = title_from(text);
            }
        }
        Ask::Retry => {
            let last: Option<(i64, String)> = sqlx::query_as(
                "SELECT id, role FROM chat_messages WHERE conversation_id = $1 ORDER BY id DESC LIMIT 1",
            )
            .bind(conversation.id)
            .fetch_optional(&mut *tx)
            .await?;
            match last {
                Some((id, role)) if role == "persona" => replaced = Some(id),
                Some(_) => {}
                None => return Err(ChatError::Invalid("There is nothing to answer yet.")),
            }
        }
    }
    let reply_id: i64 = sqlx::query_scalar(
        "INSERT INTO chat_messages (conversation_id, user_id, role, content, html, state, charge, created_at) \
         VALUES ($1, $2, 'persona', '', '', 'streaming', 'none', $3) RETURNING id",
    )
    .bind(conversation.id)
    .bind(user_id)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    // Nothing to pay with (or the charge failed): returning drops the transaction, so the
    // message and the empty reply are never stored, and the composer still holds the text.
    charge(&mut tx, user_id, conversation.id, reply_id, free_daily, now).await?;
    if let Some(replaced) = replaced {
        sqlx::query("DELETE FROM chat_messages WHERE id = $1")
            .bind(replaced)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;

    // From here the reply exists, charged: whatever stops this function (an error, or the
    // request going away mid-call) must end it and give back what it took.
    let mut guard = Unended {
        db: db.clone(),
        user_id,
        reply_id,
        armed: true,
    };
    let turns = history(db, conversation.id, reply_id).await;
    guard.armed = false;
    match turns {
        Ok(turns) => Ok(PendingReply { reply_id, turns, title }),
        Err(error) => {
            finish(db, user_id, reply_id, MessageState::Failed, "", "", now).await?;
            Err(error)
        }
    }
}

/// Stores the member's message; a conversation's first message names it (unless the
/// member already has). Returns whether it did.
async fn store_message(
    conn: &mut AnyConnection,
    user_id: i64,
    conversation_id: i64,
    text: &str,
    now: i64,
) -> Result<bool> {
    let first: Option<i64> =
        sqlx::query_scalar("SELECT id FROM chat_messages WHERE conversation_id = $1 AND role = 'member' LIMIT 1")
            .bind(conversation_id)
            .fetch_optional(&mut *conn)
            .await?;
    let mut named = false;
    if first.is_none() {
        named = sqlx::query("UPDATE chat_conversations SET title = $1 WHERE id = $2 AND title_source = 'auto'")
            .bind(title_from(text))
            .bind(conversation_id)
            .execute(&mut *conn)
            .await?
            .rows_affected()
            == 1;
    }
    sqlx::query(
        "INSERT INTO chat_messages (conversation_id, user_id, role, content, html, state, charge, created_at) \
         VALUES ($1, $2, 'member', $3, '', 'complete', 'none', $4)",
    )
    .bind(conversation_id)
    .bind(user_id)
    .bind(text)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(named)
}

/// Ends a reply as failed if `begin` stops before handing it on.
struct Unended {
    db: Database,
    user_id: i64,
    reply_id: i64,
    armed: bool,
}

impl Drop for Unended {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let (db, user_id, reply_id) = (self.db.clone(), self.user_id, self.reply_id);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let now = crate::platform::clock::now_unix();
                if let Err(error) = finish(&db, user_id, reply_id, MessageState::Failed, "", "", now).await {
                    tracing::warn!(%error, reply_id, "could not end a reply that never started");
                }
            });
        }
    }
}

/// The conversation so far, as turns for the provider: complete and stopped replies with
/// what the member wrote, the newest that fit, starting with the member and alternating
/// (consecutive turns of one speaker are joined).
async fn history(db: &Database, conversation_id: i64, reply_id: i64) -> Result<Vec<Turn>> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT role, content FROM chat_messages WHERE conversation_id = $1 AND id < $2 \
         AND state IN ('complete', 'stopped') AND content <> '' ORDER BY id DESC LIMIT $3",
    )
    .bind(conversation_id)
    .bind(reply_id)
    .bind(HISTORY_TURNS as i64)
    .fetch_all(db.pool())
    .await?;
    let mut kept = Vec::new();
    let mut chars = 0;
    for (role, content) in rows {
        chars += content.chars().count();
        if chars > HISTORY_CHARS && !kept.is_empty() {
            break;
        }
        kept.push((role, content));
    }
    kept.reverse();
    let mut turns: Vec<Turn> = Vec::new();
    for (role, content) in kept {
        let speaker = if role == "member" {
            Speaker::Member
        } else {
            Speaker::Persona
        };
        match turns.last_mut() {
            Some(last) if last.speaker == speaker => {
                last.text.push_str("\n\n");
                last.text.push_str(&content);
            }
            _ => turns.push(Turn { speaker, text: content }),
        }
    }
    while turns.first().is_some_and(|turn| turn.speaker == Speaker::Persona) {
        turns.remove(0);
    }
    Ok(turns)
}

/// Ends replies left `streaming` by a process that stopped mid-reply, as failed, giving
/// their charges back. Returns how many.
pub async fn fail_abandoned(db: &Database, now: i64) -> Result<u64> {
    let rows: Vec<(i64, i64, String)> =
        sqlx::query_as("SELECT id, user_id, content FROM chat_messages WHERE state = 'streaming' AND created_at < $1")
            .bind(now - ABANDONED_AFTER_SECS)
            .fetch_all(db.pool())
            .await?;
    let mut ended = 0;
    for (id, user_id, content) in rows {
        if finish(db, user_id, id, MessageState::Failed, &content, "", now).await? {
            ended += 1;
        }
    }
    Ok(ended)
}

/// Deletes conversations past the member's chat-retention setting: 30 days after their
/// last message for `30_days`, one hour after it for `none`. Returns how many. The age is
/// a condition on the deleted row itself, so on PostgreSQL a reply being begun in it (which
/// holds the row and moves `updated_at` to now) keeps it: re-checked after the wait, it is
/// no longer old, and no charged reply is deleted with it.
pub async fn purge_by_retention(db: &Database, now: i64) -> Result<u64> {
    let result = sqlx::query(
        "DELETE FROM chat_conversations \
         WHERE ((updated_at < $1 AND user_id IN (SELECT user_id FROM privacy_settings WHERE chat_retention = '30_days')) \
           OR (updated_at < $2 AND user_id IN (SELECT user_id FROM privacy_settings WHERE chat_retention = 'none'))) \
         AND NOT EXISTS (SELECT 1 FROM chat_messages m \
           WHERE m.conversation_id = chat_conversations.id AND m.state = 'streaming')",
    )
    .bind(now - 30 * 86_400)
    .bind(now - 3_600)
    .execute(db.pool())
    .await?;
    Ok(result.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_come_from_the_first_line_cut_at_a_word() {
        assert_eq!(
            title_from("\n  What palettes do you like?\nAnd why?"),
            "What palettes do you like?"
        );
        let long = "word ".repeat(30);
        let title = title_from(&long);
        assert!(title.ends_with('…') && title.chars().count() <= 61, "{title}");
    }

    #[test]
    fn the_conversation_limit_message_names_the_limit() {
        assert!(TOO_MANY_CONVERSATIONS.contains(&format!("You have {MAX_CONVERSATIONS} conversations")));
    }

    #[test]
    fn messages_and_titles_are_checked() {
        assert!(clean_message("  ").is_err());
        assert!(clean_message(&"a".repeat(MAX_MESSAGE_CHARS + 1)).is_err());
        assert!(clean_message("bell\u{7}").is_err());
        assert_eq!(clean_message(" two\nlines ").unwrap(), "two\nlines");
        assert_eq!(clean_title("  Sky   ideas ").unwrap(), "Sky ideas");
        assert!(clean_title(&"t".repeat(81)).is_err());
    }
}
