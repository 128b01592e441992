//! The documentation follows the code: every setting the code reads (an `ATELIER_…` name in
//! the source of the app and the server) is in `.env.example` and in the README's
//! configuration table, and neither lists a setting the code does not read.

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
};

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_owned()
}

/// Every `"ATELIER_…"` string literal under `dir`.
fn names_in_source(dir: &Path, names: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            names_in_source(&path, names);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            for (start, _) in text.match_indices("\"ATELIER_") {
                let rest = &text[start + 1..];
                let end = rest.find(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'));
                if let Some(end) = end.filter(|end| rest[*end..].starts_with('"')) {
                    names.insert(rest[..end].to_owned());
                }
            }
        }
    }
}

/// `ATELIER_…` names in `text`, where `line` is a line that documents settings.
fn names_in(text: &str, documents: impl Fn(&str) -> bool) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for line in text.lines().filter(|line| documents(line)) {
        for (start, _) in line.match_indices("ATELIER_") {
            let rest = &line[start..];
            let end = rest
                .find(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
                .unwrap_or(rest.len());
            names.insert(rest[..end].to_owned());
        }
    }
    names
}

fn read_by_the_code() -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for dir in ["app/src", "server/src"] {
        names_in_source(&repository().join(dir), &mut names);
    }
    assert!(names.len() > 40, "the scan found the settings: {names:?}");
    names
}

#[test]
fn env_example_lists_every_setting_the_code_reads_and_no_other() {
    let text = std::fs::read_to_string(repository().join(".env.example")).unwrap();
    // A setting's own line: `NAME=value` or commented out as `# NAME=value`.
    let listed = names_in(&text, |line| {
        line.trim_start_matches(['#', ' ']).starts_with("ATELIER_") && line.contains('=')
    });
    let code = read_by_the_code();
    let missing: Vec<_> = code.difference(&listed).collect();
    let stale: Vec<_> = listed.difference(&code).collect();
    assert!(missing.is_empty(), ".env.example lacks {missing:?}");
    assert!(
        stale.is_empty(),
        ".env.example lists settings the code never reads: {stale:?}"
    );
}

#[test]
fn readme_configuration_table_lists_every_setting_the_code_reads_and_no_other() {
    let text = std::fs::read_to_string(repository().join("README.md")).unwrap();
    let table = text
        .split("## Configuration")
        .nth(1)
        .and_then(|section| section.split("\n## ").next())
        .expect("the README has a configuration section");
    // The table's first column; the test-only variables below the table are not settings.
    let first_cells: Vec<&str> = table
        .lines()
        .filter(|line| line.starts_with("| `"))
        .filter_map(|line| line.split(" | ").next())
        .collect();
    let listed = names_in(&first_cells.join("\n"), |_| true);
    let code = read_by_the_code();
    let missing: Vec<_> = code.difference(&listed).collect();
    let stale: Vec<_> = listed.difference(&code).collect();
    assert!(missing.is_empty(), "the README's configuration table lacks {missing:?}");
    assert!(
        stale.is_empty(),
        "the README's table lists settings the code never reads: {stale:?}"
    );
}
