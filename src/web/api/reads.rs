//! The public reads under `/api`: each handler extracts its parameters, calls the library, and answers with the
//! serde form the CLI's `--json` prints, an ETag, or a problem.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;

use super::answer;
use crate::core::domain::Entity;
use crate::core::domain::state::Plan;
use crate::core::projection::Point;
use crate::core::projection::{BlameEntry, HistoryEntry, IndicatorView, PlanDiff, PlanSummary, PlanView};
use crate::query::{PointSpec, Read};
use crate::web::AppState;
use crate::web::conditional::{etag, plan_etag, point_part};
use crate::web::problem::{Problem, ProblemBody};

/// Query parameters, read as strings so that a bad one is refused by name.
pub type Params = Query<BTreeMap<String, String>>;

fn required<'a>(q: &'a BTreeMap<String, String>, name: &str) -> Result<&'a str, Problem> {
    q.get(name).map(String::as_str).ok_or_else(|| Problem::bad(name, "required"))
}

/// The point a read asks for (`at`, `as_of`, `effective` or `version`: at most one), against the plan now.
fn point(q: &BTreeMap<String, String>, read: &Read, plan: &Plan) -> Result<Option<Point>, Problem> {
    let spec = PointSpec::from_pairs(q.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
    Ok(spec.resolve(plan, read.head().len)?)
}

/// The point parameters `point` reads, as the OpenAPI document describes them (once, for every endpoint that
/// takes them). Requests are read as a map so that a bad value is refused by name; this type is only the schema.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct PointQuery {
    /// The plan right after the event with this seq was appended
    at: Option<u64>,
    /// The plan as the ledger had recorded it at this RFC 3339 instant
    as_of: Option<chrono::DateTime<chrono::Utc>>,
    /// The plan as in force on this date: `YYYY-MM-DD` (a four-digit year), or a fiscal year (e.g. `2017`,
    /// `令和3`) for its 1 April
    effective: Option<String>,
    /// The plan at this named version (see `/versions`). At most one of `at`, `as_of`, `effective` and `version`
    /// may be given
    version: Option<String>,
}

/// `GET /api/plans`: every plan's summary. Depends on the whole state, so its tag is the head.
#[utoipa::path(
    get,
    path = "/api/plans",
    tag = "reads",
    responses(
        (status = 200, description = "Every plan's summary", body = [PlanSummary], content_type = "application/json")
    )
)]
pub async fn plans(State(s): State<AppState>, headers: HeaderMap) -> Result<Response, Problem> {
    answer(s, headers, |ledger, fresh| {
        let (read, plans) = Read::summaries(ledger);
        let head = read.head();
        let tag = etag(&["plans", &head.len.to_string(), &head.hash.to_string()]);
        fresh.json(tag, &plans)
    })
    .await
}

/// `GET /api/plans/{plan}`: the plan now or at one point.
#[utoipa::path(
    get,
    path = "/api/plans/{plan}",
    tag = "reads",
    params(
        ("plan" = String, Path, description = "The plan id, e.g. `shinagawa-jisshi-4`"),
        PointQuery
    ),
    responses(
        (status = 200, description = "The plan with its node tree, indicators and series", body = PlanView, content_type = "application/json"),
        (status = 400, description = "A malformed or out-of-range parameter, named in `field`", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "No such plan (`field` is `plan`), or the plan did not exist at the point asked for", body = ProblemBody, content_type = "application/problem+json"),
        (status = 503, description = "The ledger is shutting down", body = ProblemBody, content_type = "application/problem+json")
    )
)]
pub async fn plan(
    State(s): State<AppState>,
    Path(plan): Path<String>,
    Query(q): Params,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    answer(s, headers, move |ledger, fresh| {
        let (read, r) = Read::plan(ledger, &plan)?;
        let pt = point(&q, &read, &r.current)?;
        let tag = plan_etag(r.id.as_str(), r.current.version, &["plan", &point_part(pt)]);
        fresh.json_with(tag, || read.view(&r, pt))
    })
    .await
}

/// A named version of a plan: the seq of the event that named it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct NamedVersion {
    pub name: String,
    pub seq: u64,
}

/// `GET /api/plans/{plan}/versions`: the named versions, oldest first.
#[utoipa::path(
    get,
    path = "/api/plans/{plan}/versions",
    tag = "reads",
    params(
        ("plan" = String, Path, description = "The plan id, e.g. `shinagawa-jisshi-4`")
    ),
    responses(
        (status = 200, description = "The named versions, oldest first", body = [NamedVersion], content_type = "application/json"),
        (status = 404, description = "No such plan (`field` is `plan`), or the plan did not exist at the point asked for", body = ProblemBody, content_type = "application/problem+json")
    )
)]
pub async fn versions(
    State(s): State<AppState>,
    Path(plan): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    answer(s, headers, move |ledger, fresh| {
        let (_, r) = Read::plan(ledger, &plan)?;
        let tag = plan_etag(r.id.as_str(), r.current.version, &["versions"]);
        let mut v: Vec<NamedVersion> =
            r.current.versions.iter().map(|(name, seq)| NamedVersion { name: name.clone(), seq: *seq }).collect();
        v.sort_by(|a, b| (a.seq, &a.name).cmp(&(b.seq, &b.name)));
        fresh.json(tag, &v)
    })
    .await
}

/// `GET /api/plans/{plan}/diff?from=&to=`: points in the one-string form `diff` takes.
#[utoipa::path(
    get,
    path = "/api/plans/{plan}/diff",
    tag = "reads",
    params(
        ("plan" = String, Path, description = "The plan id, e.g. `shinagawa-jisshi-4`"),
        ("from" = String, Query, description = "The earlier point: `now`; a fiscal year (`2018`: four digits 1868–2200, `2018年度`, `H30`, `令和3`; in force on its 1 April); any other whole number as a seq; `YYYY-MM-DD` (effective); an RFC 3339 instant (as of); a version name; or explicitly `seq:N`, `as-of:INSTANT`, `effective:DATE`, `version:NAME`. A seq past the head is refused"),
        ("to" = String, Query, description = "The later point, in the same forms as `from`")
    ),
    responses(
        (status = 200, description = "The differences between the two points, with the events that made them", body = PlanDiff, content_type = "application/json"),
        (status = 400, description = "A malformed or out-of-range parameter, named in `field`", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "No such plan (`field` is `plan`), or the plan did not exist at the point asked for", body = ProblemBody, content_type = "application/problem+json"),
        (status = 503, description = "The ledger is shutting down", body = ProblemBody, content_type = "application/problem+json")
    )
)]
pub async fn diff(
    State(s): State<AppState>,
    Path(plan): Path<String>,
    Query(q): Params,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    answer(s, headers, move |ledger, fresh| {
        let (read, r) = Read::plan(ledger, &plan)?;
        let from = read.parse_point("from", required(&q, "from")?, &r.current)?;
        let to = read.parse_point("to", required(&q, "to")?, &r.current)?;
        let tag = plan_etag(r.id.as_str(), r.current.version, &["diff", &point_part(from), &point_part(to)]);
        fresh.json_with(tag, || read.diff(&r, from, to))
    })
    .await
}

/// `GET /api/plans/{plan}/blame`: for every value, the event that last set it (now or at one point).
#[utoipa::path(
    get,
    path = "/api/plans/{plan}/blame",
    tag = "reads",
    params(
        ("plan" = String, Path, description = "The plan id, e.g. `shinagawa-jisshi-4`"),
        PointQuery
    ),
    responses(
        (status = 200, description = "Every value and the event that last set it", body = [BlameEntry], content_type = "application/json"),
        (status = 400, description = "A malformed or out-of-range parameter, named in `field`", body = ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "No such plan (`field` is `plan`), or the plan did not exist at the point asked for", body = ProblemBody, content_type = "application/problem+json"),
        (status = 503, description = "The ledger is shutting down", body = ProblemBody, content_type = "application/problem+json")
    )
)]
pub async fn blame(
    State(s): State<AppState>,
    Path(plan): Path<String>,
    Query(q): Params,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    answer(s, headers, move |ledger, fresh| {
        let (read, r) = Read::plan(ledger, &plan)?;
        let pt = point(&q, &read, &r.current)?;
        let tag = plan_etag(r.id.as_str(), r.current.version, &["blame", &point_part(pt)]);
        fresh.json_with(tag, || read.blame(&r, pt))
    })
    .await
}

/// `GET /api/indicators/{id}`: the indicator with its target-against-actual series.
#[utoipa::path(
    get,
    path = "/api/indicators/{id}",
    tag = "reads",
    params(
        ("id" = String, Path, description = "The indicator id, e.g. `shinagawa-jisshi-4.6-1-1-2-r3.kpi1`")
    ),
    responses(
        (status = 200, description = "The indicator with its target-against-actual series", body = IndicatorView, content_type = "application/json"),
        (status = 404, description = "No such indicator (`field` is `id`)", body = ProblemBody, content_type = "application/problem+json")
    )
)]
pub async fn indicator(
    State(s): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    answer(s, headers, move |ledger, fresh| {
        let (read, ind, version) = Read::indicator(ledger, &id, "id")?;
        let tag = plan_etag(ind.plan.as_str(), version, &["indicator", ind.id.as_str()]);
        fresh.json_with(tag, || read.indicator_view(&ind, None, "id"))
    })
    .await
}

/// `GET /api/indicators/{id}/history`.
#[utoipa::path(
    get,
    path = "/api/indicators/{id}/history",
    tag = "reads",
    params(
        ("id" = String, Path, description = "The indicator id")
    ),
    responses(
        (status = 200, description = "Every event that touched the indicator, oldest first, with what it changed", body = [HistoryEntry], content_type = "application/json"),
        (status = 404, description = "No such indicator (`field` is `id`)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 503, description = "The ledger is shutting down", body = ProblemBody, content_type = "application/problem+json")
    )
)]
pub async fn indicator_history(
    State(s): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    answer(s, headers, move |ledger, fresh| {
        let (read, ind, version) = Read::indicator(ledger, &id, "id")?;
        let entity = Entity::Indicator(ind.id.clone());
        let tag = plan_etag(ind.plan.as_str(), version, &["history", &entity.key()]);
        fresh.json_with(tag, || read.history(&entity))
    })
    .await
}

/// `GET /api/nodes/{id}/history`.
#[utoipa::path(
    get,
    path = "/api/nodes/{id}/history",
    tag = "reads",
    params(
        ("id" = String, Path, description = "The node id")
    ),
    responses(
        (status = 200, description = "Every event that touched the node, oldest first, with what it changed", body = [HistoryEntry], content_type = "application/json"),
        (status = 404, description = "No such node (`field` is `id`)", body = ProblemBody, content_type = "application/problem+json"),
        (status = 503, description = "The ledger is shutting down", body = ProblemBody, content_type = "application/problem+json")
    )
)]
pub async fn node_history(
    State(s): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    answer(s, headers, move |ledger, fresh| {
        let (read, node, version) = Read::node(ledger, &id, "id")?;
        let entity = Entity::Node(node.id.clone());
        let tag = plan_etag(node.plan.as_str(), version, &["history", &entity.key()]);
        fresh.json_with(tag, || read.history(&entity))
    })
    .await
}
