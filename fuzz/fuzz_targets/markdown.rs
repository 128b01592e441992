//! Chat replies' Markdown: whatever a provider writes, the HTML holds only the elements and
//! attributes the renderer itself writes, and links go only to the web or to library images
//! that exist; raw HTML (`<script>`, `<iframe>`, `onerror=`, `javascript:`) is only ever text.
#![no_main]

use app::features::chat::markdown::{linked_photos, render};
use libfuzzer_sys::fuzz_target;
use std::collections::HashSet;

/// The attributes of each element pulldown-cmark writes (strikethrough and tables on).
fn attributes_of(element: &str) -> Option<&'static [&'static str]> {
    let attributes: &[&str] = match element {
        "a" => &["href", "title"],
        "code" => &["class"],
        "ol" => &["start"],
        "td" | "th" => &["style"],
        "blockquote" | "br" | "del" | "em" | "hr" | "li" | "p" | "pre" | "strong" | "table" | "tbody" | "thead"
        | "tr" | "ul" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => &[],
        _ => return None,
    };
    Some(attributes)
}

fn safe_href(value: &str, existing: &HashSet<String>) -> bool {
    let lower = value.to_ascii_lowercase();
    ["https://", "http://", "mailto:"]
        .iter()
        .any(|scheme| lower.starts_with(scheme))
        || value.strip_prefix("/photos/").is_some_and(|id| existing.contains(id))
}

/// One tag, `<>` left off. Text and values are escaped: every `<` opens a tag, no value has `"`.
fn check_tag(tag: &str, existing: &HashSet<String>) {
    let tag = tag.strip_prefix('/').unwrap_or(tag);
    let tag = tag.strip_suffix(" /").unwrap_or(tag);
    let (name, mut attributes) = tag.split_once(' ').unwrap_or((tag, ""));
    let Some(allowed) = attributes_of(name) else {
        panic!("<{name}> is not an element the renderer writes");
    };
    while !attributes.is_empty() {
        let (attribute, after) = attributes.split_once("=\"").expect("attribute values are quoted");
        let (value, after) = after.split_once('"').expect("attribute values are closed");
        assert!(allowed.contains(&attribute), "{attribute}= on <{name}>");
        assert!(attribute != "href" || safe_href(value, existing), "href=\"{value}\"");
        assert!(
            attribute != "class" || value.starts_with("language-"),
            "class=\"{value}\""
        );
        attributes = after.strip_prefix(' ').unwrap_or(after);
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(markdown) = std::str::from_utf8(data) else {
        return;
    };
    let linked = linked_photos(markdown);
    let plain = |id: &String| !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric());
    assert!(linked.iter().all(plain), "{linked:?}");
    // Every other linked image exists, so links to images both stay and go.
    let existing: HashSet<String> = linked.into_iter().step_by(2).collect();

    let html = render(markdown, &existing);
    let mut rest = html.as_str();
    while let Some(open) = rest.find('<') {
        assert!(!rest[..open].contains('>'), "text is escaped");
        let close = rest[open..].find('>').expect("every tag is closed") + open;
        check_tag(&rest[open + 1..close], &existing);
        rest = &rest[close + 1..];
    }
    assert!(!rest.contains('>'), "text is escaped");
    assert_eq!(
        html.matches("<a ").count(),
        html.matches("</a>").count(),
        "a kept link keeps its end tag"
    );
});
