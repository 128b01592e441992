//! Replies' Markdown rendered to safe HTML (pulldown-cmark): raw HTML is shown as text,
//! images are reduced to their description, and links survive only to the web (http,
//! https, mailto) or to library images that exist (`/photos/{id}`).

use pulldown_cmark::{html, Event, Options, Parser, Tag, TagEnd};
use std::collections::HashSet;

fn parser(markdown: &str) -> Parser<'_> {
    Parser::new_ext(markdown, Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TABLES)
}

/// The library image a link points at, if it is one of ours.
fn photo_id(destination: &str) -> Option<&str> {
    destination
        .strip_prefix("/photos/")
        .filter(|id| !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric()))
}

/// The image ids the reply links to, so the caller can look up which exist.
pub fn linked_photos(markdown: &str) -> Vec<String> {
    parser(markdown)
        .filter_map(|event| match event {
            Event::Start(Tag::Link { dest_url, .. }) => photo_id(&dest_url).map(str::to_owned),
            _ => None,
        })
        .collect()
}

fn web_link(destination: &str) -> bool {
    let lower = destination.to_ascii_lowercase();
    lower.starts_with("https://") || lower.starts_with("http://") || lower.starts_with("mailto:")
}

/// The reply as HTML; `existing` holds the linked image ids that are in the library.
pub fn render(markdown: &str, existing: &HashSet<String>) -> String {
    // For each open link: whether it was kept, so its end tag follows suit.
    let mut links: Vec<bool> = Vec::new();
    let events = parser(markdown).filter_map(|event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Some(Event::Text(raw)),
        Event::Start(Tag::Link { ref dest_url, .. }) => {
            let kept = web_link(dest_url) || photo_id(dest_url).is_some_and(|id| existing.contains(id));
            links.push(kept);
            kept.then_some(event)
        }
        Event::End(TagEnd::Link) => links.pop().unwrap_or(false).then_some(event),
        // The description stays, as text; the picture is not loaded from anywhere.
        Event::Start(Tag::Image { .. }) | Event::End(TagEnd::Image) => None,
        other => Some(other),
    });
    let mut out = String::with_capacity(markdown.len() * 5 / 4);
    html::push_html(&mut out, events);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn existing(ids: &[&str]) -> HashSet<String> {
        ids.iter().map(|id| id.to_string()).collect()
    }

    #[test]
    fn markdown_renders_and_raw_html_is_only_text() {
        let html = render(
            "**Bold** and `code`\n\n<script>alert(1)</script>\n\n<img src=x onerror=alert(1)>",
            &existing(&[]),
        );
        assert!(html.contains("<strong>Bold</strong>"));
        assert!(html.contains("<code>code</code>"));
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
    }

    #[test]
    fn only_safe_links_and_real_images_stay_links() {
        let markdown = "[a](https://example.org) [b](javascript:alert(1)) [c](/photos/abc123) [d](/photos/nope99) \
                        [e](/account) ![pic](https://tracker.example/p.png)";
        assert_eq!(linked_photos(markdown), vec!["abc123", "nope99"]);
        let html = render(markdown, &existing(&["abc123"]));
        assert!(html.contains(r#"<a href="https://example.org">a</a>"#), "{html}");
        assert!(html.contains(r#"<a href="/photos/abc123">c</a>"#), "{html}");
        assert_eq!(
            html,
            "<p><a href=\"https://example.org\">a</a> b <a href=\"/photos/abc123\">c</a> d e pic</p>\n"
        );
    }
}
