//! The OpenAPI 3.1 document, generated from the handlers' annotations, and
//! its browsable rendering (assets compiled into the binary: no CDN).

use utoipa::openapi::security::{ApiKey, ApiKeyValue};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{callback, events, ops, problem, submissions, view};

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
        ops::metrics,
    ),
    components(schemas(problem::ProblemCode, view::SubmissionView, view::ResultView, view::SubmissionList)),
    modifiers(&Security),
    tags(
        (name = "submissions", description = "The KTP Scan flow for partner apps (end-user JWT)"),
        (name = "callbacks", description = "Where GTF pushes results"),
        (name = "operations", description = "Health, readiness, metrics"),
    )
)]
pub struct ApiDoc;

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
