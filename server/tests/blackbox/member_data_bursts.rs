//! A member's data requests sent several at once, as a double click or a retrying client
//! sends them: one export a day, at most three corrections waiting, one deletion scheduled
//! — each burst keeps exactly that, and every request gets an answer, never a 5xx.

use crate::support::{
    members::{create_member, post_form, signed_in, PASSWORD},
    spawn_app, TestApp,
};
use app::features::privacy::{
    data_api::{AskCorrection, DeleteAccount, RequestExport},
    requests::OPEN_CORRECTIONS_MAX,
};
use leptos::server_fn::ServerFn;

const AT_ONCE: usize = 8;

/// Sends the same form `AT_ONCE` times at once; returns the statuses.
async fn burst(app: &TestApp, path: &str, cookie: &str, form: &[(&str, &str)]) -> Vec<u16> {
    let requests = (0..AT_ONCE).map(|_| async { post_form(app, path, Some(cookie), form).await.status().as_u16() });
    let statuses = futures::future::join_all(requests).await;
    assert!(statuses.iter().all(|status| *status < 500), "{path}: {statuses:?}");
    statuses
}

async fn count(app: &TestApp, sql: &str, member: i64) -> i64 {
    sqlx::query_scalar(sql)
        .bind(member)
        .fetch_one(app.state.db.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn data_requests_sent_at_once_keep_their_limits() {
    let app = spawn_app().await;
    let member = create_member(&app, "ada@example.org", "Ada Lovelace", true).await;
    let cookie = signed_in(&app, "ada@example.org").await;

    let exports = burst(&app, RequestExport::PATH, &cookie, &[]).await;
    assert_eq!(
        exports.iter().filter(|status| **status == 200).count(),
        1,
        "{exports:?}"
    );
    let made = count(
        &app,
        "SELECT CAST(COUNT(*) AS BIGINT) FROM data_exports WHERE user_id = $1",
        member,
    )
    .await;
    assert_eq!(made, 1, "one export a day, however many asks arrive at once");

    let details = [("details", "My name is spelt wrong")];
    let corrections = burst(&app, AskCorrection::PATH, &cookie, &details).await;
    let waiting = count(
        &app,
        "SELECT CAST(COUNT(*) AS BIGINT) FROM data_requests WHERE user_id = $1 AND kind = 'correction'",
        member,
    )
    .await;
    assert_eq!(waiting, OPEN_CORRECTIONS_MAX, "{corrections:?}");
    let accepted = corrections.iter().filter(|status| **status == 200).count() as i64;
    assert_eq!(accepted, OPEN_CORRECTIONS_MAX, "{corrections:?}");

    let confirm = [("password", PASSWORD), ("confirm", "yes")];
    let deletions = burst(&app, DeleteAccount::PATH, &cookie, &confirm).await;
    assert!(deletions.contains(&200), "{deletions:?}");
    let scheduled = count(
        &app,
        "SELECT CAST(COUNT(*) AS BIGINT) FROM account_deletions WHERE user_id = $1",
        member,
    )
    .await;
    let asked = count(
        &app,
        "SELECT CAST(COUNT(*) AS BIGINT) FROM data_requests WHERE user_id = $1 AND kind = 'deletion'",
        member,
    )
    .await;
    assert_eq!(
        (scheduled, asked),
        (1, 1),
        "one deletion scheduled, one request tracked"
    );
    app.stop().await;
}
