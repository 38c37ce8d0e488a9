//! The bodies of the write endpoints: one type per endpoint, each with the meta fields every write takes
//! (authority, reason, effective) and refusing unknown fields, and `parse_body`, which refuses a bad body by the
//! field at fault.

use std::fmt;

use axum::http::{HeaderMap, StatusCode, header};
use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, Visitor};

use crate::core::domain::Command;
use crate::core::domain::model::Detail;
use crate::web::Problem;

/// Body fields that carry plan values (exact decimals, sent as strings).
const DECIMAL_FIELDS: &[&str] = &["value", "target"];

/// The parts of every write body that say on what authority, why and from when.
pub struct MetaFields {
    pub authority: Option<String>,
    pub reason: Option<String>,
    pub effective: Option<String>,
}

/// A write body: it hands over its meta fields, then becomes its command.
pub trait WriteBody: DeserializeOwned {
    fn meta(&mut self) -> MetaFields;
}

/// The seq a named version points at, as given: a whole number (`12` or `"12"`), `"last"` or `"last-N"`. Read as
/// text, which `decide` resolves against the plan, so a bad one is refused with the rule's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeqRef(pub String);

impl<'de> Deserialize<'de> for SeqRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = SeqRef;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a seq (a whole number), \"last\" or \"last-N\"")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<SeqRef, E> {
                Ok(SeqRef(v.to_string()))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<SeqRef, E> {
                Ok(SeqRef(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// Reads a JSON body, refusing by name: the field at fault, or `body` when it is not JSON at all. An empty body
/// reads as `{}` (for the endpoints whose fields are all optional).
pub fn parse_body<T: DeserializeOwned>(headers: &HeaderMap, bytes: &[u8]) -> Result<T, Problem> {
    if !bytes.is_empty() {
        let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        let essence = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        if essence != "application/json" && !essence.ends_with("+json") {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                Some("Content-Type"),
                format!("the body must be JSON (`Content-Type: application/json`), not {ct:?}"),
            ));
        }
    }
    let bytes: &[u8] = if bytes.is_empty() { b"{}" } else { bytes };
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            return Problem::bad("body", format!("not valid JSON: {inner}"));
        }
        let msg = inner.to_string();
        // serde names a missing or unknown field only in its message; the path is where it was looked for.
        let named = ["missing field `", "unknown field `"]
            .iter()
            .find_map(|p| msg.split_once(p).and_then(|(_, rest)| rest.split_once('`')).map(|(f, _)| f.to_string()));
        let field = match (path.as_str(), named) {
            (".", Some(f)) => f,
            // An unknown field's path already ends in it; a missing one's is the object it is missing from.
            (p, Some(f)) if p == f || p.ends_with(&format!(".{f}")) => p.to_string(),
            (p, Some(f)) => format!("{p}.{f}"),
            (".", None) => "body".to_string(),
            (p, None) => p.to_string(),
        };
        // An empty key (`{"": 1}`) would leave no name at all, or the object's name with a dot after it: name the
        // object the key is in, or the body.
        let field = match field.trim_end_matches('.') {
            "" => "body".to_string(),
            f => f.to_string(),
        };
        let mut reason = msg.split(" at line ").next().unwrap_or(&msg).to_string();
        let decimal = field.rsplit('.').next().is_some_and(|last| DECIMAL_FIELDS.contains(&last));
        if decimal && (reason.contains("invalid type: floating point") || reason.contains("invalid type: integer")) {
            reason.push_str(" (plan values are exact decimals: send them as strings, e.g. \"12.5\")");
        }
        Problem::bad(&field, reason)
    })?;
    de.end().map_err(|e| Problem::bad("body", format!("not valid JSON: {e}")))?;
    Ok(value)
}

/// Declares write bodies: each gets the meta fields every write takes, refuses unknown fields, and can hand its
/// meta over. A macro rather than a shared struct because serde cannot combine `#[serde(flatten)]` (which a shared
/// meta struct would need) with `#[serde(deny_unknown_fields)]`, and a body naming a field it does not take — an
/// `actor` above all — must be refused.
macro_rules! bodies {
    ($($(#[doc = $doc:literal])* $name:ident { $($(#[$fm:meta])* $field:ident : $ty:ty),* $(,)? })*) => {$(
        $(#[doc = $doc])*
        #[derive(Debug, Deserialize, utoipa::ToSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            $($(#[$fm])* pub $field: $ty,)*
            /// On what authority the change is made (庁議, 議会議決, a document reference …)
            #[serde(default)]
            pub authority: Option<String>,
            /// Why
            #[serde(default)]
            pub reason: Option<String>,
            /// When the change takes effect in the plan: YYYY-MM-DD or a fiscal year (its 1 April); default today
            /// in Japan
            #[serde(default)]
            pub effective: Option<String>,
        }

        impl WriteBody for $name {
            fn meta(&mut self) -> MetaFields {
                MetaFields { authority: self.authority.take(), reason: self.reason.take(), effective: self.effective.take() }
            }
        }
    )*};
}

bodies! {
    /// A new plan.
    CreatePlanBody {
        plan: String,
        municipality: String,
        /// 全国地方公共団体コード (5 or 6 digits)
        municipality_code: String,
        title: String,
        /// 基本構想, 基本計画, 実施計画 …
        kind: String,
        #[serde(default)] period_from: Option<String>,
        #[serde(default)] period_to: Option<String>,
        /// draft, adopted or superseded
        status: String,
        /// The names of the plan's levels, top first (e.g. 基本目標, 施策)
        #[serde(default)] levels: Vec<String>,
        #[serde(default)] predecessor: Option<String>,
    }
    /// What of the plan to change; fields left out stay.
    RevisePlanBody {
        #[serde(default)] title: Option<String>,
        #[serde(default)] kind: Option<String>,
        #[serde(default)] period_from: Option<String>,
        #[serde(default)] period_to: Option<String>,
        #[serde(default)] levels: Option<Vec<String>>,
        /// Remove the plan's period
        #[serde(default)] clear_period: bool,
    }
    /// The plan's new status.
    PlanStatusBody {
        /// draft, adopted or superseded
        status: String,
    }
    /// A name for the plan as it stood right after one event.
    NameVersionBody {
        name: String,
        /// A seq, or `last` / `last-N`
        #[schema(value_type = String)]
        seq: SeqRef,
    }
    /// A new node of the plan.
    AddNodeBody {
        node: String,
        #[serde(default)] parent: Option<String>,
        #[serde(default)] order: Option<u64>,
        #[serde(default)] code: String,
        title: String,
        #[serde(default)] text: String,
        #[serde(default)] details: Vec<Detail>,
        /// 担当課
        #[serde(default)] departments: Vec<String>,
    }
    /// A node's new code or title.
    RenameNodeBody {
        #[serde(default)] code: Option<String>,
        #[serde(default)] title: Option<String>,
    }
    /// A node's new text.
    NodeTextBody { text: String }
    /// A node's new labelled texts (all of them).
    NodeDetailsBody { details: Vec<Detail> }
    /// Where the node goes.
    MoveNodeBody {
        #[serde(default)] parent: Option<String>,
        #[serde(default)] order: Option<u64>,
    }
    /// Retire the node: only who, why and when.
    RetireNodeBody {}
    /// Reinstate the node: only who, why and when.
    ReinstateNodeBody {}
    /// Retire the indicator: only who, why and when.
    RetireIndicatorBody {}
    /// Reinstate the indicator: only who, why and when.
    ReinstateIndicatorBody {}
    /// Withdraw the indicator's baseline: only who, why and when.
    WithdrawBaselineBody {}
    /// The node it is also listed under as 再掲.
    CrossListBody { under: String }
    /// The node it is no longer listed under as 再掲.
    UncrossBody { under: String }
    /// 再掲 of an item outside the ledger, as the document names it.
    CrossReferenceBody { reference: String }
    /// The node's departments (担当課), all of them.
    DepartmentsBody { departments: Vec<String> }
    /// A milestone of a fiscal year.
    MilestoneBody {
        /// 2024, 令和6年度, R6 …
        fiscal_year: String,
        text: String,
    }
    /// The fiscal year whose milestone is withdrawn.
    WithdrawMilestoneBody { fiscal_year: String }
    /// The fiscal year whose target is withdrawn.
    WithdrawTargetBody { fiscal_year: String }
    /// A new indicator of the node.
    DefineIndicatorBody {
        indicator: String,
        name: String,
        #[serde(default)] unit: String,
        /// increase, decrease, maintain or unstated
        #[serde(default)] direction: String,
        #[serde(default)] cumulative: bool,
        #[serde(default)] note: String,
    }
    /// What of the indicator to change; fields left out stay.
    ReviseIndicatorBody {
        #[serde(default)] name: Option<String>,
        #[serde(default)] unit: Option<String>,
        #[serde(default)] direction: Option<String>,
        #[serde(default)] cumulative: Option<bool>,
        #[serde(default)] note: Option<String>,
    }
    /// The indicator's baseline (基準値).
    BaselineBody {
        /// An exact decimal, as a string
        value: String,
        fiscal_year: String,
        #[serde(default)] note: String,
    }
    /// A target (目標値) for a fiscal year.
    TargetBody {
        fiscal_year: String,
        /// An exact decimal with an optional comparator: `12.5`, `≥ 80`, `以上 80` …
        target: String,
    }
    /// An actual (実績値) for a fiscal year.
    ProgressBody {
        fiscal_year: String,
        /// An exact decimal, as a string
        value: String,
        /// The date the actual was measured (YYYY-MM-DD)
        #[serde(default)] #[schema(format = Date, pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$")] as_of: Option<String>,
        #[serde(default)] note: String,
    }
    /// The corrected actual (実績値) for a fiscal year.
    CorrectionBody {
        fiscal_year: String,
        /// An exact decimal, as a string
        value: String,
        /// The date the actual was measured (YYYY-MM-DD)
        #[serde(default)] #[schema(format = Date, pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$")] as_of: Option<String>,
        #[serde(default)] note: String,
    }
    /// Bring the plan, node or indicator in the path back to its content at a past point. Authority and reason
    /// are required.
    RestoreBody {
        /// A seq, a date, an RFC 3339 instant, a version name, or one of those with a `seq:`, `effective:`,
        /// `as-of:` or `version:` prefix
        to: String,
        /// Plan and check only; append nothing (answers 200)
        #[serde(default)] dry_run: bool,
    }
    /// Several commands on the plan in the path, appended atomically: all or none.
    CommandsBody {
        /// Commands as `{"command": "set_target", …}`; field names as in the single-command endpoints, the ids
        /// included
        #[schema(value_type = Vec<Object>, min_items = 1)]
        commands: Vec<Command>,
    }
}

/// A body whose command is about the plan, node or indicator the path names: the one conversion of each body type.
pub trait OnId: WriteBody {
    fn command(self, id: String) -> Command;
}

mod commands;

#[cfg(test)]
mod tests {
    use super::*;

    fn json_headers() -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_TYPE, axum::http::HeaderValue::from_static("application/json"));
        h
    }

    #[test]
    fn a_bad_seq_names_the_field_and_no_internal_type() {
        let e = parse_body::<NameVersionBody>(&json_headers(), br#"{"name":"v","seq":true}"#).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("seq"));
        assert!(e.detail.contains("a seq (a whole number)"), "{}", e.detail);
        assert!(!e.detail.contains("NumberOrText") && !e.detail.contains("untagged"), "{}", e.detail);
        let b: NameVersionBody = parse_body(&json_headers(), br#"{"name":"v","seq":12}"#).unwrap();
        assert_eq!(b.seq, SeqRef("12".into()));
    }

    #[test]
    fn the_decimal_hint_is_given_on_decimal_fields_only() {
        let e = parse_body::<TargetBody>(&json_headers(), br#"{"fiscal_year":"2020","target":12.5}"#).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("target"));
        assert!(e.detail.contains("exact decimals"), "{}", e.detail);
        let e = parse_body::<MilestoneBody>(&json_headers(), br#"{"fiscal_year":2020,"text":"x"}"#).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("fiscal_year"));
        assert!(!e.detail.contains("exact decimals"), "{}", e.detail);
    }
}
