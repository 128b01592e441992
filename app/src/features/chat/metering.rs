//! Metering of replies (server only): the charge a reply takes as it begins — a free reply
//! from today's allowance, else credits from the ledger — and the charge a stopped or
//! failed reply gives back as it ends. Both run on the caller's transaction, with the
//! change to the reply they pay for, so a reply's row, its `charge` and its ledger spend
//! (or refund) are committed together or not at all, and an ending that finds `credits`
//! always finds the spend to refund. See "Metering, exactly once" in docs/ARCHITECTURE.md.

use super::{
    service::{ChatError, Result},
    MessageState, REPLY_CREDITS,
};
use crate::{
    features::billing::{
        ledger::{self, LedgerError},
        Reason,
    },
    platform::db::Database,
};
use sqlx::AnyConnection;

/// Takes one free reply, or the reply's credits, and records which on the reply, on the
/// caller's transaction: the metering record and the spend commit together or not at
/// all, so an ending that finds `credits` always finds the spend to refund.
pub(super) async fn charge(
    conn: &mut AnyConnection,
    user_id: i64,
    conversation_id: i64,
    reply_id: i64,
    free_daily: u32,
    now: i64,
) -> Result<()> {
    let day = crate::dates::iso_day(now);
    sqlx::query(
        "INSERT INTO chat_allowance (user_id, day, used) VALUES ($1, $2, 0) ON CONFLICT (user_id, day) DO NOTHING",
    )
    .bind(user_id)
    .bind(&day)
    .execute(&mut *conn)
    .await?;
    // One conditional UPDATE: concurrent replies can never take more than the allowance.
    let free = sqlx::query("UPDATE chat_allowance SET used = used + 1 WHERE user_id = $1 AND day = $2 AND used < $3")
        .bind(user_id)
        .bind(&day)
        .bind(i64::from(free_daily))
        .execute(&mut *conn)
        .await?
        .rows_affected()
        == 1;
    let charge = if free {
        format!("allowance:{day}")
    } else {
        "credits".to_owned()
    };
    sqlx::query("UPDATE chat_messages SET charge = $1 WHERE id = $2")
        .bind(&charge)
        .bind(reply_id)
        .execute(&mut *conn)
        .await?;
    if free {
        return Ok(());
    }
    let reference = format!("chat {conversation_id}");
    match ledger::spend_on(
        &mut *conn,
        user_id,
        REPLY_CREDITS,
        Reason::Chat,
        &reference,
        &credit_key(reply_id),
        now,
    )
    .await
    {
        Ok(_) => Ok(()),
        Err(LedgerError::Insufficient { .. }) => Err(ChatError::NoCredits { free_daily }),
        Err(error) => Err(error.into()),
    }
}

/// The ledger key of a reply's credit spend.
fn credit_key(reply_id: i64) -> String {
    format!("chat:{reply_id}")
}

/// Ends a streaming reply as `state` with what arrived. Only the first call for a reply
/// changes anything (the row must still be `streaming`); when that call ends it as stopped
/// or failed, the charge goes back in the same transaction: the free reply to today's
/// allowance, credits through the ledger's refund (itself once only, under its key).
/// Returns whether this call ended it.
pub async fn finish(
    db: &Database,
    user_id: i64,
    reply_id: i64,
    state: MessageState,
    content: &str,
    html: &str,
    now: i64,
) -> Result<bool> {
    // On its own task, so an ending once begun completes even if whoever is ending the
    // reply stops waiting now (a stream dropped mid-ending, say). Were it cut short anyway,
    // its transaction would roll back whole: the reply stays `streaming`, charged, for the
    // next ending to end and refund.
    let (db, content, html) = (db.clone(), content.to_owned(), html.to_owned());
    let ending = tokio::spawn(async move {
        let mut tx = db.pool().begin().await?;
        let ended = finish_on(&mut tx, user_id, reply_id, state, &content, &html, now).await?;
        tx.commit().await?;
        Ok::<bool, ChatError>(ended)
    });
    match ending.await {
        Ok(result) => result,
        Err(error) => {
            tracing::error!(%error, reply_id, "the task ending a reply failed");
            Ok(false)
        }
    }
}

/// [`finish`] on the caller's transaction.
pub(super) async fn finish_on(
    conn: &mut AnyConnection,
    user_id: i64,
    reply_id: i64,
    state: MessageState,
    content: &str,
    html: &str,
    now: i64,
) -> Result<bool> {
    let charge: Option<String> = sqlx::query_scalar(
        "UPDATE chat_messages SET state = $1, content = $2, html = $3 WHERE id = $4 AND state = 'streaming' RETURNING charge",
    )
    .bind(state.as_str())
    .bind(content)
    .bind(html)
    .bind(reply_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(charge) = charge else {
        return Ok(false);
    };
    sqlx::query(
        "UPDATE chat_conversations SET updated_at = $1 WHERE id = (SELECT conversation_id FROM chat_messages WHERE id = $2)",
    )
    .bind(now)
    .bind(reply_id)
    .execute(&mut *conn)
    .await?;
    if state == MessageState::Complete {
        return Ok(true);
    }
    if let Some(day) = charge.strip_prefix("allowance:") {
        sqlx::query("UPDATE chat_allowance SET used = used - 1 WHERE user_id = $1 AND day = $2 AND used > 0")
            .bind(user_id)
            .bind(day)
            .execute(&mut *conn)
            .await?;
    } else if charge == "credits" {
        match ledger::refund_on(&mut *conn, user_id, &credit_key(reply_id), now).await {
            Ok(_) => {}
            // `begin` writes the charge and the spend in one transaction, so this is a row
            // from before it did; there is nothing to give back, and the reply must still
            // end or its conversation stays busy for good.
            Err(LedgerError::NoSuchSpend) => {
                tracing::error!(reply_id, "a reply charged in credits has no spend to refund");
            }
            Err(error) => return Err(error.into()),
        }
    }
    Ok(true)
}
