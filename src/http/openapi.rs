//! The API's OpenAPI 3.1 document, generated from the handlers' `#[utoipa::path]` annotations and the response
//! types' schemas, and served at `GET /api/openapi.json`.

use std::sync::OnceLock;

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use utoipa::openapi::path::{Operation, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{ContentBuilder, HeaderBuilder, Ref, Required, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use super::problem::{CONTENT_TYPE as PROBLEM, ProblemBody};
use super::{etag, feed, not_modified, reads, unchanged};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "planledger",
        description = "Read API of the planledger revision ledger for municipal comprehensive plans: plans now and at \
                       any point of their past, diffs, blame, histories, the raw event log, its live feed, and \
                       transparency-log proofs. Every error is an RFC 9457 problem document \
                       (`application/problem+json`)."
    ),
    paths(
        reads::plans,
        reads::plan,
        reads::versions,
        reads::diff,
        reads::blame,
        reads::indicator,
        reads::indicator_history,
        reads::node_history,
        reads::events,
        feed::stream,
        reads::checkpoint,
        reads::inclusion,
        reads::consistency,
        reads::export,
        document,
    ),
    components(schemas(ProblemBody)),
    modifiers(&Shared)
)]
pub struct ApiDoc;

/// What every operation shares, added in one place rather than repeated per handler: the problems any request
/// can meet in the layers, and the ETag / If-None-Match / 304 revalidation every cacheable read answers.
struct Shared;

/// The one operation that answers no ETag: a live stream has no fixed content.
const UNTAGGED: &str = "/api/events/stream";

fn problem_response(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(PROBLEM, ContentBuilder::new().schema(Some(Ref::from_schema_name("ProblemBody"))).build())
        .build()
}

fn string_schema() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

fn add_shared(op: &mut Operation, tagged: bool) {
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
            let tagged = path != UNTAGGED;
            for op in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.options,
                &mut item.head,
                &mut item.patch,
                &mut item.trace,
            ]
            .into_iter()
            .flatten()
            {
                add_shared(op, tagged);
            }
        }
    }
}

/// The document as served, built once: it depends only on the code.
fn built() -> &'static (String, HeaderValue) {
    static DOC: OnceLock<(String, HeaderValue)> = OnceLock::new();
    DOC.get_or_init(|| {
        // Invariant: the document is made of strings, numbers and maps; it always serializes.
        let json = ApiDoc::openapi().to_pretty_json().expect("the OpenAPI document serializes");
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
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let p = &doc["components"]["schemas"]["ProblemBody"];
        assert!(!p["required"].as_array().unwrap().contains(&serde_json::json!("field")), "{p}");
        assert_eq!(p["properties"]["field"]["type"], "string", "{p}");
    }

    #[test]
    fn every_cacheable_operation_documents_revalidation_and_the_stream_does_not() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        for (path, item) in doc["paths"].as_object().unwrap() {
            let op = &item["get"];
            assert_eq!(op["responses"]["304"].is_object(), path != UNTAGGED, "{path}");
            assert_eq!(op["responses"]["200"]["headers"]["ETag"].is_object(), path != UNTAGGED, "{path}");
        }
    }
}
