//! The §9 chain verifier against the binary: every tampered file, every value form.

use std::path::Path;

use planledger::core::domain::EventHash;
use rand::{Rng, SeedableRng};

use super::*;

#[test]
fn the_chain_verifier_reaches_the_binarys_verdict_on_every_tampered_file() {
    let s = Scripts::new();
    let f = fixture();
    let n = f.lines.len();
    let head = EventHash::of(&f.lines[n - 1]).to_hex();
    assert_eq!(agree(&s, "the export", &[&f.export]), Verdict::Ok { count: n as u64, head: head.clone() });
    let file = f.path("t.jsonl");
    let check = |case: &str, bytes: &[u8], expected: Verdict| {
        std::fs::write(&file, bytes).unwrap();
        let v = agree(&s, case, &[&file]);
        assert_eq!(v, expected, "{case}");
    };
    let named = |p: &Path| Verdict::File(p.to_str().unwrap().to_string());

    // Flipped bytes, as the tamper tests flip them: every line but the last is named by its seq.
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    for _ in 0..30 {
        let k = rng.gen_range(0..n - 1);
        let mut lines = f.lines.clone();
        let pos = rng.gen_range(0..lines[k].len());
        lines[k][pos] ^= 0x01;
        check(&format!("line {k} byte {pos} flipped"), &join(&lines), Verdict::Seq(k as u64));
    }
    // Deleted lines: the place of the first missing line is named; without the first line the files do not start
    // at seq 0; without the last, only the head shows it.
    let k = n / 2;
    let without = |i: usize| [&f.lines[..i], &f.lines[i + 1..]].concat();
    check("a middle line deleted", &join(&without(k)), Verdict::Seq(k as u64));
    check("line 1 deleted", &join(&without(1)), Verdict::Seq(1));
    check("the first line deleted", &join(&without(0)), Verdict::Start(1));
    let shorter = EventHash::of(&f.lines[n - 2]).to_hex();
    check("the last line deleted", &join(&without(n - 1)), Verdict::Ok { count: n as u64 - 1, head: shorter });
    // Swapped and duplicated lines.
    let mut swapped = f.lines.clone();
    swapped.swap(k, k + 1);
    check("two middle lines swapped", &join(&swapped), Verdict::Seq(k as u64));
    let mut swapped = f.lines.clone();
    swapped.swap(0, 1);
    check("the first two lines swapped", &join(&swapped), Verdict::Start(1));
    let mut dup = f.lines.clone();
    dup.insert(k, f.lines[k].clone());
    check("a middle line duplicated", &join(&dup), Verdict::Seq(k as u64 + 1));
    let mut dup = f.lines.clone();
    dup.push(f.lines[n - 1].clone());
    check("the last line duplicated", &join(&dup), Verdict::Seq(n as u64));
    // Framing: a truncated file is named by file, not by seq.
    let clean = join(&f.lines);
    check("the last newline removed", &clean[..clean.len() - 1], named(&file));
    check("cut in the middle of the last line", &clean[..clean.len() - 20], named(&file));
    let mid: usize = f.lines[..k].iter().map(|l| l.len() + 1).sum::<usize>() + 10;
    check("cut in the middle of a middle line", &clean[..mid], named(&file));
    check("an empty line at the end", &[clean.as_slice(), b"\n"].concat(), Verdict::Seq(n as u64));
    let crlf: Vec<u8> = f.lines.iter().flat_map(|l| l.iter().copied().chain(*b"\r\n")).collect();
    check("CR LF line ends", &crlf, Verdict::Seq(0));
    check("a byte order mark", &[b"\xEF\xBB\xBF".as_slice(), &clean].concat(), Verdict::Seq(0));
    check("an empty file", b"", Verdict::Ok { count: 0, head: "0".repeat(64) });

    // Several files: in order they are one chain; the second alone is a segment; a truncated first file is named
    // even though later files are fine.
    let (a, b) = (f.path("a.jsonl"), f.path("b.jsonl"));
    std::fs::write(&a, join(&f.lines[..k])).unwrap();
    std::fs::write(&b, join(&f.lines[k..])).unwrap();
    assert_eq!(agree(&s, "two files", &[&a, &b]), Verdict::Ok { count: n as u64, head: head.clone() });
    assert_eq!(agree(&s, "a segment not said to be one", &[&b]), Verdict::Start(k as u64));
    let segment = agree_with(&s, "a segment", &["--segment"], &[&b]);
    assert_eq!(segment, Verdict::Ok { count: (n - k) as u64, head: head.clone() });
    assert_eq!(agree(&s, "files out of order", &[&b, &a]), Verdict::Start(k as u64));
    assert_eq!(agree_with(&s, "files out of order", &["--segment"], &[&b, &a]), Verdict::Seq(n as u64));
    let cut = join(&f.lines[..k]);
    std::fs::write(&a, &cut[..cut.len() - 1]).unwrap();
    assert_eq!(agree(&s, "the first of two files truncated", &[&a, &b]), named(&a));
}

#[test]
fn the_chain_verifier_refuses_every_value_form_the_binary_refuses() {
    let s = Scripts::new();
    let f = fixture();
    let file = f.path("t.jsonl");
    let n = f.lines.len();
    // (the line, as a text it contains; what is replaced; by what). Each fault is alone: later links are rehashed.
    let refused: &[(&str, &str, &str)] = &[
        (r#""seq":3,"#, r#"{"v":1,"#, r#"{"v":1.0,"#),
        (r#""seq":3,"#, r#"{"v":1,"#, r#"{"v":1e0,"#),
        (r#""seq":3,"#, r#"{"v":1,"#, r#"{"v":2,"#),
        (r#""seq":3,"#, r#"{"v":1,"#, r#"{"v":true,"#),
        (r#""seq":3,"#, r#""seq":3,"#, r#""seq":3.0,"#),
        (r#""seq":3,"#, r#""seq":3,"#, r#""seq":"3","#),
        (r#""seq":3,"#, r#"{"v":1,"#, r#"{"v":1,"v":1,"#),
        (r#""seq":3,"#, r#"{"v":1,"#, r#"{"v":1,"x":0,"#),
        (r#""seq":3,"#, r#"{"v":1,"#, r#"{ "v":1,"#),
        (r#""seq":3,"#, r#""recorded_at":"2"#, r#""recorded_at":"２"#),
        (r#""seq":3,"#, r#""effective":"2016"#, r#""effective":"２016"#),
        (r#""seq":3,"#, r#""effective":"2016-04-01""#, r#""effective":"2017-02-29""#),
        (r#""seq":3,"#, r#""effective":"2016-04-01""#, r#""effective":"2016-4-01""#),
        (r#""seq":3,"#, r#""effective":"2016-04-01""#, r#""effective":"10000-04-01""#),
        (r#""seq":3,"#, r#""effective":"2016-04-01""#, r#""effective":"2016-04-01T00:00:00""#),
        (r#""seq":3,"#, r#""prev":""#, r#""prev":"X"#),
        (r#""seq":3,"#, r#""actor":{"id":"clerk","#, r#""actor":{"id":"clerk","x":"","#),
        (r#""seq":3,"#, r#""authority":"庁議""#, r#""authority":"\u5e81議""#),
        (r#""seq":3,"#, r#""authority":"庁議""#, r#""authority":"庁議\/""#),
        (r#""seq":3,"#, r#""authority":"庁議""#, r#""authority":"\ud800""#),
        (r#""type":"PlanCreated""#, r#""code":"131091""#, r#""code":"131092""#),
        (r#""type":"PlanCreated""#, r#""code":"131091""#, r#""code":"481091""#),
        (r#""type":"PlanCreated""#, r#""code":"131091""#, r#""code":"１31091""#),
        (r#""type":"PlanCreated""#, r#""from":2016"#, r#""from":2016.0"#),
        (r#""type":"PlanCreated""#, r#""status":"adopted""#, r#""status":"Adopted""#),
        (r#""type":"PlanCreated""#, r#""plan":"p""#, r#""plan":"-p""#),
        (r#""type":"NodeAdded""#, r#""order":0"#, r#""order":-1"#),
        (r#""type":"NodeAdded""#, r#""order":0"#, r#""order":NaN"#),
        (r#""type":"NodeAdded""#, r#""type":"NodeAdded""#, r#""type":"NodeAddedd""#),
        (r#""type":"MilestoneSet""#, r#""fiscal_year":2017"#, r#""fiscal_year":1867"#),
        (r#""type":"MilestoneSet""#, r#""fiscal_year":2017"#, r#""fiscal_year":2201"#),
        (r#""type":"MilestoneSet""#, r#""fiscal_year":2017"#, r#""fiscal_year":"2017""#),
        (r#""type":"TargetSet""#, r#""value":"3750""#, r#""value":"-0""#),
        (r#""type":"TargetSet""#, r#""value":"3750""#, r#""value":"03750""#),
        (r#""type":"TargetSet""#, r#""value":"3750""#, r#""value":"3.75e3""#),
        (r#""type":"TargetSet""#, r#""value":"3750""#, r#""value":"３750""#),
        (r#""type":"TargetSet""#, r#""value":"3750""#, r#""value":"79228162514264337593543950336""#),
        (r#""type":"TargetSet""#, r#""value":"3750""#, r#""value":"0.00000000000000000000000000001""#),
        (r#""type":"TargetSet""#, r#""comparator":"ge""#, r#""comparator":"GE""#),
        (r#""type":"ProgressReported""#, r#""as_of":"2018-04-01""#, r#""as_of":"2018-04-31""#),
        (r#""type":"Restored""#, r#""compensating":"#, r#""compensating":-"#),
        (r#""axis":"as_of""#, r#""as_of":"20"#, r#""as_of":"２0"#),
    ];
    for (at, old, new) in refused {
        let k = f.seq_of(at);
        let lines = rechained(&f.lines, k, replaced(&f.lines[k], old, new));
        std::fs::write(&file, join(&lines)).unwrap();
        assert_eq!(agree(&s, &format!("{new} at seq {k}"), &[&file]), Verdict::Seq(k as u64), "{new}");
    }
    // Hour 24 and a fraction of other than six digits, in the last line (its instant stays the latest).
    let last = text(&f.lines[n - 1]);
    let at = last.find(r#""recorded_at":""#).unwrap() + 15;
    let instant = &last[at..at + 27];
    let date = &instant[..10];
    for bad in [
        format!("{date}T24:00:00.000000Z"),
        format!("{date}T23:60:00.000000Z"),
        format!("{date}T23:59:59.00000Z"),
        format!("{date}T23:59:59.0000000Z"),
        format!("{date}T23:59:59.000000+00:00"),
        format!("{date} 23:59:59.000000Z"),
    ] {
        let mut lines = f.lines.clone();
        lines[n - 1] = replaced(&lines[n - 1], instant, &bad);
        std::fs::write(&file, join(&lines)).unwrap();
        assert_eq!(agree(&s, &bad, &[&file]), Verdict::Seq(n as u64 - 1), "{bad}");
    }
    // Forms both accept: the fault is then only the changed head.
    for new in [r#""effective":"2016-02-29""#, r#""effective":"0000-02-29""#, r#""effective":"9999-12-31""#] {
        let k = f.seq_of(r#""seq":3,"#);
        let lines = rechained(&f.lines, k, replaced(&f.lines[k], r#""effective":"2016-04-01""#, new));
        std::fs::write(&file, join(&lines)).unwrap();
        let head = EventHash::of(lines.last().unwrap()).to_hex();
        assert_eq!(agree(&s, new, &[&file]), Verdict::Ok { count: n as u64, head }, "{new}");
    }

    // Years outside 0000-9999 and leap seconds: refused (FORMAT.md §3.1) by both.
    let script_refuses = |case: &str, lines: &[Vec<u8>], k: usize| {
        std::fs::write(&file, join(lines)).unwrap();
        assert_eq!(agree(&s, case, &[&file]), Verdict::Seq(k as u64), "{case}");
    };
    let k = f.seq_of(r#""seq":3,"#);
    for new in [r#""effective":"+10000-04-01""#, r#""effective":"-0001-04-01""#] {
        let lines = rechained(&f.lines, k, replaced(&f.lines[k], r#""effective":"2016-04-01""#, new));
        script_refuses(new, &lines, k);
    }
    let r = f.seq_of(r#""axis":"as_of""#);
    let line = text(&f.lines[r]);
    let at = line.find(r#""as_of":""#).unwrap() + 9;
    let as_of = &line[at..at + 27];
    for new in [format!("{}T23:59:60.000000Z", &as_of[..10]), format!("+1{as_of}")] {
        let lines = rechained(&f.lines, r, replaced(&f.lines[r], as_of, &new));
        script_refuses(&new, &lines, r);
    }
    for new in [format!("{date}T23:59:60.000000Z"), format!("+10000{}", &instant[4..])] {
        let mut lines = f.lines.clone();
        lines[n - 1] = replaced(&lines[n - 1], instant, &new);
        script_refuses(&new, &lines, n - 1);
    }
    let p = f.seq_of(r#""type":"ProgressReported""#);
    let lines = rechained(&f.lines, p, replaced(&f.lines[p], r#""as_of":"2018-04-01""#, r#""as_of":"+10000-04-01""#));
    script_refuses("a five-digit as_of", &lines, p);
}
