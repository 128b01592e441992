//! A member's data rights end to end, on SQLite and PostgreSQL: the export zip carries a
//! manifest and every inventoried category of a member who has data everywhere, to that
//! member only and for 7 days; deletion needs the password, signs out everywhere at once,
//! and after the grace period leaves nothing tied to the member but a tombstone; cancelling
//! inside the grace period keeps the account as it was.

use crate::support;

use crate::support::{
    fake_s3::FakeS3,
    fixtures::photo,
    members::{create_member, error_of, post_form, signed_in, who, PASSWORD},
    wait_for_mail, TestApp,
};
use app::{
    error::AppError,
    features::{
        accounts::{api::SignIn, service::set_avatar, settings_api::ChangeEmail},
        privacy::{
            api::SaveConsent,
            data_api::{AskCorrection, CancelDeletion, DataOverview, DeleteAccount, MyData, RequestExport},
            deletion,
            export::{self, ExportJob},
            inventory::{Export, MemberLink, CATEGORIES},
            settings_api::SavePrivacySettings,
        },
    },
    platform::{clock::now_unix, jobs::JobHandler},
};
use image::ImageFormat;
use leptos::server_fn::ServerFn;
use serde_json::Value;
use sqlx::Row;
use std::{collections::BTreeMap, io::Read};

const ADA: &str = "ada@example.org";
const DAY: i64 = 86_400;

/// The member's rows in every inventoried table that can be tied to a member, counted by
/// the column that ties them (`table.column` → rows).
async fn member_rows(app: &TestApp, user_id: i64, email: &str) -> BTreeMap<String, i64> {
    let mut counts = BTreeMap::new();
    for category in CATEGORIES {
        for store in category.stores {
            let (column, by_address) = match store.member {
                MemberLink::Column(column) => (column, false),
                MemberLink::Address(column) => (column, true),
                MemberLink::None => continue,
            };
            let sql = format!(
                "SELECT CAST(COUNT(*) AS BIGINT) FROM {} WHERE {column} = $1",
                store.table
            );
            let query = sqlx::query_scalar(&sql);
            let query = if by_address {
                query.bind(email.to_owned())
            } else {
                query.bind(user_id)
            };
            let rows: i64 = query.fetch_one(app.state.db.pool()).await.unwrap();
            counts.insert(format!("{}.{column}", store.table), rows);
        }
    }
    counts
}

async fn my_data(app: &TestApp, cookie: &str) -> DataOverview {
    let response = post_form(app, MyData::PATH, Some(cookie), &[]).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// Ada, with data in every table the inventory ties to a member, each put there the way
/// the product puts it where a test can reach that path. Returns her id and the cookie of
/// her second device.
async fn ada_with_data_everywhere(app: &TestApp) -> (i64, String) {
    app.seed(1).await;
    let id = create_member(app, ADA, "Ada", true).await;
    let _phone = signed_in(app, ADA).await;
    let cookie = signed_in(app, ADA).await;

    let avatar = app
        .state
        .media
        .put(photo(16, 16, ImageFormat::Png).into(), "png")
        .await
        .unwrap();
    set_avatar(&app.state.db, id, &avatar).await.unwrap();

    // An address change waiting for its link: a token, and a notice to the current address.
    let change = post_form(
        app,
        ChangeEmail::PATH,
        Some(&cookie),
        &[("new_email", "ada.new@example.org"), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(change.status(), 200, "{:?}", change.text().await);
    wait_for_mail(app, ADA, "about to change").await;

    let consent = post_form(app, SaveConsent::PATH, Some(&cookie), &[("choice", "accept")]).await;
    assert_eq!(consent.status(), 200);

    // Privacy settings with activity history switched off (an objection, handled at once),
    // and a correction waiting for staff.
    let settings = post_form(
        app,
        SavePrivacySettings::PATH,
        Some(&cookie),
        &[
            ("personalised", "on"),
            ("chat_retention", "30_days"),
            ("download_size", "small"),
        ],
    )
    .await;
    assert_eq!(settings.status(), 200, "{:?}", settings.text().await);
    let correction = post_form(
        app,
        AskCorrection::PATH,
        Some(&cookie),
        &[("details", "My name is spelt wrong")],
    )
    .await;
    assert_eq!(correction.status(), 200);

    sqlx::query(
        "INSERT INTO oidc_identities (issuer, subject, user_id, email, created_at) VALUES ('https://id.example', 'ada-1', $1, $2, $3)",
    )
    .bind(id)
    .bind(ADA)
    .bind(now_unix())
    .execute(app.state.db.pool())
    .await
    .unwrap();
    let image: i64 = sqlx::query_scalar("SELECT id FROM images LIMIT 1")
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO download_events (image_id, user_id, variant, link_hash, created_at) VALUES ($1, $2, 'small', 'ada-link', $3)",
    )
    .bind(image)
    .bind(id)
    .bind(now_unix())
    .execute(app.state.db.pool())
    .await
    .unwrap();
    sqlx::query("INSERT INTO usage_events (kind, subject, user_id, created_at) VALUES ('search', 'found', $1, $2)")
        .bind(id)
        .bind(now_unix())
        .execute(app.state.db.pool())
        .await
        .unwrap();
    // A conversation with a contributor, a message each way and a day's free reply.
    let conversation: i64 = sqlx::query_scalar(
        "INSERT INTO chat_conversations (public_id, user_id, contributor_id, title, title_source, created_at, updated_at) \
         SELECT 'adachat0001', $1, contributor_id, 'Skies', 'auto', $2, $2 FROM images WHERE id = $3 RETURNING id",
    )
    .bind(id)
    .bind(now_unix())
    .bind(image)
    .fetch_one(app.state.db.pool())
    .await
    .unwrap();
    for (role, content) in [("member", "Which sky?"), ("persona", "The green one.")] {
        sqlx::query(
            "INSERT INTO chat_messages (conversation_id, user_id, role, content, html, state, charge, created_at) \
             VALUES ($1, $2, $3, $4, '', 'complete', 'none', $5)",
        )
        .bind(conversation)
        .bind(id)
        .bind(role)
        .bind(content)
        .bind(now_unix())
        .execute(app.state.db.pool())
        .await
        .unwrap();
    }
    sqlx::query("INSERT INTO chat_allowance (user_id, day, used) VALUES ($1, '2026-12-07', 1)")
        .bind(id)
        .execute(app.state.db.pool())
        .await
        .unwrap();

    // A collection holding the image, made as the save picker makes it.
    let public_id: String = sqlx::query_scalar("SELECT public_id FROM images WHERE id = $1")
        .bind(image)
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    let saved = post_form(
        app,
        app::features::collections::api::SaveToNewCollection::PATH,
        Some(&cookie),
        &[("name", "Favourites"), ("public_id", public_id.as_str())],
    )
    .await;
    assert_eq!(saved.status(), 200, "{:?}", saved.text().await);
    // Credits: a month's grant and a spend.
    let now = now_unix();
    let ledger = app::features::billing::ledger::grant(
        &app.state.db,
        id,
        20,
        app::features::billing::Reason::PlanGrant,
        "in_ada",
        "grant:ada",
        now,
    )
    .await;
    assert!(ledger.is_ok(), "{ledger:?}");
    let ledger = app::features::billing::ledger::spend(
        &app.state.db,
        id,
        2,
        app::features::billing::Reason::Chat,
        "conversation_1",
        "spend:ada-reply",
        now,
    )
    .await;
    assert!(ledger.is_ok(), "{ledger:?}");
    // Billing, as a subscription's Checkout and a pack bought once leave it.
    sqlx::query(
        "INSERT INTO billing_accounts (user_id, stripe_customer_id, subscription_id, status, plan, price_id, \
         current_period_end, created_at, updated_at) VALUES ($1, 'cus_ada', 'sub_ada', 'active', 'pro', 'price_pro', $2, $2, $2)",
    )
    .bind(id)
    .bind(now)
    .execute(app.state.db.pool())
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO credit_purchases (user_id, checkout_session_id, payment_intent_id, pack, credits, created_at) \
         VALUES ($1, 'cs_ada', 'pi_ada', 'credits_500', 500, $2)",
    )
    .bind(id)
    .bind(now)
    .execute(app.state.db.pool())
    .await
    .unwrap();
    // And a zip of that collection, built by the worker.
    let slug: String = saved.json().await.unwrap();
    let exported = post_form(
        app,
        app::features::collections::api::ExportCollection::PATH,
        Some(&cookie),
        &[("slug", slug.as_str()), ("variant", "small")],
    )
    .await;
    assert_eq!(exported.status(), 200, "{:?}", exported.text().await);
    for attempt in 0.. {
        let status: String = sqlx::query_scalar("SELECT status FROM collection_exports WHERE user_id = $1")
            .bind(id)
            .fetch_one(app.state.db.pool())
            .await
            .unwrap();
        if status == "ready" {
            break;
        }
        assert!(attempt < 300, "the collection export is not ready after 30 s: {status}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    (id, cookie)
}

/// Asks for an export and waits until the job has built it.
async fn export_ready(app: &TestApp, cookie: &str) -> i64 {
    let asked = post_form(app, RequestExport::PATH, Some(cookie), &[]).await;
    assert_eq!(asked.status(), 200, "{:?}", asked.text().await);
    let mail = wait_for_mail(app, ADA, "data export is ready").await;
    assert!(mail.text.contains("/account/data"), "{}", mail.text);
    let overview = my_data(app, cookie).await;
    let export = &overview.exports[0];
    assert_eq!((export.status.as_str(), export.progress), ("ready", 100));
    export.id
}

#[tokio::test]
async fn the_export_holds_a_manifest_and_every_category_of_a_member_with_data_everywhere() {
    let app = support::spawn_app().await;
    let (id, first_cookie) = ada_with_data_everywhere(&app).await;
    // A scheduled deletion is data too: ask, sign in again (allowed while it waits), export.
    let deleted = post_form(
        &app,
        DeleteAccount::PATH,
        Some(&first_cookie),
        &[("password", PASSWORD), ("confirm", "yes")],
    )
    .await;
    assert_eq!(deleted.status(), 200, "{:?}", deleted.text().await);
    let cookie = signed_in(&app, ADA).await;

    let page = app.page_with_cookie("/account/data", &cookie).await;
    assert!(
        page.contains(r#"data-testid="held-data""#),
        "the page lists what is held"
    );
    assert!(page.contains("Prepare my export"));
    assert!(page.contains(r#"data-testid="deletion-scheduled""#));

    let export_id = export_ready(&app, &cookie).await;
    let rows = member_rows(&app, id, ADA).await;
    let response = app
        .get_as(&format!("/account/data/exports/{export_id}"), Some(&cookie))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/zip");
    assert_eq!(response.headers()["cache-control"], "private, no-store");
    let disposition = response.headers()["content-disposition"].to_str().unwrap().to_owned();
    assert!(
        disposition.starts_with("attachment; filename=\"atelier-data-"),
        "{disposition}"
    );
    let bytes = response.bytes().await.unwrap().to_vec();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a valid zip");

    let manifest: Value = serde_json::from_slice(&support::zip_entry(&mut archive, "manifest.json")).unwrap();
    assert_eq!(manifest["format"], export::FORMAT);
    assert_eq!(manifest["member"]["email"], ADA);
    let listed = manifest["categories"].as_array().unwrap();
    for category in CATEGORIES {
        let linked = category.stores.iter().any(|s| s.member != MemberLink::None);
        let entry = listed.iter().find(|entry| entry["name"] == category.name);
        match category.export {
            Export::No(reason) => {
                let entry = entry.unwrap_or_else(|| panic!("{} is listed as not exported", category.name));
                assert_eq!(
                    (entry["exported"].as_bool(), entry["reason"].as_str()),
                    (Some(false), Some(reason))
                );
            }
            Export::Yes | Export::Without { .. } if linked => {
                let entry = entry.unwrap_or_else(|| panic!("{} is in the manifest", category.name));
                let file = entry["file"].as_str().unwrap();
                let body: Value = serde_json::from_slice(&support::zip_entry(&mut archive, file)).unwrap();
                let records = body["records"].as_array().unwrap();
                assert!(
                    !records.is_empty(),
                    "{}: Ada has data of this kind, so the export carries it",
                    category.name
                );
                assert_eq!(entry["records"].as_u64(), Some(records.len() as u64));
                assert_eq!(body["retention"], category.retention);
                if let Export::Without { columns, .. } = category.export {
                    for record in records {
                        for column in columns {
                            assert!(record.get(*column).is_none(), "{} leaves out {column}", category.name);
                        }
                    }
                }
            }
            _ => assert!(entry.is_none(), "{} is never tied to a member", category.name),
        }
    }
    assert!(rows.values().all(|rows| *rows > 0), "data everywhere: {rows:?}");

    let avatar_key: String = sqlx::query_scalar("SELECT avatar_key FROM users WHERE id = $1")
        .bind(id)
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    let files = manifest["files"].as_array().unwrap();
    assert_eq!(files.len(), 1, "{files:?}");
    let avatar_in_zip = support::zip_entry(&mut archive, files[0]["path"].as_str().unwrap());
    assert_eq!(avatar_in_zip, app.state.media.read(&avatar_key).await.unwrap().to_vec());

    // No secret travels in the export.
    let secrets: Vec<String> = sqlx::query(
        "SELECT password_hash FROM users WHERE id = $1 UNION ALL SELECT token_hash FROM sessions WHERE user_id = $1 \
         UNION ALL SELECT token_hash FROM account_tokens WHERE user_id = $1",
    )
    .bind(id)
    .fetch_all(app.state.db.pool())
    .await
    .unwrap()
    .into_iter()
    .map(|row| row.get::<String, _>(0))
    .collect();
    assert!(secrets.len() >= 3);
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index).unwrap();
        let mut text = Vec::new();
        entry.read_to_end(&mut text).unwrap();
        let text = String::from_utf8_lossy(&text);
        for secret in &secrets {
            assert!(!text.contains(secret.as_str()), "{:?} holds a secret", entry.name());
        }
    }

    // Only Ada, signed in, gets it; anyone else learns nothing.
    create_member(&app, "bob@example.org", "Bob", true).await;
    let bob = signed_in(&app, "bob@example.org").await;
    let path = format!("/account/data/exports/{export_id}");
    let refused = app.get_as(&path, Some(&bob)).await;
    assert_eq!(refused.headers()["location"], "/account/data?export=unavailable");
    let signed_out = app.get_as(&path, None).await;
    assert_eq!(signed_out.headers()["location"], "/signin?next=/account/data");
    let guessed = app.get_as("/account/data/exports/not-a-number", Some(&cookie)).await;
    assert_eq!(guessed.headers()["location"], "/account/data?export=unavailable");

    // One export a day.
    let again = error_of(post_form(&app, RequestExport::PATH, Some(&cookie), &[]).await).await;
    assert!(
        matches!(&again, AppError::Invalid(message) if message.contains("one export a day")),
        "{again:?}"
    );

    // After 7 days the file is gone and the link says so.
    let file_key: String = sqlx::query_scalar("SELECT file_key FROM data_exports WHERE id = $1")
        .bind(export_id)
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    assert_eq!(
        export::purge_expired(&app.state.db, &app.state.media, now_unix())
            .await
            .unwrap(),
        0
    );
    let purged = export::purge_expired(&app.state.db, &app.state.media, now_unix() + 7 * DAY + 60)
        .await
        .unwrap();
    assert_eq!(purged, 1);
    assert!(app.state.media.read(&file_key).await.is_err(), "the zip is deleted");
    let expired = app.get_as(&path, Some(&cookie)).await;
    assert_eq!(expired.headers()["location"], "/account/data?export=unavailable");
    assert_eq!(my_data(&app, &cookie).await.exports[0].status, "expired");
    app.stop().await;
}

#[tokio::test]
async fn deletion_needs_the_password_signs_out_everywhere_and_after_the_grace_period_leaves_a_tombstone() {
    let app = support::spawn_app().await;
    let (id, cookie) = ada_with_data_everywhere(&app).await;
    let export_id = export_ready(&app, &cookie).await;
    let export_file: String = sqlx::query_scalar("SELECT file_key FROM data_exports WHERE id = $1")
        .bind(export_id)
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    let avatar_key: String = sqlx::query_scalar("SELECT avatar_key FROM users WHERE id = $1")
        .bind(id)
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    let collection_zip: String = sqlx::query_scalar("SELECT file_key FROM collection_exports WHERE user_id = $1")
        .bind(id)
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    let before = member_rows(&app, id, ADA).await;

    let wrong = error_of(
        post_form(
            &app,
            DeleteAccount::PATH,
            Some(&cookie),
            &[("password", "not my password"), ("confirm", "yes")],
        )
        .await,
    )
    .await;
    assert_eq!(
        wrong.for_field("password").as_deref(),
        Some("That is not your current password.")
    );
    let unconfirmed =
        error_of(post_form(&app, DeleteAccount::PATH, Some(&cookie), &[("password", PASSWORD)]).await).await;
    assert!(unconfirmed.for_field("confirm").is_some(), "{unconfirmed:?}");
    assert!(who(&app, &cookie).await.is_some(), "a refused request changes nothing");

    let asked = post_form(
        &app,
        DeleteAccount::PATH,
        Some(&cookie),
        &[("password", PASSWORD), ("confirm", "yes")],
    )
    .await;
    assert_eq!(asked.status(), 200, "{:?}", asked.text().await);
    assert_eq!(asked.headers()["location"], "/signin?deletion_scheduled=1");
    assert!(who(&app, &cookie).await.is_none(), "signed out at once");
    wait_for_mail(&app, ADA, "will be deleted on").await;
    let scheduled = member_rows(&app, id, ADA).await;
    assert_eq!(scheduled["sessions.user_id"], 0, "every device is signed out");
    assert_eq!(scheduled["account_deletions.user_id"], 1);
    for (table, rows) in &before {
        assert!(
            *rows > 0 || scheduled[table] > 0,
            "{table}: the member has rows here before deletion (before {rows}, after asking {})",
            scheduled[table]
        );
    }

    // Ada is a Stripe customer: deletion deletes her there too (here, at a fake Stripe).
    let stripe = support::fake_stripe::FakeStripe::start().await;
    let mut settings = std::collections::HashMap::new();
    stripe.configure(&mut settings);
    let payments = app::features::billing::stripe::Payments::new(
        app::features::billing::stripe::StripeSettings::from_lookup(|name| settings.get(name).cloned())
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    let now = now_unix();
    let early = deletion::run_due(&app.state.db, &app.state.media, Some(&payments), now + 29 * DAY)
        .await
        .unwrap();
    assert!(early.is_empty(), "nothing happens inside the grace period");
    let deleted = deletion::run_due(&app.state.db, &app.state.media, Some(&payments), now + 30 * DAY + 60)
        .await
        .unwrap();
    assert_eq!(deleted.len(), 1);
    assert!(
        stripe
            .requests()
            .iter()
            .any(|request| request.method == "DELETE" && request.path == "/v1/customers/cus_ada"),
        "the Stripe customer is deleted"
    );
    assert_eq!(deleted[0].user_id, id);
    assert_eq!(
        deleted[0].files_removed, 3,
        "the avatar, the data export's zip and the collection export's zip"
    );

    let after = member_rows(&app, id, ADA).await;
    assert!(
        after.values().all(|rows| *rows == 0),
        "nothing is tied to Ada: {after:?}"
    );
    let to_new_address: i64 =
        sqlx::query_scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM mail_outbox WHERE to_address = 'ada.new@example.org'")
            .fetch_one(app.state.db.pool())
            .await
            .unwrap();
    assert_eq!(to_new_address, 0, "mail to the address Ada was changing to goes too");
    let tombstone: Option<i64> = sqlx::query_scalar("SELECT deleted_at FROM account_tombstones WHERE user_id = $1")
        .bind(id)
        .fetch_optional(app.state.db.pool())
        .await
        .unwrap();
    assert_eq!(tombstone, Some(now + 30 * DAY + 60));
    assert!(
        app.state.media.read(&avatar_key).await.is_err(),
        "the avatar file is gone"
    );
    assert!(
        app.state.media.read(&export_file).await.is_err(),
        "the export file is gone"
    );
    assert!(
        app.state.media.read(&collection_zip).await.is_err(),
        "the collection's zip is gone"
    );
    let handled: Vec<(String, String)> =
        sqlx::query("SELECT kind, status FROM data_requests WHERE user_id IS NULL AND details IS NULL ORDER BY id")
            .fetch_all(app.state.db.pool())
            .await
            .unwrap()
            .into_iter()
            .map(|row| (row.get(0), row.get(1)))
            .collect();
    assert_eq!(
        handled,
        vec![
            ("objection".into(), "done".into()),
            ("correction".into(), "withdrawn".into()),
            ("export".into(), "done".into()),
            ("deletion".into(), "done".into())
        ],
        "the requests stay, naming nobody, as the record that they were handled"
    );
    let sign_in = post_form(&app, SignIn::PATH, None, &[("email", ADA), ("password", PASSWORD)]).await;
    assert!(!sign_in.status().is_success(), "the account is gone");

    let again = deletion::run_due(&app.state.db, &app.state.media, None, now + 60 * DAY)
        .await
        .unwrap();
    assert!(again.is_empty(), "a second run changes nothing");
    app.stop().await;
}

#[tokio::test]
async fn cancelling_inside_the_grace_period_keeps_the_account() {
    let app = support::spawn_app().await;
    let id = create_member(&app, ADA, "Ada", true).await;
    let cookie = signed_in(&app, ADA).await;
    let asked = post_form(
        &app,
        DeleteAccount::PATH,
        Some(&cookie),
        &[("password", PASSWORD), ("confirm", "yes")],
    )
    .await;
    assert_eq!(asked.status(), 200);

    // Signing in while the deletion waits lands where it can be cancelled.
    let back = post_form(&app, SignIn::PATH, None, &[("email", ADA), ("password", PASSWORD)]).await;
    assert_eq!(back.headers()["location"], "/account/data");
    let cookie = support::members::session_cookie(&back);
    assert!(my_data(&app, &cookie).await.deletion_due.is_some());

    let cancelled = post_form(&app, CancelDeletion::PATH, Some(&cookie), &[]).await;
    assert_eq!(cancelled.status(), 200);
    let overview = my_data(&app, &cookie).await;
    assert_eq!(overview.deletion_due, None);
    assert_eq!(
        (overview.requests[0].kind.as_str(), overview.requests[0].status.as_str()),
        ("deletion", "withdrawn")
    );
    let twice = error_of(post_form(&app, CancelDeletion::PATH, Some(&cookie), &[]).await).await;
    assert!(matches!(twice, AppError::Invalid(_)), "{twice:?}");

    let later = deletion::run_due(&app.state.db, &app.state.media, None, now_unix() + 90 * DAY)
        .await
        .unwrap();
    assert!(later.is_empty());
    assert!(who(&app, &cookie).await.is_some(), "still signed in, account intact");
    let users: i64 = sqlx::query_scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM users WHERE id = $1")
        .bind(id)
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    assert_eq!(users, 1);
    app.stop().await;
}

#[tokio::test]
async fn exports_live_in_s3_when_configured_and_a_storage_failure_fails_visibly() {
    let s3 = FakeS3::start().await;
    // No workers: the test runs the export job itself, so it can make it the last attempt.
    let app = support::spawn_app_with(
        |values| {
            values.extend(s3.env());
            values.insert("ATELIER_JOB_WORKERS".into(), "0".into());
        },
        server::jobs::registry(),
    )
    .await;
    let job = ExportJob {
        db: app.state.db.clone(),
        media: app.state.media.clone(),
        jobs: app.state.jobs.clone(),
        config: app.state.config.clone(),
    };
    create_member(&app, ADA, "Ada", true).await;
    let ada = signed_in(&app, ADA).await;
    assert_eq!(
        post_form(&app, RequestExport::PATH, Some(&ada), &[]).await.status(),
        200
    );
    let claimed = app
        .state
        .jobs
        .claim("test", &[export::EXPORT_JOB])
        .await
        .unwrap()
        .expect("the export job is queued");
    job.run(&claimed).await.unwrap();
    let ready = my_data(&app, &ada).await.exports[0].clone();
    assert_eq!(ready.status, "ready");
    assert!(
        s3.keys()
            .iter()
            .any(|key| key.starts_with("exports/") && key.ends_with(".zip")),
        "{:?}",
        s3.keys()
    );
    let download = app
        .get_as(&format!("/account/data/exports/{}", ready.id), Some(&ada))
        .await;
    assert_eq!(download.status(), 200);
    assert!(
        download.bytes().await.unwrap().starts_with(b"PK"),
        "a zip, from the bucket"
    );

    // With storage down, the last attempt marks the export failed, and Bob may ask again.
    create_member(&app, "bob@example.org", "Bob", true).await;
    let bob = signed_in(&app, "bob@example.org").await;
    assert_eq!(
        post_form(&app, RequestExport::PATH, Some(&bob), &[]).await.status(),
        200
    );
    s3.fail();
    let mut claimed = app
        .state
        .jobs
        .claim("test", &[export::EXPORT_JOB])
        .await
        .unwrap()
        .expect("Bob's export job is queued");
    claimed.attempt = claimed.max_attempts;
    assert!(job.run(&claimed).await.is_err());
    let overview = my_data(&app, &bob).await;
    assert_eq!(overview.exports[0].status, "failed");
    assert_eq!(
        (overview.requests[0].kind.as_str(), overview.requests[0].status.as_str()),
        ("export", "failed")
    );
    assert_eq!(
        overview.next_export_at, None,
        "a failed export does not count against the day"
    );
    assert_eq!(
        post_form(&app, RequestExport::PATH, Some(&bob), &[]).await.status(),
        200
    );
    app.stop().await;
}
