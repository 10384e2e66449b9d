//! The object storage behind the presigned URLs, answering
//! like S3: one signed, expiring URL per document, XML error bodies.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE, ETAG};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use tower_http::cors::{AllowOrigin, CorsLayer};
use uuid::Uuid;

use super::Sim;
use super::state::{Submission, later};

/// Larger uploads are refused without being buffered.
const MAX_OBJECT_BYTES: u64 = 10 * 1024 * 1024;

const JPEG_MAGIC: &[u8] = &[0xFF, 0xD8, 0xFF];
const PNG_MAGIC: &[u8] = &[0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

/// `/storage/<SUBMISSION_TYPE>/<submissionId>_<DOC>`, the key shape of GTF's
/// examples.
fn object_path(submission: &Submission, document: &str) -> String {
    format!(
        "/storage/{}/{}",
        submission.submission_type,
        submission.reference(document)
    )
}

fn string_to_sign(path: &str, expires: i64) -> String {
    format!("PUT\n{path}\n{expires}")
}

/// The upload URL of one document, valid for `upload_ttl` from `now`.
pub(crate) fn presigned_url(
    sim: &Sim,
    submission: &Submission,
    document: &str,
    now: OffsetDateTime,
) -> String {
    let path = object_path(submission, document);
    let expires = later(now, sim.config.upload_ttl).unix_timestamp();
    let signature = hex::encode(sim.signer.tag(string_to_sign(&path, expires).as_bytes()));
    format!(
        "{}{path}?X-Sim-Expires={expires}&X-Sim-Signature={signature}",
        sim.public_base
    )
}

/// Where a document's image lives, for the details' `imageUrls`. The
/// simulator keeps no bytes, so nothing is served there.
pub(crate) fn image_url(sim: &Sim, submission: &Submission, document: &str) -> String {
    format!("{}{}", sim.public_base, object_path(submission, document))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum S3Error {
    SignatureDoesNotMatch,
    Expired,
    NoSuchKey,
    EntityTooLarge,
    InvalidArgument,
    IncompleteBody,
    MethodNotAllowed,
}

impl IntoResponse for S3Error {
    fn into_response(self) -> Response {
        let (status, code, message) = match self {
            Self::SignatureDoesNotMatch => (
                StatusCode::FORBIDDEN,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
            ),
            Self::Expired => (StatusCode::FORBIDDEN, "AccessDenied", "Request has expired"),
            Self::NoSuchKey => (
                StatusCode::NOT_FOUND,
                "NoSuchKey",
                "The specified key does not exist.",
            ),
            Self::EntityTooLarge => (
                StatusCode::BAD_REQUEST,
                "EntityTooLarge",
                "Your proposed upload exceeds the maximum allowed object size.",
            ),
            Self::InvalidArgument => (
                StatusCode::BAD_REQUEST,
                "InvalidArgument",
                "The object must be a JPEG or PNG image sent with its Content-Type.",
            ),
            Self::IncompleteBody => (
                StatusCode::BAD_REQUEST,
                "IncompleteBody",
                "You did not provide the number of bytes specified by the Content-Length HTTP header.",
            ),
            Self::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "MethodNotAllowed",
                "The specified method is not allowed against this resource.",
            ),
        };
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <Error><Code>{code}</Code><Message>{message}</Message></Error>"
        );
        (status, [(CONTENT_TYPE, "application/xml")], body).into_response()
    }
}

/// What a bucket's CORS rule would allow: pages from `origins` may PUT an
/// object with its Content-Type. Error answers carry the headers too, so a
/// page can tell a refused upload from an unreachable storage.
pub(super) fn cors(origins: &[HeaderValue]) -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins.iter().cloned()))
        .allow_methods([Method::PUT])
        .allow_headers([CONTENT_TYPE])
        .max_age(Duration::from_secs(3000))
}

/// `PUT /storage/{*key}`: checks the URL before reading any of the body.
pub(crate) async fn upload(
    State(sim): State<Arc<Sim>>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, S3Error> {
    let path = uri.path();
    verify_url(&sim, path, uri.query().unwrap_or_default())?;
    let (submission_id, document) = parse_key(path).ok_or(S3Error::NoSuchKey)?;
    let declared_len = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared_len.is_some_and(|len| len > MAX_OBJECT_BYTES) {
        return Err(S3Error::EntityTooLarge);
    }
    let magic = image_magic(&headers).ok_or(S3Error::InvalidArgument)?;
    let object = inspect(body, MAX_OBJECT_BYTES).await?;
    if !object.head.starts_with(magic) {
        return Err(S3Error::InvalidArgument);
    }
    if !sim.store.record_upload(submission_id, document) {
        return Err(S3Error::NoSuchKey);
    }
    Ok((StatusCode::OK, [(ETAG, object.etag)]).into_response())
}

/// Signature first, then expiry, as S3 does.
fn verify_url(sim: &Sim, path: &str, query: &str) -> Result<(), S3Error> {
    let mut expires = None;
    let mut signature = None;
    for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
        match name.as_ref() {
            "X-Sim-Expires" => expires = value.parse::<i64>().ok(),
            "X-Sim-Signature" => signature = hex::decode(value.as_bytes()).ok(),
            _ => {}
        }
    }
    let (Some(expires), Some(signature)) = (expires, signature) else {
        return Err(S3Error::SignatureDoesNotMatch);
    };
    if !sim
        .signer
        .verify(string_to_sign(path, expires).as_bytes(), &signature)
    {
        return Err(S3Error::SignatureDoesNotMatch);
    }
    let expires_nanos = i128::from(expires) * 1_000_000_000;
    if OffsetDateTime::now_utc().unix_timestamp_nanos() > expires_nanos {
        return Err(S3Error::Expired);
    }
    Ok(())
}

/// `/storage/<TYPE>/<uuid>_<DOC>` → (uuid, DOC).
fn parse_key(path: &str) -> Option<(Uuid, &str)> {
    let object = path.strip_prefix("/storage/")?.split_once('/')?.1;
    let (id, document) = object.split_once('_')?;
    Some((Uuid::parse_str(id).ok()?, document))
}

/// The magic bytes the declared Content-Type promises.
fn image_magic(headers: &HeaderMap) -> Option<&'static [u8]> {
    let content_type = headers.get(CONTENT_TYPE)?.to_str().ok()?;
    let mime = content_type.split(';').next()?.trim();
    if mime.eq_ignore_ascii_case("image/jpeg") {
        Some(JPEG_MAGIC)
    } else if mime.eq_ignore_ascii_case("image/png") {
        Some(PNG_MAGIC)
    } else {
        None
    }
}

struct Inspected {
    head: Vec<u8>,
    etag: String,
}

/// Streams the body through a hash, keeping only its first bytes, and stops
/// as soon as it grows past `limit`.
async fn inspect(body: Body, limit: u64) -> Result<Inspected, S3Error> {
    let mut stream = body.into_data_stream();
    let mut hasher = Sha256::new();
    let mut head = Vec::with_capacity(PNG_MAGIC.len());
    let mut len: u64 = 0;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| S3Error::IncompleteBody)?;
        len = len.saturating_add(chunk.len() as u64);
        if len > limit {
            return Err(S3Error::EntityTooLarge);
        }
        let wanted = PNG_MAGIC.len().saturating_sub(head.len()).min(chunk.len());
        head.extend_from_slice(&chunk[..wanted]);
        hasher.update(&chunk);
    }
    let digest = hasher.finalize();
    Ok(Inspected {
        head,
        etag: format!("\"{}\"", hex::encode(&digest[..16])),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_back_into_submission_and_document() {
        let id = Uuid::new_v4();
        let path = format!("/storage/KTP_SCAN/{id}_KTP_FRONT");
        assert_eq!(parse_key(&path), Some((id, "KTP_FRONT")));
        assert_eq!(parse_key("/storage/KTP_SCAN/nope_KTP"), None);
        assert_eq!(parse_key("/storage/KTP_SCAN"), None);
    }

    #[tokio::test]
    async fn bodies_over_the_limit_are_refused() {
        let err = inspect(Body::from(vec![0xFF; 11]), 10).await.err();
        assert_eq!(err, Some(S3Error::EntityTooLarge));
        let ok = inspect(Body::from(vec![0xFF; 10]), 10).await.ok();
        assert_eq!(ok.map(|o| o.head.len()), Some(PNG_MAGIC.len()));
    }
}
