//! The point parameters every front end takes (`at`, `as_of`, `effective`, `version`: at most one), read the same
//! way for the API, the portal and the CLI, so that a point means the same and is refused with the same words
//! everywhere.

use crate::core::domain::DomainError;
use crate::core::domain::state::Plan;
use crate::core::projection::{self, Point};

/// The largest seq a parameter names: 2^63 − 1, the range of the int64 the API documents.
pub const SEQ_MAX: u64 = i64::MAX as u64;

/// A seq or tree size given as a parameter: a whole number up to [`SEQ_MAX`], refused on `field` otherwise.
pub fn parse_seq(field: &str, v: &str) -> Result<u64, DomainError> {
    match v.trim().parse::<u64>() {
        Ok(n) if n <= SEQ_MAX => Ok(n),
        Ok(_) => Err(DomainError::invalid(field, format!("{v} is larger than the largest seq or size, {SEQ_MAX}"))),
        Err(_) => Err(DomainError::invalid(field, format!("{v:?} is not a whole number (a seq or size)"))),
    }
}

/// The names of the point parameters, in the order they are documented.
pub const POINT_PARAMS: [&str; 4] = ["at", "as_of", "effective", "version"];

/// A point as given: at most one parameter and its text, not yet resolved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PointSpec {
    /// The parameter's name and its value as given; `None` is now.
    pub given: Option<(String, String)>,
}

impl PointSpec {
    /// Reads the point parameters from a query's `(name, value)` pairs: at most one may be given, else the
    /// refusal names every one that was (`"field": "at,version"`).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Self, DomainError> {
        let mut given: Vec<(String, String)> = Vec::new();
        for (k, v) in pairs {
            if POINT_PARAMS.contains(&k) && !given.iter().any(|(g, _)| g == k) {
                given.push((k.to_string(), v.to_string()));
            }
        }
        if given.len() > 1 {
            let mut names: Vec<&str> = given.iter().map(|(k, _)| k.as_str()).collect();
            names.sort_by_key(|n| POINT_PARAMS.iter().position(|p| p == n));
            return Err(DomainError::invalid(names.join(","), "give at most one of at, as_of, effective and version"));
        }
        Ok(Self { given: given.pop() })
    }

    /// The point on a page or command about one plan: a version name is resolved against `plan`; a seq must be
    /// one of the `len` events the read holds.
    pub fn resolve(&self, plan: &Plan, len: u64) -> Result<Option<Point>, DomainError> {
        self.resolve_with(Some(plan), len)
    }

    /// The point of a read about no one plan (every plan, the change log): a version name belongs to one plan and
    /// is refused.
    pub fn resolve_global(&self, len: u64) -> Result<Option<Point>, DomainError> {
        self.resolve_with(None, len)
    }

    fn resolve_with(&self, plan: Option<&Plan>, len: u64) -> Result<Option<Point>, DomainError> {
        let Some((k, v)) = &self.given else { return Ok(None) };
        let point = parse(k, v, plan)?;
        projection::check_within(k, point, len)
    }
}

fn parse(k: &str, v: &str, plan: Option<&Plan>) -> Result<Option<Point>, DomainError> {
    Ok(Some(match k {
        "at" => Point::Seq(parse_seq("at", v)?),
        "as_of" => Point::AsOf(projection::parse_instant("as_of", v)?),
        "effective" => Point::Effective(projection::parse_effective("effective", v)?),
        _ => match plan {
            Some(plan) => projection::version_point("version", plan, v)?,
            None => {
                return Err(DomainError::invalid(
                    "version",
                    "version names belong to one plan; give the version on that plan's page",
                ));
            }
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_most_one_point_and_the_refusal_names_them_all() {
        let e = PointSpec::from_pairs([("version", "v1"), ("at", "3"), ("x", "y")]).unwrap_err();
        assert_eq!(e.field, "at,version");
        let p = PointSpec::from_pairs([("at", "3"), ("x", "y")]).unwrap();
        assert_eq!(p.resolve_global(4).unwrap(), Some(Point::Seq(3)));
        assert_eq!(PointSpec::default().resolve_global(0).unwrap(), None);
        assert_eq!(PointSpec::from_pairs([("version", "v")]).unwrap().resolve_global(9).unwrap_err().field, "version");
        assert_eq!(PointSpec::from_pairs([("at", "x")]).unwrap().resolve_global(9).unwrap_err().field, "at");
    }

    #[test]
    fn a_seq_past_the_head_is_refused_on_its_parameter() {
        let e = PointSpec::from_pairs([("at", "3")]).unwrap().resolve_global(3).unwrap_err();
        assert_eq!(
            (e.field.as_str(), e.reason.as_str()),
            ("at", "seq 3 is not in the ledger: it holds 3 events (seqs 0 to 2)")
        );
        let e = PointSpec::from_pairs([("at", "0")]).unwrap().resolve_global(0).unwrap_err();
        assert_eq!(e.reason, "seq 0 is not in the ledger: it holds no events yet");
        assert!(PointSpec::from_pairs([("at", "2")]).unwrap().resolve_global(3).is_ok());
        // Dates on either axis name no event and are never refused for lying beyond the head.
        assert!(PointSpec::from_pairs([("effective", "2999-01-01")]).unwrap().resolve_global(0).is_ok());
    }
}
