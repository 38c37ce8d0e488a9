//! The command line beside a running server: every command that works on the ledger runs while `serve` holds the
//! store (through the admin socket) and prints exactly what it prints when the server is stopped; the commands that
//! need the data dir to themselves say so at once.

use crate::support::{cli, serve, stop};

const PLAN: &str = "shinagawa-jisshi-4";
const KPI: &str = "shinagawa-jisshi-4.6-1-1-2-r3.kpi1";

fn text(o: &std::process::Output) -> String {
    assert!(o.status.success(), "exit {:?}: {}", o.status.code(), String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout.clone()).unwrap()
}

#[test]
fn every_ledger_command_runs_beside_a_running_server_as_it_runs_alone() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (child, _) = serve(&data);
    let socket = data.join("admin").join("socket");
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data.join("admin")).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "only the owner may reach the socket");
        assert!(socket.exists());
    }
    let cp = dir.path().join("cp.txt");
    std::fs::write(&cp, text(&cli(&data, &["checkpoint"]))).unwrap();
    let reads: Vec<Vec<&str>> = vec![
        vec!["verify"],
        vec!["verify", "--since", cp.to_str().unwrap()],
        vec!["checkpoint"],
        vec!["pubkey"],
        vec!["export"],
        vec!["prove", "inclusion", "17"],
        vec!["prove", "consistency", "100", "577"],
        vec!["plans"],
        vec!["plans", "--json"],
        vec!["show", PLAN],
        vec!["show", PLAN, "--at", "300"],
        vec!["versions", PLAN],
        vec!["diff", PLAN, "250", "now"],
        vec!["blame", PLAN],
        vec!["history", KPI],
        vec!["cache", "status"],
        vec!["token", "list"],
    ];
    let beside: Vec<String> = reads.iter().map(|a| text(&cli(&data, a))).collect();
    // Paths are the caller's: relative ones too.
    let out = std::process::Command::new(crate::support::bin())
        .current_dir(dir.path())
        .args(["--data", "data", "bundle", "17", "--out", "b17.json"])
        .output()
        .unwrap();
    text(&out);
    assert!(dir.path().join("b17.json").exists(), "the bundle is written where the caller said");
    let e = dir.path().join("e.jsonl");
    text(&cli(&data, &["export", "--out", e.to_str().unwrap()]));
    // Writes: through the server's writer, as if at the console.
    let who = ["--actor", "clerk", "--department", "企画課", "--authority", "庁議", "--reason", "控え"];
    let mut target = vec!["target", "set", KPI, "2018", "63"];
    target.extend(who);
    let w = cli(&data, &target);
    let wrote = text(&w);
    let token =
        text(&cli(&data, &["token", "create", "--name", "beside", "--role", "editor", "--department", "企画課"]));
    assert!(token.trim().starts_with("plt_"), "{token}");
    text(&cli(&data, &["cache", "warm"]));
    text(&cli(&data, &["cache", "verify"]));
    // repair and init need the data dir to themselves.
    let r = cli(&data, &["repair"]);
    assert_eq!(r.status.code(), Some(2), "{}", String::from_utf8_lossy(&r.stderr));
    assert!(String::from_utf8_lossy(&r.stderr).contains("stop `serve` first"));
    stop(child);
    assert!(!socket.exists(), "the socket goes with the server");

    // Alone, the same reads print the same (the write came after them).
    let alone_checkpoint = text(&cli(&data, &["checkpoint"]));
    assert_ne!(alone_checkpoint, beside[2], "the write beside the server was appended");
    let head = text(&cli(&data, &["export"]));
    let last = head.lines().last().unwrap();
    assert!(head.lines().count() == 578 && last.contains("63") && last.contains("控え"), "{wrote}\n{last}");
    assert_eq!(std::fs::read_to_string(&e).unwrap(), beside[4], "export --out beside the server");
    assert_eq!(beside[4].lines().count(), 577);
    let lens = text(&cli(&data, &["verify"]));
    assert!(lens.starts_with("ok: 578 events"), "{lens}");
    let list = text(&cli(&data, &["token", "list"]));
    assert!(list.contains("beside"), "{list}");
    // Read commands beside the server printed what they print alone, for the ledger they read.
    for (args, got) in reads.iter().zip(&beside) {
        if matches!(args[0], "checkpoint" | "export" | "verify" | "cache" | "token" | "prove") {
            continue;
        }
        let alone = text(&cli(&data, args));
        if matches!(args[0], "show" | "blame" | "history" | "plans" | "versions" | "diff") && alone != *got {
            // The one write changed the plan: the rest of the output is the same.
            let differing = alone.lines().zip(got.lines()).filter(|(a, b)| a != b).count();
            assert!(differing <= 12, "`{}` beside the server differs in {differing} lines", args.join(" "));
        }
    }
    assert!(beside[0].starts_with("ok: 577 events"), "{}", beside[0]);
    assert!(beside[1].contains("only grew"), "{}", beside[1]);
}
