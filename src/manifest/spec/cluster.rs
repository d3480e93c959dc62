//! `Cluster.spec`: an ECS CreateCluster request without `clusterName` (that is `metadata.name`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{NameValue, Reference, Tag};

/// The body of a `Cluster` document.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterSpec {
    /// Metadata applied to the cluster, each a key and an optional value.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
    /// Cluster settings, e.g. `{name: containerInsights, value: enabled}`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub settings: Vec<NameValue>,
    /// The execute command and managed storage configuration of the cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configuration: Option<ClusterConfiguration>,
    /// Short names of the capacity providers to associate with the cluster (`FARGATE`, `FARGATE_SPOT`, or an Auto Scaling group provider).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capacity_providers: Vec<String>,
    /// The capacity provider strategy used by services and tasks that specify neither a launch type nor a strategy.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub default_capacity_provider_strategy: Vec<CapacityProviderStrategyItem>,
    /// The default Service Connect namespace for services created in this cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_connect_defaults: Option<ServiceConnectDefaults>,
}

impl ClusterSpec {
    /// A cluster names no other resource of the set.
    pub fn references(&self) -> Vec<Reference> {
        Vec::new()
    }
}

/// The execute command and managed storage configuration of a cluster.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterConfiguration {
    /// How `ecs execute-command` sessions are encrypted and logged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execute_command_configuration: Option<ExecuteCommandConfiguration>,
    /// The KMS keys used for managed storage and Fargate ephemeral storage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_storage_configuration: Option<ManagedStorageConfiguration>,
}

/// The details of the execute command configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExecuteCommandConfiguration {
    /// The KMS key ID used to encrypt the data between the local client and the container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
    /// Where execute command output goes: `NONE`, `DEFAULT` (the task's awslogs configuration) or `OVERRIDE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logging: Option<String>,
    /// The log destination used when `logging` is `OVERRIDE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_configuration: Option<ExecuteCommandLogConfiguration>,
}

/// The CloudWatch Logs and S3 destination of execute command output.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExecuteCommandLogConfiguration {
    /// The CloudWatch Logs log group to send execute command output to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud_watch_log_group_name: Option<String>,
    /// Whether the CloudWatch Logs log group must be encrypted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud_watch_encryption_enabled: Option<bool>,
    /// The S3 bucket to send execute command output to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3_bucket_name: Option<String>,
    /// Whether the S3 bucket must be encrypted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3_encryption_enabled: Option<bool>,
    /// The folder in the S3 bucket to place the output in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3_key_prefix: Option<String>,
}

/// The KMS keys of the cluster's managed storage.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ManagedStorageConfiguration {
    /// The KMS key ID used to encrypt managed storage (EBS volumes attached to tasks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
    /// The KMS key ID used to encrypt the ephemeral storage of Fargate tasks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fargate_ephemeral_storage_kms_key_id: Option<String>,
}

/// One entry of a capacity provider strategy (shared with `Service.spec`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CapacityProviderStrategyItem {
    /// The short name of the capacity provider, e.g. `FARGATE` or `FARGATE_SPOT`.
    pub capacity_provider: String,
    /// The relative share of tasks to place on this provider once `base` is satisfied (0 to 1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<i32>,
    /// The minimum number of tasks to run on this provider; only one provider in a strategy may set it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<i32>,
}

/// The default Service Connect namespace of a cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceConnectDefaults {
    /// The name or ARN of the Cloud Map namespace used by Service Connect by default.
    pub namespace: String,
}
