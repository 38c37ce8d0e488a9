//! Regressions of defects the fuzz harness found (`cargo bench --bench fuzz`), one test per defect.

use super::*;

#[test]
fn regression_merkle_proof_length_shift_overflow() {
    // Postmortem: the proof length took `index >> inner` with `inner` reaching 64 when the two sizes differ in the top bit, an overflowing shift (a panic with overflow checks, a wrong length without); found by the fuzz harness.
    use planledger::core::audit::merkle::{self, ProofError, consistency_proof_len, inclusion_proof_len};
    // Leaf 2^63-1 of a tree of 2^64-1 leaves: 63 hashes inside the left perfect subtree of 2^63 leaves, one beside it.
    assert_eq!(inclusion_proof_len((1 << 63) - 1, u64::MAX), 64);
    assert_eq!(consistency_proof_len(9999, u64::MAX), consistency_proof_len(9999, u64::MAX));
    let one = [[0u8; 32]];
    let r = merkle::verify_inclusion::<planledger::core::audit::LedgerHasher, _>(
        (1 << 63) - 1,
        u64::MAX,
        &[0; 32],
        &one,
        &[0; 32],
    );
    assert_eq!(r, Err(ProofError::WrongLength { got: 1, want: 64 }));
    let r = merkle::verify_consistency::<planledger::core::audit::LedgerHasher, _>(
        9999,
        u64::MAX,
        &one,
        &[0; 32],
        &[0; 32],
    );
    assert!(matches!(r, Err(ProofError::WrongLength { got: 1, .. })), "{r:?}");
}

#[test]
fn regression_instant_outside_four_digit_years_in_utc() {
    // Postmortem: an input instant was checked for a four-digit year as written, not in UTC, so `0000-01-01T00:00:00+09:00` became the year -1 (and `9999-12-31T23:59:59-01:00` the year 10000): a point or restore the ledger could not store or read back; found by the fuzz harness.
    use planledger::core::domain::time::parse_instant;
    for bad in ["0000-01-01T00:00:00+09:00", "9999-12-31T23:59:59-01:00", "9999-12-31T23:59:59.999-21:59"] {
        let e = parse_instant(bad).unwrap_err();
        assert!(e.contains("0000–9999"), "{bad}: {e}");
    }
    assert_eq!(parse_instant("0000-01-01T09:00:00+09:00").unwrap(), at("0000-01-01T00:00:00Z"));
    assert_eq!(parse_instant("9999-12-31T23:59:59+00:00").unwrap(), at("9999-12-31T23:59:59Z"));
    let e = planledger::core::projection::parse_instant("as_of", "0000-01-01T00:00:00+09:00").unwrap_err();
    assert_eq!(e.field, "as_of");
}

#[test]
fn regression_body_empty_key_names_no_field() {
    // Postmortem: a body with an empty key (`{"": 1}`) was refused as an unknown field whose name is empty, so the problem named no field at all (or `details[0].`); found by the fuzz harness.
    use planledger::web::api::bodies::{AddNodeBody, DefineIndicatorBody, parse_body};
    let mut h = axum::http::HeaderMap::new();
    h.insert(axum::http::header::CONTENT_TYPE, axum::http::HeaderValue::from_static("application/json"));
    let e = parse_body::<DefineIndicatorBody>(&h, br#"{"indicator":"k","name":"n","":"increase"}"#).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("body"), "{}", e.detail);
    let e = parse_body::<AddNodeBody>(&h, br#"{"node":"n","title":"t","details":[{"label":"a","text":"b","":1}]}"#)
        .unwrap_err();
    assert_eq!(e.field.as_deref(), Some("details[0]"), "{}", e.detail);
}

#[test]
fn regression_detail_unknown_field_ignored() {
    // Postmortem: `Detail` alone of the body types did not refuse unknown fields, so a misspelt key inside `details` (`{"label":…,"txt":…}`) was dropped without a word while the same mistake one level up was refused.
    use planledger::web::api::bodies::{NodeDetailsBody, parse_body};
    let mut h = axum::http::HeaderMap::new();
    h.insert(axum::http::header::CONTENT_TYPE, axum::http::HeaderValue::from_static("application/json"));
    let e = parse_body::<NodeDetailsBody>(&h, br#"{"details":[{"label":"a","text":"b","txt":"c"}]}"#).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("details[0].txt"), "{}", e.detail);
    assert!(parse_body::<NodeDetailsBody>(&h, br#"{"details":[{"label":"a","text":"b"}]}"#).is_ok());
}

#[test]
fn regression_fiscal_year_era_label_unreadable() {
    // Postmortem: 令和 accepted era years up to 99 (2117) while fiscal years reach 2200, so the label shown for 2118–2200 (令和100年度 …) was refused when read back; found by the fuzz harness.
    use planledger::core::domain::FiscalYear;
    use planledger::core::domain::fiscal_year::{MAX_YEAR, MIN_YEAR};
    for y in MIN_YEAR..=MAX_YEAR {
        let fy = FiscalYear::new(y).unwrap();
        assert_eq!(fy.era_label().parse::<FiscalYear>(), Ok(fy), "{}", fy.era_label());
    }
    assert!("令和183年度".parse::<FiscalYear>().is_err(), "beyond MAX_YEAR");
}
