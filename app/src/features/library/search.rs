//! Library search (server only): one interface over SQLite FTS5 and PostgreSQL full-text,
//! with filters matched as index tokens beside the words (see `facets`), prefix matching,
//! "did you mean" corrections from the index's own vocabulary, and the matched words
//! marked in titles.

use super::{
    facets::{self, ImageFacets},
    service::{into_page, offset_of, order_by, CARD_COLUMNS},
    Choice, ImagePage, SearchRequest, SearchResults, Sort, COLOR_FAMILIES, MAX_PAGE, MAX_QUERY_CHARS, ORIENTATIONS,
    PAGE_SIZE,
};
use crate::platform::db::{Backend, Database};
use sqlx::{any::AnyRow, AnyConnection, Row};
use std::collections::BTreeSet;

/// Words of a query beyond this are ignored: they only slow the match down.
pub const MAX_WORDS: usize = 8;
/// Words shorter than this are neither corrected nor kept in the vocabulary.
const MIN_TERM_CHARS: usize = 3;
const MAX_TERM_CHARS: usize = 40;
const MAX_SLUG_CHARS: usize = 64;

/// Lower-cased words of a text: letters and digits; everything else separates words.
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// A search request that passed every check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Query {
    pub words: Vec<String>,
    pub orientation: Option<String>,
    pub contributor: Option<String>,
    pub category: Option<String>,
    pub color: Option<String>,
    pub sort: Sort,
    pub page: u32,
}

/// Which field of a [`SearchRequest`] is wrong, and what to do about it.
#[derive(Debug, PartialEq, Eq)]
pub struct Rejected {
    pub field: &'static str,
    pub message: String,
}

fn rejected(field: &'static str, message: impl Into<String>) -> Rejected {
    Rejected {
        field,
        message: message.into(),
    }
}

fn optional(value: &str) -> Option<String> {
    let value = value.trim();
    (!value.is_empty()).then(|| value.to_owned())
}

fn checked_slug(field: &'static str, value: &str, what: &str) -> Result<Option<String>, Rejected> {
    let Some(slug) = optional(value) else {
        return Ok(None);
    };
    if slug.len() > MAX_SLUG_CHARS
        || !slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err(rejected(field, format!("Choose a {what} from the list.")));
    }
    Ok(Some(slug))
}

impl Query {
    pub fn parse(request: &SearchRequest) -> Result<Self, Rejected> {
        let q = request.q.trim();
        if q.chars().count() > MAX_QUERY_CHARS {
            return Err(rejected(
                "q",
                format!("Search for at most {MAX_QUERY_CHARS} characters."),
            ));
        }
        let mut words = words(q);
        words.truncate(MAX_WORDS);
        let orientation = optional(&request.orientation);
        if let Some(value) = &orientation {
            if !ORIENTATIONS.iter().any(|(known, _)| known == value) {
                return Err(rejected("orientation", "Choose landscape, portrait or square."));
            }
        }
        let color = optional(&request.color);
        if let Some(value) = &color {
            if !COLOR_FAMILIES.iter().any(|(known, _, _)| known == value) {
                return Err(rejected("color", "Choose one of the colours listed."));
            }
        }
        let sort = match optional(&request.sort) {
            None => Sort::Relevance,
            Some(raw) => Sort::parse(&raw).ok_or_else(|| rejected("sort", "Sort by relevance, newest or popular."))?,
        };
        // Without words there is nothing to be relevant to.
        let sort = if words.is_empty() && sort == Sort::Relevance {
            Sort::Newest
        } else {
            sort
        };
        if request.page == 0 || request.page > MAX_PAGE {
            return Err(rejected("page", "That page does not exist."));
        }
        Ok(Query {
            words,
            orientation,
            contributor: checked_slug("contributor", &request.contributor, "contributor")?,
            category: checked_slug("category", &request.category, "category")?,
            color,
            sort,
            page: request.page,
        })
    }
}

/// Runs a search; when the words as typed find nothing, searches once more with the
/// nearest words the index knows and says so in `corrected`.
pub async fn search(db: &Database, query: &Query) -> Result<SearchResults, sqlx::Error> {
    let mut words = query.words.clone();
    let mut images = matching(db, query, &words).await?;
    let mut corrected = None;
    if images.images.is_empty() && !words.is_empty() {
        // The nearest spelling first; a farther one only when the nearer finds nothing
        // under the same filters ("nono" by a contributor who made "noon" but no "mono").
        for better in corrections(db, &words).await? {
            let retry = matching(db, query, &better).await?;
            if !retry.images.is_empty() {
                images = retry;
                corrected = Some(better.join(" "));
                words = better;
                break;
            }
        }
    }
    for image in &mut images.images {
        image.title_marks = title_marks(&image.title, &words);
    }
    Ok(SearchResults {
        images,
        corrected,
        contributors: choices(db, "SELECT slug, name FROM contributors ORDER BY name").await?,
        categories: choices(db, "SELECT slug, name FROM categories ORDER BY name").await?,
    })
}

async fn choices(db: &Database, sql: &str) -> Result<Vec<Choice>, sqlx::Error> {
    sqlx::query(sql)
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(|row| {
            Ok(Choice {
                slug: row.try_get("slug")?,
                name: row.try_get("name")?,
            })
        })
        .collect()
}

/// Relevance is scored exactly over the newest this-many text matches. A word that
/// matches more of the library (a million images, one common word: 80,000 matches) has
/// those newest matches ranked first and the older ones after them, newest first, so a
/// search costs the same however common its words are. Ranking is exact below it.
pub const RANKED_WINDOW: i64 = 2000;
/// A word of four letters or more that starts more known words than this is searched as
/// a plain prefix rather than as the list of those words.
const MAX_EXPANSIONS: usize = 16;

/// A value bound to a numbered placeholder.
#[derive(Clone, Debug)]
enum Bound {
    Text(String),
    Int(i64),
}

/// The FROM and WHERE of a search, with the values their placeholders stand for.
struct Selection {
    from: &'static str,
    /// Plain predicates on `images` (and `c`, the contributor): visibility and filters.
    conditions: Vec<String>,
    binds: Vec<Bound>,
    /// When the search has words: the condition that matches them (and the filters'
    /// facet token) in the index.
    text: Option<TextMatch>,
}

struct TextMatch {
    condition: String,
    /// How many of the first placeholders the condition uses.
    binds: usize,
}

impl Selection {
    /// Binds a value and returns its placeholder.
    fn bind(&mut self, value: Bound) -> String {
        self.binds.push(value);
        format!("${}", self.binds.len())
    }

    fn statement<'q>(
        &self,
        sql: &'q str,
        extra: Option<i64>,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
        bound(sql, self.binds.iter().cloned().chain(extra.map(Bound::Int)))
    }

    /// Ids of matching images in `order`, optionally limited to text matches at or above
    /// (`Some((boundary, true))`) or below (`Some((boundary, false))`) an image id.
    async fn ids(
        &self,
        db: &Database,
        window: Option<(i64, bool)>,
        order: &str,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<i64>, sqlx::Error> {
        let sql = format!(
            "SELECT i.id FROM {} WHERE {} ORDER BY {order} LIMIT {limit} OFFSET {offset}",
            self.from,
            self.where_clause(db.backend(), window)
        );
        self.statement(&sql, window.map(|(boundary, _)| boundary))
            .fetch_all(db.pool())
            .await?
            .iter()
            .map(|row| row.try_get(0))
            .collect()
    }

    /// How many matching images lie at or above (or below) a text-match boundary.
    async fn count(&self, db: &Database, window: (i64, bool)) -> Result<i64, sqlx::Error> {
        let sql = format!(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM {} WHERE {}",
            self.from,
            self.where_clause(db.backend(), Some(window))
        );
        self.statement(&sql, Some(window.0))
            .fetch_one(db.pool())
            .await?
            .try_get(0)
    }

    fn where_clause(&self, backend: Backend, window: Option<(i64, bool)>) -> String {
        let mut conditions: Vec<String> = self.text.iter().map(|text| text.condition.clone()).collect();
        conditions.extend(self.conditions.iter().cloned());
        if let Some((_, above)) = window {
            let comparison = if above { ">=" } else { "<" };
            conditions.push(format!("{} {comparison} ${}", text_id(backend), self.binds.len() + 1));
        }
        conditions.join(" AND ")
    }
}

/// `sql` with `values` bound to its placeholders in order.
fn bound(
    sql: &str,
    values: impl Iterator<Item = Bound>,
) -> sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments<'_>> {
    values.fold(sqlx::query(sql), |statement, value| match value {
        Bound::Text(text) => statement.bind(text),
        Bound::Int(number) => statement.bind(number),
    })
}

/// The column that numbers text matches in index order: the image id on both backends,
/// which is also publication order (`ingest` dates an image when it adds it; see
/// [`Sort::Newest`]).
fn text_id(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "image_search.rowid",
        Backend::Postgres => "s.image_id",
    }
}

/// `ORDER BY` for text matches newest first: the index's own order, backwards.
fn newest_matches_first(backend: Backend) -> String {
    format!("{} DESC", text_id(backend))
}

/// One FTS5 word: known whole words for a word of four letters or more (FTS5 reads a
/// prefix that long by merging every matching word's list before it can return the first
/// row; a handful of listed words streams in id order and stops early), otherwise a
/// prefix (the 2- and 3-letter prefixes have their own index) or, for one letter, the
/// letter itself.
fn fts5_word(word: &str, known: Option<&[String]>) -> String {
    let quote = |word: &str| format!("\"{}\"", word.replace('"', "\"\""));
    match known {
        Some(known) if !known.is_empty() => {
            let listed: Vec<String> = known.iter().map(|term| quote(term)).collect();
            format!("({})", listed.join(" OR "))
        }
        _ if word.chars().count() >= 2 => quote(word) + "*",
        _ => quote(word),
    }
}

/// Known words starting with `word`, when it has four letters or more, is plain ASCII (so
/// it compares with the vocabulary's folded words byte for byte) and starts at most
/// [`MAX_EXPANSIONS`] of them.
async fn known_words_starting(db: &Database, word: &str) -> Result<Option<Vec<String>>, sqlx::Error> {
    if word.chars().count() < 4 || !word.is_ascii() {
        return Ok(None);
    }
    let terms: Vec<String> =
        sqlx::query_scalar("SELECT term FROM search_terms WHERE term >= $1 AND term < $2 ORDER BY term LIMIT $3")
            .bind(word)
            .bind(format!("{word}\u{10FFFF}"))
            .bind(MAX_EXPANSIONS as i64 + 1)
            .fetch_all(db.pool())
            .await?;
    Ok((!terms.is_empty() && terms.len() <= MAX_EXPANSIONS).then_some(terms))
}

/// FTS5: every word must match, as a prefix. The `AND` is spelled out: FTS5 accepts an
/// implicit one between phrases but not beside a parenthesised group.
async fn fts5_expression(db: &Database, words: &[String]) -> Result<String, sqlx::Error> {
    let mut parts = Vec::with_capacity(words.len());
    for word in words {
        let known = known_words_starting(db, word).await?;
        parts.push(fts5_word(word, known.as_deref()));
    }
    Ok(parts.join(" AND "))
}

/// PostgreSQL `to_tsquery`: every word must match, as a prefix.
fn tsquery_expression(words: &[String]) -> String {
    words
        .iter()
        .map(|word| format!("'{}':*", word.replace('\'', "''")))
        .collect::<Vec<_>>()
        .join(" & ")
}

/// The id behind a contributor's or category's slug.
async fn id_of(db: &Database, table: &str, slug: &str) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(&format!("SELECT id FROM {table} WHERE slug = $1"))
        .bind(slug)
        .fetch_optional(db.pool())
        .await
}

/// What a search's filters ask of the index.
enum Filters {
    None,
    /// The facet token every result carries.
    Token(String),
    /// A filter names a contributor or category that does not exist.
    Unknown,
}

async fn filters(db: &Database, query: &Query) -> Result<Filters, sqlx::Error> {
    let mut ids = [None, None];
    for (slot, (slug, table)) in ids
        .iter_mut()
        .zip([(&query.category, "categories"), (&query.contributor, "contributors")])
    {
        if let Some(slug) = slug {
            match id_of(db, table, slug).await? {
                Some(id) => *slot = Some(id),
                None => return Ok(Filters::Unknown),
            }
        }
    }
    let token = facets::query_token(query.orientation.as_deref(), ids[0], ids[1], query.color.as_deref());
    Ok(token.map_or(Filters::None, Filters::Token))
}

/// The text match and the filters of a search, as SQL; `None` when a filter names a
/// contributor or category that does not exist, so nothing can match.
async fn selection(db: &Database, query: &Query, words: &[String]) -> Result<Option<Selection>, sqlx::Error> {
    let mut selection = Selection {
        from: "images i JOIN contributors c ON c.id = i.contributor_id",
        conditions: vec!["i.visibility = 'public'".to_owned()],
        binds: Vec::new(),
        text: None,
    };
    if !words.is_empty() {
        // With words, the filters are a facet token the index matches with them, so the
        // index hands over only images that pass both.
        let token = match filters(db, query).await? {
            Filters::None => None,
            Filters::Token(token) => Some(token),
            Filters::Unknown => return Ok(None),
        };
        let (from, condition) = match db.backend() {
            // The FTS table keeps its own name (no alias): MATCH and rank refer to it.
            Backend::Sqlite => {
                let mut expression = fts5_expression(db, words).await?;
                if let Some(token) = &token {
                    expression = format!("({expression}) AND \"{token}\"");
                }
                selection.bind(Bound::Text(expression));
                (
                    "image_search JOIN images i ON i.id = image_search.rowid JOIN contributors c ON c.id = i.contributor_id",
                    "image_search MATCH $1".to_owned(),
                )
            }
            // `$1` is the words alone (relevance scores them); the facet is a lexeme as
            // stored, cast rather than parsed, which would split it at the mark.
            Backend::Postgres => {
                selection.bind(Bound::Text(tsquery_expression(words)));
                let condition = match &token {
                    Some(token) => {
                        selection.bind(Bound::Text(format!("'{token}'")));
                        "s.document @@ (to_tsquery('simple', $1) && CAST($2 AS tsquery))".to_owned()
                    }
                    None => "s.document @@ to_tsquery('simple', $1)".to_owned(),
                };
                (
                    "image_search s JOIN images i ON i.id = s.image_id JOIN contributors c ON c.id = i.contributor_id",
                    condition,
                )
            }
        };
        selection.from = from;
        selection.text = Some(TextMatch {
            condition,
            binds: selection.binds.len(),
        });
    }
    // The filters stay plain predicates too: they cost nothing beside the token (only
    // images carrying it reach them) and they are all a search without words has.
    for (value, column) in [
        (&query.orientation, "i.orientation"),
        (&query.contributor, "c.slug"),
        (&query.color, "i.color_family"),
    ] {
        if let Some(value) = value {
            let placeholder = selection.bind(Bound::Text(value.clone()));
            selection.conditions.push(format!("{column} = {placeholder}"));
        }
    }
    if let Some(category) = &query.category {
        let placeholder = selection.bind(Bound::Text(category.clone()));
        selection.conditions.push(format!(
            "i.category_id = (SELECT k.id FROM categories k WHERE k.slug = {placeholder})"
        ));
    }
    Ok(Some(selection))
}

/// Relevance on SQLite: BM25 with the column weights of the index's `rank` setting (title,
/// tags, names, description; facets weigh nothing; migrations/sqlite/
/// 20261204000001_search_facets.sql), through `atelier_rank` rather than `bm25()` so that a
/// filter's facet token costs no walk of its whole posting list
/// (platform::search_rank). Lower is better, as with `bm25()`.
const SQLITE_SCORE: &str = "atelier_rank(image_search, 10.0, 5.0, 3.0, 1.0, 0.0)";

/// One page of the ranked window: walks the newest text matches once, up to
/// [`RANKED_WINDOW`] of them, scoring each as it passes, and keeps those that pass the
/// filters, best score first (ties: newest first).
async fn window_page(
    db: &Database,
    selection: &Selection,
    text: &TextMatch,
    offset: i64,
    limit: i64,
) -> Result<Vec<i64>, sqlx::Error> {
    let (window, join, score) = match db.backend() {
        // FTS5 scores a row while it walks it: the score is taken inside the window.
        Backend::Sqlite => (
            format!(
                "SELECT image_search.rowid AS text_id, {SQLITE_SCORE} AS score FROM image_search \
                 WHERE {} ORDER BY image_search.rowid DESC LIMIT {RANKED_WINDOW}",
                text.condition
            ),
            "images i ON i.id = w.text_id",
            "w.score",
        ),
        // PostgreSQL would score every match before it sorts them by id: the window holds
        // ids only and the page's candidates are scored after.
        Backend::Postgres => (
            format!(
                "SELECT s.image_id AS text_id FROM image_search s WHERE {} \
                 ORDER BY s.image_id DESC LIMIT {RANKED_WINDOW}",
                text.condition
            ),
            "image_search s ON s.image_id = w.text_id JOIN images i ON i.id = w.text_id",
            "-ts_rank_cd(s.document, to_tsquery('simple', $1))",
        ),
    };
    let sql = format!(
        "WITH w AS ({window}) \
         SELECT i.id FROM w JOIN {join} JOIN contributors c ON c.id = i.contributor_id \
         WHERE {} ORDER BY {score}, w.text_id DESC LIMIT {limit} OFFSET {offset}",
        selection.conditions.join(" AND ")
    );
    selection
        .statement(&sql, None)
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(|row| row.try_get(0))
        .collect()
}

/// Walks the newest text matches, up to the window's size, without scoring them, and
/// returns the text-match number of the window's oldest when the window is full (`None`
/// when it held every match, so all of them were ranked).
async fn full_window_edge(db: &Database, selection: &Selection, text: &TextMatch) -> Result<Option<i64>, sqlx::Error> {
    let (from, id) = match db.backend() {
        Backend::Sqlite => ("image_search", "image_search.rowid"),
        Backend::Postgres => ("image_search s", "s.image_id"),
    };
    let sql = format!(
        "SELECT CAST(COUNT(*) AS BIGINT), MIN(w.text_id) FROM \
         (SELECT {id} AS text_id FROM {from} WHERE {} ORDER BY {id} DESC LIMIT {RANKED_WINDOW}) w",
        text.condition
    );
    let row = bound(&sql, selection.binds[..text.binds].iter().cloned())
        .fetch_one(db.pool())
        .await?;
    let (count, oldest): (i64, Option<i64>) = (row.try_get(0)?, row.try_get(1)?);
    Ok(oldest.filter(|_| count == RANKED_WINDOW))
}

/// Ids of one page in relevance order: the matches within the ranked window by score,
/// then the older ones newest first.
async fn ranked_ids(db: &Database, selection: &Selection, offset: i64, limit: i64) -> Result<Vec<i64>, sqlx::Error> {
    let Some(text) = &selection.text else {
        return selection.ids(db, None, order_by(Sort::Newest), offset, limit).await;
    };
    let mut ids = window_page(db, selection, text, offset, limit).await?;
    let missing = limit - ids.len() as i64;
    if missing == 0 {
        return Ok(ids);
    }
    if ids.is_empty() && offset == 0 {
        // Every match in the window passes the conditions (the index holds public images
        // only, and each filter is also a facet token of the match), so an empty first
        // page means nothing matched: no second walk (most searches that find nothing).
        return Ok(ids);
    }
    // A short page: the window either held every match or ran out on this page. Only now
    // is its edge worth a walk (a walk without scores, cheaper than the ranked one).
    let Some(boundary) = full_window_edge(db, selection, text).await? else {
        return Ok(ids);
    };
    // The older matches continue the page, from an offset that depends on how many of the
    // window's matches passed the filters: one more walk over the window.
    let ranked = selection.count(db, (boundary, true)).await?;
    let older = selection
        .ids(
            db,
            Some((boundary, false)),
            &newest_matches_first(db.backend()),
            (offset - ranked).max(0),
            missing,
        )
        .await?;
    ids.extend(older);
    Ok(ids)
}

/// The card rows of `ids`, in the order given.
async fn cards_in_order(db: &Database, ids: &[i64]) -> Result<Vec<AnyRow>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders: Vec<String> = (1..=ids.len()).map(|n| format!("${n}")).collect();
    let sql = format!(
        "SELECT i.id AS card_id, {CARD_COLUMNS} FROM images i JOIN contributors c ON c.id = i.contributor_id \
         WHERE i.id IN ({})",
        placeholders.join(", ")
    );
    let mut statement = sqlx::query(&sql);
    for id in ids {
        statement = statement.bind(*id);
    }
    let mut rows = statement.fetch_all(db.pool()).await?;
    let position = |row: &AnyRow| {
        let id: i64 = row.try_get("card_id").unwrap_or_default();
        ids.iter().position(|wanted| *wanted == id)
    };
    rows.sort_by_key(position);
    Ok(rows)
}

/// One page of public images matching `words` (all of them) and the query's filters. Ids
/// come first and the cards after, so the card columns are built for one page only.
async fn matching(db: &Database, query: &Query, words: &[String]) -> Result<ImagePage, sqlx::Error> {
    let Some(selection) = selection(db, query, words).await? else {
        return into_page(&[], query.page);
    };
    let (offset, limit) = (offset_of(query.page), i64::from(PAGE_SIZE) + 1);
    let ids = match query.sort {
        Sort::Relevance => ranked_ids(db, &selection, offset, limit).await?,
        // Ids follow publication (see `Sort::Newest`), so newest first is the index's own
        // order backwards: FTS5 stops after the page instead of sorting every match by date,
        // and PostgreSQL sorts the matches' ids without reading `images` for their dates.
        Sort::Newest if selection.text.is_some() => {
            selection
                .ids(db, None, &newest_matches_first(db.backend()), offset, limit)
                .await?
        }
        sort => selection.ids(db, None, order_by(sort), offset, limit).await?,
    };
    into_page(&cards_in_order(db, &ids).await?, query.page)
}

/// The title split into runs, `true` where a word starts with one of the searched words.
pub fn title_marks(title: &str, words: &[String]) -> Vec<(String, bool)> {
    if words.is_empty() {
        return Vec::new();
    }
    let mut runs: Vec<(String, bool)> = Vec::new();
    let mut push = |text: &str, marked: bool| match runs.last_mut() {
        Some((last, last_marked)) if *last_marked == marked => last.push_str(text),
        _ => runs.push((text.to_owned(), marked)),
    };
    let mut rest = title;
    while !rest.is_empty() {
        let word_len = rest
            .char_indices()
            .find(|(_, c)| !c.is_alphanumeric())
            .map_or(rest.len(), |(i, _)| i);
        if word_len == 0 {
            let gap = rest
                .char_indices()
                .find(|(_, c)| c.is_alphanumeric())
                .map_or(rest.len(), |(i, _)| i);
            push(&rest[..gap], false);
            rest = &rest[gap..];
            continue;
        }
        let word = &rest[..word_len];
        let lower = word.to_lowercase();
        push(word, words.iter().any(|searched| lower.starts_with(searched.as_str())));
        rest = &rest[word_len..];
    }
    if runs.iter().any(|(_, marked)| *marked) {
        runs
    } else {
        Vec::new()
    }
}

/// How many spellings of a query "did you mean" tries, nearest first.
const MAX_CORRECTIONS: usize = 3;

/// Better words for a query that found nothing, best first (at most
/// [`MAX_CORRECTIONS`]; none when every word is known): each word of three letters or more
/// that is not the start of any known word is replaced by a near known word (one edit for
/// short words, two for longer ones; a typo inside a half-typed word counts too). The
/// first spelling takes each word's nearest, the next its second nearest, and so on.
async fn corrections(db: &Database, words: &[String]) -> Result<Vec<Vec<String>>, sqlx::Error> {
    let mut options: Vec<Vec<String>> = Vec::with_capacity(words.len());
    for word in words {
        let length = word.chars().count();
        if length < MIN_TERM_CHARS {
            options.push(vec![word.clone()]);
            continue;
        }
        // A range of the vocabulary's index, not a scan of it (as in known_words_starting).
        let known: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM search_terms WHERE term >= $1 AND term < $2 LIMIT 1")
                .bind(word)
                .bind(format!("{word}\u{10FFFF}"))
                .fetch_optional(db.pool())
                .await?;
        if known.is_some() {
            options.push(vec![word.clone()]);
            continue;
        }
        let candidates: Vec<String> =
            sqlx::query_scalar("SELECT term FROM search_terms WHERE LENGTH(term) BETWEEN $1 AND $2 LIMIT 50000")
                .bind(length.saturating_sub(2) as i64)
                .bind((length + 12) as i64)
                .fetch_all(db.pool())
                .await?;
        let near = nearest(word, &candidates);
        options.push(if near.is_empty() { vec![word.clone()] } else { near });
    }
    let spellings = options.iter().map(Vec::len).max().unwrap_or(0);
    if spellings == 0
        || options
            .iter()
            .zip(words)
            .all(|(near, word)| near == std::slice::from_ref(word))
    {
        return Ok(Vec::new());
    }
    Ok((0..spellings)
        .map(|k| options.iter().map(|near| near[k.min(near.len() - 1)].clone()).collect())
        .collect())
}

/// Up to [`MAX_CORRECTIONS`] candidates closest to `word` within the allowed edits, nearest
/// first, comparing both the whole candidate and its beginning (for a half-typed word);
/// ties go to the closer length, then alphabetical order.
fn nearest(word: &str, candidates: &[String]) -> Vec<String> {
    let length = word.chars().count();
    let allowed = if length <= 4 { 1 } else { 2 };
    let mut near: Vec<_> = candidates
        .iter()
        .filter_map(|term| {
            let whole = strsim::damerau_levenshtein(word, term);
            let start: String = term.chars().take(length).collect();
            let partial = strsim::damerau_levenshtein(word, &start);
            let distance = whole.min(partial);
            (distance <= allowed).then(|| (distance, term.chars().count().abs_diff(length), term))
        })
        .collect();
    near.sort();
    near.into_iter()
        .take(MAX_CORRECTIONS)
        .map(|(_, _, term)| term.clone())
        .collect()
}

/// The colour family of a `#rrggbb` colour, as the colour filter names it.
pub fn color_family(hex: &str) -> &'static str {
    let hex = hex.trim_start_matches('#');
    let channel = |i: usize| {
        hex.get(i..i + 2)
            .and_then(|c| u8::from_str_radix(c, 16).ok())
            .map_or(0.0, |c| f32::from(c) / 255.0)
    };
    let (r, g, b) = (channel(0), channel(2), channel(4));
    let max = r.max(g).max(b);
    let min = r.min(g).min(b);
    let lightness = (max + min) / 2.0;
    let delta = max - min;
    if lightness < 0.12 {
        return "black";
    }
    if lightness > 0.92 {
        return "white";
    }
    let saturation = if delta == 0.0 {
        0.0
    } else {
        delta / (1.0 - (2.0 * lightness - 1.0).abs())
    };
    if saturation < 0.15 {
        return if lightness < 0.2 { "black" } else { "gray" };
    }
    let hue = if delta == 0.0 {
        0.0
    } else if max == r {
        60.0 * (((g - b) / delta).rem_euclid(6.0))
    } else if max == g {
        60.0 * ((b - r) / delta + 2.0)
    } else {
        60.0 * ((r - g) / delta + 4.0)
    };
    match hue {
        h if !(15.0..345.0).contains(&h) => "red",
        h if h < 45.0 && lightness < 0.4 => "brown",
        h if h < 45.0 => "orange",
        h if h < 68.0 => "yellow",
        h if h < 160.0 => "green",
        h if h < 195.0 => "teal",
        h if h < 255.0 => "blue",
        h if h < 290.0 => "purple",
        _ => "pink",
    }
}

/// (Re)writes one image's search document and adds its words to the vocabulary, or removes
/// it when the image is not public: the index holds public images only. Runs in the
/// caller's transaction, so an image is never in the library without its document. Any
/// code that changes an image's visibility or facets must call it.
pub async fn index_image(conn: &mut AnyConnection, backend: Backend, image_id: i64) -> Result<(), sqlx::Error> {
    let row = sqlx::query(
        "SELECT i.title, i.description, i.orientation, i.category_id, i.contributor_id, i.color_family, i.visibility, \
                c.name AS contributor_name, c.style, k.name AS category_name \
         FROM images i JOIN contributors c ON c.id = i.contributor_id LEFT JOIN categories k ON k.id = i.category_id \
         WHERE i.id = $1",
    )
    .bind(image_id)
    .fetch_one(&mut *conn)
    .await?;
    if row.try_get::<String, _>("visibility")? != "public" {
        // The index holds public images only (`ranked_ids` relies on it).
        let unindex = match backend {
            Backend::Sqlite => "DELETE FROM image_search WHERE rowid = $1",
            Backend::Postgres => "DELETE FROM image_search WHERE image_id = $1",
        };
        sqlx::query(unindex).bind(image_id).execute(&mut *conn).await?;
        return Ok(());
    }
    let tags: Vec<String> = sqlx::query_scalar("SELECT tag FROM image_tags WHERE image_id = $1 ORDER BY tag")
        .bind(image_id)
        .fetch_all(&mut *conn)
        .await?;
    let title: String = row.try_get("title")?;
    let description: String = row.try_get("description")?;
    let tags = tags.join(" ");
    let names = format!(
        "{} {} {}",
        row.try_get::<String, _>("contributor_name")?,
        row.try_get::<String, _>("style")?,
        row.try_get::<Option<String>, _>("category_name")?.unwrap_or_default()
    );
    let (orientation, color): (String, String) = (row.try_get("orientation")?, row.try_get("color_family")?);
    let facet_tokens = facets::document_tokens(&ImageFacets {
        orientation: &orientation,
        category: row.try_get("category_id")?,
        contributor: row.try_get("contributor_id")?,
        color: &color,
    });
    match backend {
        Backend::Sqlite => {
            sqlx::query("DELETE FROM image_search WHERE rowid = $1")
                .bind(image_id)
                .execute(&mut *conn)
                .await?;
            sqlx::query(
                "INSERT INTO image_search (rowid, title, tags, names, description, facets) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(image_id)
            .bind(&title)
            .bind(&tags)
            .bind(&names)
            .bind(&description)
            .bind(facet_tokens.join(" "))
            .execute(&mut *conn)
            .await?;
        }
        Backend::Postgres => {
            sqlx::query(
                "INSERT INTO image_search (image_id, document) VALUES ($1, \
                   setweight(to_tsvector('simple', $2), 'A') || setweight(to_tsvector('simple', $3), 'B') || \
                   setweight(to_tsvector('simple', $4), 'C') || setweight(to_tsvector('simple', $5), 'D') || \
                   array_to_tsvector(string_to_array($6, ' '))) \
                 ON CONFLICT (image_id) DO UPDATE SET document = EXCLUDED.document",
            )
            .bind(image_id)
            .bind(&title)
            .bind(&tags)
            .bind(&names)
            .bind(&description)
            .bind(facet_tokens.join(" "))
            .execute(&mut *conn)
            .await?;
        }
    }
    let mut vocabulary = BTreeSet::new();
    for text in [&title, &tags, &names, &description] {
        add_words(&mut vocabulary, text);
    }
    store_vocabulary(conn, &vocabulary).await
}

/// Adds a text's words that are worth correcting to (3–40 characters) to a vocabulary,
/// each also without its accents ("café" and "cafe"), the form FTS5 indexes: a word that
/// starts "cafe" must find the images that say "café".
fn add_words(vocabulary: &mut BTreeSet<String>, text: &str) {
    for word in words(text) {
        if !(MIN_TERM_CHARS..=MAX_TERM_CHARS).contains(&word.chars().count()) {
            continue;
        }
        let folded = without_accents(&word);
        if folded != word {
            vocabulary.insert(folded);
        }
        vocabulary.insert(word);
    }
}

/// A word without combining accents, as FTS5's `remove_diacritics` tokenizer keeps it.
fn without_accents(word: &str) -> String {
    use unicode_normalization::{char::is_combining_mark, UnicodeNormalization};
    word.nfd().filter(|c| !is_combining_mark(*c)).nfc().collect()
}

/// Records words in `search_terms`, 500 to a statement; known words are skipped.
async fn store_vocabulary(conn: &mut AnyConnection, vocabulary: &BTreeSet<String>) -> Result<(), sqlx::Error> {
    let words: Vec<&String> = vocabulary.iter().collect();
    for chunk in words.chunks(500) {
        let placeholders: Vec<String> = (1..=chunk.len()).map(|n| format!("(${n})")).collect();
        let sql = format!(
            "INSERT INTO search_terms (term) VALUES {} ON CONFLICT (term) DO NOTHING",
            placeholders.join(", ")
        );
        let mut statement = sqlx::query(&sql);
        for word in chunk {
            statement = statement.bind(*word);
        }
        statement.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Brings search up to date at start: colour families and documents for images added
/// before search existed (or by a bulk load). Returns how many images it touched.
pub async fn catch_up(db: &Database) -> Result<u64, sqlx::Error> {
    let uncoloured = sqlx::query("SELECT id, dominant_color FROM images WHERE color_family = ''")
        .fetch_all(db.pool())
        .await?;
    let mut touched = 0;
    for chunk in uncoloured.chunks(500) {
        let mut tx = db.pool().begin().await?;
        for row in chunk {
            sqlx::query("UPDATE images SET color_family = $1 WHERE id = $2")
                .bind(color_family(&row.try_get::<String, _>("dominant_color")?))
                .bind(row.try_get::<i64, _>("id")?)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        touched += chunk.len() as u64;
    }
    // Documents of images hidden behind the index's back (by hand, or before the index
    // held public images only) go.
    let hidden = match db.backend() {
        Backend::Sqlite => {
            "DELETE FROM image_search WHERE rowid IN (SELECT id FROM images WHERE visibility <> 'public')"
        }
        Backend::Postgres => {
            "DELETE FROM image_search WHERE image_id IN (SELECT id FROM images WHERE visibility <> 'public')"
        }
    };
    touched += sqlx::query(hidden).execute(db.pool()).await?.rows_affected();
    touched += index_missing(db).await?;
    Ok(touched)
}

/// Indexes every image without a search document in one set-based statement per backend
/// (fast enough for a million rows), after adding their words to the vocabulary.
async fn index_missing(db: &Database) -> Result<u64, sqlx::Error> {
    // Public images only (see `index_image`).
    let unindexed = match db.backend() {
        Backend::Sqlite => "i.visibility = 'public' AND NOT EXISTS (SELECT 1 FROM image_search s WHERE s.rowid = i.id)",
        Backend::Postgres => {
            "i.visibility = 'public' AND NOT EXISTS (SELECT 1 FROM image_search s WHERE s.image_id = i.id)"
        }
    };
    let mut vocabulary = BTreeSet::new();
    let (mut after, mut missing) = (0_i64, 0_u64);
    loop {
        let rows = sqlx::query(&format!(
            "SELECT i.id, i.title, i.description FROM images i WHERE {unindexed} AND i.id > $1 ORDER BY i.id LIMIT 5000"
        ))
        .bind(after)
        .fetch_all(db.pool())
        .await?;
        let Some(last) = rows.last() else { break };
        after = last.try_get("id")?;
        missing += rows.len() as u64;
        for row in &rows {
            add_words(&mut vocabulary, &row.try_get::<String, _>("title")?);
            add_words(&mut vocabulary, &row.try_get::<String, _>("description")?);
        }
    }
    if missing == 0 {
        return Ok(0);
    }
    for sql in [
        "SELECT DISTINCT tag AS text FROM image_tags",
        "SELECT name || ' ' || style AS text FROM contributors",
        "SELECT name AS text FROM categories",
    ] {
        for text in sqlx::query_scalar::<_, String>(sql).fetch_all(db.pool()).await? {
            add_words(&mut vocabulary, &text);
        }
    }
    let mut tx = db.pool().begin().await?;
    store_vocabulary(&mut tx, &vocabulary).await?;
    let names = "c.name || ' ' || c.style || ' ' || COALESCE(k.name, '')";
    let facet_tokens = facets::document_token_sql();
    let sources =
        "FROM images i JOIN contributors c ON c.id = i.contributor_id LEFT JOIN categories k ON k.id = i.category_id";
    let sql = match db.backend() {
        Backend::Sqlite => format!(
            "INSERT INTO image_search (rowid, title, tags, names, description, facets) \
             SELECT i.id, i.title, COALESCE((SELECT group_concat(t.tag, ' ') FROM image_tags t WHERE t.image_id = i.id), ''), \
                    {names}, i.description, {} {sources} WHERE {unindexed}",
            facet_tokens.join(" || ' ' || ")
        ),
        Backend::Postgres => format!(
            "INSERT INTO image_search (image_id, document) \
             SELECT i.id, setweight(to_tsvector('simple', i.title), 'A') || \
                    setweight(to_tsvector('simple', COALESCE((SELECT string_agg(t.tag, ' ') FROM image_tags t WHERE t.image_id = i.id), '')), 'B') || \
                    setweight(to_tsvector('simple', {names}), 'C') || setweight(to_tsvector('simple', i.description), 'D') || \
                    array_to_tsvector(ARRAY[{}]) \
             {sources} WHERE {unindexed}",
            facet_tokens.join(", ")
        ),
    };
    sqlx::query(&sql).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(missing)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(q: &str) -> SearchRequest {
        SearchRequest {
            q: q.into(),
            page: 1,
            ..SearchRequest::default()
        }
    }

    #[test]
    fn words_split_on_anything_but_letters_and_digits() {
        assert_eq!(
            words("Sun-set over  Mer, 2026!"),
            vec!["sun", "set", "over", "mer", "2026"]
        );
        assert_eq!(words("  "), Vec::<String>::new());
    }

    #[test]
    fn expressions_match_every_word_as_a_prefix() {
        assert_eq!(fts5_word("sun", None), "\"sun\"*");
        assert_eq!(fts5_word("a", None), "\"a\"");
        assert_eq!(fts5_word("qu\"ote", None), "\"qu\"\"ote\"*");
        let known = ["aurora".to_owned(), "auroras".to_owned()];
        assert_eq!(
            fts5_word("auro", Some(&known)),
            "(\"aurora\" OR \"auroras\")",
            "a long prefix becomes the known words it starts"
        );
        assert_eq!(fts5_word("auro", Some(&[])), "\"auro\"*");
        let words = vec!["sun".to_owned(), "a".to_owned()];
        assert_eq!(tsquery_expression(&words), "'sun':* & 'a':*");
    }

    #[test]
    fn queries_are_checked_field_by_field() {
        assert_eq!(Query::parse(&request("aurora")).unwrap().sort, Sort::Relevance);
        assert_eq!(
            Query::parse(&request("")).unwrap().sort,
            Sort::Newest,
            "nothing to rank"
        );
        let long = request(&"x".repeat(MAX_QUERY_CHARS + 1));
        assert_eq!(Query::parse(&long).unwrap_err().field, "q");
        for (field, bad) in [
            (
                "orientation",
                SearchRequest {
                    orientation: "diagonal".into(),
                    ..request("")
                },
            ),
            (
                "color",
                SearchRequest {
                    color: "octarine".into(),
                    ..request("")
                },
            ),
            (
                "sort",
                SearchRequest {
                    sort: "random".into(),
                    ..request("")
                },
            ),
            (
                "contributor",
                SearchRequest {
                    contributor: "Bad Slug".into(),
                    ..request("")
                },
            ),
            (
                "category",
                SearchRequest {
                    category: "../x".into(),
                    ..request("")
                },
            ),
            ("page", SearchRequest { page: 0, ..request("") }),
            (
                "page",
                SearchRequest {
                    page: MAX_PAGE + 1,
                    ..request("")
                },
            ),
        ] {
            assert_eq!(Query::parse(&bad).unwrap_err().field, field);
        }
        let many = request("a b c d e f g h i j");
        assert_eq!(Query::parse(&many).unwrap().words.len(), MAX_WORDS);
    }

    #[test]
    fn the_vocabulary_keeps_words_with_and_without_accents() {
        let mut vocabulary = BTreeSet::new();
        add_words(&mut vocabulary, "Café Øresund at dusk");
        let words: Vec<&str> = vocabulary.iter().map(String::as_str).collect();
        assert_eq!(words, vec!["cafe", "café", "dusk", "øresund"]);
    }

    #[test]
    fn matched_words_are_marked_in_titles() {
        let words = vec!["sun".to_owned()];
        assert_eq!(
            title_marks("Sunset over the sundial", &words),
            vec![
                ("Sunset".to_owned(), true),
                (" over the ".to_owned(), false),
                ("sundial".to_owned(), true)
            ]
        );
        assert!(
            title_marks("Moonrise", &words).is_empty(),
            "no runs when nothing matched"
        );
    }

    #[test]
    fn typos_are_corrected_to_the_nearest_known_word() {
        let known: Vec<String> = ["mountain", "mountains", "aurora", "amber", "ember"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let first = |word: &str| nearest(word, &known).into_iter().next();
        assert_eq!(first("moutnain").as_deref(), Some("mountain"));
        assert_eq!(first("auorra").as_deref(), Some("aurora"));
        assert_eq!(first("moutn").as_deref(), Some("mountain"), "half-typed with a typo");
        assert_eq!(nearest("zzzz", &known), Vec::<String>::new());
        assert_eq!(first("amber").as_deref(), Some("amber"));
        assert_eq!(nearest("moutnain", &known), ["mountain", "mountains"], "nearest first");
    }

    #[test]
    fn equally_near_words_are_ranked_by_length_then_alphabet() {
        let known: Vec<String> = ["noon", "mono", "none", "nonsense", "no"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        // "nonsense" is near through its beginning ("nons"), but longer.
        assert_eq!(nearest("nono", &known), ["mono", "none", "noon"]);
    }

    #[test]
    fn colours_fall_into_families() {
        assert_eq!(color_family("#d62828"), "red");
        assert_eq!(color_family("#f77f00"), "orange");
        assert_eq!(color_family("#fcbf49"), "orange", "amber leans orange");
        assert_eq!(color_family("#facc15"), "yellow");
        assert_eq!(color_family("#2a9d8f"), "teal");
        assert_eq!(color_family("#1d4ed8"), "blue");
        assert_eq!(color_family("#6d28d9"), "purple");
        assert_eq!(color_family("#ec4899"), "pink");
        assert_eq!(color_family("#15803d"), "green");
        assert_eq!(color_family("#6b4423"), "brown");
        assert_eq!(color_family("#050505"), "black");
        assert_eq!(color_family("#fafafa"), "white");
        assert_eq!(color_family("#777777"), "gray");
    }
}
