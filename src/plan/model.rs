//! The data a plan is made from and made of: live state in manifest shape, and the steps.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::manifest::Kind;

/// Tag naming the set that owns a resource.
pub const TAG_SET: &str = "ecs-reconciler:set";
/// Tag naming the manifest (`metadata.name`) a resource was made from.
pub const TAG_NAME: &str = "ecs-reconciler:name";
/// Tag on a task-definition revision: the hash of the normalised manifest content it was
/// registered from, so an unchanged manifest never registers a new revision.
pub const TAG_HASH: &str = "ecs-reconciler:hash";
/// Tag recording a resource's `metadata.deletionPolicy` when it is not its kind's default, so
/// prune knows it once the manifest has left the set.
pub const TAG_DELETION_POLICY: &str = "ecs-reconciler:deletion-policy";
/// Tag on a service: the revision the reconciler pointed it at and that revision's content hash
/// (`family:rev@hash`). Revisions are immutable, so while the service runs that revision the
/// observe knows its content without reading it (`aws::ecs::observe`).
pub const TAG_TD: &str = "ecs-reconciler:td";

/// One live resource, as an adapter read it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Live {
    pub kind: Kind,
    pub name: String,
    /// ARN (ECS, ELBv2) or ID (EC2).
    pub id: String,
    pub tags: BTreeMap<String, String>,
    /// The live state in manifest shape (camelCase, the manifest's field names). References are
    /// as AWS returns them (ARNs, IDs); the plan maps them back to names.
    pub spec: Value,
    /// IDs of parts that have their own (listeners by port, rules by `port/priority`, ...).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub parts: BTreeMap<String, String>,
}

impl Live {
    pub fn new(kind: Kind, name: impl Into<String>, id: impl Into<String>) -> Self {
        Live {
            kind,
            name: name.into(),
            id: id.into(),
            tags: BTreeMap::new(),
            spec: Value::Object(Default::default()),
            parts: BTreeMap::new(),
        }
    }

    /// Who owns it, by its tags.
    pub fn owner(&self) -> Owner {
        match self.tags.get(TAG_SET) {
            Some(set) => Owner::Set(set.clone()),
            None => Owner::Nobody,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    Set(String),
    Nobody,
}

/// Everything observed for one set.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    /// Live resources with a manifest's kind and name.
    pub live: BTreeMap<(Kind, String), Live>,
    /// Resources tagged as owned by the set whose manifests left it (candidates for prune).
    pub orphans: Vec<Live>,
    /// VPC `Name` tag → VPC ID.
    pub vpcs: BTreeMap<String, String>,
    /// Subnet `Name` tag → subnet ID.
    pub subnets: BTreeMap<String, String>,
    /// Task-definition family → ARN of an ACTIVE revision registered from exactly the desired
    /// content (its hash tag matches), when there is one.
    pub task_definition_matches: BTreeMap<String, String>,
    /// Resources whose live state could not be read (a read failed after its retries), with
    /// why: the plan leaves them, and what depends on them, alone this run.
    pub unknown: BTreeMap<(Kind, String), String>,
}

impl Observed {
    pub fn get(&self, kind: Kind, name: &str) -> Option<&Live> {
        self.live.get(&(kind, name.to_string()))
    }

    /// The manifest name of the live resource with this ARN or ID, if the set has one.
    pub fn name_of(&self, kind: Kind, id: &str) -> Option<&str> {
        self.live.values().chain(self.orphans.iter()).find(|l| l.kind == kind && l.id == id).map(|l| l.name.as_str())
    }

    /// Every [`Observed::name_of`] answer at once: (kind, ARN or ID) → manifest name, the first
    /// match winning as there.
    pub fn names(&self) -> BTreeMap<(Kind, String), String> {
        let mut out = BTreeMap::new();
        for l in self.live.values().chain(self.orphans.iter()) {
            out.entry((l.kind, l.id.clone())).or_insert_with(|| l.name.clone());
        }
        out
    }

    /// The ARN or ID behind a reference as written in a manifest: a literal stays itself, a name
    /// becomes the ID of the live resource of that name.
    pub fn id_of(&self, kind: Kind, reference: &str) -> Option<String> {
        if kind.is_literal_id(reference) {
            return Some(reference.to_string());
        }
        self.get(kind, reference).map(|l| l.id.clone())
    }

    pub fn vpc_id(&self, vpc: &str) -> Option<String> {
        if vpc.starts_with("vpc-") { Some(vpc.to_string()) } else { self.vpcs.get(vpc).cloned() }
    }

    pub fn subnet_id(&self, subnet: &str) -> Option<String> {
        if subnet.starts_with("subnet-") { Some(subnet.to_string()) } else { self.subnets.get(subnet).cloned() }
    }
}

/// What a step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    Create,
    Update,
    /// An immutable field changed: delete and create again.
    Replace,
    Delete,
    /// A resource of that name exists that the set does not own, and `adopt` is not set.
    Refuse,
    #[serde(rename = "no-op")]
    NoOp,
    /// Its live state (or that of something it depends on) could not be read: nothing is done.
    Unknown,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Create => "create",
            Op::Update => "update",
            Op::Replace => "replace",
            Op::Delete => "delete",
            Op::Refuse => "refuse",
            Op::NoOp => "no-op",
            Op::Unknown => "unknown",
        }
    }
}

/// One field's difference: `before` is live, `after` is desired; `None` is absent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Value>,
}

/// One resource's step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub kind: Kind,
    pub name: String,
    pub op: Op,
    /// Field-level differences (for create: every desired field; for delete: none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<Change>,
    /// Why, for replace, refuse and delete; and for adoption.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The step takes over a resource the set did not own (`adopt: true`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub adopt: bool,
    /// A replacement that takes a running service down; applied only with `--allow-replace`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disruptive: bool,
    /// The AWS calls `apply` makes for this step, in order: exactly these, nothing else.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<super::action::Action>,
}

impl Step {
    pub fn id(&self) -> String {
        format!("{}/{}", self.kind, self.name)
    }

    pub fn changes_at(&self, prefix: &str) -> impl Iterator<Item = &Change> {
        let dotted = format!("{prefix}.");
        let indexed = format!("{prefix}[");
        self.changes
            .iter()
            .filter(move |c| c.path == prefix || c.path.starts_with(&dotted) || c.path.starts_with(&indexed))
    }

    pub fn touches(&self, prefix: &str) -> bool {
        self.changes_at(prefix).next().is_some()
    }

    /// A resource that left the set and that prune keeps (its deletion policy is Retain): no
    /// change, but the plan says so.
    pub fn is_retained(&self) -> bool {
        self.op == Op::NoOp && self.reason.as_deref().is_some_and(|r| r.starts_with(RETAINED))
    }
}

/// How a retained resource's step reason starts ([`Step::is_retained`]).
pub const RETAINED: &str = "retained:";

/// The plan for a set: steps in the order they run (creates and updates by dependency, deletes in
/// reverse).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub set: String,
    pub steps: Vec<Step>,
}

impl Plan {
    pub fn has_changes(&self) -> bool {
        self.steps.iter().any(|s| !matches!(s.op, Op::NoOp | Op::Unknown))
    }

    pub fn count(&self, op: Op) -> usize {
        self.steps.iter().filter(|s| s.op == op).count()
    }
}
