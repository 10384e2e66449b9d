//! The OpenAPI 3.1 document, generated from the handlers' annotations, and
//! its browsable rendering (assets compiled into the binary: no CDN). The
//! problem responses are added here, once, from [`PROBLEMS`].

use std::collections::BTreeMap;

use utoipa::openapi::path::Operation;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::security::{ApiKey, ApiKeyValue};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref};
use utoipa::{Modify, OpenApi};

use super::problem::ProblemCode::{self, *};
use super::{callback, events, operator, ops, problem, submissions, view};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "gtf-bff",
        description = "Partner backend-for-frontend for GoPay OneKYC (GTF) KTP Scan. \
                       Every error is application/problem+json with a stable `code` (see ProblemCode)."
    ),
    paths(
        submissions::create,
        submissions::list,
        submissions::get_one,
        submissions::confirm,
        submissions::result,
        events::events,
        callback::receive,
        ops::healthz,
        ops::readyz,
        operator::search,
        operator::submission,
        operator::result,
        operator::refresh,
        operator::resend,
        operator::resend_failed,
        operator::erase,
        operator::audit,
    ),
    components(schemas(problem::ProblemCode, problem::Problem, view::SubmissionView, view::ResultView, view::SubmissionList)),
    modifiers(&Security, &Problems),
    tags(
        (name = "submissions", description = "The KTP Scan flow for partner apps (end-user JWT)"),
        (name = "callbacks", description = "Where GTF pushes results"),
        (name = "operations", description = "Health and readiness (metrics are on their own listener)"),
        (name = "operator", description = "The partner's support staff and back-office services: JWTs from the same issuer as end users', whose `scope` (space-separated) or `scp` (array) claim holds `kyc:read` (to look) or `kyc:admin` (to act; includes `kyc:read`). Without it: 403 FORBIDDEN. Every read of KTP data and every action is recorded in the access audit log"),
    )
)]
pub(crate) struct ApiDoc;

/// The problems each operation can answer. Every one but the event stream
/// may also time out (`REQUEST_TIMEOUT`).
const PROBLEMS: &[(&str, &str, &[ProblemCode])] = &[
    (
        "post",
        "/v1/kyc/submissions",
        &[
            MalformedJson,
            InvalidHeader,
            Unauthorized,
            IdempotencyKeyInUse,
            PayloadTooLarge,
            UnsupportedMediaType,
            InvalidBody,
            UnsupportedSubmissionType,
            IdempotencyKeyReused,
            SubmissionQuotaExceeded,
            RateLimited,
            GtfError,
            GtfUnavailable,
            DatabaseUnavailable,
            GtfTimeout,
        ],
    ),
    (
        "get",
        "/v1/kyc/submissions",
        &[Unauthorized, InvalidParameter, DatabaseUnavailable],
    ),
    (
        "get",
        "/v1/kyc/submissions/{id}",
        &[
            Unauthorized,
            SubmissionNotFound,
            InvalidParameter,
            GtfError,
            GtfUnavailable,
            DatabaseUnavailable,
            GtfTimeout,
        ],
    ),
    (
        "post",
        "/v1/kyc/submissions/{id}/confirm",
        &[
            Unauthorized,
            SubmissionNotFound,
            SubmissionExpired,
            UploadMissing,
            InvalidParameter,
            RateLimited,
            GtfError,
            GtfUnavailable,
            DatabaseUnavailable,
            GtfTimeout,
        ],
    ),
    (
        "get",
        "/v1/kyc/submissions/{id}/result",
        &[
            Unauthorized,
            SubmissionNotFound,
            ResultNotReady,
            ResultPurged,
            ResultErased,
            InvalidParameter,
            GtfError,
            GtfUnavailable,
            DatabaseUnavailable,
            GtfTimeout,
        ],
    ),
    (
        "get",
        "/v1/kyc/submissions/{id}/events",
        &[
            Unauthorized,
            SubmissionNotFound,
            InvalidParameter,
            TooManyStreams,
            StreamsExhausted,
        ],
    ),
    (
        "post",
        "/coe/submissions-callback",
        &[
            InvalidCallback,
            Unauthorized,
            Forbidden,
            PayloadTooLarge,
            RateLimited,
            CallbackNotStored,
        ],
    ),
    (
        "get",
        "/ops/v1/submissions",
        &[
            Unauthorized,
            Forbidden,
            InvalidParameter,
            DatabaseUnavailable,
        ],
    ),
    (
        "get",
        "/ops/v1/submissions/{id}",
        &[
            Unauthorized,
            Forbidden,
            SubmissionNotFound,
            InvalidParameter,
            DatabaseUnavailable,
        ],
    ),
    (
        "get",
        "/ops/v1/submissions/{id}/result",
        &[
            Unauthorized,
            Forbidden,
            SubmissionNotFound,
            ResultNotReady,
            ResultPurged,
            ResultErased,
            InvalidParameter,
            GtfError,
            GtfUnavailable,
            DatabaseUnavailable,
            GtfTimeout,
        ],
    ),
    (
        "post",
        "/ops/v1/submissions/{id}/refresh",
        &[
            Unauthorized,
            Forbidden,
            SubmissionNotFound,
            InvalidParameter,
            GtfError,
            GtfUnavailable,
            DatabaseUnavailable,
            GtfTimeout,
        ],
    ),
    (
        "post",
        "/ops/v1/webhooks/{deliveryId}/resend",
        &[
            Unauthorized,
            Forbidden,
            NotFound,
            DeliveryInFlight,
            InvalidParameter,
            DatabaseUnavailable,
        ],
    ),
    (
        "post",
        "/ops/v1/webhooks/resend-failed",
        &[
            MalformedJson,
            Unauthorized,
            Forbidden,
            PayloadTooLarge,
            UnsupportedMediaType,
            InvalidBody,
            DatabaseUnavailable,
        ],
    ),
    (
        "delete",
        "/ops/v1/users/{partnerUserId}",
        &[
            Unauthorized,
            Forbidden,
            InvalidParameter,
            DatabaseUnavailable,
        ],
    ),
    (
        "get",
        "/ops/v1/audit",
        &[
            Unauthorized,
            Forbidden,
            InvalidParameter,
            DatabaseUnavailable,
        ],
    ),
];

/// Adds each operation's problem responses, one per status, naming its
/// codes and pointing at the one `Problem` schema.
struct Problems;

impl Modify for Problems {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (method, path, codes) in PROBLEMS {
            let Some(operation) = openapi
                .paths
                .paths
                .get_mut(*path)
                .and_then(|item| operation(item, method))
            else {
                continue;
            };
            let mut by_status: BTreeMap<u16, Vec<String>> = BTreeMap::new();
            // Every operation but the event stream is bounded in time.
            let timeout = (!path.ends_with("/events")).then_some(&RequestTimeout);
            for code in codes.iter().chain(timeout) {
                let name = serde_json::to_value(code)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                by_status
                    .entry(code.status().as_u16())
                    .or_default()
                    .push(name);
            }
            for (status, names) in by_status {
                let response = ResponseBuilder::new()
                    .description(names.join(", "))
                    .content(
                        "application/problem+json",
                        ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name("Problem")))
                            .build(),
                    )
                    .build();
                operation
                    .responses
                    .responses
                    .insert(status.to_string(), response.into());
            }
        }
    }
}

fn operation<'a>(
    item: &'a mut utoipa::openapi::PathItem,
    method: &str,
) -> Option<&'a mut Operation> {
    match method {
        "get" => item.get.as_mut(),
        "post" => item.post.as_mut(),
        "delete" => item.delete.as_mut(),
        _ => None,
    }
}

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        // CALLBACK_AUTH may be a bearer, basic or custom-header credential;
        // the document shows the common case.
        components.add_security_scheme(
            "callback",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Authorization",
                "The credential registered with GTF (CALLBACK_AUTH): `Bearer <secret>`, `Basic <…>`, or a custom header",
            ))),
        );
    }
}
