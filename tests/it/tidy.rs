//! The layering, enforced: which folder may name which crate or module, and that every Rust file says what it is
//! for. Each rule is checked on the code with comments and string literals blanked out, so prose may mention sled
//! while code may not use it; the checker's own tests plant forbidden code and see it refused.

use std::path::{Path, PathBuf};

/// A rule: files under `under` (a path prefix from the repository root) whose code names `word` break it.
struct Rule {
    under: &'static str,
    /// Files under this prefix are exempt (the layer that owns the word).
    except: Option<&'static str>,
    word: &'static str,
    why: &'static str,
}

const RULES: &[Rule] = &[
    // The core is pure: no storage, no runtime, no web framework, no HTML, and no upper layer.
    Rule { under: "src/core/", except: None, word: "sled", why: "the core knows nothing of storage" },
    Rule { under: "src/core/", except: None, word: "tokio", why: "the core knows nothing of the async runtime" },
    Rule { under: "src/core/", except: None, word: "axum", why: "the core knows nothing of HTTP" },
    Rule { under: "src/core/", except: None, word: "tower_http", why: "the core knows nothing of HTTP" },
    Rule { under: "src/core/", except: None, word: "maud", why: "the core knows nothing of HTML" },
    Rule { under: "src/core/", except: None, word: "std::fs", why: "the core does no I/O" },
    Rule { under: "src/core/", except: None, word: "std::net", why: "the core does no I/O" },
    Rule { under: "src/core/", except: None, word: "std::process", why: "the core does no I/O" },
    Rule { under: "src/core/", except: None, word: "crate::store", why: "the core is below the store" },
    Rule { under: "src/core/", except: None, word: "crate::query", why: "the core is below the query layer" },
    Rule { under: "src/core/", except: None, word: "crate::web", why: "the core is below the web layer" },
    // Only the store names sled or the log.
    Rule { under: "src/", except: Some("src/store/"), word: "sled", why: "only the store names sled" },
    Rule { under: "src/", except: Some("src/store/"), word: "Log", why: "the log is private to the store" },
    Rule { under: "src/", except: Some("src/store/"), word: "store::log", why: "the log is private to the store" },
    Rule { under: "src/store/", except: None, word: "crate::query", why: "the store is below the query layer" },
    Rule { under: "src/store/", except: None, word: "crate::web", why: "the store is below the web layer" },
    Rule { under: "src/store/", except: None, word: "axum", why: "the store knows nothing of HTTP" },
    Rule { under: "src/store/", except: None, word: "maud", why: "the store knows nothing of HTML" },
    // The query layer serves the API, the portal and the command line alike.
    Rule { under: "src/query/", except: None, word: "crate::web", why: "the query layer is below the web layer" },
    Rule { under: "src/query/", except: None, word: "axum", why: "the query layer knows nothing of HTTP" },
    Rule { under: "src/query/", except: None, word: "maud", why: "the query layer knows nothing of HTML" },
    // The API and the portal are siblings that never import each other.
    Rule { under: "src/web/api/", except: None, word: "portal", why: "the API does not import the portal" },
    Rule { under: "src/web/portal/", except: None, word: "api", why: "the portal does not import the API" },
];

/// `utoipa` may appear in the core only inside `cfg_attr(feature = "web", …)`.
const UTOIPA_GATE: &str = "cfg_attr(feature = \"web\"";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The source with comments, string literals and char literals replaced by spaces (line breaks kept), so that
/// what remains is code.
fn code_only(src: &str) -> String {
    let b: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < b.len() && b[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == '/' && b.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if b[i] == '*' && b.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(b[i]));
                    i += 1;
                }
            }
        } else if c == 'r'
            && (next == Some('"') || next == Some('#'))
            && !b.get(i.wrapping_sub(1)).is_some_and(|p| p.is_alphanumeric() || *p == '_')
        {
            // A raw string: r"…" or r#"…"#.
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            out.push('r');
            for _ in i + 1..=j {
                out.push(' ');
            }
            i = j + 1;
            while i < b.len() {
                if b[i] == '"' && (0..hashes).all(|k| b.get(i + 1 + k) == Some(&'#')) {
                    for _ in 0..=hashes {
                        out.push(' ');
                    }
                    i += 1 + hashes;
                    break;
                }
                out.push(blank(b[i]));
                i += 1;
            }
        } else if c == '"' {
            out.push(' ');
            i += 1;
            while i < b.len() && b[i] != '"' {
                if b[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if i < b.len() {
                    out.push(blank(b[i]));
                    i += 1;
                }
            }
            out.push(' ');
            i += 1;
        } else if c == '\''
            && (b.get(i + 2) == Some(&'\'') || (next == Some('\\') && b[i + 1..].iter().take(12).any(|x| *x == '\'')))
        {
            // A char literal ('x' or an escape); a lifetime has no closing quote.
            out.push(' ');
            i += 1;
            while i < b.len() && b[i] != '\'' {
                if b[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                out.push(' ');
                i += 1;
            }
            out.push(' ');
            i += 1;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// Whether `code` names `word` as a whole path or identifier (not as part of a longer one).
fn names(code: &str, word: &str) -> Option<usize> {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut from = 0;
    while let Some(at) = code[from..].find(word) {
        let start = from + at;
        let end = start + word.len();
        let before = code[..start].chars().next_back();
        let after = code[end..].chars().next();
        if !before.is_some_and(ident) && !after.is_some_and(ident) {
            return Some(code[..start].matches('\n').count() + 1);
        }
        from = end;
    }
    None
}

/// The violations in one file: `rel` is its path from the repository root.
fn violations(rel: &str, src: &str) -> Vec<String> {
    let mut out = Vec::new();
    if !src.trim_start().starts_with("//!") {
        out.push(format!("{rel}: does not open with a `//!` line saying what it is for"));
    }
    let code = code_only(src);
    for r in RULES {
        if !rel.starts_with(r.under) || r.except.is_some_and(|e| rel.starts_with(e)) {
            continue;
        }
        if let Some(line) = names(&code, r.word) {
            out.push(format!("{rel}:{line}: names `{}`: {}", r.word, r.why));
        }
    }
    if rel.starts_with("src/core/") {
        for (n, (line, original)) in code.lines().zip(src.lines()).enumerate() {
            if names(line, "utoipa").is_some() && !original.contains(UTOIPA_GATE) {
                out.push(format!("{rel}:{}: names `utoipa` outside `{UTOIPA_GATE}, …)`", n + 1));
            }
        }
    }
    out
}

#[test]
fn the_layers_keep_to_themselves_and_every_file_says_what_it_is_for() {
    let root = root();
    let mut files = Vec::new();
    for d in ["src", "tests", "benches"] {
        rust_files(&root.join(d), &mut files);
    }
    assert!(files.len() > 50, "found only {} Rust files", files.len());
    let mut all = Vec::new();
    for f in &files {
        let rel = f.strip_prefix(&root).unwrap().to_string_lossy().replace('\\', "/");
        let src = std::fs::read_to_string(f).unwrap();
        all.extend(violations(&rel, &src));
    }
    assert!(all.is_empty(), "the layering is broken:\n{}", all.join("\n"));
}

#[test]
fn the_checker_refuses_planted_imports() {
    let doc = "//! A file.\n";
    let planted = [
        ("src/core/domain/x.rs", "use sled::Db;\n", "sled"),
        ("src/core/projection/x.rs", "async fn f() { tokio::task::yield_now().await }\n", "tokio"),
        ("src/core/x.rs", "use axum::Router;\n", "axum"),
        ("src/core/x.rs", "use maud::html;\n", "maud"),
        ("src/core/x.rs", "#[derive(utoipa::ToSchema)]\nstruct A;\n", "utoipa"),
        ("src/core/x.rs", "use crate::store::Ledger;\n", "crate::store"),
        ("src/core/plantable.rs", "fn f() { let _ = std::fs::read(\"x\"); }\n", "std::fs"),
        ("src/query/x.rs", "fn f(_: &crate::store::log::Log) {}\n", "Log"),
        ("src/web/portal/x.rs", "use crate::store::log::Log;\n", "store::log"),
        ("src/web/api/x.rs", "use crate::web::portal::pages;\n", "portal"),
        ("src/web/portal/x.rs", "use crate::web::api::reads;\n", "api"),
        ("src/cli/x.rs", "fn f() { let _ = sled::Config::new(); }\n", "sled"),
        ("src/store/x.rs", "use crate::web::Problem;\n", "crate::web"),
    ];
    for (rel, code, word) in planted {
        let v = violations(rel, &format!("{doc}{code}"));
        assert!(v.iter().any(|m| m.contains(&format!("`{word}`"))), "{rel}: {code:?} was not refused: {v:?}");
    }
    assert!(violations("src/core/x.rs", "fn f() {}\n").iter().any(|m| m.contains("//!")), "a missing //! line");
    // Prose and strings may mention what code may not use; the gated derive and longer names are fine.
    let fine = [
        ("src/core/x.rs", "//! Knows nothing of sled.\n// sled, tokio, axum\nconst A: &str = \"sled\";\n"),
        ("src/core/x.rs", "//! Gated.\n#[cfg_attr(feature = \"web\", derive(utoipa::ToSchema))]\nstruct A;\n"),
        ("src/web/api/x.rs", "//! Fine.\nuse crate::store::LogError;\nfn apis() {}\nconst R: &str = r#\"portal\"#;\n"),
        ("src/store/log/x.rs", "//! The store may.\nuse sled::Db;\n"),
    ];
    for (rel, src) in fine {
        assert_eq!(violations(rel, src), Vec::<String>::new(), "{rel}: {src:?}");
    }
}
