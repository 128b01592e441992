//! `atelier_rank`: SQLite's FTS5 `bm25()` scores, without counting how common a phrase is
//! when no row gives that phrase any weight.
//!
//! Why it exists: `bm25()` learns how common each phrase of a query is by walking the
//! phrase's whole posting list once per query. Search filters are facet tokens in the query
//! (`features::library::facets`) and live in a column of weight 0, so they never change a
//! score, yet `bm25()` walks their lists too: a colour family's list holds about a tenth of
//! the library, as long a walk as a common word's, which doubled the cost of a filtered
//! search. This function counts a phrase the first time a row gives it weight. A phrase
//! without weighted hits adds exactly 0 to `bm25()`'s sum, so the scores are the same to
//! the bit (a test below compares them).
//!
//! It is registered with `sqlite3_auto_extension`, so every SQLite connection the process
//! opens afterwards has it, whichever pool or driver opens it. This is the project's only
//! `unsafe` code: the FTS5 extension interface exists only in C.

use libsqlite3_sys as ffi;
use std::{
    ffi::{c_char, c_int, c_void},
    ptr,
    sync::Once,
};

/// BM25's constants, as SQLite's `bm25()` fixes them.
const K1: f64 = 1.2;
const B: f64 = 0.75;

/// Makes `atelier_rank(fts_table, weight, …)` available on every SQLite connection opened
/// from now on. Call it before opening a pool; later calls do nothing.
pub fn register() {
    static REGISTERED: Once = Once::new();
    REGISTERED.call_once(|| {
        // SAFETY: `register_on` has the signature SQLite requires of an extension entry
        // point and only uses the connection handle it is given.
        let status = unsafe { ffi::sqlite3_auto_extension(Some(register_on)) };
        assert_eq!(status, ffi::SQLITE_OK, "SQLite refused the search ranking function");
    });
}

/// Entry point SQLite calls for each new connection.
unsafe extern "C" fn register_on(
    db: *mut ffi::sqlite3,
    _error: *mut *mut c_char,
    _api: *const ffi::sqlite3_api_routines,
) -> c_int {
    let api = unsafe { fts5_api(db) };
    if api.is_null() {
        // A SQLite without FTS5 fails every search anyway, with a clearer message there.
        return ffi::SQLITE_OK;
    }
    match unsafe { (*api).xCreateFunction } {
        Some(create) => unsafe { create(api, c"atelier_rank".as_ptr(), ptr::null_mut(), Some(rank), None) },
        None => ffi::SQLITE_ERROR,
    }
}

/// The connection's FTS5 interface, handed out by `SELECT fts5(?)` as a pointer value.
unsafe fn fts5_api(db: *mut ffi::sqlite3) -> *mut ffi::fts5_api {
    let mut api: *mut ffi::fts5_api = ptr::null_mut();
    let mut statement = ptr::null_mut();
    let query = c"SELECT fts5(?1)";
    unsafe {
        if ffi::sqlite3_prepare_v2(db, query.as_ptr(), -1, &mut statement, ptr::null_mut()) != ffi::SQLITE_OK {
            return ptr::null_mut();
        }
        let out = (&raw mut api).cast::<c_void>();
        if ffi::sqlite3_bind_pointer(statement, 1, out, c"fts5_api_ptr".as_ptr(), None) == ffi::SQLITE_OK {
            ffi::sqlite3_step(statement);
        }
        ffi::sqlite3_finalize(statement);
    }
    api
}

/// What one query computes once and every row reuses.
struct QueryStats {
    rows: i64,
    average_length: f64,
    /// Per phrase: its inverse document frequency, once a row has needed it.
    idf: Vec<Option<f64>>,
    /// Per phrase: its weighted hits in the current row.
    frequency: Vec<f64>,
}

unsafe extern "C" fn drop_stats(stats: *mut c_void) {
    drop(unsafe { Box::from_raw(stats.cast::<QueryStats>()) });
}

/// `Ok` for `SQLITE_OK`, the status otherwise.
fn checked(status: c_int) -> Result<(), c_int> {
    if status == ffi::SQLITE_OK {
        Ok(())
    } else {
        Err(status)
    }
}

/// Turns a missing entry of the extension interface into an error rather than a crash.
fn method<T>(entry: Option<T>) -> Result<T, c_int> {
    entry.ok_or(ffi::SQLITE_MISUSE)
}

/// The FTS5 auxiliary function: `-score`, so that ascending order is best first, as with
/// `bm25()`.
unsafe extern "C" fn rank(
    api: *const ffi::Fts5ExtensionApi,
    fts: *mut ffi::Fts5Context,
    context: *mut ffi::sqlite3_context,
    argument_count: c_int,
    arguments: *mut *mut ffi::sqlite3_value,
) {
    let weights: &[*mut ffi::sqlite3_value] = match usize::try_from(argument_count) {
        Ok(count) if count > 0 && !arguments.is_null() => unsafe { std::slice::from_raw_parts(arguments, count) },
        _ => &[],
    };
    match unsafe { score(&*api, fts, weights) } {
        Ok(score) => unsafe { ffi::sqlite3_result_double(context, -score) },
        Err(status) => unsafe { ffi::sqlite3_result_error_code(context, status) },
    }
}

/// The current row's BM25 score, term for term as SQLite's `bm25()` adds it up.
unsafe fn score(
    api: &ffi::Fts5ExtensionApi,
    fts: *mut ffi::Fts5Context,
    weights: &[*mut ffi::sqlite3_value],
) -> Result<f64, c_int> {
    let stats = unsafe { &mut *query_stats(api, fts)? };
    stats.frequency.fill(0.0);
    let mut instances = 0;
    checked(unsafe { method(api.xInstCount)?(fts, &mut instances) })?;
    for instance in 0..instances {
        let (mut phrase, mut column, mut offset) = (0, 0, 0);
        checked(unsafe { method(api.xInst)?(fts, instance, &mut phrase, &mut column, &mut offset) })?;
        let weight = usize::try_from(column)
            .ok()
            .and_then(|column| weights.get(column))
            .map_or(1.0, |value| unsafe { ffi::sqlite3_value_double(*value) });
        if let Some(frequency) = usize::try_from(phrase).ok().and_then(|p| stats.frequency.get_mut(p)) {
            *frequency += weight;
        }
    }
    let mut tokens = 0;
    checked(unsafe { method(api.xColumnSize)?(fts, -1, &mut tokens) })?;
    let length = f64::from(tokens);

    let mut score = 0.0;
    for phrase in 0..stats.frequency.len() {
        let frequency = stats.frequency[phrase];
        // bm25() adds idf × 0 here: the sum is unchanged, and the phrase's list is not walked.
        if frequency == 0.0 {
            continue;
        }
        let idf = match stats.idf[phrase] {
            Some(idf) => idf,
            None => {
                let idf = unsafe { inverse_document_frequency(api, fts, phrase, stats.rows)? };
                stats.idf[phrase] = Some(idf);
                idf
            }
        };
        score += idf * ((frequency * (K1 + 1.0)) / (frequency + K1 * (1.0 - B + B * length / stats.average_length)));
    }
    Ok(score)
}

/// This query's [`QueryStats`], made on its first row and kept by FTS5 until the query ends.
unsafe fn query_stats(api: &ffi::Fts5ExtensionApi, fts: *mut ffi::Fts5Context) -> Result<*mut QueryStats, c_int> {
    let existing = unsafe { method(api.xGetAuxdata)?(fts, 0) };
    if !existing.is_null() {
        return Ok(existing.cast());
    }
    let phrases = usize::try_from(unsafe { method(api.xPhraseCount)?(fts) }).unwrap_or(0);
    let (mut rows, mut tokens) = (0, 0);
    checked(unsafe { method(api.xRowCount)?(fts, &mut rows) })?;
    checked(unsafe { method(api.xColumnTotalSize)?(fts, -1, &mut tokens) })?;
    let stats = Box::into_raw(Box::new(QueryStats {
        rows,
        average_length: tokens as f64 / rows as f64,
        idf: vec![None; phrases],
        frequency: vec![0.0; phrases],
    }));
    // On failure FTS5 frees the value itself, through `drop_stats`.
    checked(unsafe { method(api.xSetAuxdata)?(fts, stats.cast(), Some(drop_stats)) })?;
    Ok(stats)
}

/// BM25's IDF of one phrase, with `bm25()`'s floor for phrases in more than half the rows.
unsafe fn inverse_document_frequency(
    api: &ffi::Fts5ExtensionApi,
    fts: *mut ffi::Fts5Context,
    phrase: usize,
    rows: i64,
) -> Result<f64, c_int> {
    let mut hits: i64 = 0;
    let phrase = c_int::try_from(phrase).map_err(|_| ffi::SQLITE_RANGE)?;
    checked(unsafe { method(api.xQueryPhrase)?(fts, phrase, (&raw mut hits).cast(), Some(count_row)) })?;
    let idf = (((rows - hits) as f64 + 0.5) / (hits as f64 + 0.5)).ln();
    Ok(if idf <= 0.0 { 1e-6 } else { idf })
}

unsafe extern "C" fn count_row(
    _api: *const ffi::Fts5ExtensionApi,
    _fts: *mut ffi::Fts5Context,
    hits: *mut c_void,
) -> c_int {
    unsafe { *hits.cast::<i64>() += 1 };
    ffi::SQLITE_OK
}

#[cfg(test)]
mod tests {
    use crate::platform::db::Database;
    use sqlx::Row;

    async fn library() -> Database {
        super::register();
        let db = Database::connect("sqlite::memory:?mode=memory", 1).await.unwrap();
        sqlx::query(
            "CREATE VIRTUAL TABLE docs USING fts5(title, body, facets, tokenize = \"unicode61 tokenchars '¤'\")",
        )
        .execute(db.pool())
        .await
        .unwrap();
        let words = ["aurora", "harbour", "glass", "dune", "ember", "tide", "moss", "quartz"];
        for n in 0..400_usize {
            let title = format!("{} {}", words[n % 8], words[(n / 8) % 8]);
            let body = (0..n % 7).map(|k| words[(n + k * 3) % 8]).collect::<Vec<_>>().join(" ");
            let facets = format!("¤h{} ¤o{}", ["red", "blue", "grey"][n % 3], ["wide", "tall"][n % 2]);
            sqlx::query("INSERT INTO docs (title, body, facets) VALUES ($1, $2, $3)")
                .bind(title)
                .bind(body)
                .bind(facets)
                .execute(db.pool())
                .await
                .unwrap();
        }
        db
    }

    async fn scores(db: &Database, function: &str, query: &str) -> Vec<(i64, f64)> {
        let sql =
            format!("SELECT rowid, {function}(docs, 10.0, 2.0, 0.0) FROM docs WHERE docs MATCH $1 ORDER BY rowid");
        sqlx::query(&sql)
            .bind(query)
            .fetch_all(db.pool())
            .await
            .unwrap()
            .iter()
            .map(|row| (row.get::<i64, _>(0), row.get::<f64, _>(1)))
            .collect()
    }

    #[tokio::test]
    async fn scores_are_exactly_those_of_bm25() {
        let db = library().await;
        for query in [
            "aurora",
            "aurora AND glass",
            "(aurora OR tide) AND moss",
            "aurora AND \"¤hred\"",
            "(dune OR ember) AND \"¤hblue\" AND \"¤otall\"",
            "qu*",
        ] {
            let ours = scores(&db, "atelier_rank", query).await;
            let sqlite = scores(&db, "bm25", query).await;
            assert!(!ours.is_empty(), "{query} matched nothing");
            assert_eq!(ours.len(), sqlite.len(), "{query}");
            for ((id, score), (sqlite_id, sqlite_score)) in ours.iter().zip(&sqlite) {
                assert_eq!(id, sqlite_id);
                assert_eq!(
                    score.to_bits(),
                    sqlite_score.to_bits(),
                    "{query}, row {id}: {score} vs {sqlite_score}"
                );
            }
        }
    }

    #[tokio::test]
    async fn without_weights_every_column_counts_once() {
        let db = library().await;
        let ours: Vec<f64> =
            sqlx::query_scalar("SELECT atelier_rank(docs) FROM docs WHERE docs MATCH 'dune' ORDER BY rowid")
                .fetch_all(db.pool())
                .await
                .unwrap();
        let sqlite: Vec<f64> = sqlx::query_scalar("SELECT bm25(docs) FROM docs WHERE docs MATCH 'dune' ORDER BY rowid")
            .fetch_all(db.pool())
            .await
            .unwrap();
        assert!(!ours.is_empty());
        assert_eq!(ours, sqlite);
        assert!(ours.iter().all(|score| *score < 0.0), "better matches sort first");
    }
}
