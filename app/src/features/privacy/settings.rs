//! Privacy settings, stored: a member's choices about how their data is processed, and the
//! tracked objection or restriction each "stop" becomes.

use super::{
    requests::{self, Kind},
    settings_api::{ChatRetention, PrivacySettings},
};
use crate::platform::db::Database;
use sqlx::Row;

/// The member's settings and when they last changed; the defaults when never saved.
pub async fn load(db: &Database, user_id: i64) -> Result<(PrivacySettings, Option<i64>), sqlx::Error> {
    let row = sqlx::query(
        "SELECT analytics, marketing_email, improve_service, personalised, chat_retention, updated_at \
         FROM privacy_settings WHERE user_id = $1",
    )
    .bind(user_id)
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else {
        return Ok((PrivacySettings::default(), None));
    };
    let flag = |column: &str| -> Result<bool, sqlx::Error> { Ok(row.try_get::<i64, _>(column)? != 0) };
    let retention: String = row.try_get("chat_retention")?;
    Ok((
        PrivacySettings {
            analytics: flag("analytics")?,
            marketing_email: flag("marketing_email")?,
            improve_service: flag("improve_service")?,
            personalised: flag("personalised")?,
            chat_retention: ChatRetention::parse(&retention).unwrap_or_default(),
        },
        Some(row.try_get("updated_at")?),
    ))
}

/// Whether the member's downloads and searches are recorded with their account.
pub async fn records_usage(db: &Database, user_id: i64) -> Result<bool, sqlx::Error> {
    Ok(load(db, user_id).await?.0.analytics)
}

/// A kind of processing the member can stop, and what stopping it is in law.
struct Switch {
    name: &'static str,
    kind: Kind,
    outcome: &'static str,
    on: fn(&PrivacySettings) -> bool,
}

const SWITCHES: [Switch; 4] = [
    Switch {
        name: "activity history",
        kind: Kind::Objection,
        outcome: "Applied at once: new downloads and searches are recorded without your account.",
        on: |settings| settings.analytics,
    },
    Switch {
        name: "marketing email",
        kind: Kind::Objection,
        outcome: "Applied at once: no marketing email will be sent to you.",
        on: |settings| settings.marketing_email,
    },
    Switch {
        name: "use of your inputs to improve the service",
        kind: Kind::Restriction,
        outcome: "Applied at once: what you write is used only to answer you.",
        on: |settings| settings.improve_service,
    },
    Switch {
        name: "personalised recommendations",
        kind: Kind::Objection,
        outcome: "Applied at once: nothing is recommended to you from your activity.",
        on: |settings| settings.personalised,
    },
];

/// Saves the settings and the download size in one transaction. Every kind of processing
/// switched off is recorded as an objection or restriction, closed as done at once.
pub async fn save(
    db: &Database,
    user_id: i64,
    settings: PrivacySettings,
    download_size: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    let (before, _) = load(db, user_id).await?;
    let mut tx = db.pool().begin().await?;
    sqlx::query(
        "INSERT INTO privacy_settings \
         (user_id, analytics, marketing_email, improve_service, personalised, chat_retention, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (user_id) DO UPDATE SET analytics = excluded.analytics, \
         marketing_email = excluded.marketing_email, improve_service = excluded.improve_service, \
         personalised = excluded.personalised, chat_retention = excluded.chat_retention, \
         updated_at = excluded.updated_at",
    )
    .bind(user_id)
    .bind(i64::from(settings.analytics))
    .bind(i64::from(settings.marketing_email))
    .bind(i64::from(settings.improve_service))
    .bind(i64::from(settings.personalised))
    .bind(settings.chat_retention.as_str())
    .bind(now)
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE users SET download_size = $1, updated_at = $2 WHERE id = $3")
        .bind(download_size)
        .bind(now)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    for switch in SWITCHES
        .iter()
        .filter(|switch| (switch.on)(&before) && !(switch.on)(&settings))
    {
        let details = format!("Stop {}", switch.name);
        requests::record_handled(&mut tx, user_id, switch.kind, &details, switch.outcome, now).await?;
    }
    tx.commit().await
}
