//! Targets for ledger lines: one record's bytes (`Record::decode`, which must round-trip byte for byte), and a
//! ledger file checked whole as `import` and `verify` read it (`split_lines`, the writer's `ChainVerifier` and
//! `verify_lines`, which must agree).

use planledger::core::record::{ChainVerifier, Record, split_lines, verify_lines};

use super::{Fixture, Shape, Target, kind};

const DICT: &[&str] = &[
    "\"v\":1",
    "\"seq\":",
    "\"prev\":",
    "\"recorded_at\":",
    "\"effective\":",
    "\"actor\":",
    "\"authority\":null",
    "\"reason\":null",
    "\"event\":",
    "\"type\":",
    "0000000000000000000000000000000000000000000000000000000000000000",
    "2026-11-21T00:00:00.000000Z",
    "9999-12-31T23:59:59.999999Z",
    "0000-01-01T00:00:00.000000Z",
    "2016-12-31T23:59:60.000000Z",
    "2016-04-01",
    "2016-02-29",
    "2017-02-29",
    "PlanCreated",
    "NodeAdded",
    "IndicatorDefined",
    "TargetSet",
    "ProgressReported",
    "VersionNamed",
    "PlanRestored",
    "BaselineSet",
    "\\u00e9",
    "\\/",
    "null",
    "true",
    "[]",
    "{}",
];

pub fn targets() -> Vec<Target> {
    vec![
        Target { name: "record", shape: Shape::Json, dict: DICT, seeds: record_seeds, run: record },
        Target { name: "import", shape: Shape::Text, dict: DICT, seeds: import_seeds, run: import },
    ]
}

fn record_seeds(f: &Fixture) -> Vec<Vec<u8>> {
    // Every event type the seed ledger has, once or twice: lines of one type share most of their parsing.
    let mut seen = std::collections::HashMap::new();
    f.lines
        .iter()
        .filter(|l| {
            let t = Record::decode(l).map(|r| r.event.type_name()).unwrap_or("?");
            let n = seen.entry(t).or_insert(0);
            *n += 1;
            *n <= 2
        })
        .cloned()
        .collect()
}

fn record(_: &Fixture, input: &[u8]) -> String {
    match Record::decode(input) {
        Ok(r) => {
            let bytes = r.encode();
            assert_eq!(bytes, input, "an accepted record re-encodes to other bytes");
            assert_eq!(Record::decode(&bytes).as_ref(), Ok(&r), "decode(encode(r)) is not r");
            format!("ok:{}", r.event.type_name())
        }
        Err(e) => kind(&e),
    }
}

fn import_seeds(f: &Fixture) -> Vec<Vec<u8>> {
    // Short files from the start of the ledger: each line is re-decided, so short files keep the rate up.
    [1, 3, 8, 20]
        .iter()
        .map(|n| f.lines[..*n].iter().flat_map(|l| l.iter().copied().chain([b'\n'])).collect())
        .collect()
}

fn import(_: &Fixture, input: &[u8]) -> String {
    let lines = match split_lines(input) {
        Ok(l) => l,
        Err(_) => return "err:split".into(),
    };
    let mut v = ChainVerifier::new();
    let pushed = lines.iter().try_for_each(|l| v.push(l).map(|_| ()));
    let whole = verify_lines(ChainVerifier::new(), lines.iter().map(Vec::as_slice));
    match (pushed, whole) {
        (Ok(()), Ok((summary, state))) => {
            assert_eq!(summary, v.summary(), "import and verify summarize the same lines differently");
            assert_eq!(&state, v.state(), "import and verify fold the same lines differently");
            format!("ok:{}", lines.len().min(3))
        }
        (Err(a), Err(b)) => {
            let what = |w: &str| w.split(':').next().unwrap_or("").chars().take(30).collect::<String>();
            format!("err:{}:{}", what(&a.what), what(&b.what))
        }
        (a, b) => panic!("import says {a:?} and verify says {:?} of the same lines", b.map(|(s, _)| s)),
    }
}
