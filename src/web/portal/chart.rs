//! The SVG chart of an indicator's target against its actual per fiscal year, with target revisions drawn as
//! steps from the earlier value and numbered annotations; a text alternative and the same data as a table.
//! Coordinates are computed in f64 from the exact values; every value printed stays the exact decimal.

use maud::{Markup, html};
use rust_decimal::prelude::ToPrimitive;

use super::pages::Revision;
use crate::core::domain::value::{PlanValue, Target};
use crate::core::projection::IndicatorView;
use crate::core::projection::view::{target_with_unit, value_with_unit};

const W: f64 = 640.0;
const H: f64 = 320.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 20.0;
const BOTTOM: f64 = 50.0;

fn f(v: &PlanValue) -> f64 {
    v.decimal().to_f64().unwrap_or(0.0)
}

fn target_value(t: &Target) -> Option<f64> {
    match t {
        Target::Value { value, .. } => Some(f(value)),
        Target::None => None,
    }
}

/// Circled numbers for the annotations; beyond twenty, the plain number in brackets.
fn mark(n: usize) -> String {
    u32::try_from(n)
        .ok()
        .filter(|n| (1..=20).contains(n))
        .and_then(|n| char::from_u32(0x2460 + n - 1))
        .map_or(format!("[{n}]"), String::from)
}

/// The axis: from 0 (or the lowest value, if negative) to a little above the highest, in steps of 1, 2 or 5 times
/// a power of ten, about four of them.
fn scale(values: &[f64]) -> (f64, f64, f64) {
    let lo = values.iter().copied().fold(0.0_f64, f64::min);
    let top = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let top = if top.is_finite() && top > lo { top } else { lo + 1.0 };
    let raw = (top - lo) * 1.05 / 4.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = mag
        * match raw / mag {
            n if n <= 1.0 => 1.0,
            n if n <= 2.0 => 2.0,
            n if n <= 5.0 => 5.0,
            _ => 10.0,
        };
    let lo = (lo / step).floor() * step;
    let hi = ((top + (top - lo) * 0.05) / step).ceil() * step;
    (lo, hi.max(lo + step), step)
}

/// A number on the axis: short, not a plan value.
fn tick(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn revision_text(r: &Revision, unit: &str) -> String {
    let new = r.target.as_ref().map_or("取下げ（withdrawn）".to_string(), |t| target_with_unit(t, unit));
    format!(
        "{}の目標を {} に改定：{} → {}（seq {}）",
        r.fiscal_year.label(),
        r.recorded,
        target_with_unit(&r.previous, unit),
        new,
        r.seq
    )
}

/// The chart (with its text alternative and annotations) and the table of the same data.
pub fn figure(v: &IndicatorView, revisions: &[Revision]) -> Markup {
    if v.series.is_empty() {
        return html! { p { "年度別の目標・実績はありません（no targets or actuals by year）。" } };
    }
    let n = v.series.len();
    let mut values: Vec<f64> = Vec::new();
    for r in &v.series {
        values.extend(r.target.as_ref().and_then(target_value));
        values.extend(r.actual.as_ref().map(|a| f(&a.value)));
    }
    for r in revisions {
        values.extend(target_value(&r.previous));
    }
    let (lo, hi, step) = scale(&values);
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let band = plot_w / n as f64;
    let x = |i: usize| LEFT + (i as f64 + 0.5) * band;
    let y = |val: f64| TOP + plot_h * (1.0 - (val - lo) / (hi - lo));

    // The target as steps: one level per year, joined where consecutive years both have one.
    let mut path = String::new();
    let mut last: Option<f64> = None;
    for (i, r) in v.series.iter().enumerate() {
        match r.target.as_ref().and_then(target_value) {
            Some(t) => {
                let (x0, x1, yy) = (x(i) - band / 2.0, x(i) + band / 2.0, y(t));
                path.push_str(&if last.is_some() {
                    format!("L{x0:.1},{yy:.1} ")
                } else {
                    format!("M{x0:.1},{yy:.1} ")
                });
                path.push_str(&format!("L{x1:.1},{yy:.1} "));
                last = Some(t);
            }
            None => last = None,
        }
    }
    let actuals: Vec<(usize, f64)> =
        v.series.iter().enumerate().filter_map(|(i, r)| r.actual.as_ref().map(|a| (i, f(&a.value)))).collect();
    let actual_line: String =
        actuals.iter().map(|(i, a)| format!("{:.1},{:.1}", x(*i), y(*a))).collect::<Vec<_>>().join(" ");
    let index_of = |fy| v.series.iter().position(|r| r.fiscal_year == fy);

    let targets_text: Vec<String> = v
        .series
        .iter()
        .filter_map(|r| {
            r.target.as_ref().map(|t| format!("{} {}", r.fiscal_year.label(), target_with_unit(t, &v.unit)))
        })
        .collect();
    let actuals_text: Vec<String> = v
        .series
        .iter()
        .filter_map(|r| {
            r.actual.as_ref().map(|a| format!("{} {}", r.fiscal_year.label(), value_with_unit(&a.value, &v.unit)))
        })
        .collect();
    let desc = format!(
        "目標 target: {}。実績 actual: {}。目標の改定 revisions: {}。",
        if targets_text.is_empty() { "なし".into() } else { targets_text.join("、") },
        if actuals_text.is_empty() { "なし".into() } else { actuals_text.join("、") },
        if revisions.is_empty() {
            "なし".into()
        } else {
            revisions.iter().map(|r| revision_text(r, &v.unit)).collect::<Vec<_>>().join("、")
        }
    );
    let ticks: Vec<f64> = (0..).map(|k| lo + step * k as f64).take_while(|t| *t <= hi + step / 2.0).collect();

    html! {
        figure {
            svg.chart xmlns="http://www.w3.org/2000/svg" viewBox={ "0 0 " (W) " " (H) } width=(W) height=(H)
                role="img" aria-labelledby="chart-title chart-desc" {
                title #chart-title { (v.name) "：年度別の目標と実績（target against actual by fiscal year）" }
                desc #chart-desc { (desc) }
                rect x="0" y="0" width=(W) height=(H) fill="#ffffff" {}
                @for t in &ticks {
                    line x1=(LEFT) x2=(W - RIGHT) y1=(format!("{:.1}", y(*t))) y2=(format!("{:.1}", y(*t))) stroke="#d0d0d0" stroke-width="1" {}
                    text x=(LEFT - 6.0) y=(format!("{:.1}", y(*t) + 4.0)) text-anchor="end" font-size="12" fill="#1a1a1a" { (tick(*t)) }
                }
                line x1=(LEFT) x2=(LEFT) y1=(TOP) y2=(H - BOTTOM) stroke="#1a1a1a" {}
                line x1=(LEFT) x2=(W - RIGHT) y1=(H - BOTTOM) y2=(H - BOTTOM) stroke="#1a1a1a" {}
                text x="8" y=(TOP + 4.0) font-size="12" fill="#1a1a1a" { (if v.unit.is_empty() { "値" } else { &v.unit }) }
                @for (i, r) in v.series.iter().enumerate() {
                    text x=(format!("{:.1}", x(i))) y=(H - BOTTOM + 18.0) text-anchor="middle" font-size="12" fill="#1a1a1a" { (r.fiscal_year.year()) }
                    text x=(format!("{:.1}", x(i))) y=(H - BOTTOM + 34.0) text-anchor="middle" font-size="10" fill="#4a4a4a" { (r.fiscal_year.era_label().trim_end_matches("年度")) }
                }
                // Superseded targets: dotted at the earlier level, a step down or up to the revised one, numbered.
                @for (k, r) in revisions.iter().enumerate() {
                    @if let (Some(i), Some(p)) = (index_of(r.fiscal_year), target_value(&r.previous)) {
                        line x1=(format!("{:.1}", x(i) - band / 2.0)) x2=(format!("{:.1}", x(i) + band / 2.0))
                            y1=(format!("{:.1}", y(p))) y2=(format!("{:.1}", y(p))) stroke="#5a5a5a" stroke-width="2" stroke-dasharray="2 3" {}
                        @if let Some(t) = r.target.as_ref().and_then(target_value) {
                            line x1=(format!("{:.1}", x(i))) x2=(format!("{:.1}", x(i))) y1=(format!("{:.1}", y(p))) y2=(format!("{:.1}", y(t)))
                                stroke="#5a5a5a" stroke-width="1" marker-end="url(#arrow)" {}
                        }
                        text x=(format!("{:.1}", x(i) - band / 2.0 + 2.0)) y=(format!("{:.1}", y(p) - 4.0)) font-size="13" fill="#1a1a1a" { (mark(k + 1)) }
                    }
                }
                defs {
                    marker #arrow viewBox="0 0 10 10" refX="5" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse" {
                        path d="M0,0 L10,5 L0,10 z" fill="#5a5a5a" {}
                    }
                }
                @if !path.is_empty() { path d=(path.trim_end()) fill="none" stroke="#0b3d91" stroke-width="3" {} }
                @for (i, r) in v.series.iter().enumerate() {
                    @if let Some(t) = r.target.as_ref().and_then(target_value) {
                        rect x=(format!("{:.1}", x(i) - 4.0)) y=(format!("{:.1}", y(t) - 4.0)) width="8" height="8" fill="#0b3d91" {}
                    }
                }
                @if actuals.len() > 1 { polyline points=(actual_line) fill="none" stroke="#a03c00" stroke-width="2" stroke-dasharray="6 4" {} }
                @for (i, a) in &actuals {
                    circle cx=(format!("{:.1}", x(*i))) cy=(format!("{:.1}", y(*a))) r="5" fill="#ffffff" stroke="#a03c00" stroke-width="2" {}
                }
            }
            figcaption {
                p { "凡例 legend: "
                    span aria-hidden="true" { "━■ " } "目標（実線と四角 solid line, squares）、"
                    span aria-hidden="true" { "╌○ " } "実績（破線と丸 dashed line, circles）、"
                    span aria-hidden="true" { "┈ " } "改定前の目標（点線と番号 dotted, numbered）" }
                @if !revisions.is_empty() {
                    ol {
                        @for r in revisions {
                            li { a href={ "/events/" (r.seq) } { (revision_text(r, &v.unit)) } }
                        }
                    }
                }
            }
        }
        div.wide { table {
            caption { "グラフと同じデータ（the chart's data as a table）" }
            thead { tr {
                th scope="col" { "年度 fiscal year" }
                th scope="col" { "目標 target" }
                th scope="col" { "実績 actual" }
                th scope="col" { "評価 evaluation" }
                th scope="col" { "目標の改定 target revisions" }
            } }
            tbody {
                @for r in &v.series {
                    tr {
                        th scope="row" { (r.fiscal_year.label()) }
                        td.num { @match &r.target { Some(t) => (target_with_unit(t, &v.unit)), None => "（記載なし not stated）" } }
                        td.num { @match &r.actual { Some(a) => (value_with_unit(&a.value, &v.unit)), None => "—" } }
                        td { (r.evaluation.label()) }
                        td {
                            @for rv in revisions.iter().filter(|rv| rv.fiscal_year == r.fiscal_year) {
                                a href={ "/events/" (rv.seq) } { (revision_text(rv, &v.unit)) } br;
                            }
                        }
                    }
                }
            }
        } }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_axis_covers_every_value_in_round_steps() {
        assert_eq!(scale(&[60.0, 70.0]), (0.0, 80.0, 20.0));
        let (lo, hi, _) = scale(&[]);
        assert!(hi > lo, "an empty chart still has an axis");
        for values in [vec![-3.5, 12.0], vec![54000.0], vec![0.25, 0.3], vec![-10.0, -2.0]] {
            let (lo, hi, step) = scale(&values);
            assert!(values.iter().all(|v| *v >= lo && *v <= hi), "{values:?} in {lo}..{hi}");
            let n = step / 10f64.powf(step.log10().floor());
            assert!([1.0, 2.0, 5.0].iter().any(|m| (n - m).abs() < 1e-9), "{step}");
            assert!((hi - lo) / step <= 8.0, "{values:?}: {lo}..{hi} by {step}");
        }
    }
}
