//! Library search input: `Query::parse` checks every field of a `/search` request without
//! panicking, keeps only what it promises, and `title_marks` never loses or adds a character.
//! Input: lines q, orientation, contributor, category, color, sort, page, then a title.
#![no_main]

use app::features::library::{
    search::{title_marks, words, Query, MAX_WORDS},
    SearchRequest, Sort, COLOR_FAMILIES, MAX_PAGE, MAX_QUERY_CHARS, ORIENTATIONS,
};
use libfuzzer_sys::fuzz_target;

const FIELDS: [&str; 7] = ["q", "orientation", "contributor", "category", "color", "sort", "page"];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut lines = text.split('\n');
    let mut next = || lines.next().unwrap_or_default().to_owned();
    let request = SearchRequest {
        q: next(),
        orientation: next(),
        contributor: next(),
        category: next(),
        color: next(),
        sort: next(),
        page: next().parse().unwrap_or(1),
    };
    let title = next();

    let all_words = words(&request.q);
    for word in &all_words {
        assert!(!word.is_empty(), "{all_words:?}");
        assert_eq!(&word.to_lowercase(), word, "words are lower-cased");
    }

    match Query::parse(&request) {
        Ok(query) => {
            assert!(request.q.trim().chars().count() <= MAX_QUERY_CHARS);
            assert_eq!(query.words, all_words[..all_words.len().min(MAX_WORDS)]);
            assert!((1..=MAX_PAGE).contains(&query.page));
            assert!(
                !(query.words.is_empty() && query.sort == Sort::Relevance),
                "nothing to rank"
            );
            if let Some(orientation) = &query.orientation {
                assert!(ORIENTATIONS.iter().any(|(known, _)| known == orientation));
            }
            if let Some(color) = &query.color {
                assert!(COLOR_FAMILIES.iter().any(|(known, _, _)| known == color));
            }
            // What `checked_slug` lets through: a plain slug, never empty.
            for slug in [&query.contributor, &query.category].into_iter().flatten() {
                assert!(!slug.is_empty());
                assert!(slug
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'));
            }
        }
        Err(rejected) => {
            assert!(FIELDS.contains(&rejected.field), "{rejected:?}");
            assert!(!rejected.message.is_empty());
        }
    }

    let marks = title_marks(&title, &all_words);
    if !marks.is_empty() {
        let joined: String = marks.iter().map(|(run, _)| run.as_str()).collect();
        assert_eq!(joined, title, "the runs are the title, cut up");
        assert!(
            marks.iter().any(|(_, marked)| *marked),
            "runs only when something matched"
        );
        assert!(
            marks.windows(2).all(|pair| pair[0].1 != pair[1].1),
            "neighbouring runs differ"
        );
        assert!(marks.iter().all(|(run, _)| !run.is_empty()));
    }
});
