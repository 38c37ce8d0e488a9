//! The HTTP API under `/api`: public reads, writes for a token's principal, the live feed, proofs and the OpenAPI
//! document. The routes and the document come from one list ([`router`]): a handler is served exactly when it is
//! documented. Handlers extract, call one function of the query layer or the ledger, and respond.

pub mod bodies;
pub mod log;
pub mod openapi;
pub mod reads;
pub mod stream;
pub mod tokens;
pub mod writes;

use std::sync::OnceLock;

use axum::Router;
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::conditional::{not_modified, unchanged};
use super::{AppState, Problem, blocking};
use crate::store::Ledger;

/// Every route of the API, each registered with its OpenAPI operation: the router and the document are split
/// from this one list.
fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(reads::plans, writes::create_plan))
        .routes(routes!(reads::plan))
        .routes(routes!(reads::versions, writes::name_version))
        .routes(routes!(reads::diff))
        .routes(routes!(reads::blame))
        .routes(routes!(reads::indicator))
        .routes(routes!(reads::indicator_history))
        .routes(routes!(reads::node_history))
        .routes(routes!(log::events))
        .routes(routes!(stream::stream))
        .routes(routes!(log::checkpoint))
        .routes(routes!(log::inclusion))
        .routes(routes!(log::consistency))
        .routes(routes!(log::export))
        .routes(routes!(openapi::document))
        .routes(routes!(writes::commands))
        .routes(routes!(writes::revise_plan))
        .routes(routes!(writes::change_plan_status))
        .routes(routes!(writes::add_node))
        .routes(routes!(writes::restore_plan))
        .routes(routes!(writes::rename_node))
        .routes(routes!(writes::revise_node_text))
        .routes(routes!(writes::revise_node_details))
        .routes(routes!(writes::move_node))
        .routes(routes!(writes::retire_node))
        .routes(routes!(writes::reinstate_node))
        .routes(routes!(writes::cross_list_node))
        .routes(routes!(writes::remove_cross_listing))
        .routes(routes!(writes::cross_reference_node))
        .routes(routes!(writes::assign_departments))
        .routes(routes!(writes::set_milestone))
        .routes(routes!(writes::withdraw_milestone))
        .routes(routes!(writes::define_indicator))
        .routes(routes!(writes::restore_node))
        .routes(routes!(writes::revise_indicator))
        .routes(routes!(writes::retire_indicator))
        .routes(routes!(writes::reinstate_indicator))
        .routes(routes!(writes::set_baseline))
        .routes(routes!(writes::withdraw_baseline))
        .routes(routes!(writes::set_target))
        .routes(routes!(writes::withdraw_target))
        .routes(routes!(writes::report_progress))
        .routes(routes!(writes::correct_progress))
        .routes(routes!(writes::restore_indicator))
        .routes(routes!(tokens::list_tokens, tokens::create_token))
        .routes(routes!(tokens::revoke_token))
}

/// The API's routes, for the web layer's router.
pub fn router() -> Router<AppState> {
    api().split_for_parts().0
}

/// The OpenAPI document of exactly the routes [`router`] serves, with what every operation shares added.
pub fn document() -> &'static utoipa::openapi::OpenApi {
    static DOC: OnceLock<utoipa::openapi::OpenApi> = OnceLock::new();
    DOC.get_or_init(|| {
        let mut doc = api().split_for_parts().1;
        openapi::finish(&mut doc);
        doc
    })
}

/// Every (lower-case method, path) the API serves, as the document lists them.
pub fn served() -> Vec<(String, String)> {
    let doc = serde_json::to_value(document()).unwrap_or_default();
    let mut out = Vec::new();
    if let Some(paths) = doc["paths"].as_object() {
        for (path, item) in paths {
            for method in item.as_object().into_iter().flat_map(|m| m.keys()) {
                out.push((method.clone(), path.clone()));
            }
        }
    }
    out
}

/// A read's answer: 304 when the client's `If-None-Match` names the tag, else the body under the tag.
pub enum Reply {
    Unchanged(HeaderValue),
    Body { tag: HeaderValue, content_type: &'static str, body: Vec<u8>, headers: Vec<(HeaderName, HeaderValue)> },
}

impl Reply {
    /// The answer with one more header (e.g. `Link`); a 304 carries only its tag.
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        if let Reply::Body { headers, .. } = &mut self {
            headers.push((name, value));
        }
        self
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        match self {
            Reply::Unchanged(tag) => unchanged(tag),
            Reply::Body { tag, content_type, body, headers } => {
                let mut res = ([(header::ETAG, tag)], body).into_response();
                let h = res.headers_mut();
                h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
                for (name, value) in headers {
                    h.insert(name, value);
                }
                res
            }
        }
    }
}

/// The client's validators: lets a read skip computing a body the client already holds.
pub struct Fresh {
    headers: HeaderMap,
}

impl Fresh {
    /// The body computed by `f` under `tag`, unless the client holds that tag.
    pub fn bytes_with(
        &self,
        tag: HeaderValue,
        content_type: &'static str,
        f: impl FnOnce() -> Result<Vec<u8>, Problem>,
    ) -> Result<Reply, Problem> {
        if not_modified(&self.headers, &tag) {
            return Ok(Reply::Unchanged(tag));
        }
        Ok(Reply::Body { tag, content_type, body: f()?, headers: Vec::new() })
    }

    /// `body` as JSON under `tag`, unless the client holds that tag.
    pub fn json<T: Serialize>(&self, tag: HeaderValue, body: &T) -> Result<Reply, Problem> {
        self.bytes_with(tag, "application/json", || serde_json::to_vec(body).map_err(Problem::internal))
    }

    /// The JSON of what `f` computes under `tag`; `f` runs only when the client does not hold that tag.
    pub fn json_with<T: Serialize, E: Into<Problem>>(
        &self,
        tag: HeaderValue,
        f: impl FnOnce() -> Result<T, E>,
    ) -> Result<Reply, Problem> {
        self.bytes_with(tag, "application/json", || {
            let value = f().map_err(Into::into)?;
            serde_json::to_vec(&value).map_err(Problem::internal)
        })
    }
}

/// Runs a read on the blocking pool (it may read the store) and answers with what it returns.
pub async fn answer(
    s: AppState,
    headers: HeaderMap,
    f: impl FnOnce(&Ledger, &Fresh) -> Result<Reply, Problem> + Send + 'static,
) -> Result<Response, Problem> {
    let fresh = Fresh { headers };
    let reply = blocking(move || f(&s.ledger, &fresh)).await?;
    Ok(reply.into_response())
}
