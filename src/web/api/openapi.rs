//! The API's OpenAPI 3.1 document, generated from the handlers' `#[utoipa::path]` annotations and the response
//! types' schemas, and served at `GET /api/openapi.json`.

use std::sync::OnceLock;

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use utoipa::openapi::path::{Operation, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{ContentBuilder, HeaderBuilder, Ref, Required, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use crate::web::conditional::{etag, not_modified, unchanged};
use crate::web::problem::{CONTENT_TYPE as PROBLEM, ProblemBody};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "planledger",
        description = "API of the planledger revision ledger for municipal comprehensive plans. Public reads: plans \
                       now and at any point of their past, diffs, blame, histories, the raw event log, its live feed, \
                       and transparency-log proofs. Writes (every write command, as POST with a JSON body) need \
                       `Authorization: Bearer <token>`; the events name the token's principal as their actor. Writes \
                       take `If-Match` (any ETag of the plan's resources: the version the client saw) and \
                       `Idempotency-Key`. Every error is an RFC 9457 problem document (`application/problem+json`)."
    ),
    components(schemas(ProblemBody)),
    modifiers(&Bearer)
)]
pub struct ApiDoc;

/// Adds what every operation shares to the document of the served routes.
pub(super) fn finish(doc: &mut utoipa::openapi::OpenApi) {
    Shared.modify(doc);
}

/// What every operation shares, added in one place rather than repeated per handler: the problems any request
/// can meet in the layers, and the ETag / If-None-Match / 304 revalidation every cacheable read answers.
struct Shared;

/// The reads that answer no ETag: a live stream has no fixed content, and the token list is never cached.
const UNTAGGED: &[&str] = &["/api/events/stream", "/api/tokens"];

/// Whether a write path appends events (and so takes `If-Match`); token management does not.
fn appends(path: &str) -> bool {
    !path.starts_with("/api/tokens")
}

/// Whether a write takes `Idempotency-Key`: restores and token management refuse it.
fn takes_idempotency_key(path: &str) -> bool {
    appends(path) && !path.ends_with("/restore")
}

fn header_param(name: &str, description: &str, schema: ObjectBuilder) -> utoipa::openapi::path::Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(description))
        .schema(Some(schema))
        .build()
}

/// What every write shares: the bearer token, the refusals, and the `If-Match` / `Idempotency-Key` headers.
fn add_write(op: &mut Operation, path: &str) {
    let responses = &mut op.responses.responses;
    let mut problems = vec![
        ("400", "A malformed body or parameter, or a refused value; `field` names it (`body` when it is not JSON)"),
        ("401", "No token, or one that is unknown or revoked (`WWW-Authenticate: Bearer`)"),
        ("403", "The token's role or departments do not allow this; `field` names what is not its to change"),
        ("404", "The plan, node, indicator or token in the path (or named in the body) does not exist"),
        ("409", "The change conflicts with the plan as it is (e.g. an id already taken, a retired node)"),
        ("415", "A body that is not `application/json`"),
    ];
    if appends(path) {
        problems.push((
            "412",
            "`If-Match` names no version the plan is at; `current_version` and the `ETag` header give the current one",
        ));
        problems.push((
            "503",
            "The ledger could not store the change (a full or failing disk; nothing was appended) or is shutting \
             down; retry after the `Retry-After` seconds",
        ));
    }
    if takes_idempotency_key(path) {
        problems.push((
            "422",
            "`Idempotency-Key` was already used by this token for a different request; nothing appended",
        ));
    }
    for (status, description) in problems {
        responses.entry(status.to_string()).or_insert_with(|| problem_response(description).into());
    }
    let params = op.parameters.get_or_insert_with(Vec::new);
    if appends(path) {
        params.push(header_param(
            "If-Match",
            "ETags of the plan's resources as read (any of them: each names the plan's version); the write is \
             refused with 412 unless the plan is still at one of them. `*`: the plan must exist",
            string_schema(),
        ));
    }
    if takes_idempotency_key(path) {
        params.push(header_param(
            "Idempotency-Key",
            "Up to 128 visible ASCII characters, scoped to the token: a retry with the same key and body answers the \
             original response (with `Idempotent-Replayed: true`) and appends nothing",
            string_schema()
                .min_length(Some(1))
                .max_length(Some(crate::store::ledger::IDEMPOTENCY_KEY_MAX))
                .pattern(Some("^[!-~]+$")),
        ));
    }
}

/// Declares the bearer token scheme the writes' `security` names.
struct Bearer;

impl Modify for Bearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut http = Http::new(HttpAuthScheme::Bearer);
        http.description = Some("A token from `planledger token create` or `POST /api/tokens`".to_string());
        components.add_security_scheme("bearer", SecurityScheme::Http(http));
    }
}

fn problem_response(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(PROBLEM, ContentBuilder::new().schema(Some(Ref::from_schema_name("ProblemBody"))).build())
        .build()
}

fn string_schema() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

/// Integer parameters (seqs, sizes, `after`) are u64 inside but refused above 2^63 − 1, the largest int64: the
/// document says so, rather than leave `format: int64` to imply it alone.
fn bound_integers(op: &mut Operation) {
    use utoipa::Number;
    use utoipa::openapi::RefOr;
    use utoipa::openapi::schema::{Schema, SchemaType};
    for p in op.parameters.iter_mut().flatten() {
        let Some(RefOr::T(Schema::Object(o))) = p.schema.as_mut() else { continue };
        if matches!(o.schema_type, SchemaType::Type(Type::Integer)) && o.maximum.is_none() {
            o.minimum.get_or_insert(Number::Int(0));
            // Invariant: the server is built for 64-bit targets, where isize holds i64::MAX.
            o.maximum = Some(Number::Int(isize::try_from(crate::query::SEQ_MAX).unwrap_or(isize::MAX)));
        }
    }
}

fn add_shared(op: &mut Operation, tagged: bool) {
    bound_integers(op);
    let responses = &mut op.responses.responses;
    for (status, description) in [
        ("408", "The request took too long to answer"),
        ("413", "The request carried a body larger than the limit"),
        ("500", "The server failed; the problem carries only the request id, which names the cause in the log"),
    ] {
        responses.entry(status.to_string()).or_insert_with(|| problem_response(description).into());
    }
    if !tagged {
        return;
    }
    if let Some(utoipa::openapi::RefOr::T(ok)) = responses.get_mut("200") {
        ok.headers.insert(
            "ETag".to_string(),
            HeaderBuilder::new()
                .schema(string_schema())
                .description(Some("A strong tag of the answer; send it back in `If-None-Match` to revalidate"))
                .build(),
        );
    }
    responses.insert(
        "304".to_string(),
        ResponseBuilder::new()
            .description("Not modified: `If-None-Match` names the current ETag; the body is empty")
            .header("ETag", HeaderBuilder::new().schema(string_schema()).description(Some("The current tag")).build())
            .build()
            .into(),
    );
    op.parameters.get_or_insert_with(Vec::new).push(
        ParameterBuilder::new()
            .name("If-None-Match")
            .parameter_in(ParameterIn::Header)
            .required(Required::False)
            .description(Some("ETags the client holds (a list, weak tags and `*` are taken); a match answers 304"))
            .schema(Some(string_schema()))
            .build(),
    );
}

impl Modify for Shared {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            if let Some(op) = &mut item.get {
                add_shared(op, !UNTAGGED.contains(&path.as_str()));
                if !appends(path) {
                    let responses = &mut op.responses.responses;
                    for (status, description) in [
                        ("401", "No token, or one that is unknown or revoked (`WWW-Authenticate: Bearer`)"),
                        ("403", "The token is not an admin's"),
                    ] {
                        responses.entry(status.to_string()).or_insert_with(|| problem_response(description).into());
                    }
                }
            }
            if let Some(op) = &mut item.post {
                add_shared(op, false);
                add_write(op, path);
            }
        }
    }
}

/// The document as served, built once: it depends only on the code.
fn built() -> &'static (String, HeaderValue) {
    static DOC: OnceLock<(String, HeaderValue)> = OnceLock::new();
    DOC.get_or_init(|| {
        // Invariant: the document is made of strings, numbers and maps; it always serializes.
        let json = super::document().to_pretty_json().expect("the OpenAPI document serializes");
        let tag = etag(&["openapi", &json]);
        (json, tag)
    })
}

/// `GET /api/openapi.json`: this document.
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    tag = "meta",
    responses(
        (status = 200, description = "The OpenAPI 3.1 document of this API", body = Object, content_type = "application/json")
    )
)]
pub async fn document(headers: HeaderMap) -> Response {
    let (json, tag) = built();
    if not_modified(&headers, tag) {
        return unchanged(tag.clone());
    }
    ([(header::ETAG, tag.clone()), (header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], json.clone())
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_problem_field_is_optional_and_never_null() {
        // The body omits `field` when there is none rather than sending null; the schema must say the same.
        let doc = serde_json::to_value(super::super::document()).unwrap();
        let p = &doc["components"]["schemas"]["ProblemBody"];
        assert!(!p["required"].as_array().unwrap().contains(&serde_json::json!("field")), "{p}");
        assert_eq!(p["properties"]["field"]["type"], "string", "{p}");
    }

    #[test]
    fn every_cacheable_operation_documents_revalidation_and_the_stream_does_not() {
        let doc = serde_json::to_value(super::super::document()).unwrap();
        for (path, item) in doc["paths"].as_object().unwrap() {
            let op = &item["get"];
            if op.is_null() {
                continue;
            }
            let tagged = !UNTAGGED.contains(&path.as_str());
            assert_eq!(op["responses"]["304"].is_object(), tagged, "{path}");
            assert_eq!(op["responses"]["200"]["headers"]["ETag"].is_object(), tagged, "{path}");
        }
    }
}
