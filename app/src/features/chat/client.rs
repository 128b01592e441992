//! The browser's side of a reply stream: `fetch` with an `AbortSignal` (the stop button
//! aborts it, which closes the connection and stops the reply on the server), the body
//! read chunk by chunk and parsed as Server-Sent Events as it arrives.

use super::wire;

/// What the page hears while a reply arrives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplyEvent {
    Delta(String),
    Done(wire::Done),
    Failed(wire::Failed),
}

/// Why the stream could not run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StreamError {
    /// The server refused before replying, with what the member reads.
    Refused { status: u16, message: String },
    /// The member stopped it.
    Aborted,
    /// The network failed.
    Network,
}

impl StreamError {
    pub fn message(&self) -> String {
        match self {
            Self::Refused { message, .. } => message.clone(),
            Self::Aborted => "Stopped.".to_owned(),
            Self::Network => {
                "The connection was lost. Nothing was charged for an unfinished reply; try again.".to_owned()
            }
        }
    }
}

/// Decodes one event of our stream.
pub fn decode(event: &super::sse::SseEvent) -> Option<ReplyEvent> {
    match event.name.as_str() {
        wire::DELTA => serde_json::from_str(&event.data).ok().map(ReplyEvent::Delta),
        wire::DONE => serde_json::from_str(&event.data).ok().map(ReplyEvent::Done),
        wire::ERROR => serde_json::from_str(&event.data).ok().map(ReplyEvent::Failed),
        _ => None,
    }
}

/// The form body of a new message.
pub fn message_body(text: &str) -> String {
    let mut body = String::from("text=");
    for byte in text.as_bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => body.push(*byte as char),
            b' ' => body.push('+'),
            other => body.push_str(&format!("%{other:02X}")),
        }
    }
    body
}

/// Posts `body` (a form, or nothing for a retry) to `url` and calls `on_event` for each
/// event as it arrives, until the stream ends.
#[cfg(feature = "hydrate")]
pub async fn post_stream(
    url: &str,
    body: Option<String>,
    signal: &web_sys::AbortSignal,
    mut on_event: impl FnMut(ReplyEvent),
) -> Result<(), StreamError> {
    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;

    let failed = |error: JsValue| -> StreamError {
        let aborted = error
            .dyn_ref::<js_sys::Error>()
            .is_some_and(|error| String::from(error.name()) == "AbortError");
        if aborted {
            StreamError::Aborted
        } else {
            StreamError::Network
        }
    };
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    let headers = web_sys::Headers::new().map_err(failed)?;
    headers.set("accept", "text/event-stream").map_err(failed)?;
    if let Some(body) = &body {
        headers
            .set("content-type", "application/x-www-form-urlencoded")
            .map_err(failed)?;
        init.set_body(&JsValue::from_str(body));
    }
    init.set_headers(&headers);
    init.set_signal(Some(signal));
    let window = web_sys::window().ok_or(StreamError::Network)?;
    let response: web_sys::Response = JsFuture::from(window.fetch_with_str_and_init(url, &init))
        .await
        .map_err(failed)?
        .dyn_into()
        .map_err(failed)?;
    if !response.ok() {
        let text = match response.text() {
            Ok(promise) => JsFuture::from(promise).await.ok().and_then(|text| text.as_string()),
            Err(_) => None,
        };
        let message = text
            .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
            .and_then(|value| value["message"].as_str().map(str::to_owned))
            .unwrap_or_else(|| "Something went wrong on our side. Nothing was charged; try again.".to_owned());
        return Err(StreamError::Refused {
            status: response.status(),
            message,
        });
    }
    let reader: web_sys::ReadableStreamDefaultReader = response
        .body()
        .ok_or(StreamError::Network)?
        .get_reader()
        .dyn_into()
        .map_err(|object: js_sys::Object| failed(object.into()))?;
    let mut parser = super::sse::SseParser::default();
    loop {
        let chunk = JsFuture::from(reader.read()).await.map_err(failed)?;
        let done = js_sys::Reflect::get(&chunk, &JsValue::from_str("done"))
            .ok()
            .and_then(|done| done.as_bool())
            .unwrap_or(true);
        if done {
            return Ok(());
        }
        let value = js_sys::Reflect::get(&chunk, &JsValue::from_str("value")).map_err(failed)?;
        let bytes = js_sys::Uint8Array::new(&value).to_vec();
        for event in parser.feed(&bytes).map_err(|_| StreamError::Network)? {
            if let Some(event) = decode(&event) {
                on_event(event);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_bodies_are_form_encoded() {
        assert_eq!(message_body("Hi there & ✓\n"), "text=Hi+there+%26+%E2%9C%93%0A");
    }

    #[test]
    fn events_decode_from_the_wire() {
        let event = |name: &str, data: &str| super::super::sse::SseEvent {
            name: name.into(),
            data: data.into(),
        };
        assert_eq!(
            decode(&event("delta", "\"Hel\"")),
            Some(ReplyEvent::Delta("Hel".into()))
        );
        assert_eq!(
            decode(&event("done", r#"{"html":"<p>x</p>","title":"T"}"#)),
            Some(ReplyEvent::Done(wire::Done {
                html: "<p>x</p>".into(),
                title: "T".into()
            }))
        );
        assert_eq!(decode(&event("ping", "{}")), None);
    }
}
