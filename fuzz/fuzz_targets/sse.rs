//! The SSE parser: a stream fed in chunks of 1–16 bytes gives the same events as fed at
//! once, and whatever `format_event` writes parses back to the same event.
//! Input: four bytes of chunk sizes, then the stream.
#![no_main]

use app::features::chat::sse::{format_event, SseEvent, SseParser};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (sizes, stream) = data.split_at(data.len().min(4));
    if sizes.is_empty() {
        return;
    }

    // Inputs are far below MAX_EVENT_BYTES, so neither way of feeding may refuse them.
    let whole = SseParser::default().feed(stream).expect("one feed");
    let mut parser = SseParser::default();
    let mut chunked = Vec::new();
    let (mut rest, mut turn) = (stream, 0);
    while !rest.is_empty() {
        let size = (usize::from(sizes[turn % sizes.len()]) % 16 + 1).min(rest.len());
        let (chunk, after) = rest.split_at(size);
        chunked.extend(parser.feed(chunk).expect("a chunk"));
        (rest, turn) = (after, turn + 1);
    }
    assert_eq!(chunked, whole, "chunk sizes {sizes:?}");
    assert!(
        parser.feed(b"").expect("nothing").is_empty(),
        "an empty chunk completes nothing"
    );

    // format_event writes one `data:` line per `\n`; a `\r` would end a line early, and a
    // name is one line, so only those inputs are promised to round-trip.
    let text = String::from_utf8_lossy(stream);
    let (name, payload) = text.split_once('\n').unwrap_or((&*text, ""));
    if name.contains('\r') || payload.contains('\r') {
        return;
    }
    let events = SseParser::default()
        .feed(format_event(name, payload).as_bytes())
        .expect("one event");
    assert_eq!(
        events,
        [SseEvent {
            name: name.to_owned(),
            data: payload.to_owned()
        }]
    );
});
