//! Privacy settings and the requests that need a person, on SQLite and PostgreSQL: saved
//! switches apply at once (a download with the history off names nobody), stopping a kind
//! of processing is a tracked objection or restriction, bad input changes nothing; a
//! correction goes to the admins' queue, a refusal reaches the member and can be appealed
//! exactly once, and only admins see or answer the queue.

use crate::support::{
    members::{create_admin, create_member, error_of, post_form, signed_in, BROWSER_ACCEPT},
    spawn_app, wait_for_mail, TestApp,
};
use app::{
    error::AppError,
    features::{
        admin::api::{DecideRequest, WaitingRequest, WaitingRequests},
        library::api::DownloadLink,
        privacy::{
            data_api::{AppealRequest, AskCorrection, DataOverview, MyData, RequestInfo},
            requests::OPEN_CORRECTIONS_MAX,
            settings_api::{ChatRetention, LoadPrivacySettings, PrivacyPage, PrivacySettings, SavePrivacySettings},
        },
    },
};
use leptos::server_fn::ServerFn;

const ADA: &str = "ada@example.org";
const ADMIN: &str = "admin@example.org";

async fn settings_page(app: &TestApp, cookie: &str) -> PrivacyPage {
    let response = post_form(app, LoadPrivacySettings::PATH, Some(cookie), &[]).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn requests(app: &TestApp, cookie: &str) -> Vec<RequestInfo> {
    let response = post_form(app, MyData::PATH, Some(cookie), &[]).await;
    assert_eq!(response.status(), 200);
    response.json::<DataOverview>().await.unwrap().requests
}

/// Downloads the first image through a signed link, as the member, and returns the member
/// the download was recorded with. Each size comes from a browser of its own: one visitor's
/// downloads of an image count (and are recorded) once a day.
async fn download_as(app: &TestApp, cookie: &str, link_size: &str) -> Option<i64> {
    let id: String = sqlx::query_scalar("SELECT public_id FROM images ORDER BY id LIMIT 1")
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    let link: String = post_form(
        app,
        DownloadLink::PATH,
        Some(cookie),
        &[("public_id", id.as_str()), ("size", link_size)],
    )
    .await
    .json()
    .await
    .unwrap();
    let response = app
        .client
        .get(app.url(&link))
        .header("cookie", cookie)
        .header("user-agent", format!("Browser/{link_size}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    sqlx::query_scalar("SELECT user_id FROM download_events ORDER BY id DESC LIMIT 1")
        .fetch_one(app.state.db.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn saved_settings_apply_at_once_and_each_stop_is_a_tracked_request() {
    let app = spawn_app().await;
    app.seed(1).await;
    let id = create_member(&app, ADA, "Ada", true).await;
    let cookie = signed_in(&app, ADA).await;

    let fresh = settings_page(&app, &cookie).await;
    assert_eq!(fresh.settings, PrivacySettings::default());
    assert_eq!((fresh.download_size.as_str(), fresh.updated_at), ("original", None));
    assert_eq!(
        download_as(&app, &cookie, "small").await,
        Some(id),
        "history is on by default"
    );

    // Everything off that can be, chats not kept, small downloads: the boxes are absent.
    let saved = post_form(
        &app,
        SavePrivacySettings::PATH,
        Some(&cookie),
        &[("chat_retention", "none"), ("download_size", "small")],
    )
    .await;
    assert_eq!(saved.status(), 200, "{:?}", saved.text().await);
    let page = settings_page(&app, &cookie).await;
    assert_eq!(
        page.settings,
        PrivacySettings {
            analytics: false,
            marketing_email: false,
            improve_service: false,
            personalised: false,
            chat_retention: ChatRetention::DoNotKeep,
        }
    );
    assert_eq!(page.download_size, "small");
    assert!(page.updated_at.is_some());
    assert_eq!(
        download_as(&app, &cookie, "full").await,
        None,
        "the next download names nobody"
    );

    // Two defaults were on (history, personalisation): two objections, handled at once.
    let tracked = requests(&app, &cookie).await;
    let mut stops: Vec<(String, String, Option<String>)> = tracked
        .iter()
        .map(|request| (request.kind.clone(), request.status.clone(), request.details.clone()))
        .collect();
    stops.sort();
    assert_eq!(
        stops,
        vec![
            ("objection".into(), "done".into(), Some("Stop activity history".into())),
            (
                "objection".into(),
                "done".into(),
                Some("Stop personalised recommendations".into())
            ),
        ]
    );

    // Saving the same again stops nothing new; switching on records nothing either.
    for form in [
        vec![("chat_retention", "none"), ("download_size", "small")],
        vec![
            ("analytics", "on"),
            ("improve_service", "on"),
            ("chat_retention", "30_days"),
            ("download_size", "full"),
        ],
    ] {
        let response = post_form(&app, SavePrivacySettings::PATH, Some(&cookie), &form).await;
        assert_eq!(response.status(), 200);
    }
    assert_eq!(requests(&app, &cookie).await.len(), 2);
    assert_eq!(download_as(&app, &cookie, "original").await, Some(id));
    let page = settings_page(&app, &cookie).await;
    assert!(page.settings.analytics && page.settings.improve_service);
    assert_eq!(page.settings.chat_retention, ChatRetention::ThirtyDays);

    // Using what she writes, then not: a restriction.
    let response = post_form(
        &app,
        SavePrivacySettings::PATH,
        Some(&cookie),
        &[
            ("analytics", "on"),
            ("chat_retention", "30_days"),
            ("download_size", "full"),
        ],
    )
    .await;
    assert_eq!(response.status(), 200);
    let newest = &requests(&app, &cookie).await[0];
    assert_eq!((newest.kind.as_str(), newest.status.as_str()), ("restriction", "done"));
    app.stop().await;
}

#[tokio::test]
async fn bad_settings_are_refused_with_a_field_error_and_change_nothing() {
    let app = spawn_app().await;
    create_member(&app, ADA, "Ada", true).await;
    let cookie = signed_in(&app, ADA).await;
    let before = settings_page(&app, &cookie).await;
    for (form, field) in [
        (
            vec![("chat_retention", "forever"), ("download_size", "small")],
            "chat_retention",
        ),
        (
            vec![("chat_retention", "keep"), ("download_size", "huge")],
            "download_size",
        ),
    ] {
        let error = error_of(post_form(&app, SavePrivacySettings::PATH, Some(&cookie), &form).await).await;
        assert!(error.for_field(field).is_some(), "{field}: {error:?}");
    }
    assert_eq!(settings_page(&app, &cookie).await, before);
    assert_eq!(
        error_of(
            post_form(
                &app,
                SavePrivacySettings::PATH,
                None,
                &[("chat_retention", "keep"), ("download_size", "small")]
            )
            .await
        )
        .await,
        AppError::Unauthorized
    );
    assert_eq!(
        error_of(post_form(&app, LoadPrivacySettings::PATH, None, &[]).await).await,
        AppError::Unauthorized
    );
    app.stop().await;
}

/// A form post as a browser without JavaScript sends it, from `/account/privacy`.
async fn post_from_page(app: &TestApp, cookie: &str, form: &[(&str, &str)]) -> reqwest::Response {
    app.client
        .post(app.url(SavePrivacySettings::PATH))
        .header("cookie", cookie)
        .header("accept", BROWSER_ACCEPT)
        .header("referer", app.url("/account/privacy"))
        .form(form)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn without_javascript_saving_comes_back_to_the_page_it_was_sent_from() {
    let app = spawn_app().await;
    create_member(&app, ADA, "Ada", true).await;
    let cookie = signed_in(&app, ADA).await;
    let saved = post_from_page(
        &app,
        &cookie,
        &[
            ("marketing_email", "on"),
            ("chat_retention", "30_days"),
            ("download_size", "small"),
        ],
    )
    .await;
    assert_eq!(saved.status(), 302);
    // Exactly the page: server_fn's own redirect would end in a bare `?`.
    assert_eq!(saved.headers()["location"], app.url("/account/privacy").as_str());
    let page = settings_page(&app, &cookie).await;
    assert!(page.settings.marketing_email);
    assert_eq!(page.settings.chat_retention, ChatRetention::ThirtyDays);
    assert_eq!(page.download_size, "small");

    // A refusal comes back to the same page with the error for the form to show.
    let refused = post_from_page(
        &app,
        &cookie,
        &[("chat_retention", "forever"), ("download_size", "small")],
    )
    .await;
    assert_eq!(refused.status(), 302);
    let location = refused.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with(&format!("{}?", app.url("/account/privacy"))),
        "{location}"
    );
    assert!(location.contains("__err="), "{location}");
    assert_eq!(settings_page(&app, &cookie).await, page);
    app.stop().await;
}

async fn waiting(app: &TestApp, cookie: &str) -> Vec<WaitingRequest> {
    let response = post_form(app, WaitingRequests::PATH, Some(cookie), &[]).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn decide(app: &TestApp, cookie: &str, request_id: i64, decision: &str, outcome: &str) -> reqwest::Response {
    post_form(
        app,
        DecideRequest::PATH,
        Some(cookie),
        &[
            ("request_id", &request_id.to_string()),
            ("decision", decision),
            ("outcome", outcome),
        ],
    )
    .await
}

#[tokio::test]
async fn a_refused_correction_reaches_the_member_and_can_be_appealed_once() {
    let app = spawn_app().await;
    create_member(&app, ADA, "Ada", true).await;
    create_admin(&app, ADMIN, "Admin").await;
    let cookie = signed_in(&app, ADA).await;
    let admin = signed_in(&app, ADMIN).await;

    let empty = error_of(post_form(&app, AskCorrection::PATH, Some(&cookie), &[("details", "   ")]).await).await;
    assert!(empty.for_field("details").is_some(), "{empty:?}");
    let asked = post_form(
        &app,
        AskCorrection::PATH,
        Some(&cookie),
        &[("details", "My signup date is wrong: it should be 2026-11-20.")],
    )
    .await;
    assert_eq!(asked.status(), 200, "{:?}", asked.text().await);

    // Only admins see and answer the queue.
    let answer = [("request_id", "1"), ("decision", "grant"), ("outcome", "Done")];
    for (path, form) in [(WaitingRequests::PATH, &[][..]), (DecideRequest::PATH, &answer[..])] {
        assert_eq!(
            error_of(post_form(&app, path, None, form).await).await,
            AppError::Unauthorized
        );
        assert_eq!(
            error_of(post_form(&app, path, Some(&cookie), form).await).await,
            AppError::Forbidden
        );
    }
    let queue = waiting(&app, &admin).await;
    assert_eq!(queue.len(), 1);
    let request = &queue[0].request;
    assert_eq!(
        (request.kind.as_str(), queue[0].email.as_deref()),
        ("correction", Some(ADA))
    );
    assert_eq!(queue[0].answer_by, request.due_at);
    let request_id = request.id;

    let refused = decide(
        &app,
        &admin,
        request_id,
        "refuse",
        "We record the date you signed up, which is right.",
    )
    .await;
    assert_eq!(refused.status(), 200, "{:?}", refused.text().await);
    let mail = wait_for_mail(&app, ADA, "has been answered").await;
    assert!(mail.text.contains("which is right"), "{}", mail.text);
    assert!(waiting(&app, &admin).await.is_empty());
    // Answering it again changes nothing and says so.
    let again = error_of(decide(&app, &admin, request_id, "grant", "Changed my mind").await).await;
    assert!(matches!(again, AppError::Invalid(_)), "{again:?}");

    let mine = &requests(&app, &cookie).await[0];
    assert_eq!(mine.status, "refused");
    assert!(mine.can_appeal());

    // Someone else's request cannot be appealed; Ada's can, once.
    create_member(&app, "grace@example.org", "Grace", true).await;
    let grace = signed_in(&app, "grace@example.org").await;
    let form = [
        ("request_id", request_id.to_string()),
        ("appeal", "Please check again.".to_owned()),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert!(matches!(
        error_of(post_form(&app, AppealRequest::PATH, Some(&grace), &form).await).await,
        AppError::Invalid(_)
    ));
    assert_eq!(
        post_form(&app, AppealRequest::PATH, Some(&cookie), &form)
            .await
            .status(),
        200
    );
    assert!(matches!(
        error_of(post_form(&app, AppealRequest::PATH, Some(&cookie), &form).await).await,
        AppError::Invalid(_)
    ));

    let queue = waiting(&app, &admin).await;
    assert_eq!(queue.len(), 1);
    assert_eq!(queue[0].request.appeal.as_deref(), Some("Please check again."));
    let upheld = decide(&app, &admin, request_id, "grant", "You were right: corrected.").await;
    assert_eq!(upheld.status(), 200);
    let mine = &requests(&app, &cookie).await[0];
    assert_eq!(
        (
            mine.status.as_str(),
            mine.appeal_status.as_deref(),
            mine.appeal_outcome.as_deref()
        ),
        ("done", Some("upheld"), Some("You were right: corrected."))
    );
    assert!(!mine.can_appeal());
    app.stop().await;
}

#[tokio::test]
async fn corrections_waiting_at_once_are_limited() {
    let app = spawn_app().await;
    create_member(&app, ADA, "Ada", true).await;
    let cookie = signed_in(&app, ADA).await;
    for n in 0..OPEN_CORRECTIONS_MAX {
        let details = format!("Correction number {n}");
        let response = post_form(&app, AskCorrection::PATH, Some(&cookie), &[("details", &details)]).await;
        assert_eq!(response.status(), 200);
    }
    let error = error_of(post_form(&app, AskCorrection::PATH, Some(&cookie), &[("details", "One more")]).await).await;
    assert!(error.for_field("details").unwrap().contains("waiting"), "{error:?}");
    let too_long = "x".repeat(2001);
    let error = error_of(post_form(&app, AskCorrection::PATH, Some(&cookie), &[("details", &too_long)]).await).await;
    assert!(error.for_field("details").is_some());
    assert_eq!(requests(&app, &cookie).await.len() as i64, OPEN_CORRECTIONS_MAX);
    app.stop().await;
}
