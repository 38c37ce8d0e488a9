//! The page shell every portal page shares (language, skip link, navigation, the time banner, footer), the style
//! sheet, and the error page.

use axum::http::StatusCode;
use maud::{DOCTYPE, Markup, html};

/// Where the style sheet is served.
pub const CSS_PATH: &str = "/assets/portal.css";

/// What the page shows, in time: told in words and by a symbol, never by colour alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Banner {
    /// The current record: `standing` says whether the plan it shows is in force, so that a draft, a superseded or
    /// an ended plan never carries the in-force banner; `note` says why in words.
    Current { standing: Standing, note: Option<String> },
    /// A past point: `what` names it; `current` links to the same page now.
    Past { what: String, current: String, note: Option<String> },
    /// A date in the future: what is recorded to take effect by then.
    Prospective { what: String, current: String, note: Option<String> },
}

/// Where the plan a current page shows stands today.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Adopted, and today lies in its period: the plan in force.
    InForce,
    /// A page about every plan, or a plan adopted without a stated period: the latest record, nothing claimed.
    Record,
    /// Not adopted.
    Draft,
    /// Replaced by a later plan.
    Superseded,
    /// Adopted, its period not begun.
    NotYetInForce,
    /// Adopted, its period over.
    Ended,
}

/// The footer's statement of what the pages were read from.
#[derive(Debug, Clone)]
pub struct Head {
    pub events: u64,
    pub hash: String,
    /// The Atom feed of what the page is about, `(href, title)`, announced in `<head>` so that feed readers and
    /// browsers find it.
    pub feed: Option<(String, String)>,
}

/// The style sheet, served at [`CSS_PATH`] so that pages stay small and browsers cache it.
pub const CSS: &str = r#"
:root{--fg:#1a1a1a;--muted:#4a4a4a;--link:#0645ad;--line:#767676;--bg:#fff;--soft:#f3f3f3}
*{box-sizing:border-box}
body{margin:0;font-family:"Hiragino Sans","Noto Sans JP","Yu Gothic",system-ui,sans-serif;color:var(--fg);background:var(--bg);line-height:1.7}
a{color:var(--link)}
a:focus-visible,button:focus-visible,input:focus-visible,select:focus-visible,summary:focus-visible{outline:3px solid #b35900;outline-offset:2px}
.skip{position:absolute;left:-999px;top:0;background:#fff;padding:.5em;z-index:9}
.skip:focus{left:.5em}
header.site{border-bottom:2px solid var(--fg);padding:.5em 1em;display:flex;flex-wrap:wrap;gap:1em;align-items:baseline}
header.site nav ul{list-style:none;display:flex;flex-wrap:wrap;gap:1em;margin:0;padding:0}
main{padding:0 1em 2em;max-width:72em}
footer{border-top:1px solid var(--line);padding:1em;color:var(--muted);font-size:.9em;overflow-wrap:anywhere}
.banner{border:3px solid var(--fg);padding:.6em 1em;margin:1em 0;font-size:1.05em}
.banner strong.kind{font-size:1.15em;margin-right:.5em}
.banner-current{background:#eef6ee;border-color:#1d5c1d}
.banner-past{background:#fff4d6;border-color:#7a4b00;border-style:double;border-width:6px}
.banner-prospective{background:#e8f0fb;border-color:#0b3d91;border-style:dashed}
.banner-draft{background:#f4eefa;border-color:#5b2a86;border-style:dashed}
.banner-ended{background:#f3f3f3;border-color:#4a4a4a}
.note{border-left:4px solid #7a4b00;padding-left:.6em}
table{border-collapse:collapse;margin:.5em 0 1em;max-width:100%}
caption{text-align:left;font-weight:bold;padding:.3em 0}
th,td{border:1px solid var(--line);padding:.25em .5em;text-align:left;vertical-align:top}
th{background:var(--soft)}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.wide{overflow-x:auto}
.tree-wrap ul{list-style:none;padding-left:1.2em;border-left:1px solid var(--line)}
.tree-wrap>ul{padding-left:0;border-left:0}
.node{margin:.5em 0}
.level{display:inline-block;border:1px solid var(--line);padding:0 .3em;font-size:.85em;margin-right:.3em}
.muted{color:var(--muted)}
del{background:#fde2e2;text-decoration:line-through}
ins{background:#dff3df;text-decoration:underline}
.mark{font-weight:bold}
ol.timeline{padding-left:1.2em}
ol.timeline>li{margin-bottom:1em;border-left:3px solid var(--line);padding-left:.6em}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.2em 1em}
dl.facts dt{font-weight:bold}
dl.facts dd{margin:0}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:var(--soft);padding:.5em}
.text{white-space:pre-wrap}
form.inline{display:inline-flex;flex-wrap:wrap;gap:.3em;align-items:center;margin:.2em 1em .2em 0}
svg.chart{max-width:100%;height:auto;border:1px solid var(--line)}
@media (max-width:40em){dl.facts{grid-template-columns:1fr}main{padding:0 .5em 2em}}
@page{margin:15mm 12mm}
@media print{header.site,.skip,form,details,nav{display:none}body{font-size:8.5pt;line-height:1.3}main{max-width:none;padding:0}a{color:inherit;text-decoration:none}.wide{overflow:visible}.banner{border-width:2px;border-style:solid;padding:.2em .5em;margin:.3em 0}table{margin:.2em 0 .4em}th,td{padding:0 .3em}.node{margin:.2em 0}.tree-wrap ul{padding-left:.8em}tr,figure{break-inside:avoid}h2,h3,h4,caption{break-after:avoid}footer{border-top:1px solid #000;color:#000;padding:.3em 0}svg.chart{max-width:60%}}
"#;

/// The `<head>` every page shares.
fn head_of(title: &str, feed: Option<&(String, String)>) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " — planledger 計画台帳" }
            link rel="stylesheet" href=(CSS_PATH);
            @if let Some((href, t)) = feed { link rel="alternate" type="application/atom+xml" title=(t) href=(href); }
        }
    }
}

/// A whole page. `title` is the page's one `h1` and its `<title>`.
pub fn page(title: &str, banner: Option<&Banner>, head: &Head, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="ja" {
            (head_of(title, head.feed.as_ref()))
            body {
                a.skip href="#main" { "本文へ移動（skip to content）" }
                header.site {
                    a href="/" { strong { "planledger 計画台帳" } }
                    nav aria-label="サイト（site）" {
                        ul {
                            li { a href="/" { "計画一覧 Plans" } }
                            li { a href="/changes" { "変更履歴 Changes" } }
                            li { a href="/verify" { "検証 Verify" } }
                        }
                    }
                }
                main #main {
                    h1 { (title) }
                    @if let Some(b) = banner { (banner_markup(b)) }
                    (body)
                }
                footer {
                    p {
                        "この表示は台帳の記録から作られています（rendered from the ledger）: "
                        (head.events) " 件の変更（events）, 最新ハッシュ head "
                        code { (head.hash) }
                        " · "
                        a href="/api/export" { "台帳ファイル ledger file" }
                        " · "
                        a href="/verify" { "検証方法 how to verify" }
                    }
                }
            }
        }
    }
}

fn banner_markup(b: &Banner) -> Markup {
    let (class, symbol, kind, what, current, note) = match b {
        Banner::Current { standing, note } => {
            let (class, symbol, kind) = match standing {
                Standing::InForce => ("banner banner-current", "●", "現在の計画"),
                Standing::Record => ("banner banner-current", "●", "現在の記録"),
                Standing::Draft => ("banner banner-draft", "◇", "計画案（策定前）"),
                Standing::Superseded => ("banner banner-ended", "■", "失効した計画"),
                Standing::NotYetInForce => ("banner banner-prospective", "▲", "計画期間前の計画"),
                Standing::Ended => ("banner banner-ended", "■", "計画期間が終了した計画"),
            };
            (class, symbol, kind, None, None, note)
        }
        Banner::Past { what, current, note } => {
            ("banner banner-past", "◆", "過去の時点の表示", Some(what), Some(current), note)
        }
        Banner::Prospective { what, current, note } => {
            ("banner banner-prospective", "▲", "将来の時点の表示（予定）", Some(what), Some(current), note)
        }
    };
    let english = match b {
        Banner::Current { standing, .. } => match standing {
            Standing::InForce => "Current: the plan in force, as recorded now.",
            Standing::Record => "Current: as recorded now.",
            Standing::Draft => "Draft: the latest record of a plan not adopted; it is not in force.",
            Standing::Superseded => "Superseded: the latest record of a plan no longer in force.",
            Standing::NotYetInForce => "Adopted, not yet in force: the latest record.",
            Standing::Ended => "Period ended: the latest record of a plan no longer in force.",
        },
        Banner::Past { .. } => "Past view: this is NOT the current plan.",
        Banner::Prospective { .. } => "Prospective view: what is recorded to be in force on a future date.",
    };
    html! {
        section class=(class) aria-label="表示時点（what this page shows）" {
            p {
                span aria-hidden="true" { (symbol) " " }
                strong.kind { (kind) }
                (english)
            }
            @if let Some(w) = what { p { (w) } }
            @if let Some(n) = note { p { (n) } }
            @if let Some(c) = current { p { a href=(c) { "現在の計画を見る（see the current plan）" } } }
        }
    }
}

/// The error page: status, the parameter at fault, and why.
pub fn error(status: StatusCode, field: Option<&str>, detail: &str) -> Markup {
    let title = match status {
        StatusCode::NOT_FOUND => "見つかりません（not found）".to_string(),
        StatusCode::BAD_REQUEST => "指定に誤りがあります（bad request）".to_string(),
        s => format!("表示できません（{s}）"),
    };
    let body = html! {
        p { "状態 status: " strong { (status.as_u16()) } }
        @if let Some(f) = field {
            p { "パラメータ parameter: " code { (f) } }
        }
        p { "理由 reason: " (detail) }
        p { a href="/" { "計画一覧へ戻る（back to the plans）" } }
    };
    error_shell(&title, body)
}

fn error_shell(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="ja" {
            (head_of(title, None))
            body {
                a.skip href="#main" { "本文へ移動（skip to content）" }
                header.site { a href="/" { strong { "planledger 計画台帳" } } }
                main #main { h1 { (title) } (body) }
            }
        }
    }
}

/// Percent-encodes a path segment or query value (UTF-8 bytes; unreserved characters kept).
pub fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn luminance(hex: &str) -> f64 {
        let c = |i: usize| {
            let v = u8::from_str_radix(&hex[i..i + 2], 16).unwrap() as f64 / 255.0;
            if v <= 0.03928 { v / 12.92 } else { ((v + 0.055) / 1.055).powf(2.4) }
        };
        0.2126 * c(1) + 0.7152 * c(3) + 0.0722 * c(5)
    }

    fn contrast(a: &str, b: &str) -> f64 {
        let (x, y) = (luminance(a), luminance(b));
        (x.max(y) + 0.05) / (x.min(y) + 0.05)
    }

    /// Every colour of text the style sheet sets, on every background it can stand on, reaches 4.5:1 (JIS X
    /// 8341-3 / WCAG 1.4.3 AA); borders and the focus ring reach 3:1 (1.4.11).
    #[test]
    fn colours_have_sufficient_contrast() {
        let text = ["#1a1a1a", "#0645ad", "#4a4a4a"];
        let backgrounds = ["#ffffff", "#f3f3f3", "#eef6ee", "#fff4d6", "#e8f0fb", "#fde2e2", "#dff3df"];
        for c in text.iter().chain(&backgrounds[1..]) {
            assert!(CSS.contains(c) || *c == "#ffffff", "{c} is no longer in the style sheet: update this test");
        }
        for t in text {
            for b in backgrounds {
                assert!(contrast(t, b) >= 4.5, "{t} on {b}: {:.2}", contrast(t, b));
            }
        }
        for border in ["#767676", "#1d5c1d", "#7a4b00", "#0b3d91", "#b35900"] {
            assert!(CSS.contains(border), "{border}");
            assert!(contrast(border, "#ffffff") >= 3.0, "{border}: {:.2}", contrast(border, "#ffffff"));
        }
        // The chart's marks and labels on its white ground.
        for (mark, min) in [("#0b3d91", 3.0), ("#a03c00", 3.0), ("#5a5a5a", 3.0), ("#1a1a1a", 4.5), ("#4a4a4a", 4.5)] {
            assert!(contrast(mark, "#ffffff") >= min, "{mark}");
        }
    }
}
