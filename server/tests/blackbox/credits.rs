//! The credit ledger on both databases: concurrent spends never take more than the
//! balance, a refund counts once however often it is replayed, a retried call changes
//! nothing, entries cannot be changed once written, and a spend or refund made on a
//! caller's transaction commits or rolls back with it.

use crate::support::{count_rows, members::create_member, spawn_app, TestApp};
use app::{
    features::billing::{
        ledger::{self, LedgerError},
        Reason,
    },
    platform::clock::now_unix,
};

async fn member_with(app: &TestApp, email: &str, credits: i64) -> i64 {
    let id = create_member(app, email, "Member", true).await;
    if credits > 0 {
        let granted = ledger::grant(
            &app.state.db,
            id,
            credits,
            Reason::PlanGrant,
            "in_test_month",
            &format!("grant:{email}"),
            now_unix(),
        )
        .await
        .unwrap();
        assert!(!granted.replayed);
        assert_eq!(granted.entry.balance_after, credits);
    }
    id
}

/// The sum of the member's entries, which must always equal their balance.
async fn ledger_sum(app: &TestApp, user_id: i64) -> i64 {
    sqlx::query_scalar("SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM credit_ledger WHERE user_id = $1")
        .bind(user_id)
        .fetch_one(app.state.db.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn fifty_concurrent_spends_against_a_balance_for_ten_take_exactly_ten() {
    let app = spawn_app().await;
    let id = member_with(&app, "spender@example.com", 10).await;
    let spends = (0..50).map(|n| {
        let db = app.state.db.clone();
        tokio::spawn(async move {
            ledger::spend(
                &db,
                id,
                1,
                Reason::Generation,
                &format!("gen_{n}"),
                &format!("spend:gen_{n}"),
                now_unix(),
            )
            .await
        })
    });
    let mut succeeded = 0;
    let mut refused = 0;
    for handle in spends.collect::<Vec<_>>() {
        match handle.await.unwrap() {
            Ok(recorded) => {
                assert!(!recorded.replayed);
                assert!((0..10).contains(&recorded.entry.balance_after));
                succeeded += 1;
            }
            Err(LedgerError::Insufficient { balance, needed }) => {
                assert_eq!((balance, needed), (0, 1));
                refused += 1;
            }
            Err(other) => panic!("a spend failed unexpectedly: {other}"),
        }
    }
    assert_eq!((succeeded, refused), (10, 40));
    assert_eq!(ledger::balance(&app.state.db, id).await.unwrap(), 0);
    assert_eq!(ledger_sum(&app, id).await, 0, "the entries explain the balance");
    assert_eq!(count_rows(&app, "credit_ledger").await, 11, "one grant and ten spends");
    // Every balance from 9 down to 0 was reached exactly once.
    let mut after: Vec<i64> = sqlx::query_scalar("SELECT balance_after FROM credit_ledger WHERE amount < 0")
        .fetch_all(app.state.db.pool())
        .await
        .unwrap();
    after.sort();
    assert_eq!(after, (0..10).collect::<Vec<i64>>());
    app.stop().await;
}

#[tokio::test]
async fn a_refund_replayed_five_times_credits_once() {
    let app = spawn_app().await;
    let id = member_with(&app, "refunded@example.com", 5).await;
    let spent = ledger::spend(
        &app.state.db,
        id,
        3,
        Reason::Chat,
        "conversation_1",
        "spend:reply_1",
        now_unix(),
    )
    .await
    .unwrap();
    assert_eq!(spent.entry.balance_after, 2);
    let refunds = (0..5).map(|_| {
        let db = app.state.db.clone();
        tokio::spawn(async move { ledger::refund(&db, id, "spend:reply_1", now_unix()).await })
    });
    let mut new_entries = 0;
    for handle in refunds.collect::<Vec<_>>() {
        let recorded = handle.await.unwrap().expect("every replay succeeds");
        assert_eq!((recorded.entry.amount, recorded.entry.reason), (3, Reason::Refund));
        assert_eq!(recorded.entry.reference, "spend:reply_1");
        if !recorded.replayed {
            new_entries += 1;
        }
    }
    assert_eq!(new_entries, 1, "one refund was recorded; the others found it");
    assert_eq!(ledger::balance(&app.state.db, id).await.unwrap(), 5);
    assert_eq!(ledger_sum(&app, id).await, 5);
    let (history, more) = ledger::history(&app.state.db, id, 1, 10).await.unwrap();
    assert!(!more);
    let reasons: Vec<Reason> = history.iter().map(|entry| entry.reason).collect();
    assert_eq!(
        reasons,
        [Reason::Refund, Reason::Chat, Reason::PlanGrant],
        "newest first"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_retried_call_changes_nothing_and_misuse_is_refused() {
    let app = spawn_app().await;
    let db = &app.state.db;
    let id = member_with(&app, "careful@example.com", 4).await;
    let other = member_with(&app, "other@example.com", 4).await;
    let now = now_unix();

    let first = ledger::spend(db, id, 2, Reason::Upscale, "img_1", "spend:upscale_1", now)
        .await
        .unwrap();
    let again = ledger::spend(db, id, 2, Reason::Upscale, "img_1", "spend:upscale_1", now)
        .await
        .unwrap();
    assert!(again.replayed);
    assert_eq!(again.entry, first.entry);
    assert_eq!(ledger::balance(db, id).await.unwrap(), 2);

    assert!(matches!(
        ledger::spend(db, id, 1, Reason::Upscale, "img_1", "spend:upscale_1", now).await,
        Err(LedgerError::KeyConflict(_))
    ));
    assert!(matches!(
        ledger::spend(db, other, 2, Reason::Upscale, "img_1", "spend:upscale_1", now).await,
        Err(LedgerError::KeyConflict(_))
    ));
    assert!(
        matches!(
            ledger::refund(db, other, "spend:upscale_1", now).await,
            Err(LedgerError::NoSuchSpend)
        ),
        "nobody refunds another member's spend"
    );
    assert!(matches!(
        ledger::refund(db, id, "spend:never", now).await,
        Err(LedgerError::NoSuchSpend)
    ));
    assert!(
        matches!(
            ledger::refund(db, id, "grant:careful@example.com", now).await,
            Err(LedgerError::NoSuchSpend)
        ),
        "a grant is not a spend"
    );
    for bad in [
        ledger::grant(db, id, -5, Reason::PlanGrant, "", "grant:negative", now).await,
        ledger::grant(db, id, 5, Reason::Chat, "", "grant:as-spend", now).await,
        ledger::spend(db, id, 0, Reason::Chat, "", "spend:zero", now).await,
        ledger::spend(db, id, 1, Reason::Refund, "", "spend:as-refund", now).await,
        ledger::spend(db, id, 1, Reason::Chat, "", "", now).await,
        ledger::spend(db, id, 1, Reason::Chat, "", &"k".repeat(201), now).await,
    ] {
        assert!(matches!(bad, Err(LedgerError::Invalid(_))), "{bad:?}");
    }
    assert!(matches!(
        ledger::spend(db, id, 3, Reason::Chat, "reply_2", "spend:reply_2", now).await,
        Err(LedgerError::Insufficient { balance: 2, needed: 3 })
    ));
    assert_eq!(ledger::balance(db, id).await.unwrap(), 2, "refusals change nothing");
    assert_eq!(ledger_sum(&app, id).await, 2);
    app.stop().await;
}

#[tokio::test]
async fn entries_cannot_be_changed_once_written() {
    let app = spawn_app().await;
    let id = member_with(&app, "ledger@example.com", 7).await;
    let changed = sqlx::query("UPDATE credit_ledger SET amount = 700 WHERE user_id = $1")
        .bind(id)
        .execute(app.state.db.pool())
        .await;
    let error = changed.expect_err("the database refuses to change an entry");
    assert!(error.to_string().contains("append-only"), "{error}");
    assert_eq!(ledger_sum(&app, id).await, 7);
    app.stop().await;
}

#[tokio::test]
async fn a_spend_on_the_callers_transaction_commits_and_rolls_back_with_it() {
    let app = spawn_app().await;
    let db = &app.state.db;
    let id = member_with(&app, "payer@example.com", 3).await;
    let now = now_unix();

    // Rolled back with the work it paid for: no trace, and the key is free again.
    let mut tx = db.pool().begin().await.unwrap();
    let spent = ledger::spend_on(&mut tx, id, 2, Reason::Chat, "reply_1", "spend:reply_1", now)
        .await
        .unwrap();
    assert_eq!(spent.entry.balance_after, 1);
    tx.rollback().await.unwrap();
    assert_eq!(ledger::balance(db, id).await.unwrap(), 3);
    assert_eq!(ledger_sum(&app, id).await, 3);

    // A refusal inside the caller's transaction undoes only itself; the transaction goes on.
    let mut tx = db.pool().begin().await.unwrap();
    assert!(matches!(
        ledger::spend_on(&mut tx, id, 5, Reason::Chat, "reply_1", "spend:reply_1", now).await,
        Err(LedgerError::Insufficient { balance: 3, needed: 5 })
    ));
    ledger::spend_on(&mut tx, id, 2, Reason::Chat, "reply_1", "spend:reply_1", now)
        .await
        .unwrap();
    // The spend is found in the same transaction, and refunded once however often asked.
    let first = ledger::refund_on(&mut tx, id, "spend:reply_1", now).await.unwrap();
    let again = ledger::refund_on(&mut tx, id, "spend:reply_1", now).await.unwrap();
    assert!(!first.replayed && again.replayed);
    assert_eq!(again.entry, first.entry);
    tx.commit().await.unwrap();
    let again = ledger::refund(db, id, "spend:reply_1", now).await.unwrap();
    assert!(again.replayed, "nor after the commit");
    assert_eq!(ledger::balance(db, id).await.unwrap(), 3);
    assert_eq!(ledger_sum(&app, id).await, 3);
    let (history, _) = ledger::history(db, id, 1, 10).await.unwrap();
    let reasons: Vec<Reason> = history.iter().map(|entry| entry.reason).collect();
    assert_eq!(
        reasons,
        [Reason::Refund, Reason::Chat, Reason::PlanGrant],
        "newest first"
    );
    app.stop().await;
}
