//! The plan domain: value types, commands, events, `decide` and `evolve`. Knows nothing of storage, HTTP or async.

pub mod authz;
pub mod clock;
pub mod command;
pub mod decide;
pub mod entity;
pub mod error;
pub mod event;
pub mod fiscal_year;
pub mod ids;
pub mod model;
pub mod municipality;
pub mod state;
pub mod table;
pub mod time;
pub mod value;

#[cfg(test)]
mod tests;

pub use authz::{Denied, Principal, Role, authorize};
pub use command::Command;
pub use decide::{check_meta, command_for, decide};
pub use entity::Entity;
pub use error::{DomainError, ErrorKind};
pub use event::PlanEvent;
pub use fiscal_year::FiscalYear;
pub use ids::{EventHash, IndicatorId, NodeId, PlanId, Seq};
pub use model::{Actor, Meta};
pub use state::State;
pub use table::Table;
