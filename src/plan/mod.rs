//! The plan engine, pure and synchronous: desired (a validated set) + observed (live state in
//! manifest shape) → ordered steps. It never calls AWS; `reconcile` feeds it and executes it.

pub mod action;
pub mod actions;
pub mod contract;
pub mod diff;
pub mod engine;
pub mod log_group;
pub mod model;
pub mod normalize;
pub mod render;
pub mod replace;
pub mod scalable_target;

pub use action::{Action, AutoScalingCall, Call, Ec2Call, EcsCall, Elbv2Call, LogsCall};
pub use engine::{PlanOptions, plan, task_definition_hash};
pub use model::*;
