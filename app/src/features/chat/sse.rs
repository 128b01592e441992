//! An incremental Server-Sent Events parser, for the providers' streams on the server and
//! for our own reply stream in the browser. It works on bytes and decodes an event only
//! once its blank line has arrived, so a character split across chunks is never broken.

/// One event: its `event:` name (`message` when none was given) and its `data:` lines
/// joined with `\n`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SseEvent {
    pub name: String,
    pub data: String,
}

/// Feed it chunks as they arrive; it hands back every event completed so far.
#[derive(Default)]
pub struct SseParser {
    buffer: Vec<u8>,
    /// How far the buffer is known to hold no blank line, so each byte is looked at about
    /// once however the stream is chunked.
    scanned: usize,
}

/// Longest event we accept, so a stream that never sends a blank line cannot grow the
/// buffer without bound.
pub const MAX_EVENT_BYTES: usize = 1 << 20;

#[derive(Debug, PartialEq, Eq)]
pub struct EventTooLong;

impl SseParser {
    pub fn feed(&mut self, chunk: &[u8]) -> Result<Vec<SseEvent>, EventTooLong> {
        self.buffer.extend_from_slice(chunk);
        let mut events = Vec::new();
        while let Some((end, next)) = event_end(&self.buffer, self.scanned) {
            let raw: Vec<u8> = self.buffer.drain(..next).collect();
            if let Some(event) = parse_event(&raw[..end]) {
                events.push(event);
            }
            self.scanned = 0;
        }
        // The last two bytes may be the start of a separator still arriving.
        self.scanned = self.buffer.len().saturating_sub(2);
        if self.buffer.len() > MAX_EVENT_BYTES {
            return Err(EventTooLong);
        }
        Ok(events)
    }
}

/// Where the first complete event ends (its text is `..end`) and where the next begins:
/// a blank line is a line ending (`\r\n`, `\n` or `\r`) followed at once by another.
fn event_end(buffer: &[u8], from: usize) -> Option<(usize, usize)> {
    let mut at = from;
    while at < buffer.len() {
        if !matches!(buffer[at], b'\r' | b'\n') {
            at += 1;
            continue;
        }
        // A `\r` as the last byte may be half of `\r\n`: wait for what follows.
        if buffer[at] == b'\r' && at + 1 == buffer.len() {
            return None;
        }
        let first = if buffer[at..].starts_with(b"\r\n") { 2 } else { 1 };
        match buffer.get(at + first) {
            Some(b'\n') => return Some((at, at + first + 1)),
            Some(b'\r') => {
                let second = if buffer[at + first..].starts_with(b"\r\n") {
                    2
                } else {
                    1
                };
                return Some((at, at + first + second));
            }
            Some(_) => at += first,
            None => return None,
        }
    }
    None
}

fn parse_event(raw: &[u8]) -> Option<SseEvent> {
    let text = String::from_utf8_lossy(raw);
    let mut name = None;
    let mut data: Option<String> = None;
    for line in text.split(['\n', '\r']) {
        // Comments (`: keep-alive`) and empty lines carry nothing.
        if line.is_empty() || line.starts_with(':') {
            continue;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "event" => name = Some(value.to_owned()),
            "data" => match &mut data {
                Some(data) => {
                    data.push('\n');
                    data.push_str(value);
                }
                None => data = Some(value.to_owned()),
            },
            _ => {}
        }
    }
    // An event without data is not dispatched (the SSE specification's rule).
    data.map(|data| SseEvent {
        name: name.unwrap_or_else(|| "message".to_owned()),
        data,
    })
}

/// One event in the wire format, for the fakes and our own stream.
pub fn format_event(name: &str, data: &str) -> String {
    let mut out = format!("event: {name}\n");
    for line in data.split('\n') {
        out.push_str("data: ");
        out.push_str(line);
        out.push('\n');
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(parser: &mut SseParser, chunks: &[&[u8]]) -> Vec<SseEvent> {
        chunks.iter().flat_map(|chunk| parser.feed(chunk).unwrap()).collect()
    }

    #[test]
    fn events_split_anywhere_come_out_whole() {
        let stream = "event: delta\ndata: {\"text\":\"héllo ✓\"}\n\n: ping\n\ndata: a\ndata: b\n\n".as_bytes();
        for cut in 1..stream.len() {
            let mut parser = SseParser::default();
            let events = all(&mut parser, &[&stream[..cut], &stream[cut..]]);
            assert_eq!(
                events,
                vec![
                    SseEvent {
                        name: "delta".into(),
                        data: "{\"text\":\"héllo ✓\"}".into()
                    },
                    SseEvent {
                        name: "message".into(),
                        data: "a\nb".into()
                    },
                ],
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn crlf_streams_and_bare_fields_parse() {
        let mut parser = SseParser::default();
        let events = parser.feed(b"event:done\r\ndata:[DONE]\r\n\r\ndata\r\n\r\n").unwrap();
        assert_eq!(events[0].name, "done");
        assert_eq!(events[0].data, "[DONE]");
        assert_eq!(events[1].data, "");
    }

    #[test]
    fn mixed_line_endings_still_end_events() {
        let mut parser = SseParser::default();
        let events = parser.feed(b"data: a\n\r\ndata: b\r\n\ndata: c\r\r").unwrap();
        let data: Vec<&str> = events.iter().map(|event| event.data.as_str()).collect();
        assert_eq!(data, ["a", "b", "c"]);
        // A lone `\r` ends the event; if it was half of `\r\n`, the `\n` is an empty line.
        let mut parser = SseParser::default();
        assert_eq!(parser.feed(b"data: d\r\n\r").unwrap()[0].data, "d");
        assert_eq!(parser.feed(b"\ndata: e\n\n").unwrap()[0].data, "e");
        // The last byte a `\r`: not yet known to end anything.
        assert!(parser.feed(b"data: f\r").unwrap().is_empty());
        assert_eq!(parser.feed(b"\r\n").unwrap()[0].data, "f");
    }

    #[test]
    fn an_event_that_never_ends_is_refused() {
        let mut parser = SseParser::default();
        let line = vec![b'a'; MAX_EVENT_BYTES + 1];
        assert_eq!(parser.feed(&line), Err(EventTooLong));
    }

    #[test]
    fn formatted_events_parse_back() {
        let mut parser = SseParser::default();
        let events = parser.feed(format_event("delta", "two\nlines").as_bytes()).unwrap();
        assert_eq!(
            events,
            vec![SseEvent {
                name: "delta".into(),
                data: "two\nlines".into()
            }]
        );
    }
}
