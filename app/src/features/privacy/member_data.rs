//! The data inventory applied to one member: what each category holds of theirs, the rows
//! an export carries, the files that belong to them, and the statements deletion runs.
//! This is the only SQL built from the inventory, so export, deletion and the "your data"
//! page cannot drift from what the policy declares.

use super::inventory::{DataCategory, Deletion, Export, MemberLink, Store, CATEGORIES};
use crate::platform::{db::Database, media::MediaStore};
use serde_json::{Map, Value};
use sqlx::{any::AnyRow, AnyConnection, Row};
use std::collections::BTreeSet;

/// Who the rows belong to: by id, and for tables that only know an address, by every
/// address the account has used or is about to use (a change waiting for its link, a
/// provider's verified address).
#[derive(Clone, Debug)]
pub struct Member {
    pub id: i64,
    pub email: String,
    pub addresses: Vec<String>,
}

impl Member {
    pub async fn load(db: &Database, id: i64) -> Result<Option<Member>, sqlx::Error> {
        let Some(email) = sqlx::query_scalar::<_, String>("SELECT email FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(db.pool())
            .await?
        else {
            return Ok(None);
        };
        let others: Vec<String> = sqlx::query_scalar(
            "SELECT email FROM account_tokens WHERE user_id = $1 UNION SELECT email FROM oidc_identities WHERE user_id = $1",
        )
        .bind(id)
        .fetch_all(db.pool())
        .await?;
        let mut addresses = vec![email.clone()];
        for address in others {
            let address = address.to_lowercase();
            if !addresses.contains(&address) {
                addresses.push(address);
            }
        }
        Ok(Some(Member { id, email, addresses }))
    }
}

/// The `WHERE` clause that finds a member's rows in `store`, or `None` when its rows are
/// never tied to a member. Table and column names come from the inventory, never from input.
fn member_filter(store: &Store, member: &Member) -> Option<String> {
    match store.member {
        MemberLink::Column(column) => Some(format!("{column} = $1")),
        MemberLink::Address(column) => {
            let placeholders = (1..=member.addresses.len().max(1))
                .map(|n| format!("${n}"))
                .collect::<Vec<_>>()
                .join(", ");
            Some(format!("{column} IN ({placeholders})"))
        }
        MemberLink::None => None,
    }
}

fn bind_member<'q>(
    mut query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    store: &Store,
    member: &'q Member,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    match store.member {
        MemberLink::Address(_) if member.addresses.is_empty() => query.bind(member.email.as_str()),
        MemberLink::Address(_) => {
            for address in &member.addresses {
                query = query.bind(address.as_str());
            }
            query
        }
        _ => query.bind(member.id),
    }
}

/// Whether a category holds anything that can be tied to a member.
pub fn is_linked(category: &DataCategory) -> bool {
    category.stores.iter().any(|store| store.member != MemberLink::None)
}

/// How many records of `category` the member has: rows where at least one of the
/// category's columns holds something (an account without an avatar holds no avatar).
pub async fn count(db: &Database, category: &DataCategory, member: &Member) -> Result<i64, sqlx::Error> {
    let mut total = 0;
    for store in category.stores {
        let Some(filter) = member_filter(store, member) else {
            continue;
        };
        let held = store
            .columns
            .iter()
            .map(|column| format!("{column} IS NOT NULL"))
            .collect::<Vec<_>>()
            .join(" OR ");
        let sql = format!(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM {} WHERE {filter} AND ({held})",
            store.table
        );
        let rows: i64 = bind_member(sqlx::query(&sql), store, member)
            .fetch_one(db.pool())
            .await?
            .try_get(0)?;
        total += rows;
    }
    Ok(total)
}

/// The columns of `store` an export carries.
pub fn exported_columns(store: &Store, export: Export) -> Vec<&'static str> {
    match export {
        Export::Yes => store.columns.to_vec(),
        Export::Without { columns, .. } => store
            .columns
            .iter()
            .copied()
            .filter(|column| !columns.contains(column))
            .collect(),
        Export::No(_) => Vec::new(),
    }
}

/// The member's rows of `category` as JSON objects, with only the exported columns.
pub async fn export_rows(
    db: &Database,
    category: &DataCategory,
    member: &Member,
) -> Result<Vec<Map<String, Value>>, sqlx::Error> {
    let mut rows = Vec::new();
    for store in category.stores {
        let Some(filter) = member_filter(store, member) else {
            continue;
        };
        let columns = exported_columns(store, category.export);
        if columns.is_empty() {
            continue;
        }
        let sql = format!(
            "SELECT {} FROM {} WHERE {filter} ORDER BY 1",
            columns.join(", "),
            store.table
        );
        for row in bind_member(sqlx::query(&sql), store, member)
            .fetch_all(db.pool())
            .await?
        {
            rows.push(
                columns
                    .iter()
                    .enumerate()
                    .map(|(index, column)| ((*column).to_owned(), json_value(&row, index)))
                    .collect(),
            );
        }
    }
    Ok(rows)
}

/// A column as JSON: integers stay numbers, text stays text, NULL is null. Both backends
/// store times and flags as integers (docs/ARCHITECTURE.md), so nothing else occurs.
fn json_value(row: &AnyRow, index: usize) -> Value {
    if let Ok(number) = row.try_get::<Option<i64>, _>(index) {
        return number.map_or(Value::Null, Value::from);
    }
    if let Ok(text) = row.try_get::<Option<String>, _>(index) {
        return text.map_or(Value::Null, Value::from);
    }
    if let Ok(number) = row.try_get::<Option<f64>, _>(index) {
        return number.map_or(Value::Null, Value::from);
    }
    Value::Null
}

/// A stored file that belongs to the member, and whether the export carries it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberFile {
    pub key: String,
    pub category: &'static str,
    pub exported: bool,
}

/// Every file the inventory says is the member's.
pub async fn files(db: &Database, member: &Member) -> Result<Vec<MemberFile>, sqlx::Error> {
    let mut found = Vec::new();
    for category in CATEGORIES {
        let Some(files) = &category.files else { continue };
        let Some(store) = category.stores.iter().find(|store| store.table == files.table) else {
            continue;
        };
        let Some(filter) = member_filter(store, member) else {
            continue;
        };
        let sql = format!(
            "SELECT {key} FROM {table} WHERE {filter} AND {key} IS NOT NULL",
            key = files.key_column,
            table = files.table
        );
        for row in bind_member(sqlx::query(&sql), store, member)
            .fetch_all(db.pool())
            .await?
        {
            found.push(MemberFile {
                key: row.try_get(0)?,
                category: category.name,
                exported: files.exported,
            });
        }
    }
    Ok(found)
}

/// Whether any row anywhere still points at a stored file: another member's avatar or a
/// library image can share a content-addressed key.
pub async fn file_in_use(db: &Database, key: &str) -> Result<bool, sqlx::Error> {
    let mut columns: BTreeSet<(&str, &str)> = CATEGORIES
        .iter()
        .filter_map(|category| category.files.as_ref())
        .map(|files| (files.table, files.key_column))
        .collect();
    columns.insert(("image_files", "storage_key"));
    for (table, column) in columns {
        let sql = format!("SELECT 1 FROM {table} WHERE {column} = $1 LIMIT 1");
        if sqlx::query(&sql).bind(key).fetch_optional(db.pool()).await?.is_some() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Removes a stored file that no row names any more (a replaced avatar, a deleted
/// member's files). Returns whether it was removed; a storage failure is logged and
/// leaves the file, which nothing points at.
pub async fn remove_if_unused(db: &Database, media: &MediaStore, key: &str) -> Result<bool, sqlx::Error> {
    if file_in_use(db, key).await? {
        return Ok(false);
    }
    match media.delete(key).await {
        Ok(()) => Ok(true),
        Err(error) => {
            tracing::warn!(%error, "could not remove a file nothing uses any more");
            Ok(false)
        }
    }
}

/// What deletion did to one table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Erased {
    pub table: &'static str,
    pub action: &'static str,
    pub rows: u64,
}

/// Deletes or anonymises every row of the member, as each category's deletion rule says,
/// inside the caller's transaction. The account row itself goes last, so nothing that
/// cascades from it is left to chance.
pub async fn erase(conn: &mut AnyConnection, member: &Member) -> Result<Vec<Erased>, sqlx::Error> {
    let mut seen: BTreeSet<(&str, &str)> = BTreeSet::new();
    let mut statements = Vec::new();
    for category in CATEGORIES {
        for store in category.stores {
            let (Some(filter), MemberLink::Column(column) | MemberLink::Address(column)) =
                (member_filter(store, member), store.member)
            else {
                continue;
            };
            let (sql, action) = match category.deletion {
                Deletion::NotLinked(_) => continue,
                Deletion::Anonymise { clear, .. } => {
                    let cleared: String = clear.iter().map(|column| format!(", {column} = NULL")).collect();
                    (
                        format!("UPDATE {} SET {column} = NULL{cleared} WHERE {filter}", store.table),
                        "anonymised",
                    )
                }
                Deletion::Delete(_) | Deletion::Purge(_) => {
                    (format!("DELETE FROM {} WHERE {filter}", store.table), "deleted")
                }
            };
            if seen.insert((store.table, column)) {
                statements.push((store, sql, action));
            }
        }
    }
    // A stable sort: every other table in inventory order, the account row last.
    statements.sort_by_key(|(store, _, _)| store.table == "users");
    let mut report = Vec::with_capacity(statements.len());
    for (store, sql, action) in statements {
        let rows = bind_member(sqlx::query(&sql), store, member)
            .execute(&mut *conn)
            .await?
            .rows_affected();
        report.push(Erased {
            table: store.table,
            action,
            rows,
        });
    }
    Ok(report)
}

/// A file-system-safe name for a category: "Cookie decisions" → "cookie-decisions".
pub fn slug(name: &str) -> String {
    let mut slug = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    slug.trim_end_matches('-').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn category_slugs_are_plain_and_distinct() {
        assert_eq!(slug("Cookie decisions"), "cookie-decisions");
        assert_eq!(
            slug("Single sign-on sign-up waiting for the age check"),
            "single-sign-on-sign-up-waiting-for-the-age-check"
        );
        let slugs: BTreeSet<String> = CATEGORIES.iter().map(|c| slug(c.name)).collect();
        assert_eq!(slugs.len(), CATEGORIES.len(), "every category gets its own file");
    }

    #[test]
    fn exports_leave_out_secrets_and_storage_keys() {
        for category in CATEGORIES {
            for store in category.stores {
                let columns = exported_columns(store, category.export);
                for secret in ["password_hash", "token_hash", "link_hash", "file_key", "pkce_verifier"] {
                    assert!(
                        !columns.contains(&secret),
                        "{} exports {}.{secret}",
                        category.name,
                        store.table
                    );
                }
            }
        }
    }

    #[test]
    fn rows_that_cannot_be_tied_to_a_member_are_never_deletion_targets() {
        for category in CATEGORIES {
            if matches!(category.deletion, Deletion::NotLinked(_)) {
                assert!(!is_linked(category), "{} says it is not linked", category.name);
            }
        }
    }
}
