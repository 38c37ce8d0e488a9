//! Conditional requests: strong ETags computed from what a body depends on (before the body), `If-None-Match`
//! → 304, and `If-Match` read as the plan version a write expects, which the ledger's writer then judges.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::core::projection::Point;
use crate::store::ledger::Precondition;

/// A point as one ETag part: `now`, or its tagged JSON form.
pub fn point_part(p: Option<Point>) -> String {
    // Invariant: a Point serializes (a tagged number, instant or date).
    p.map_or_else(|| "now".into(), |p| serde_json::to_string(&p).expect("points serialize"))
}

/// The hex BLAKE3 hash of `parts`, each prefixed by its length so that no two lists hash alike.
fn parts_hash(parts: &[&str]) -> String {
    let mut h = blake3::Hasher::new();
    for p in parts {
        h.update(&(p.len() as u64).to_le_bytes());
        h.update(p.as_bytes());
    }
    h.finalize().to_hex().to_string()
}

/// A strong ETag over the parts a response depends on.
pub fn etag(parts: &[&str]) -> HeaderValue {
    // Invariant: quotes and hex digits are valid header bytes.
    HeaderValue::from_str(&format!("\"{}\"", &parts_hash(parts)[..32])).expect("an ETag is ASCII")
}

/// The ETag of a resource that belongs to one plan: `"PLAN@VERSION-HASH"`, the hash over the other parts. Naming the
/// plan and its version lets a write read `If-Match` as the version its client saw, and check it atomically with
/// the append (any of the plan's resources' tags will do: each changes exactly when the plan's version does).
pub fn plan_etag(plan: &str, version: u64, parts: &[&str]) -> HeaderValue {
    let hex = parts_hash(parts);
    // Invariant: plan ids are ASCII letters, digits, '.', '_' and '-', all valid in a header.
    HeaderValue::from_str(&format!("\"{plan}@{version}-{}\"", &hex[..24])).expect("a plan ETag is ASCII")
}

/// The ETag `GET /api/plans/{plan}` answers for the plan now: what a failed `If-Match` sends back.
pub fn current_plan_etag(plan: &str, version: u64) -> HeaderValue {
    plan_etag(plan, version, &["plan", &point_part(None)])
}

/// Reads `If-Match` for a write. The plan tags it carries are handed to the writer as they are: the writer knows
/// which plan the write concerns and judges them atomically with the append. Weak tags and tags of no plan never
/// match (RFC 9110 §13.1.1 compares strongly).
pub fn if_match(headers: &HeaderMap) -> Precondition {
    if headers.get(header::IF_MATCH).is_none() {
        return Precondition::None;
    }
    let mut tags = Vec::new();
    for v in headers.get_all(header::IF_MATCH).iter() {
        let Ok(v) = v.to_str() else { continue };
        for t in v.split(',').map(str::trim) {
            if t == "*" {
                return Precondition::Exists;
            }
            let Some(inner) = t.strip_prefix('"').and_then(|t| t.strip_suffix('"')) else { continue };
            let Some((plan, rest)) = inner.split_once('@') else { continue };
            let Some((version, _)) = rest.split_once('-') else { continue };
            if let Ok(version) = version.parse::<u64>() {
                tags.push((plan.to_string(), version));
            }
        }
    }
    Precondition::Tagged(tags)
}

/// Whether the client's `If-None-Match` already names `tag` (weak comparison, as RFC 9110 asks for GET).
pub fn not_modified(headers: &HeaderMap, tag: &HeaderValue) -> bool {
    let Ok(tag) = tag.to_str() else { return false };
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').map(str::trim).any(|t| t == "*" || t.strip_prefix("W/").unwrap_or(t) == tag))
}

/// The 304 answer for `tag`.
pub fn unchanged(tag: HeaderValue) -> Response {
    (StatusCode::NOT_MODIFIED, [(header::ETAG, tag)]).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::domain::PlanId;

    #[test]
    fn if_none_match_takes_lists_weak_tags_and_star() {
        let tag = etag(&["plan", "x", "3"]);
        let mut h = HeaderMap::new();
        assert!(!not_modified(&h, &tag));
        h.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_str(&format!("\"zz\", W/{}", tag.to_str().unwrap())).unwrap(),
        );
        assert!(not_modified(&h, &tag));
        h.insert(header::IF_NONE_MATCH, HeaderValue::from_static("\"other\""));
        assert!(!not_modified(&h, &tag));
        h.insert(header::IF_NONE_MATCH, HeaderValue::from_static("*"));
        assert!(not_modified(&h, &tag));
    }

    #[test]
    fn if_match_reads_the_versions_of_the_plan_its_tags_name() {
        let mut h = HeaderMap::new();
        assert_eq!(if_match(&h), Precondition::None);
        let t5 = plan_etag("p", 5, &["plan", "now"]);
        let t7 = plan_etag("p", 7, &["indicator", "p.1.k"]);
        let other = plan_etag("p-2", 9, &["plan", "now"]);
        let list = format!("{}, W/{}, {}", t5.to_str().unwrap(), t7.to_str().unwrap(), other.to_str().unwrap());
        h.insert(header::IF_MATCH, HeaderValue::from_str(&list).unwrap());
        // The weak tag names nothing; each strong tag names its own plan.
        let pre = if_match(&h);
        assert_eq!(pre, Precondition::Tagged(vec![("p".into(), 5), ("p-2".into(), 9)]));
        let (p, p2) = (PlanId::new("p").unwrap(), PlanId::new("p-2").unwrap());
        assert!(pre.admits(&p, Some(5)) && !pre.admits(&p, Some(7)) && !pre.admits(&p, Some(9)));
        assert!(pre.admits(&p2, Some(9)) && !pre.admits(&p2, Some(5)));
        h.insert(header::IF_MATCH, HeaderValue::from_static("\"made-up\""));
        assert_eq!(if_match(&h), Precondition::Tagged(vec![]));
        assert!(!if_match(&h).admits(&p, Some(5)));
        h.insert(header::IF_MATCH, HeaderValue::from_static("*"));
        assert_eq!(if_match(&h), Precondition::Exists);
    }

    #[test]
    fn etags_separate_their_parts() {
        assert_ne!(etag(&["ab", "c"]), etag(&["a", "bc"]));
        assert_eq!(etag(&["a", "b"]), etag(&["a", "b"]));
    }
}
