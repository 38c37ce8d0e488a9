//! Who may append what: roles, the principal a token stands for, and `authorize`, which judges one command against
//! the state it would be decided against. Pure, like `decide`, so the writer can judge each command of a request
//! atomically with deciding it.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::command::Command;
use super::ids::{IndicatorId, NodeId};
use super::model::{Actor, Meta};
use super::state::State;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "web", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, plan-level changes (create, revise, status, named versions, whole-plan restores) included.
    Admin,
    /// Plan content of its departments' nodes and indicators (texts, structure below them, targets, baselines,
    /// milestones), and their progress.
    Editor,
    /// Progress reports and corrections for its departments' indicators only.
    Reporter,
    /// Reads only, like an anonymous caller; a token lets an audit office be named in the server's log.
    Auditor,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Admin, Role::Editor, Role::Reporter, Role::Auditor];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Editor => "editor",
            Role::Reporter => "reporter",
            Role::Auditor => "auditor",
        }
    }

    pub fn parse(field: &str, s: &str) -> Result<Self, super::DomainError> {
        Role::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| {
            super::DomainError::invalid(field, format!("{s:?} is not a role; one of admin, editor, reporter, auditor"))
        })
    }

    /// Whether the role names departments (editor, reporter) and is useless without them.
    pub fn needs_departments(self) -> bool {
        matches!(self, Role::Editor | Role::Reporter)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The one a request speaks for: the token's holder. Events name it as their actor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    /// The actor id the events carry (an id: ASCII letters, digits, `.`, `_`, `-`).
    pub name: String,
    /// The actor's name as people read it (e.g. 政策企画課 計画担当).
    pub display_name: String,
    pub role: Role,
    /// The departments (担当課) whose nodes and indicators the principal may change, exactly as the plans name them.
    pub departments: Vec<String>,
}

impl Principal {
    /// The actor the principal's events carry: the departments joined with 、 (none for an admin without one).
    pub fn actor(&self) -> Actor {
        Actor { id: self.name.clone(), name: self.display_name.clone(), department: self.departments.join("、") }
    }

    /// Meta for a request made by this principal: the actor is always the principal's, never the caller's choice.
    /// `effective: None` leaves the date to the writer, which takes it from the clock that stamps `recorded_at`.
    pub fn meta(
        &self,
        authority: Option<String>,
        reason: Option<String>,
        effective: Option<chrono::NaiveDate>,
    ) -> Meta {
        Meta { actor: self.actor(), authority, reason, effective }
    }
}

/// Why a command is not this principal's to append, naming the command's field it is about.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[error("{field}: {reason}")]
pub struct Denied {
    pub field: String,
    pub reason: String,
}

fn denied(field: &str, reason: impl Into<String>) -> Denied {
    Denied { field: field.to_string(), reason: reason.into() }
}

/// The departments a node answers to: its own, or, when it names none (a 基本目標 above the 施策 that carry the
/// 担当課), those of its nearest ancestor that names some. Empty when no node on the way up names one.
pub fn departments_of(state: &State, node: &NodeId) -> Vec<String> {
    let mut at = state.nodes.get(node);
    // The tree is acyclic (decide refuses a move under a descendant); the bound only guards a corrupt state.
    for _ in 0..=state.nodes.len() {
        let Some(n) = at else { break };
        if !n.departments.is_empty() {
            return n.departments.clone();
        }
        at = n.parent.as_ref().and_then(|p| state.nodes.get(p));
    }
    Vec::new()
}

/// Judges whether `principal` may append `cmd` against `state`. A node or indicator that does not exist is left
/// to `decide`, which refuses it as not found.
pub fn authorize(state: &State, principal: &Principal, cmd: &Command) -> Result<(), Denied> {
    use Command::*;
    let role = principal.role;
    match role {
        Role::Admin => return Ok(()),
        Role::Auditor => return Err(denied("command", "the auditor role reads only")),
        Role::Editor | Role::Reporter => {}
    }
    let mine = |deps: &[String]| deps.iter().any(|d| principal.departments.contains(d));
    let node_is_mine = |field: &str, node: &str| -> Result<(), Denied> {
        let Ok(id) = NodeId::new(node) else { return Ok(()) };
        if !state.nodes.contains_key(&id) {
            return Ok(());
        }
        let deps = departments_of(state, &id);
        if mine(&deps) {
            return Ok(());
        }
        Err(denied(field, owner_reason(&format!("node {node}"), &deps, principal)))
    };
    let indicator_is_mine = |indicator: &str| -> Result<(), Denied> {
        let Some(ind) = IndicatorId::new(indicator).ok().and_then(|id| state.indicators.get(&id).cloned()) else {
            return Ok(());
        };
        let deps = departments_of(state, &ind.node);
        if mine(&deps) {
            return Ok(());
        }
        Err(denied("indicator", owner_reason(&format!("indicator {indicator}"), &deps, principal)))
    };
    if role == Role::Reporter {
        return match cmd {
            ReportProgress { indicator, .. } | CorrectProgress { indicator, .. } => indicator_is_mine(indicator),
            _ => Err(denied(
                "command",
                format!("the reporter role may only report and correct progress, not {}", cmd.name()),
            )),
        };
    }
    // The editor.
    match cmd {
        CreatePlan { .. } | RevisePlan { .. } | ChangePlanStatus { .. } | NameVersion { .. } => {
            Err(denied("command", format!("{} changes the whole plan and needs the admin role", cmd.name())))
        }
        RecordRestore { node: Some(node), .. } => node_is_mine("node", node),
        RecordRestore { indicator: Some(indicator), .. } => indicator_is_mine(indicator),
        RecordRestore { .. } => Err(denied("command", "restoring a whole plan needs the admin role")),
        AddNode { parent, departments, .. } => {
            // A new node goes under one of the editor's own nodes: adding under another department's item, or under
            // an item no department answers for (a 基本目標), changes structure that is not the editor's.
            match parent {
                Some(p) => node_is_mine("parent", p)?,
                None => {
                    return Err(denied(
                        "parent",
                        "a new top-level node changes the plan's structure and needs the admin role",
                    ));
                }
            }
            match departments.iter().find(|d| !principal.departments.contains(d)) {
                Some(d) => Err(denied("departments", format!("{d:?} is not one of this token's departments"))),
                None => Ok(()),
            }
        }
        AssignDepartments { node, departments } => {
            node_is_mine("node", node)?;
            if mine(departments) {
                Ok(())
            } else {
                Err(denied(
                    "departments",
                    "an editor cannot hand a node wholly to other departments; that needs the admin role",
                ))
            }
        }
        MoveNode { node, parent, .. } => {
            node_is_mine("node", node)?;
            let current = NodeId::new(node).ok().and_then(|id| state.nodes.get(&id)).map(|n| n.parent.clone());
            let same_parent = current.is_some_and(|c| c.as_ref().map(NodeId::as_str) == parent.as_deref());
            match parent {
                // Reordering among the same siblings stays within the node.
                _ if same_parent => Ok(()),
                Some(p) => node_is_mine("parent", p),
                None => Err(denied(
                    "parent",
                    "moving a node to the top level changes the plan's structure and needs the admin role",
                )),
            }
        }
        // Listing a node under another (再掲) changes both: the same rule as add and move, so an editor lists only
        // its own node, only under one of its own.
        CrossListNode { node, under } => {
            node_is_mine("node", node)?;
            node_is_mine("under", under)
        }
        // Either side may take a listing away: the department under whose item it appears is not stuck with it.
        RemoveCrossListing { node, under } => {
            node_is_mine("node", node).or_else(|e| node_is_mine("under", under).map_err(|_| e))
        }
        RenameNode { node, .. }
        | ReviseNodeText { node, .. }
        | ReviseNodeDetails { node, .. }
        | RetireNode { node }
        | ReinstateNode { node }
        | CrossReferenceNode { node, .. }
        | SetMilestone { node, .. }
        | WithdrawMilestone { node, .. }
        | DefineIndicator { node, .. } => node_is_mine("node", node),
        ReviseIndicator { indicator, .. }
        | RetireIndicator { indicator }
        | ReinstateIndicator { indicator }
        | SetBaseline { indicator, .. }
        | WithdrawBaseline { indicator }
        | SetTarget { indicator, .. }
        | WithdrawTarget { indicator, .. }
        | ReportProgress { indicator, .. }
        | CorrectProgress { indicator, .. } => indicator_is_mine(indicator),
    }
}

fn owner_reason(what: &str, deps: &[String], p: &Principal) -> String {
    let theirs = if p.departments.is_empty() { "none".to_string() } else { p.departments.join("、") };
    if deps.is_empty() {
        format!("{what} names no department (担当課); only an admin may change it (this token's departments: {theirs})")
    } else {
        format!("{what} belongs to {}; this token's departments are {theirs}", deps.join("、"))
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;
    use crate::core::domain::decide;

    fn state() -> State {
        let meta =
            Principal { name: "clerk".into(), display_name: "担当".into(), role: Role::Admin, departments: vec![] }
                .meta(Some("庁議".into()), None, NaiveDate::from_ymd_opt(2020, 4, 1));
        let node = |node: &str, parent: Option<&str>, deps: &[&str]| Command::AddNode {
            plan: "p".into(),
            node: node.into(),
            parent: parent.map(str::to_string),
            order: None,
            code: String::new(),
            title: "施策".into(),
            text: String::new(),
            details: vec![],
            departments: deps.iter().map(|d| d.to_string()).collect(),
        };
        let mut s = State::default();
        for c in [
            Command::CreatePlan {
                plan: "p".into(),
                municipality: "品川区".into(),
                municipality_code: "131091".into(),
                title: "計画".into(),
                kind: "基本計画".into(),
                period_from: Some("2020".into()),
                period_to: Some("2024".into()),
                status: "adopted".into(),
                levels: vec!["基本目標".into(), "施策".into(), "事業".into()],
                predecessor: None,
            },
            node("p.g", None, &[]),
            node("p.g.a", Some("p.g"), &["道路課"]),
            node("p.g.a.x", Some("p.g.a"), &[]),
            node("p.g.b", Some("p.g"), &["公園課"]),
            Command::DefineIndicator {
                indicator: "p.g.a.x.k".into(),
                node: "p.g.a.x".into(),
                name: "指標".into(),
                unit: "件".into(),
                direction: String::new(),
                cumulative: false,
                note: String::new(),
            },
        ] {
            for e in decide(&s, &c, &meta).unwrap() {
                s.evolve(&e);
            }
        }
        s
    }

    fn who(role: Role, deps: &[&str]) -> Principal {
        Principal {
            name: "t".into(),
            display_name: "t".into(),
            role,
            departments: deps.iter().map(|d| d.to_string()).collect(),
        }
    }

    fn text(node: &str) -> Command {
        Command::ReviseNodeText { node: node.into(), text: "改".into() }
    }

    fn progress(ind: &str) -> Command {
        Command::ReportProgress {
            indicator: ind.into(),
            fiscal_year: "2021".into(),
            value: "3".into(),
            as_of: None,
            note: String::new(),
        }
    }

    #[test]
    fn a_node_without_departments_answers_to_its_nearest_ancestor_that_has_some() {
        let s = state();
        let id = |n: &str| NodeId::new(n).unwrap();
        assert_eq!(departments_of(&s, &id("p.g.a.x")), vec!["道路課".to_string()]);
        assert!(departments_of(&s, &id("p.g")).is_empty());
        let editor = who(Role::Editor, &["道路課"]);
        assert_eq!(authorize(&s, &editor, &text("p.g.a.x")), Ok(()));
        assert_eq!(authorize(&s, &editor, &progress("p.g.a.x.k")), Ok(()));
        assert_eq!(authorize(&s, &editor, &text("p.g.b")).unwrap_err().field, "node");
        let goal = authorize(&s, &editor, &text("p.g")).unwrap_err();
        assert!(goal.reason.contains("only an admin"), "{goal}");
    }

    #[test]
    fn each_role_gets_exactly_its_share() {
        let s = state();
        let status = Command::ChangePlanStatus { plan: "p".into(), status: "superseded".into() };
        assert_eq!(authorize(&s, &who(Role::Admin, &[]), &status), Ok(()));
        assert_eq!(authorize(&s, &who(Role::Admin, &[]), &text("p.g")), Ok(()));
        assert!(authorize(&s, &who(Role::Editor, &["道路課"]), &status).is_err());
        let auditor = who(Role::Auditor, &["道路課"]);
        assert_eq!(authorize(&s, &auditor, &progress("p.g.a.x.k")).unwrap_err().field, "command");
        let reporter = who(Role::Reporter, &["道路課"]);
        assert_eq!(authorize(&s, &reporter, &progress("p.g.a.x.k")), Ok(()));
        assert_eq!(authorize(&s, &reporter, &text("p.g.a.x")).unwrap_err().field, "command");
        assert_eq!(
            authorize(&s, &who(Role::Reporter, &["公園課"]), &progress("p.g.a.x.k")).unwrap_err().field,
            "indicator"
        );
        // What does not exist is for `decide` to refuse as not found.
        assert_eq!(authorize(&s, &reporter, &progress("p.nothing")), Ok(()));
    }

    #[test]
    fn an_editor_keeps_structure_within_its_departments() {
        let s = state();
        let editor = who(Role::Editor, &["道路課"]);
        let add_under = |parent: Option<&str>, deps: &[&str]| Command::AddNode {
            plan: "p".into(),
            node: "p.g.c".into(),
            parent: parent.map(str::to_string),
            order: None,
            code: String::new(),
            title: "新".into(),
            text: String::new(),
            details: vec![],
            departments: deps.iter().map(|d| d.to_string()).collect(),
        };
        let add = |deps: &[&str]| add_under(Some("p.g.a"), deps);
        assert_eq!(authorize(&s, &editor, &add(&["道路課"])), Ok(()));
        assert_eq!(authorize(&s, &editor, &add(&[])), Ok(()), "a node naming no department inherits its parent's");
        assert_eq!(authorize(&s, &editor, &add(&["道路課", "公園課"])).unwrap_err().field, "departments");
        // Not under another department's item, nor under one no department answers for, nor at the top.
        assert_eq!(authorize(&s, &editor, &add_under(Some("p.g.b"), &["道路課"])).unwrap_err().field, "parent");
        assert_eq!(authorize(&s, &editor, &add_under(Some("p.g"), &["道路課"])).unwrap_err().field, "parent");
        assert_eq!(authorize(&s, &editor, &add_under(None, &["道路課"])).unwrap_err().field, "parent");
        let assign = |deps: &[&str]| Command::AssignDepartments {
            node: "p.g.a".into(),
            departments: deps.iter().map(|d| d.to_string()).collect(),
        };
        assert_eq!(authorize(&s, &editor, &assign(&["道路課", "公園課"])), Ok(()));
        assert_eq!(authorize(&s, &editor, &assign(&["公園課"])).unwrap_err().field, "departments");
        let mv = |parent: Option<&str>| Command::MoveNode {
            node: "p.g.a".into(),
            parent: parent.map(str::to_string),
            order: Some(9),
        };
        assert_eq!(authorize(&s, &editor, &mv(Some("p.g"))), Ok(()), "reordering among the same siblings");
        assert_eq!(authorize(&s, &editor, &mv(Some("p.g.b"))).unwrap_err().field, "parent");
        assert_eq!(authorize(&s, &editor, &mv(None)).unwrap_err().field, "parent");
        let whole = Command::RecordRestore {
            plan: "p".into(),
            node: None,
            indicator: None,
            to: "seq:1".into(),
            compensating: 0,
        };
        assert!(authorize(&s, &editor, &whole).is_err());
    }
}
