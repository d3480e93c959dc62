//! The six kinds of resource a manifest can declare, in the order they are created.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A manifest `kind`. The declaration order is the creation order: a kind only references kinds
/// declared before it (a security group may also reference another security group).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
pub enum Kind {
    SecurityGroup,
    TargetGroup,
    LoadBalancer,
    TaskDefinition,
    Cluster,
    Service,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::SecurityGroup,
        Kind::TargetGroup,
        Kind::LoadBalancer,
        Kind::TaskDefinition,
        Kind::Cluster,
        Kind::Service,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::SecurityGroup => "SecurityGroup",
            Kind::TargetGroup => "TargetGroup",
            Kind::LoadBalancer => "LoadBalancer",
            Kind::TaskDefinition => "TaskDefinition",
            Kind::Cluster => "Cluster",
            Kind::Service => "Service",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Whether `value` is a literal AWS identifier for this kind rather than a name in the set.
    pub fn is_literal_id(self, value: &str) -> bool {
        value.starts_with("arn:")
            || match self {
                Kind::SecurityGroup => value.starts_with("sg-"),
                _ => false,
            }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
