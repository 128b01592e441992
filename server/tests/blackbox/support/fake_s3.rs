//! A fake S3-compatible bucket on 127.0.0.1 that speaks the real REST protocol for the
//! calls media storage makes (path-style PUT, GET with a byte range, HEAD, DELETE, and
//! multipart uploads: create, upload part, complete, abort), so the app's real
//! `object_store` client is what the storage tests exercise.
//!
//! Requests must carry a SigV4 `Authorization` header for the expected access key and
//! region, and a signed payload hash that matches the body, or they get S3's 403 XML error.
//! `fail()` turns it into a service that answers every request with a 500.

#![allow(dead_code)]

use axum::{
    body::Bytes,
    extract::{Path, RawQuery, State},
    http::{header, HeaderMap, Method, StatusCode},
    response::{IntoResponse, Response},
    routing::any,
    Router,
};
use rsa::sha2::{Digest, Sha256};
use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
};
use tokio::{net::TcpListener, task::JoinHandle};

pub const BUCKET: &str = "atelier-media";
pub const REGION: &str = "eu-test-1";
pub const ACCESS_KEY_ID: &str = "FAKEACCESSKEY";
pub const SECRET_ACCESS_KEY: &str = "fake/secret+key";
/// S3 sends dates in the RFC 7231 form; one fixed date is enough for a fake.
const LAST_MODIFIED: &str = "Mon, 23 Nov 2026 12:00:00 GMT";

/// A multipart upload in progress: its key and the parts so far, by part number.
struct Upload {
    key: String,
    parts: BTreeMap<u32, Bytes>,
}

#[derive(Default)]
struct Bucket {
    objects: BTreeMap<String, Bytes>,
    uploads: BTreeMap<String, Upload>,
    /// Multipart uploads completed, for tests that want to know the path was taken.
    completed_uploads: u32,
    requests: Vec<String>,
    /// Answer every request with S3's 500 InternalError, as a failing service does.
    failing: bool,
}

pub struct FakeS3 {
    pub endpoint: String,
    bucket: Arc<Mutex<Bucket>>,
    server: JoinHandle<()>,
}

impl FakeS3 {
    pub async fn start() -> FakeS3 {
        let bucket = Arc::new(Mutex::new(Bucket::default()));
        let router = Router::new()
            .route("/{bucket}/{*key}", any(object))
            .with_state(bucket.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the fake S3");
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            axum::serve(listener, router).await.ok();
        });
        FakeS3 {
            endpoint,
            bucket,
            server,
        }
    }

    /// The settings that point the app at this bucket.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("ATELIER_S3_BUCKET", BUCKET),
            ("ATELIER_S3_REGION", REGION),
            ("ATELIER_S3_ENDPOINT", self.endpoint.as_str()),
            ("ATELIER_S3_ACCESS_KEY_ID", ACCESS_KEY_ID),
            ("ATELIER_S3_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    pub fn keys(&self) -> Vec<String> {
        self.bucket.lock().unwrap().objects.keys().cloned().collect()
    }

    pub fn object(&self, key: &str) -> Option<Bytes> {
        self.bucket.lock().unwrap().objects.get(key).cloned()
    }

    /// From now on every request fails with a 500, which clients retry and then give up on.
    pub fn fail(&self) {
        self.bucket.lock().unwrap().failing = true;
    }

    /// How many multipart uploads were completed, and how many are still open.
    pub fn multipart_uploads(&self) -> (u32, usize) {
        let bucket = self.bucket.lock().unwrap();
        (bucket.completed_uploads, bucket.uploads.len())
    }

    /// `METHOD key` for every request so far.
    pub fn requests(&self) -> Vec<String> {
        self.bucket.lock().unwrap().requests.clone()
    }
}

impl Drop for FakeS3 {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    );
    (status, [(header::CONTENT_TYPE, "application/xml")], body).into_response()
}

/// S3's answer to a request that is not signed for this bucket's key, if it is not.
fn refusal(headers: &HeaderMap, body: &[u8]) -> Option<Response> {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let scope = format!("Credential={ACCESS_KEY_ID}/");
    let signed = authorization.starts_with("AWS4-HMAC-SHA256 ")
        && authorization.contains(&scope)
        && authorization.contains(&format!("/{REGION}/s3/aws4_request"))
        && authorization.contains("Signature=");
    if !signed {
        return Some(error(StatusCode::FORBIDDEN, "AccessDenied", "Access Denied"));
    }
    let claimed = headers
        .get("x-amz-content-sha256")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("UNSIGNED-PAYLOAD");
    if claimed != "UNSIGNED-PAYLOAD" && claimed != hex(&Sha256::digest(body)) {
        return Some(error(
            StatusCode::BAD_REQUEST,
            "XAmzContentSHA256Mismatch",
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
        ));
    }
    None
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn etag(bytes: &[u8]) -> String {
    format!("\"{}\"", &hex(&Sha256::digest(bytes))[..32])
}

/// `bytes=a-b` (inclusive, as object_store sends it) within `size`.
fn range(headers: &HeaderMap, size: usize) -> Option<Result<(usize, usize), ()>> {
    let value = headers.get(header::RANGE)?.to_str().ok()?;
    let (start, end) = value.strip_prefix("bytes=")?.split_once('-')?;
    let start: usize = start.parse().ok()?;
    let end: usize = end
        .parse()
        .map_or(size.saturating_sub(1), |end: usize| end.min(size - 1));
    Some(if start <= end && start < size {
        Ok((start, end))
    } else {
        Err(())
    })
}

fn xml(body: String) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/xml")],
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{body}"),
    )
        .into_response()
}

/// The value of `name` in a query string (`uploads` has none: it is present or not).
fn query_value<'q>(query: &'q str, name: &str) -> Option<&'q str> {
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (key == name).then_some(value)
    })
}

/// The part numbers a CompleteMultipartUpload body lists, in its order.
fn listed_parts(body: &[u8]) -> Vec<u32> {
    let text = String::from_utf8_lossy(body);
    text.split("<PartNumber>")
        .skip(1)
        .filter_map(|rest| rest.split("</PartNumber>").next()?.trim().parse().ok())
        .collect()
}

/// CreateMultipartUpload (`POST ?uploads`), UploadPart (`PUT ?partNumber&uploadId`),
/// CompleteMultipartUpload (`POST ?uploadId`) and AbortMultipartUpload (`DELETE ?uploadId`).
fn multipart(bucket: &mut Bucket, method: &Method, key: String, query: &str, body: Bytes) -> Option<Response> {
    let no_upload = || {
        error(
            StatusCode::NOT_FOUND,
            "NoSuchUpload",
            "The specified multipart upload does not exist.",
        )
    };
    if *method == Method::POST && query_value(query, "uploads").is_some() {
        let upload_id = format!(
            "upload-{}",
            bucket.uploads.len() + bucket.completed_uploads as usize + 1
        );
        bucket.uploads.insert(
            upload_id.clone(),
            Upload {
                key: key.clone(),
                parts: BTreeMap::new(),
            },
        );
        return Some(xml(format!(
            "<InitiateMultipartUploadResult><Bucket>{BUCKET}</Bucket><Key>{key}</Key><UploadId>{upload_id}</UploadId></InitiateMultipartUploadResult>"
        )));
    }
    let upload_id = query_value(query, "uploadId")?.to_owned();
    Some(match *method {
        Method::PUT => {
            let Some(number) = query_value(query, "partNumber").and_then(|n| n.parse::<u32>().ok()) else {
                return Some(error(
                    StatusCode::BAD_REQUEST,
                    "InvalidArgument",
                    "Part number must be an integer",
                ));
            };
            let Some(upload) = bucket.uploads.get_mut(&upload_id).filter(|upload| upload.key == key) else {
                return Some(no_upload());
            };
            let tag = etag(&body);
            upload.parts.insert(number, body);
            (StatusCode::OK, [(header::ETAG, tag)]).into_response()
        }
        Method::POST => {
            let Some(upload) = bucket.uploads.remove(&upload_id).filter(|upload| upload.key == key) else {
                return Some(no_upload());
            };
            let listed = listed_parts(&body);
            if listed.is_empty() || listed.iter().any(|number| !upload.parts.contains_key(number)) {
                return Some(error(
                    StatusCode::BAD_REQUEST,
                    "InvalidPart",
                    "One or more of the specified parts could not be found.",
                ));
            }
            let mut whole = Vec::new();
            for number in &listed {
                whole.extend_from_slice(&upload.parts[number]);
            }
            let whole = Bytes::from(whole);
            let tag = etag(&whole);
            bucket.objects.insert(key.clone(), whole);
            bucket.completed_uploads += 1;
            xml(format!(
                "<CompleteMultipartUploadResult><Bucket>{BUCKET}</Bucket><Key>{key}</Key><ETag>{tag}</ETag></CompleteMultipartUploadResult>"
            ))
        }
        Method::DELETE => {
            bucket.uploads.remove(&upload_id);
            StatusCode::NO_CONTENT.into_response()
        }
        _ => error(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "Not supported by this fake",
        ),
    })
}

async fn object(
    State(bucket): State<Arc<Mutex<Bucket>>>,
    Path((name, key)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(refusal) = refusal(&headers, &body) {
        return refusal;
    }
    if name != BUCKET {
        return error(
            StatusCode::NOT_FOUND,
            "NoSuchBucket",
            "The specified bucket does not exist",
        );
    }
    let mut bucket = bucket.lock().unwrap();
    bucket.requests.push(format!("{method} {key}"));
    if bucket.failing {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            "We encountered an internal error. Please try again.",
        );
    }
    if let Some(response) = multipart(
        &mut bucket,
        &method,
        key.clone(),
        query.as_deref().unwrap_or_default(),
        body.clone(),
    ) {
        return response;
    }
    match method {
        Method::PUT => {
            let tag = etag(&body);
            bucket.objects.insert(key, body);
            (StatusCode::OK, [(header::ETAG, tag)]).into_response()
        }
        Method::DELETE => {
            bucket.objects.remove(&key);
            StatusCode::NO_CONTENT.into_response()
        }
        Method::GET | Method::HEAD => {
            let Some(bytes) = bucket.objects.get(&key).cloned() else {
                return if method == Method::HEAD {
                    StatusCode::NOT_FOUND.into_response()
                } else {
                    error(StatusCode::NOT_FOUND, "NoSuchKey", "The specified key does not exist.")
                };
            };
            let common = [
                (header::ETAG, etag(&bytes)),
                (header::LAST_MODIFIED, LAST_MODIFIED.to_owned()),
                (header::ACCEPT_RANGES, "bytes".to_owned()),
            ];
            let (status, part, content_range) = match range(&headers, bytes.len()) {
                None => (StatusCode::OK, bytes.clone(), None),
                Some(Ok((start, end))) => (
                    StatusCode::PARTIAL_CONTENT,
                    bytes.slice(start..=end),
                    Some(format!("bytes {start}-{end}/{}", bytes.len())),
                ),
                Some(Err(())) => {
                    return error(
                        StatusCode::RANGE_NOT_SATISFIABLE,
                        "InvalidRange",
                        "The requested range is not satisfiable",
                    )
                }
            };
            let length = part.len().to_string();
            let mut response = if method == Method::HEAD {
                (status, common).into_response()
            } else {
                (status, common, part).into_response()
            };
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_LENGTH, length.parse().unwrap());
            if let Some(content_range) = content_range {
                headers.insert(header::CONTENT_RANGE, content_range.parse().unwrap());
            }
            response
        }
        _ => error(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "Not supported by this fake",
        ),
    }
}
