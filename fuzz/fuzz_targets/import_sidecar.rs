//! `server import`'s sidecars: JSON and CSV parse without a panic, every error names the
//! sidecar, every row's file resolves only inside the folder, and a row that passes
//! normalising is trimmed, titled and has sorted, unique tags within the limit.
//! Input: a byte choosing JSON, CSV or a bare file name, then the text.
#![no_main]

use app::features::library::ingest::MAX_TAGS;
use libfuzzer_sys::fuzz_target;
use server::import::{inside, parse_rows};
use std::path::{Component, Path};

const DIR: &str = "/srv/import/incoming";

/// The sidecar's own file name check: anything it lets through stays under the folder.
fn check_inside(file: &str) {
    let dir = Path::new(DIR);
    if let Ok(path) = inside(dir, file) {
        assert!(path.starts_with(dir), "{file:?} -> {path:?}");
        assert!(
            !path.components().any(|c| matches!(c, Component::ParentDir)),
            "{file:?} -> {path:?}"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&choice, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let extension = match choice % 3 {
        0 => "json",
        1 => "csv",
        _ => return check_inside(text),
    };
    let label = format!("incoming/images.{extension}");
    let rows = match parse_rows(extension, text, &label) {
        Ok(rows) => rows,
        Err(error) => {
            assert!(error.to_string().starts_with(&label), "{error:#}");
            return;
        }
    };
    for row in rows {
        check_inside(&row.file);
        let Ok(meta) = row.meta.normalised() else { continue };
        for field in [&meta.title, &meta.alt_text, &meta.contributor] {
            assert!(!field.is_empty() && field.trim() == field.as_str(), "{field:?}");
        }
        assert!(meta.category.as_ref().is_none_or(|c| !c.is_empty()));
        assert!(meta.tags.len() <= MAX_TAGS);
        assert!(meta.tags.iter().all(|tag| !tag.is_empty()));
        assert!(meta.tags.windows(2).all(|pair| pair[0] < pair[1]), "{:?}", meta.tags);
    }
});
