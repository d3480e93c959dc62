//! The kinds of resource a manifest can declare, in the order they are created.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A manifest `kind`. The declaration order is the creation order: a kind only references kinds
/// declared before it (a security group may also reference another security group).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
pub enum Kind {
    SecurityGroup,
    TargetGroup,
    LoadBalancer,
    /// Before task definitions: a container's `awslogs-group` may name one.
    LogGroup,
    TaskDefinition,
    Cluster,
    Service,
    /// After services: it scales one.
    ScalableTarget,
}

impl Kind {
    /// What `prune` does with an owned resource of this kind that left the set, when neither its
    /// manifest nor its tags say otherwise: log groups hold data and are kept.
    pub fn default_deletion_policy(self) -> DeletionPolicy {
        match self {
            Kind::LogGroup => DeletionPolicy::Retain,
            _ => DeletionPolicy::Delete,
        }
    }

    pub const ALL: [Kind; 8] = [
        Kind::SecurityGroup,
        Kind::TargetGroup,
        Kind::LoadBalancer,
        Kind::LogGroup,
        Kind::TaskDefinition,
        Kind::Cluster,
        Kind::Service,
        Kind::ScalableTarget,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::SecurityGroup => "SecurityGroup",
            Kind::TargetGroup => "TargetGroup",
            Kind::LoadBalancer => "LoadBalancer",
            Kind::TaskDefinition => "TaskDefinition",
            Kind::Cluster => "Cluster",
            Kind::Service => "Service",
            Kind::LogGroup => "LogGroup",
            Kind::ScalableTarget => "ScalableTarget",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Whether `value` is a literal AWS identifier for this kind rather than a name in the set.
    pub fn is_literal_id(self, value: &str) -> bool {
        if self == Kind::LogGroup {
            // A log group is named by its name; an `awslogs-group` that is no LogGroup of the set
            // is one made elsewhere.
            return false;
        }
        value.starts_with("arn:")
            || match self {
                Kind::SecurityGroup => value.starts_with("sg-"),
                _ => false,
            }
    }
}

/// `metadata.deletionPolicy`: whether prune deletes the resource once its manifest left the set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum DeletionPolicy {
    /// Prune deletes it.
    Delete,
    /// Prune leaves it in place (still tagged as the set's): the plan says so on every prune.
    Retain,
}

impl DeletionPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            DeletionPolicy::Delete => "Delete",
            DeletionPolicy::Retain => "Retain",
        }
    }

    pub fn parse(s: &str) -> Option<DeletionPolicy> {
        [DeletionPolicy::Delete, DeletionPolicy::Retain].into_iter().find(|p| p.as_str() == s)
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
