//! Typed keys of the entity index: every event is filed under its plan, its subject and the nodes it names, and
//! reads of one entity's history go through this key rather than a hand-built string.

use std::fmt;

use super::ids::{IndicatorId, NodeId, PlanId};

/// An entity whose events the index files together.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Entity {
    Plan(PlanId),
    Node(NodeId),
    Indicator(IndicatorId),
}

impl Entity {
    /// The stored form of the key (`plan:…`, `node:…`, `indicator:…`; docs/FORMAT.md §10). Ids never contain `:`,
    /// so the kind and the id cannot run into each other.
    pub fn key(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Entity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Entity::Plan(p) => write!(f, "plan:{p}"),
            Entity::Node(n) => write!(f, "node:{n}"),
            Entity::Indicator(i) => write!(f, "indicator:{i}"),
        }
    }
}

impl From<PlanId> for Entity {
    fn from(p: PlanId) -> Self {
        Entity::Plan(p)
    }
}

impl From<NodeId> for Entity {
    fn from(n: NodeId) -> Self {
        Entity::Node(n)
    }
}

impl From<IndicatorId> for Entity {
    fn from(i: IndicatorId) -> Self {
        Entity::Indicator(i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_the_stored_form() {
        assert_eq!(Entity::Plan(PlanId::new("p-1").unwrap()).key(), "plan:p-1");
        assert_eq!(Entity::Node(NodeId::new("p-1.2").unwrap()).key(), "node:p-1.2");
        assert_eq!(Entity::Indicator(IndicatorId::new("p-1.2.k").unwrap()).key(), "indicator:p-1.2.k");
    }
}
