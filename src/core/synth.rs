//! Synthetic workloads: deterministic command streams for benchmarks and crash tests (never for real plans).

use chrono::NaiveDate;

use crate::core::domain::Command;
use crate::core::domain::model::{Actor, Meta};

/// The meta synthetic commands are recorded with.
pub fn meta() -> Meta {
    Meta {
        actor: Actor { id: "synthetic".into(), name: "Synthetic workload".into(), department: "benchmark".into() },
        authority: Some("synthetic workload".into()),
        reason: Some("synthetic workload for measurement".into()),
        effective: NaiveDate::from_ymd_opt(2020, 4, 1),
    }
}

/// `count` commands on a fresh plan `synth-<tag>`; each one appends exactly one event.
pub fn workload(tag: &str, count: usize) -> Vec<Command> {
    let plan = format!("synth-{tag}");
    let mut out = Vec::with_capacity(count);
    if count == 0 {
        return out;
    }
    out.push(Command::CreatePlan {
        plan: plan.clone(),
        municipality: "合成市".into(),
        municipality_code: "131091".into(),
        title: format!("合成計画 {tag}"),
        kind: "実施計画".into(),
        period_from: Some("2020".into()),
        period_to: Some("2029".into()),
        status: "adopted".into(),
        levels: vec!["施策".into(), "事業".into()],
        predecessor: None,
    });
    let mut k = 0u64;
    while out.len() < count {
        let node = format!("{plan}.n{k}");
        let ind = format!("{plan}.i{k}");
        let parent = if k.is_multiple_of(10) { None } else { Some(format!("{plan}.n{}", k - k % 10)) };
        let step = [
            Command::AddNode {
                plan: plan.clone(),
                node: node.clone(),
                parent,
                // Explicit, so that deciding an append does not scan every node for the next free place (which
                // costs time in proportion to all nodes of the ledger; see ARCHITECTURE.md, Known limits).
                order: Some(k % 10),
                code: format!("{k}"),
                title: format!("事業 {k}"),
                text: "合成データ".into(),
                details: vec![],
                departments: vec![format!("課{}", k % 7)],
            },
            Command::DefineIndicator {
                indicator: ind.clone(),
                node: node.clone(),
                name: format!("指標 {k}"),
                unit: "件".into(),
                direction: "higher".into(),
                cumulative: false,
                note: String::new(),
            },
            Command::SetTarget { indicator: ind.clone(), fiscal_year: "2020".into(), target: format!("{}", 100 + k) },
            Command::SetTarget {
                indicator: ind.clone(),
                fiscal_year: "2021".into(),
                target: format!("{}以上", 110 + k),
            },
            Command::SetMilestone { node: node.clone(), fiscal_year: "2020".into(), text: "整備".into() },
            Command::ReportProgress {
                indicator: ind.clone(),
                fiscal_year: "2020".into(),
                value: format!("{}", 95 + k),
                as_of: None,
                note: String::new(),
            },
            Command::SetTarget { indicator: ind.clone(), fiscal_year: "2020".into(), target: format!("{}", 90 + k) },
            Command::CorrectProgress {
                indicator: ind.clone(),
                fiscal_year: "2020".into(),
                value: format!("{}.5", 95 + k),
                as_of: None,
                note: "訂正".into(),
            },
        ];
        for c in step {
            if out.len() < count {
                out.push(c);
            }
        }
        k += 1;
    }
    out
}
