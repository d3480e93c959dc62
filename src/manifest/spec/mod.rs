//! The spec bodies of the kinds, in AWS API field names.

pub mod cluster;
pub mod common;
pub mod load_balancer;
pub mod log_group;
pub mod scalable_target;
pub mod security_group;
pub mod service;
pub mod target_group;
pub mod task_definition;

pub use cluster::ClusterSpec;
pub use common::{NameValue, NumberString, Reference, Tag};
pub use load_balancer::LoadBalancerSpec;
pub use log_group::LogGroupSpec;
pub use scalable_target::ScalableTargetSpec;
pub use security_group::SecurityGroupSpec;
pub use service::ServiceSpec;
pub use target_group::TargetGroupSpec;
pub use task_definition::TaskDefinitionSpec;
