//! Chat metering: a paid reply stopped or broken at every step — before its first token,
//! mid-stream, the provider failing before or during output, the conversation deleted
//! while the reply is being charged, concurrent replies on one credit — each followed by a
//! check of the member's books (the ledger sums to the balance, every refund matches one
//! spend, nothing is refunded twice).

use crate::chat::*;
use crate::support::{self, fake_llm::Script};
use app::{
    features::{
        billing::ledger,
        chat::{
            service,
            sse::{SseEvent, SseParser},
            wire, MessageState,
        },
    },
    platform::{clock::now_unix, db::Database},
};
use std::time::Duration;

/// Every ledger entry of the member: (amount, reason, reference, key, balance after).
async fn books(db: &Database, member: i64) -> Vec<(i64, String, String, String, i64)> {
    sqlx::query_as(
        "SELECT amount, reason, reference, idempotency_key, balance_after FROM credit_ledger \
         WHERE user_id = $1 ORDER BY id",
    )
    .bind(member)
    .fetch_all(db.pool())
    .await
    .unwrap()
}

/// The member's books, however their replies ended: the entries add up to the balance,
/// every refund gives back a chat spend and none is given back twice, the credits kept
/// are exactly those of replies stored complete (a member pays for replies delivered
/// whole, nothing else), today's free replies are those of complete free replies, and no
/// reply is left half-way.
async fn assert_books_balance(chat: &Chat) {
    assert_books_balance_of(&chat.app.state.db, chat.member).await;
}

/// [`assert_books_balance`] for any database and member (the crash test's too).
pub(crate) async fn assert_books_balance_of(db: &Database, member: i64) {
    let entries = books(db, member).await;
    let mut running: i64 = 0;
    for (amount, _, _, key, balance_after) in &entries {
        running += *amount;
        assert_eq!(
            *balance_after, running,
            "{key}: the balance after it is the sum so far: {entries:?}"
        );
    }
    assert_eq!(
        running,
        ledger::balance(db, member).await.unwrap(),
        "the entries add up to the balance: {entries:?}"
    );
    let spends: Vec<&str> = entries
        .iter()
        .filter(|entry| entry.1 == "chat")
        .map(|entry| entry.3.as_str())
        .collect();
    let mut refunded: Vec<&str> = entries
        .iter()
        .filter(|entry| entry.1 == "refund")
        .map(|entry| entry.2.as_str())
        .collect();
    for spend in &refunded {
        assert!(
            spends.contains(spend),
            "a refund gives back a chat spend ({spend}): {entries:?}"
        );
    }
    let refunds = refunded.len();
    refunded.sort_unstable();
    refunded.dedup();
    assert_eq!(refunded.len(), refunds, "no spend is refunded twice: {entries:?}");
    let mut kept: Vec<String> = spends
        .iter()
        .filter(|key| !refunded.contains(*key))
        .map(|key| (*key).to_owned())
        .collect();
    kept.sort();
    let pool = db.pool();
    let delivered: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM chat_messages WHERE user_id = $1 AND role = 'persona' AND state = 'complete' \
         AND charge = 'credits'",
    )
    .bind(member)
    .fetch_all(pool)
    .await
    .unwrap();
    let mut delivered: Vec<String> = delivered.iter().map(|id| format!("chat:{id}")).collect();
    delivered.sort();
    assert_eq!(
        kept, delivered,
        "credits are kept for the replies delivered whole, and only those: {entries:?}"
    );
    let free: i64 = sqlx::query_scalar(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM chat_messages WHERE user_id = $1 AND role = 'persona' \
         AND state = 'complete' AND charge LIKE 'allowance:%'",
    )
    .bind(member)
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(
        i64::from(service::used_today(db, member, now_unix()).await.unwrap()),
        free,
        "free replies are counted for complete replies only"
    );
    let unended: i64 = sqlx::query_scalar(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM chat_messages WHERE user_id = $1 AND state = 'streaming'",
    )
    .bind(member)
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(unended, 0, "no reply is left streaming");
}

/// The newest reply of the conversation: (content, state).
async fn newest_reply(chat: &Chat) -> Option<(String, String)> {
    stored(chat)
        .await
        .into_iter()
        .rev()
        .find(|(role, _, _)| role == "persona")
        .map(|(_, content, state)| (content, state))
}

/// Waits (up to 10 s) for the newest reply to be in `state`; returns what it holds.
async fn wait_for_reply(chat: &Chat, state: &str) -> String {
    for _ in 0..200 {
        if let Some((content, now)) = newest_reply(chat).await {
            if now == state {
                return content;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the reply never became {state}: {:?}", stored(chat).await);
}

/// The newest reply's credit came back once, and a second ending of it (a late drop, the
/// maintenance loop, a delete) or a second refund of its spend changes nothing.
async fn assert_refunded_once(chat: &Chat) {
    let db = &chat.app.state.db;
    let reply: i64 = sqlx::query_scalar(
        "SELECT id FROM chat_messages WHERE user_id = $1 AND role = 'persona' ORDER BY id DESC LIMIT 1",
    )
    .bind(chat.member)
    .fetch_one(db.pool())
    .await
    .unwrap();
    let key = format!("chat:{reply}");
    let before = books(&chat.app.state.db, chat.member).await;
    assert_eq!(
        before
            .iter()
            .filter(|entry| entry.1 == "refund" && entry.2 == key)
            .count(),
        1,
        "refunded once: {before:?}"
    );
    for state in [MessageState::Stopped, MessageState::Failed, MessageState::Complete] {
        let ended = service::finish(db, chat.member, reply, state, "", "", now_unix())
            .await
            .unwrap();
        assert!(!ended, "only the first ending counts");
    }
    let again = ledger::refund(db, chat.member, &key, now_unix()).await.unwrap();
    assert!(again.replayed, "a second refund is the first one again");
    assert_eq!(
        books(&chat.app.state.db, chat.member).await,
        before,
        "and changes nothing"
    );
}

/// Sends `text` to `conversation` from a task of its own and reads the answer to its end;
/// aborting the task closes the connection, as the stop button (or a closed tab) does.
fn send_in_background(chat: &Chat, conversation: &str, text: &str) -> tokio::task::JoinHandle<(u16, Vec<SseEvent>)> {
    let request = chat
        .app
        .client
        .post(chat.app.url(&format!("/chat/{conversation}/messages")))
        .header("cookie", &chat.cookie)
        .header("accept", "text/event-stream")
        .form(&[("text", text)]);
    tokio::spawn(async move {
        let mut response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let mut body = Vec::new();
        while let Ok(Some(chunk)) = response.chunk().await {
            body.extend_from_slice(&chunk);
        }
        (status, events_of(&body))
    })
}

/// Chat paid in credits only (no free replies), with `credits` granted; `adjust` changes
/// the configuration further.
async fn paid_chat_with(
    wire: &str,
    credits: i64,
    adjust: impl FnOnce(&mut std::collections::HashMap<String, String>),
) -> Chat {
    let chat = chat_with(wire, |values| {
        values.insert("ATELIER_CHAT_FREE_DAILY".into(), "0".into());
        adjust(values);
    })
    .await;
    grant(&chat, credits).await;
    chat
}

async fn paid_chat(wire: &str, credits: i64) -> Chat {
    paid_chat_with(wire, credits, |_| {}).await
}

#[tokio::test]
async fn a_reply_stopped_before_its_first_token_gives_its_credit_back_once() {
    let chat = paid_chat("openai", 2).await;
    // The provider takes its time over the first token (inside the default read timeout).
    chat.llm
        .script([Script::slow(&["Too", " late."], Duration::from_secs(5))]);
    let reply = send_in_background(&chat, &chat.conversation, "Take your time");
    // Begun and charged, the provider asked, and not a word back yet.
    wait_for_reply(&chat, "streaming").await;
    for _ in 0..100 {
        if !chat.llm.asked().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(chat.llm.asked().len(), 1);
    assert_eq!(balance(&chat).await, 1, "a reply is charged as it begins");
    reply.abort(); // the member presses stop
    let _ = reply.await;

    let content = wait_for_reply(&chat, "stopped").await;
    assert_eq!(content, "", "stopped before anything arrived");
    assert_eq!(balance(&chat).await, 2, "the credit came back");
    assert_eq!(
        ledger_entries(&chat).await,
        vec![(2, "adjustment".into()), (-1, "chat".into()), (1, "refund".into())]
    );
    assert_refunded_once(&chat).await;
    assert_books_balance(&chat).await;
    chat.app.stop().await;
}

#[tokio::test]
async fn a_reply_stopped_mid_stream_keeps_its_text_and_gives_its_credit_back_once() {
    let chat = paid_chat("openai", 2).await;
    let tokens: Vec<String> = (0..40).map(|n| format!(" word{n}")).collect();
    let tokens: Vec<&str> = tokens.iter().map(String::as_str).collect();
    chat.llm.script([Script::slow(&tokens, Duration::from_millis(100))]);
    let mut response = post(
        &chat,
        &format!("/chat/{}/messages", chat.conversation),
        Some("Go on and on"),
    )
    .await;
    assert_eq!(response.status(), 200);
    let mut parser = SseParser::default();
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let chunk = response.chunk().await.unwrap().expect("more of the stream");
        seen.extend(parser.feed(&chunk).unwrap());
    }
    assert!(seen.iter().all(|event| event.name == wire::DELTA), "{seen:?}");
    assert_eq!(balance(&chat).await, 1, "charged while it streams");
    drop(response); // the member presses stop

    let content = wait_for_reply(&chat, "stopped").await;
    assert!(
        content.starts_with(&text_of(&seen)),
        "what arrived is kept: {content:?}"
    );
    assert!(content.len() < tokens.concat().len(), "it was cut short: {content:?}");
    assert_eq!(balance(&chat).await, 2, "a reply not delivered whole is not paid for");
    assert_refunded_once(&chat).await;
    assert_books_balance(&chat).await;
    chat.app.stop().await;
}

#[tokio::test]
async fn a_provider_failing_before_any_output_keeps_no_credit() {
    let chat = paid_chat("openai", 1).await;
    // Busy on every attempt (four), then a refusal, which is not retried.
    chat.llm
        .script(std::iter::repeat_n(Script::Status(503), 4).chain([Script::Status(400)]));
    for (attempt, asked) in [(1, 4), (2, 5)] {
        let (status, events) = send(&chat, "Hello?").await;
        assert_eq!(status, 200, "attempt {attempt}");
        assert_eq!(
            events.len(),
            1,
            "attempt {attempt}: no text, only the error: {events:?}"
        );
        assert_eq!(last(&events).name, wire::ERROR);
        assert_eq!(chat.llm.asked().len(), asked);
        assert_eq!(
            newest_reply(&chat).await,
            Some((String::new(), "failed".to_owned())),
            "ended before the error was sent"
        );
        assert_eq!(balance(&chat).await, 1, "attempt {attempt}: the credit came back");
        assert_refunded_once(&chat).await;
        assert_books_balance(&chat).await;
    }
    // The same credit still pays for a reply that arrives.
    let (_, events) = send(&chat, "And now?").await;
    assert_eq!(last(&events).name, wire::DONE);
    assert_eq!(balance(&chat).await, 0);
    assert_books_balance(&chat).await;
    chat.app.stop().await;
}

#[tokio::test]
async fn a_provider_failing_mid_stream_keeps_no_credit_and_a_delivered_reply_keeps_one() {
    for wire_format in WIRES {
        // A provider that goes quiet is given up on after a second.
        let chat = paid_chat_with(wire_format, 3, setting("ATELIER_CHAT_TIMEOUT_SECS", "1")).await;
        chat.llm.script([
            Script::BreakAfter {
                tokens: vec!["Half".into(), " a".into()],
            },
            Script::StallAfter {
                tokens: vec!["Well,".into(), " let".into()],
            },
            Script::tokens(&["The", " whole", " story."]),
        ]);
        for (text, arrived) in [("Tell me a story", "Half a"), ("Think hard", "Well, let")] {
            let (status, events) = send(&chat, text).await;
            assert_eq!(status, 200);
            assert_eq!(text_of(&events), arrived, "{wire_format}");
            assert_eq!(last(&events).name, wire::ERROR);
            assert_eq!(
                newest_reply(&chat).await,
                Some((arrived.to_owned(), "failed".to_owned()))
            );
            assert_eq!(balance(&chat).await, 3, "{wire_format}: {text}: the credit came back");
            assert_refunded_once(&chat).await;
            assert_books_balance(&chat).await;
        }
        let (_, events) = send(&chat, "Once more, all of it").await;
        assert_eq!(last(&events).name, wire::DONE);
        assert_eq!(
            balance(&chat).await,
            2,
            "{wire_format}: the delivered reply is paid for"
        );
        assert_books_balance(&chat).await;
        chat.app.stop().await;
    }
}

#[tokio::test]
async fn concurrent_replies_for_a_member_with_one_credit_deliver_and_charge_exactly_one() {
    let chat = paid_chat("openai", 1).await;
    let mut conversations = vec![chat.conversation.clone()];
    for _ in 0..3 {
        conversations.push(start(&chat.app, &chat.cookie, "mira-solenne").await);
    }
    chat.llm.script(std::iter::repeat_n(
        Script::slow(&["One", " at", " a", " time."], Duration::from_millis(20)),
        4,
    ));
    let replies: Vec<_> = conversations
        .iter()
        .map(|id| send_in_background(&chat, id, "All at once"))
        .collect();
    let mut outcomes = Vec::new();
    for reply in replies {
        outcomes.push(reply.await.unwrap());
    }
    let delivered = outcomes
        .iter()
        .filter(|(status, events)| *status == 200 && events.last().is_some_and(|event| event.name == wire::DONE))
        .count();
    let refused = outcomes.iter().filter(|(status, _)| *status == 402).count();
    assert_eq!((delivered, refused), (1, 3), "{outcomes:?}");
    assert_eq!(balance(&chat).await, 0);
    assert_eq!(
        ledger_entries(&chat).await,
        vec![(1, "adjustment".into()), (-1, "chat".into())]
    );
    assert_eq!(
        support::count_rows(&chat.app, "chat_messages").await,
        2,
        "the refused messages are not kept"
    );
    assert_books_balance(&chat).await;
    chat.app.stop().await;
}

#[tokio::test]
async fn a_conversation_deleted_while_its_reply_is_being_charged_keeps_no_credit() {
    let chat = paid_chat("openai", 1).await;
    chat.llm.script([Script::slow(
        &["Slow", " enough", " to", " be", " deleted."],
        Duration::from_millis(300),
    )]);
    let db = chat.app.state.db.clone();
    // Holding the member's balance row (the write lock, on SQLite) makes the reply's
    // credit spend wait: the moment at which a reply used to exist, marked as paid in
    // credits, with no spend yet for an ending to refund.
    let mut hold = db.pool().begin().await.unwrap();
    sqlx::query("UPDATE credit_accounts SET updated_at = updated_at WHERE user_id = $1")
        .bind(chat.member)
        .execute(&mut *hold)
        .await
        .unwrap();
    let reply = send_in_background(&chat, &chat.conversation, "Quick, before I delete this");
    // Until the reply shows, or 2 s: begun and charged in one transaction, it cannot show
    // while its spend waits; the old way it showed at once.
    for _ in 0..40 {
        if newest_reply(&chat).await.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let deleting = {
        let (db, member, id) = (db.clone(), chat.member, chat.conversation.clone());
        tokio::spawn(async move { service::delete(&db, member, &id, now_unix()).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    hold.commit().await.unwrap();
    deleting.await.unwrap().unwrap();
    let (status, _) = tokio::time::timeout(Duration::from_secs(20), reply)
        .await
        .expect("the reply ends")
        .unwrap();
    // Begun first (and ended by the delete), or refused because the conversation had gone.
    assert!(matches!(status, 200 | 404), "{status}");
    assert_eq!(support::count_rows(&chat.app, "chat_conversations").await, 0);
    assert_eq!(
        balance(&chat).await,
        1,
        "no credit is kept for a reply deleted unfinished: {:?}",
        books(&chat.app.state.db, chat.member).await
    );
    assert_books_balance(&chat).await;
    chat.app.stop().await;
}
