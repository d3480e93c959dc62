//! JSON Schema of the manifests, generated from the same types the parser uses, for editors
//! (yaml-language-server) and for tools.

use schemars::{JsonSchema, schema_for};
use serde::Deserialize;
use serde_json::Value;

use super::spec::*;
use super::{Kind, Metadata};

/// `apiVersion`: only one is read.
#[derive(Deserialize, JsonSchema)]
#[allow(dead_code)]
enum ApiVersion {
    #[serde(rename = "ecs-reconciler/v1")]
    V1,
}

/// One manifest document of a given spec type.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[allow(dead_code)]
struct Document<S> {
    api_version: ApiVersion,
    metadata: Metadata,
    spec: S,
}

/// A manifest document: `kind` selects the shape of `spec`.
#[derive(Deserialize, JsonSchema)]
#[serde(tag = "kind")]
#[allow(dead_code)]
enum Manifest {
    /// An ECS cluster (CreateCluster).
    Cluster(Document<ClusterSpec>),
    /// An ECS task definition family (RegisterTaskDefinition); `metadata.name` is the family.
    TaskDefinition(Document<TaskDefinitionSpec>),
    /// An ECS service (CreateService / UpdateService).
    Service(Document<ServiceSpec>),
    /// An ELBv2 target group (CreateTargetGroup) with its attributes.
    TargetGroup(Document<TargetGroupSpec>),
    /// An ELBv2 load balancer (CreateLoadBalancer) with its listeners and rules.
    LoadBalancer(Document<LoadBalancerSpec>),
    /// An EC2 security group with its ingress and egress rules.
    SecurityGroup(Document<SecurityGroupSpec>),
    /// A CloudWatch Logs log group (CreateLogGroup) with its retention; `metadata.name` is the group's name.
    LogGroup(Document<LogGroupSpec>),
    /// Application Auto Scaling of one service of the set (RegisterScalableTarget) with its
    /// scaling policies and scheduled actions.
    ScalableTarget(Document<ScalableTargetSpec>),
}

/// The schema of one manifest document, as printed by `ecs-reconciler schema`.
pub fn manifest_schema() -> Value {
    let mut schema = schema_for!(Manifest).to_value();
    if let Some(obj) = schema.as_object_mut() {
        obj.insert("$id".into(), Value::String("https://ecs-reconciler.dev/schema/v1/manifest.json".into()));
        obj.insert("title".into(), Value::String("ecs-reconciler manifest".into()));
    }
    schema
}

/// The schema of one kind's `spec`, with `properties` at the top.
pub fn spec_schema(kind: Kind) -> Value {
    match kind {
        Kind::Cluster => schema_for!(ClusterSpec),
        Kind::TaskDefinition => schema_for!(TaskDefinitionSpec),
        Kind::Service => schema_for!(ServiceSpec),
        Kind::TargetGroup => schema_for!(TargetGroupSpec),
        Kind::LoadBalancer => schema_for!(LoadBalancerSpec),
        Kind::SecurityGroup => schema_for!(SecurityGroupSpec),
        Kind::LogGroup => schema_for!(LogGroupSpec),
        Kind::ScalableTarget => schema_for!(ScalableTargetSpec),
    }
    .to_value()
}
