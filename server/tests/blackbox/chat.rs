//! Chat with AI contributors against a fake model server that speaks both wire formats:
//! normal, slow and broken streams, 429 then success, errors before the first token, a
//! browser that leaves mid-reply — what the member sees, what is stored, and credits
//! given back exactly once. Plus the refusals before a reply starts, retry, rename,
//! delete, retention, links to library images and a provider that is not configured.
//! Paid replies stopped or broken at every step are in `chat_metering`.

use crate::support::{
    self,
    fake_llm::{FakeLlm, Script, API_KEY},
    members::{create_member, error_of, post_form, signed_in},
    TestApp,
};
use app::{
    features::{
        billing::{ledger, Reason},
        chat::{
            api::{DeleteChat, LoadChatList, LoadConversation, RenameChat, StartChat},
            service,
            sse::{SseEvent, SseParser},
            wire, Availability, ChatList, Conversation, MessageState,
        },
        privacy::{
            settings,
            settings_api::{ChatRetention, PrivacySettings},
        },
    },
    platform::clock::now_unix,
};
use leptos::server_fn::ServerFn;
use std::time::{Duration, Instant};

pub(crate) const WIRES: [&str; 2] = ["openai", "anthropic"];

pub(crate) struct Chat {
    pub(crate) app: TestApp,
    pub(crate) llm: FakeLlm,
    pub(crate) member: i64,
    pub(crate) cookie: String,
    pub(crate) conversation: String,
}

/// An app whose chat speaks `wire` to a fake, a signed-in member and a conversation with
/// the first demo contributor. `adjust` changes the configuration further.
pub(crate) async fn chat_with(wire: &str, adjust: impl FnOnce(&mut std::collections::HashMap<String, String>)) -> Chat {
    let llm = FakeLlm::start().await;
    let env = llm.env(wire);
    let app = support::spawn_app_with(
        move |values| {
            values.extend(env);
            adjust(values);
        },
        server::jobs::registry(),
    )
    .await;
    app.seed(3).await;
    let member = create_member(&app, "ada@example.org", "Ada", true).await;
    let cookie = signed_in(&app, "ada@example.org").await;
    let conversation = start(&app, &cookie, "mira-solenne").await;
    Chat {
        app,
        llm,
        member,
        cookie,
        conversation,
    }
}

/// One more configuration value.
pub(crate) fn setting(
    name: &'static str,
    value: &'static str,
) -> impl FnOnce(&mut std::collections::HashMap<String, String>) {
    move |values| {
        values.insert(name.into(), value.into());
    }
}

pub(crate) async fn chat(wire: &str) -> Chat {
    chat_with(wire, |_| {}).await
}

pub(crate) async fn start(app: &TestApp, cookie: &str, contributor: &str) -> String {
    let response = post_form(app, StartChat::PATH, Some(cookie), &[("contributor", contributor)]).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// A message as the browser sends it; the events of the answer, or its refusal.
pub(crate) async fn post(chat: &Chat, path: &str, text: Option<&str>) -> reqwest::Response {
    post_accepting(chat, path, text, "text/event-stream").await
}

/// A message sent with `accept`: a script asks for the event stream, a plain form post
/// for HTML.
pub(crate) async fn post_accepting(chat: &Chat, path: &str, text: Option<&str>, accept: &str) -> reqwest::Response {
    let mut request = chat
        .app
        .client
        .post(chat.app.url(path))
        .header("cookie", &chat.cookie)
        .header("accept", accept);
    if let Some(text) = text {
        request = request.form(&[("text", text)]);
    }
    request.send().await.unwrap()
}

pub(crate) fn events_of(body: &[u8]) -> Vec<SseEvent> {
    SseParser::default().feed(body).unwrap()
}

pub(crate) async fn send(chat: &Chat, text: &str) -> (u16, Vec<SseEvent>) {
    let response = post(chat, &format!("/chat/{}/messages", chat.conversation), Some(text)).await;
    let status = response.status().as_u16();
    if status == 200 {
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        assert!(
            response.headers().get("content-encoding").is_none(),
            "the stream is not compressed"
        );
    }
    (status, events_of(&response.bytes().await.unwrap()))
}

pub(crate) fn text_of(events: &[SseEvent]) -> String {
    events
        .iter()
        .filter(|event| event.name == wire::DELTA)
        .map(|event| serde_json::from_str::<String>(&event.data).unwrap())
        .collect()
}

pub(crate) fn last(events: &[SseEvent]) -> &SseEvent {
    events.last().expect("the stream has events")
}

/// (role, content, state) of every message of the conversation, oldest first.
pub(crate) async fn stored(chat: &Chat) -> Vec<(String, String, String)> {
    sqlx::query_as(
        "SELECT m.role, m.content, m.state FROM chat_messages m JOIN chat_conversations c ON c.id = m.conversation_id \
         WHERE c.public_id = $1 ORDER BY m.id",
    )
    .bind(&chat.conversation)
    .fetch_all(chat.app.state.db.pool())
    .await
    .unwrap()
}

pub(crate) fn message(role: &str, content: &str, state: &str) -> (String, String, String) {
    (role.into(), content.into(), state.into())
}

pub(crate) async fn used_today(chat: &Chat) -> u32 {
    service::used_today(&chat.app.state.db, chat.member, now_unix())
        .await
        .unwrap()
}

pub(crate) async fn balance(chat: &Chat) -> i64 {
    ledger::balance(&chat.app.state.db, chat.member).await.unwrap()
}

/// (amount, reason) of every ledger entry of the member.
pub(crate) async fn ledger_entries(chat: &Chat) -> Vec<(i64, String)> {
    sqlx::query_as("SELECT amount, reason FROM credit_ledger WHERE user_id = $1 ORDER BY id")
        .bind(chat.member)
        .fetch_all(chat.app.state.db.pool())
        .await
        .unwrap()
}

pub(crate) async fn grant(chat: &Chat, credits: i64) {
    ledger::grant(
        &chat.app.state.db,
        chat.member,
        credits,
        Reason::Adjustment,
        "test",
        "test-grant",
        now_unix(),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn a_reply_streams_in_order_and_is_stored_in_both_wire_formats() {
    for wire_format in WIRES {
        let chat = chat(wire_format).await;
        chat.llm
            .script([Script::tokens(&["Hello", " there", ", **friend**", " — ✓"])]);
        let (status, events) = send(&chat, "What do you paint?\nAnd why?").await;
        assert_eq!(status, 200, "{wire_format}");
        assert_eq!(
            events.iter().filter(|event| event.name == wire::DELTA).count(),
            4,
            "{wire_format}: one event per token"
        );
        assert_eq!(text_of(&events), "Hello there, **friend** — ✓");
        assert_eq!(last(&events).name, wire::DONE);
        let done: wire::Done = serde_json::from_str(&last(&events).data).unwrap();
        assert!(done.html.contains("<strong>friend</strong>"), "{}", done.html);
        assert_eq!(
            done.title, "What do you paint?",
            "the first message names the conversation"
        );
        assert_eq!(
            stored(&chat).await,
            vec![
                message("member", "What do you paint?\nAnd why?", "complete"),
                message("persona", "Hello there, **friend** — ✓", "complete"),
            ]
        );
        assert_eq!(used_today(&chat).await, 1, "one free reply used");

        // What the provider was sent: the persona's instructions and the member's words.
        let asked = chat.llm.asked();
        assert_eq!(asked.len(), 1);
        let body = &asked[0].body;
        assert_eq!(body["stream"], true);
        assert_eq!(body["model"], support::fake_llm::MODEL);
        let (system, turns) = match wire_format {
            "openai" => {
                assert_eq!(asked[0].headers["authorization"], format!("Bearer {API_KEY}"));
                let messages = body["messages"].as_array().unwrap();
                (
                    messages[0]["content"].as_str().unwrap().to_owned(),
                    messages[1..].to_vec(),
                )
            }
            _ => {
                assert_eq!(asked[0].headers["x-api-key"], API_KEY);
                assert_eq!(asked[0].headers["anthropic-version"], "2023-06-01");
                (
                    body["system"].as_str().unwrap().to_owned(),
                    body["messages"].as_array().unwrap().clone(),
                )
            }
        };
        assert!(system.contains("You are Mira Solenne"), "{system}");
        assert!(system.contains("Quiet and unhurried"), "the persona's voice: {system}");
        assert!(
            system.contains("(/photos/"),
            "recent works are given as links: {system}"
        );
        assert_eq!(turns.len(), 1);
        assert_eq!(turns[0]["role"], "user");
        assert_eq!(turns[0]["content"], "What do you paint?\nAnd why?");

        // The next message carries the history.
        let (_, events) = send(&chat, "Tell me more").await;
        assert_eq!(last(&events).name, wire::DONE);
        let asked = chat.llm.asked();
        let turns = match wire_format {
            "openai" => asked[1].body["messages"].as_array().unwrap()[1..].to_vec(),
            _ => asked[1].body["messages"].as_array().unwrap().clone(),
        };
        let roles: Vec<&str> = turns.iter().map(|turn| turn["role"].as_str().unwrap()).collect();
        assert_eq!(roles, ["user", "assistant", "user"]);
        chat.app.stop().await;
    }
}

#[tokio::test]
async fn a_slow_stream_reaches_the_browser_token_by_token() {
    let chat = chat("openai").await;
    let tokens = ["One", " two", " three", " four", " five", " six"];
    chat.llm.script([Script::slow(&tokens, Duration::from_millis(120))]);
    let mut response = post(
        &chat,
        &format!("/chat/{}/messages", chat.conversation),
        Some("Count slowly"),
    )
    .await;
    assert_eq!(response.status(), 200);
    let started = Instant::now();
    let mut parser = SseParser::default();
    let mut arrivals = Vec::new();
    while let Some(chunk) = response.chunk().await.unwrap() {
        for event in parser.feed(&chunk).unwrap() {
            arrivals.push((event.name.clone(), started.elapsed()));
        }
    }
    let deltas: Vec<Duration> = arrivals
        .iter()
        .filter(|(name, _)| name == wire::DELTA)
        .map(|(_, at)| *at)
        .collect();
    assert_eq!(deltas.len(), tokens.len());
    // Five gaps of 120 ms upstream: nothing on the way held the tokens back to send them
    // together, so the first arrived well before the last.
    let spread = deltas[deltas.len() - 1] - deltas[0];
    assert!(
        spread >= Duration::from_millis(400),
        "tokens arrived together: {arrivals:?}"
    );
    assert_eq!(arrivals.last().unwrap().0, wire::DONE);
    chat.app.stop().await;
}

#[tokio::test]
async fn a_stream_that_breaks_midway_keeps_what_arrived_and_refunds_once() {
    for wire_format in WIRES {
        let chat = chat_with(wire_format, setting("ATELIER_CHAT_FREE_DAILY", "0")).await;
        grant(&chat, 5).await;
        chat.llm.script([Script::BreakAfter {
            tokens: vec!["Half".into(), " a".into()],
        }]);
        let (status, events) = send(&chat, "Tell me a long story").await;
        assert_eq!(status, 200);
        assert_eq!(text_of(&events), "Half a");
        assert_eq!(last(&events).name, wire::ERROR);
        let failed: wire::Failed = serde_json::from_str(&last(&events).data).unwrap();
        assert!(failed.message.contains("cut off"), "{}", failed.message);
        assert!(failed.message.contains("nothing was charged"), "{}", failed.message);
        assert_eq!(failed.html, "<p>Half a</p>\n");
        assert_eq!(
            stored(&chat).await,
            vec![
                message("member", "Tell me a long story", "complete"),
                message("persona", "Half a", "failed"),
            ]
        );
        assert_eq!(balance(&chat).await, 5, "{wire_format}: the credit came back");
        assert_eq!(
            ledger_entries(&chat).await,
            vec![(5, "adjustment".into()), (-1, "chat".into()), (1, "refund".into())]
        );
        // Ending it again (a late drop, the maintenance loop) changes nothing.
        let reply: i64 = sqlx::query_scalar("SELECT id FROM chat_messages WHERE role = 'persona'")
            .fetch_one(chat.app.state.db.pool())
            .await
            .unwrap();
        for state in [MessageState::Stopped, MessageState::Failed] {
            let ended = service::finish(&chat.app.state.db, chat.member, reply, state, "", "", now_unix())
                .await
                .unwrap();
            assert!(!ended);
        }
        assert_eq!(ledger_entries(&chat).await.len(), 3, "refunded exactly once");
        chat.app.stop().await;
    }
}

#[tokio::test]
async fn a_provider_that_goes_quiet_is_given_up_on_in_bounded_time() {
    let chat = chat_with("openai", setting("ATELIER_CHAT_TIMEOUT_SECS", "1")).await;
    chat.llm.script([Script::StallAfter {
        tokens: vec!["Well,".into(), " let".into()],
    }]);
    let started = Instant::now();
    let (_, events) = send(&chat, "Think hard").await;
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "bounded: {:?}",
        started.elapsed()
    );
    assert_eq!(text_of(&events), "Well, let");
    let failed: wire::Failed = serde_json::from_str(&last(&events).data).unwrap();
    assert!(failed.message.contains("cut off"), "{}", failed.message);
    assert_eq!(stored(&chat).await[1], message("persona", "Well, let", "failed"));
    assert_eq!(used_today(&chat).await, 0, "the free reply came back");
    chat.app.stop().await;
}

#[tokio::test]
async fn busy_answers_are_retried_before_the_first_token() {
    for wire_format in WIRES {
        let chat = chat(wire_format).await;
        chat.llm.script([
            Script::Status(429),
            Script::Status(529),
            Script::Status(503),
            Script::tokens(&["At", " last."]),
        ]);
        let (status, events) = send(&chat, "Are you there?").await;
        assert_eq!(status, 200);
        assert_eq!(text_of(&events), "At last.");
        assert_eq!(last(&events).name, wire::DONE);
        assert_eq!(chat.llm.asked().len(), 4, "{wire_format}: three retries");
        assert_eq!(used_today(&chat).await, 1, "charged once");
        chat.app.stop().await;
    }
}

#[tokio::test]
async fn an_error_before_the_first_token_says_so_and_charges_nothing() {
    let chat = chat("openai").await;
    chat.llm.script(std::iter::repeat_n(Script::Status(500), 4));
    let (status, events) = send(&chat, "Hello?").await;
    assert_eq!(status, 200);
    assert_eq!(events.len(), 1, "no text, only the error");
    let failed: wire::Failed = serde_json::from_str(&last(&events).data).unwrap();
    assert!(failed.message.contains("busy or unreachable"), "{}", failed.message);
    assert_eq!(failed.html, "");
    assert_eq!(chat.llm.asked().len(), 4, "tried four times");
    assert_eq!(
        stored(&chat).await,
        vec![
            message("member", "Hello?", "complete"),
            message("persona", "", "failed")
        ]
    );
    assert_eq!(used_today(&chat).await, 0, "the free reply came back");

    // A refusal by the provider itself (a bad request) is not retried.
    chat.llm.script([Script::Status(400)]);
    let (_, events) = send(&chat, "Again").await;
    let failed: wire::Failed = serde_json::from_str(&last(&events).data).unwrap();
    assert!(failed.message.contains("refused"), "{}", failed.message);
    assert_eq!(chat.llm.asked().len(), 5);
    assert_eq!(used_today(&chat).await, 0);

    // Retry answers the last message again, in place of the failed reply.
    chat.llm.script([Script::tokens(&["Here", " now."])]);
    let response = post(&chat, &format!("/chat/{}/retry", chat.conversation), None).await;
    let events = events_of(&response.bytes().await.unwrap());
    assert_eq!(text_of(&events), "Here now.");
    let messages = stored(&chat).await;
    assert_eq!(messages.len(), 4, "{messages:?}");
    assert_eq!(messages[2], message("member", "Again", "complete"));
    assert_eq!(messages[3], message("persona", "Here now.", "complete"));
    assert_eq!(used_today(&chat).await, 1);
    chat.app.stop().await;
}

#[tokio::test]
async fn leaving_mid_reply_stops_the_provider_and_gives_the_charge_back() {
    let chat = chat_with("anthropic", setting("ATELIER_CHAT_FREE_DAILY", "0")).await;
    grant(&chat, 3).await;
    let tokens: Vec<String> = (0..50).map(|n| format!(" word{n}")).collect();
    let tokens: Vec<&str> = tokens.iter().map(String::as_str).collect();
    chat.llm.script([Script::slow(&tokens, Duration::from_millis(40))]);
    let mut response = post(
        &chat,
        &format!("/chat/{}/messages", chat.conversation),
        Some("Go on and on"),
    )
    .await;
    let mut parser = SseParser::default();
    let mut seen = 0;
    while seen < 3 {
        let chunk = response.chunk().await.unwrap().expect("more of the stream");
        seen += parser.feed(&chunk).unwrap().len();
    }
    assert_eq!(balance(&chat).await, 2, "the reply is charged while it streams");
    drop(response); // the browser leaves

    // The reply is ended, and its credit given back, by the server as it notices.
    let mut state = String::new();
    for _ in 0..100 {
        let messages = stored(&chat).await;
        state = messages[1].2.clone();
        if state == "stopped" && chat.llm.cancelled() == 1 && balance(&chat).await == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(state, "stopped");
    assert_eq!(chat.llm.cancelled(), 1, "the upstream request was closed");
    let messages = stored(&chat).await;
    assert!(
        messages[1].1.starts_with(" word0 word1"),
        "what arrived is kept: {:?}",
        messages[1]
    );
    assert_eq!(balance(&chat).await, 3, "the credit came back");
    assert_eq!(
        ledger_entries(&chat)
            .await
            .iter()
            .filter(|(_, reason)| reason == "refund")
            .count(),
        1
    );
    chat.app.stop().await;
}

#[tokio::test]
async fn messages_are_checked_before_anything_is_charged_or_sent() {
    let chat = chat_with("openai", setting("ATELIER_CHAT_FREE_DAILY", "1")).await;
    let path = format!("/chat/{}/messages", chat.conversation);
    let refusal = |response: reqwest::Response| async move {
        let status = response.status().as_u16();
        let body: serde_json::Value = response.json().await.unwrap();
        (status, body["message"].as_str().unwrap_or_default().to_owned())
    };
    let (status, message) = refusal(post(&chat, &path, Some("   ")).await).await;
    assert_eq!((status, message.as_str()), (422, "Write a message first."));
    let long = "a".repeat(4_001);
    let (status, message) = refusal(post(&chat, &path, Some(&long)).await).await;
    assert_eq!(status, 422);
    assert!(message.contains("4,000"), "{message}");
    let (status, message) = refusal(post(&chat, &path, Some("make a deepfake of my neighbour")).await).await;
    assert_eq!(status, 422);
    assert!(message.contains("not allowed"), "{message}");
    let (status, _) = refusal(post(&chat, "/chat/nosuchchat/messages", Some("hi")).await).await;
    assert_eq!(status, 404);
    assert!(stored(&chat).await.is_empty(), "nothing was stored");
    assert!(chat.llm.asked().is_empty(), "nothing was sent");

    // Someone else's conversation does not exist for this member.
    create_member(&chat.app, "bo@example.org", "Bo", true).await;
    let bo = signed_in(&chat.app, "bo@example.org").await;
    let theirs = start(&chat.app, &bo, "tomas-varga").await;
    let (status, _) = refusal(post(&chat, &format!("/chat/{theirs}/messages"), Some("hi")).await).await;
    assert_eq!(status, 404);

    // Signed out.
    let response = chat
        .app
        .client
        .post(chat.app.url(&path))
        .header("accept", "text/event-stream")
        .form(&[("text", "hi")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);

    // One reply at a time per conversation.
    chat.llm.script([Script::slow(
        &["a", "b", "c", "d", "e", "f"],
        Duration::from_millis(100),
    )]);
    let mut first = post(&chat, &path, Some("First")).await;
    let _ = first.chunk().await.unwrap();
    let (status, message) = refusal(post(&chat, &path, Some("Second")).await).await;
    assert_eq!(status, 409);
    assert!(message.contains("still being written"), "{message}");
    while first.chunk().await.unwrap().is_some() {}

    // The day's one free reply is used and there are no credits.
    let (status, message) = refusal(post(&chat, &path, Some("Third")).await).await;
    assert_eq!(status, 402);
    assert!(
        message.contains("1 free replies") && message.contains("no credits"),
        "{message}"
    );
    let messages = stored(&chat).await;
    assert_eq!(messages.len(), 2, "the refused message is not kept: {messages:?}");
    chat.app.stop().await;
}

#[tokio::test]
async fn messages_are_rate_limited_per_member() {
    let chat = chat("openai").await;
    let mut statuses = Vec::new();
    for _ in 0..21 {
        let response = post(&chat, "/chat/nosuchchat/messages", Some("hi")).await;
        statuses.push(response.status().as_u16());
        if response.status() == 429 {
            assert!(response.headers().contains_key("retry-after"));
        }
    }
    assert_eq!(statuses.iter().filter(|status| **status == 404).count(), 20);
    assert_eq!(statuses.last(), Some(&429));
    chat.app.stop().await;
}

#[tokio::test]
async fn a_form_post_without_javascript_waits_for_the_reply_and_comes_back() {
    let chat = chat("openai").await;
    chat.llm.script([Script::tokens(&["Plain", " answer."])]);
    let path = format!("/chat/{}/messages", chat.conversation);
    let response = post_accepting(&chat, &path, Some("No script here"), support::members::BROWSER_ACCEPT).await;
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], format!("/chat/{}", chat.conversation));
    assert_eq!(stored(&chat).await[1], message("persona", "Plain answer.", "complete"));
    let page = chat
        .app
        .page_with_cookie(&format!("/chat/{}", chat.conversation), &chat.cookie)
        .await;
    assert!(page.contains("Plain answer."));
    assert!(page.contains("No script here"));

    // A refusal comes back as a code the page explains.
    let response = post_accepting(&chat, &path, Some(""), support::members::BROWSER_ACCEPT).await;
    assert_eq!(
        response.headers()["location"],
        format!("/chat/{}?error=invalid", chat.conversation)
    );
    chat.app.stop().await;
}

#[tokio::test]
async fn replies_render_safely_and_link_only_real_library_images() {
    let chat = chat("openai").await;
    let real: String = sqlx::query_scalar("SELECT public_id FROM images ORDER BY id LIMIT 1")
        .fetch_one(chat.app.state.db.pool())
        .await
        .unwrap();
    let reply = format!(
        "See [my piece](/photos/{real}) and [another](/photos/nosuchimage1). <script>alert(1)</script> [x](javascript:alert(1))"
    );
    chat.llm.script([Script::tokens(&[&reply])]);
    let (_, events) = send(&chat, "Show me your work").await;
    let done: wire::Done = serde_json::from_str(&last(&events).data).unwrap();
    assert!(
        done.html.contains(&format!(r#"<a href="/photos/{real}">my piece</a>"#)),
        "{}",
        done.html
    );
    assert!(!done.html.contains("nosuchimage1"), "{}", done.html);
    assert!(!done.html.contains("<script"), "{}", done.html);
    assert!(!done.html.contains("javascript:"), "{}", done.html);
    let page = chat
        .app
        .page_with_cookie(&format!("/chat/{}", chat.conversation), &chat.cookie)
        .await;
    assert!(page.contains(&format!(r#"<a href="/photos/{real}">my piece</a>"#)));
    assert!(!page.contains("<script>alert(1)"));
    chat.app.stop().await;
}

pub(crate) async fn conversation(chat: &Chat, cookie: &str, id: &str) -> Option<Conversation> {
    let response = post_form(&chat.app, LoadConversation::PATH, Some(cookie), &[("id", id)]).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

#[tokio::test]
async fn conversations_are_listed_renamed_and_deleted_by_their_owner_only() {
    let chat = chat("openai").await;
    send(&chat, "Colours for a bedroom?").await;
    let list: ChatList = post_form(&chat.app, LoadChatList::PATH, Some(&chat.cookie), &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list.conversations.len(), 1);
    assert_eq!(list.conversations[0].title, "Colours for a bedroom?");
    assert_eq!(list.conversations[0].contributor_name, "Mira Solenne");
    assert_eq!(list.conversations[0].preview, "Hello from the fake.");
    assert!(matches!(
        list.availability,
        Availability::Ready {
            free_left: 19,
            free_daily: 20,
            balance: 0
        }
    ));
    assert_eq!(list.retention, "Conversations are kept until you delete them.");

    let loaded = conversation(&chat, &chat.cookie, &chat.conversation).await.unwrap();
    assert_eq!(loaded.partner.slug, "mira-solenne");
    assert!(loaded.partner.greeting.starts_with("Hello, I'm Mira."));
    assert_eq!(loaded.messages.len(), 2);

    let renamed = post_form(
        &chat.app,
        RenameChat::PATH,
        Some(&chat.cookie),
        &[("id", &chat.conversation), ("title", "  Bedroom   palettes ")],
    )
    .await;
    assert_eq!(renamed.json::<String>().await.unwrap(), "Bedroom palettes");
    let error = error_of(
        post_form(
            &chat.app,
            RenameChat::PATH,
            Some(&chat.cookie),
            &[("id", &chat.conversation), ("title", " ")],
        )
        .await,
    )
    .await;
    assert!(error.for_field("title").is_some(), "{error:?}");
    // A renamed conversation keeps its name when more is said.
    send(&chat, "Something else").await;
    assert_eq!(
        conversation(&chat, &chat.cookie, &chat.conversation)
            .await
            .unwrap()
            .title,
        "Bedroom palettes"
    );

    // Another member sees nothing, and cannot rename or delete it.
    create_member(&chat.app, "bo@example.org", "Bo", true).await;
    let bo = signed_in(&chat.app, "bo@example.org").await;
    assert!(conversation(&chat, &bo, &chat.conversation).await.is_none());
    let page = chat
        .app
        .get_as(&format!("/chat/{}", chat.conversation), Some(&bo))
        .await;
    assert_eq!(page.status(), 404);
    for path in [RenameChat::PATH, DeleteChat::PATH] {
        let response = post_form(
            &chat.app,
            path,
            Some(&bo),
            &[("id", &chat.conversation), ("title", "Mine")],
        )
        .await;
        assert_eq!(response.status(), 404, "{path}");
    }

    let deleted = post_form(
        &chat.app,
        DeleteChat::PATH,
        Some(&chat.cookie),
        &[("id", &chat.conversation)],
    )
    .await;
    assert_eq!(deleted.status(), 200);
    assert_eq!(support::count_rows(&chat.app, "chat_messages").await, 0);
    assert_eq!(support::count_rows(&chat.app, "chat_conversations").await, 0);
    chat.app.stop().await;
}

#[tokio::test]
async fn conversations_follow_the_members_chat_retention() {
    let chat = chat("openai").await;
    send(&chat, "Hi").await;
    let db = &chat.app.state.db;
    let now = now_unix();
    let keep_for = |retention| PrivacySettings {
        chat_retention: retention,
        ..PrivacySettings::default()
    };
    assert_eq!(
        service::purge_by_retention(db, now + 400 * 86_400).await.unwrap(),
        0,
        "kept by default"
    );
    settings::save(db, chat.member, keep_for(ChatRetention::ThirtyDays), "full", now)
        .await
        .unwrap();
    assert_eq!(service::purge_by_retention(db, now + 29 * 86_400).await.unwrap(), 0);
    settings::save(db, chat.member, keep_for(ChatRetention::DoNotKeep), "full", now)
        .await
        .unwrap();
    assert_eq!(
        service::purge_by_retention(db, now + 1_800).await.unwrap(),
        0,
        "not within the hour"
    );
    assert_eq!(service::purge_by_retention(db, now + 3_700).await.unwrap(), 1);
    assert_eq!(support::count_rows(&chat.app, "chat_messages").await, 0);
    chat.app.stop().await;
}

/// The member's conversations.
pub(crate) async fn conversations_of(chat: &Chat) -> i64 {
    sqlx::query_scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM chat_conversations WHERE user_id = $1")
        .bind(chat.member)
        .fetch_one(chat.app.state.db.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn conversations_are_capped_per_member_even_when_started_at_once() {
    let chat = chat("openai").await;
    let db = chat.app.state.db.pool();
    // Two short of the cap (the fixture started one), filled in directly.
    let contributor: i64 = sqlx::query_scalar("SELECT contributor_id FROM chat_conversations WHERE public_id = $1")
        .bind(&chat.conversation)
        .fetch_one(db)
        .await
        .unwrap();
    let now = now_unix();
    let mut tx = db.begin().await.unwrap();
    for n in 0..service::MAX_CONVERSATIONS - 3 {
        sqlx::query(
            "INSERT INTO chat_conversations (public_id, user_id, contributor_id, title, title_source, created_at, updated_at) \
             VALUES ($1, $2, $3, 'Old chat', 'auto', $4, $4)",
        )
        .bind(format!("filler{n:06}"))
        .bind(chat.member)
        .bind(contributor)
        .bind(now - 86_400)
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    assert_eq!(conversations_of(&chat).await, service::MAX_CONVERSATIONS - 2);

    // Six starts at once: two fit, four are refused with the reason, none overshoots.
    let starts = (0..6).map(|_| {
        let form = crate::collections::fields(&[("contributor", "mira-solenne")]);
        crate::collections::owned_post(&chat.app, StartChat::PATH, &chat.cookie, None, form)
    });
    let mut started = 0;
    for response in crate::collections::futures_join_all(starts).await {
        if response.status() == 200 {
            started += 1;
        } else {
            assert_eq!(
                error_of(response).await,
                app::error::AppError::Invalid(service::TOO_MANY_CONVERSATIONS.to_owned())
            );
        }
    }
    assert_eq!(started, 2, "exactly the two that fit");
    assert_eq!(conversations_of(&chat).await, service::MAX_CONVERSATIONS);
    assert!(service::TOO_MANY_CONVERSATIONS.contains("Delete one"));

    // Deleting one makes room for one.
    let deleted = post_form(
        &chat.app,
        DeleteChat::PATH,
        Some(&chat.cookie),
        &[("id", &chat.conversation)],
    )
    .await;
    assert_eq!(deleted.status(), 200);
    start(&chat.app, &chat.cookie, "mira-solenne").await;
    let refused = post_form(
        &chat.app,
        StartChat::PATH,
        Some(&chat.cookie),
        &[("contributor", "mira-solenne")],
    )
    .await;
    assert_eq!(
        error_of(refused).await,
        app::error::AppError::Invalid(service::TOO_MANY_CONVERSATIONS.to_owned())
    );
    assert_eq!(conversations_of(&chat).await, service::MAX_CONVERSATIONS);
    chat.app.stop().await;
}

#[tokio::test]
async fn a_reply_left_streaming_by_a_dead_process_fails_and_gives_its_credit_back() {
    let chat = chat_with("openai", setting("ATELIER_CHAT_FREE_DAILY", "0")).await;
    grant(&chat, 2).await;
    let owned = service::owned(&chat.app.state.db, chat.member, &chat.conversation)
        .await
        .unwrap();
    let then = now_unix() - 3_600;
    let pending = service::begin(
        &chat.app.state.db,
        chat.member,
        &owned,
        service::Ask::Message("Hello"),
        0,
        then,
    )
    .await
    .unwrap();
    assert_eq!(balance(&chat).await, 1);
    let ended = service::fail_abandoned(&chat.app.state.db, now_unix()).await.unwrap();
    assert_eq!(ended, 1);
    let state: String = sqlx::query_scalar("SELECT state FROM chat_messages WHERE id = $1")
        .bind(pending.reply_id)
        .fetch_one(chat.app.state.db.pool())
        .await
        .unwrap();
    assert_eq!(state, "failed");
    assert_eq!(balance(&chat).await, 2);
    assert_eq!(
        service::fail_abandoned(&chat.app.state.db, now_unix()).await.unwrap(),
        0
    );
    chat.app.stop().await;
}

#[tokio::test]
async fn without_a_provider_chat_says_how_to_configure_one_and_answers_nothing() {
    let app = support::spawn_app().await;
    app.seed(1).await;
    create_member(&app, "ada@example.org", "Ada", true).await;
    let cookie = signed_in(&app, "ada@example.org").await;
    let list: ChatList = post_form(&app, LoadChatList::PATH, Some(&cookie), &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list.availability, Availability::NotConfigured);
    let page = app.page_with_cookie("/chat", &cookie).await;
    assert!(page.contains("Chat is not set up on this instance"));
    assert!(page.contains("ATELIER_CHAT_PROVIDER"));
    let id = start(&app, &cookie, "mira-solenne").await;
    let page = app.page_with_cookie(&format!("/chat/{id}"), &cookie).await;
    assert!(page.contains("Chat is not set up on this instance"));
    assert!(page.contains("disabled"), "the composer is disabled");
    let response = app
        .client
        .post(app.url(&format!("/chat/{id}/messages")))
        .header("cookie", &cookie)
        .header("accept", "text/event-stream")
        .form(&[("text", "Hello?")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(support::count_rows(&app, "chat_messages").await, 0);
    app.stop().await;
}

// Metering at every step: a reply is charged as it begins (a free reply, else credits, in
// the transaction that creates it) and gives the charge back when it ends any way but
// complete. Each test below stops or breaks a paid reply at one step, then checks the books.
