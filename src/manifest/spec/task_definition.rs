//! `TaskDefinition.spec`: an ECS RegisterTaskDefinition request, also the pasted output of `describe-task-definition`.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{NameValue, NumberString, Reference, Tag};

/// The body of a `TaskDefinition` document.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TaskDefinitionSpec {
    /// The task definition family; defaults to `metadata.name` and must equal it when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    /// The ARN of the IAM role the containers of the task assume to call AWS APIs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_role_arn: Option<String>,
    /// The ARN of the IAM role the ECS agent uses to pull images, fetch secrets and write logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_role_arn: Option<String>,
    /// The Docker networking mode of the containers: `none`, `bridge`, `awsvpc` (required on Fargate) or `host`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_mode: Option<String>,
    /// The containers that make up the task.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub container_definitions: Vec<ContainerDefinition>,
    /// The data volumes the containers of the task may mount.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<Volume>,
    /// Constraints on where tasks are placed (EC2 only; not supported on Fargate).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub placement_constraints: Vec<PlacementConstraint>,
    /// The launch types the task definition is validated against: `EC2`, `FARGATE`, `EXTERNAL`, `MANAGED_INSTANCES`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requires_compatibilities: Vec<String>,
    /// The task's CPU units (`256`, `1024`) or vCPUs (`"1 vCPU"`); required on Fargate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<NumberString>,
    /// The task's memory in MiB (`512`) or GB (`"1 GB"`); required on Fargate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<NumberString>,
    /// Metadata applied to the task definition, each a key and an optional value.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
    /// The process namespace of the containers: `host` or `task`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid_mode: Option<String>,
    /// The IPC resource namespace of the containers: `host`, `task` or `none` (not supported on Fargate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipc_mode: Option<String>,
    /// The App Mesh proxy configuration of the task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_configuration: Option<ProxyConfiguration>,
    /// The total ephemeral storage of a Fargate task (21 to 200 GiB; 20 GiB when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ephemeral_storage: Option<EphemeralStorage>,
    /// The operating system and CPU architecture the task runs on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_platform: Option<RuntimePlatform>,
    /// Whether fault injection (AWS FIS network and process actions) is enabled for the task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_fault_injection: Option<bool>,
}

impl TaskDefinitionSpec {
    /// Fields of `describe-task-definition` output that AWS sets itself; callers strip them from a pasted spec before deserializing.
    pub const READ_ONLY_FIELDS: &'static [&'static str] = &[
        "taskDefinitionArn",
        "revision",
        "status",
        "requiresAttributes",
        "compatibilities",
        "registeredAt",
        "registeredBy",
        "deregisteredAt",
    ];

    /// The log groups its containers' awslogs drivers write to (`awslogs-group`): a LogGroup of
    /// the set when one has that name, which is then created first; otherwise a group made
    /// elsewhere (roles and images are outside the set too).
    pub fn references(&self) -> Vec<Reference> {
        self.container_definitions
            .iter()
            .enumerate()
            .filter_map(|(i, c)| {
                let log = c.log_configuration.as_ref().filter(|l| l.log_driver == "awslogs")?;
                let group = log.options.get(Self::AWSLOGS_GROUP)?;
                let path = format!("spec.containerDefinitions[{i}].logConfiguration.options.{}", Self::AWSLOGS_GROUP);
                Some(Reference::new(path, crate::manifest::Kind::LogGroup, group))
            })
            .collect()
    }

    /// The awslogs driver's option naming its log group.
    pub const AWSLOGS_GROUP: &'static str = "awslogs-group";
}

/// One container of a task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContainerDefinition {
    /// The name of the container, unique in the task; `loadBalancers[].containerName` refers to it.
    pub name: String,
    /// The image the container starts from, `repository-url/image:tag` or `@digest`.
    pub image: String,
    /// The Secrets Manager secret holding the credentials of a private registry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository_credentials: Option<RepositoryCredentials>,
    /// The CPU units reserved for the container (1024 = one vCPU).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<i64>,
    /// The hard memory limit of the container in MiB; the container is killed above it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<i32>,
    /// The soft memory limit of the container in MiB, reserved for it on the instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_reservation: Option<i32>,
    /// Legacy Docker links to other containers, `name:alias` (bridge network mode only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<String>,
    /// The container ports to expose, and their host ports in bridge mode.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub port_mappings: Vec<PortMapping>,
    /// Whether the task stops when this container stops (true when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub essential: Option<bool>,
    /// Whether and how the container is restarted in place when it exits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_policy: Option<ContainerRestartPolicy>,
    /// The entry point passed to the container, overriding the image's ENTRYPOINT.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entry_point: Vec<String>,
    /// The command passed to the container, overriding the image's CMD.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    /// Environment variables of the container in plain text; put secrets in `secrets` instead.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub environment: Vec<NameValue>,
    /// S3 objects holding environment variables (`.env` files) to pass to the container.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub environment_files: Vec<EnvironmentFile>,
    /// The task volumes mounted into the container.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mount_points: Vec<MountPoint>,
    /// Other containers of the task whose volumes are mounted into this one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes_from: Vec<VolumeFrom>,
    /// Linux-specific options such as capabilities, devices, init process and tmpfs mounts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linux_parameters: Option<LinuxParameters>,
    /// Environment variables taken from Secrets Manager or SSM Parameter Store at start.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<Secret>,
    /// Other containers of the task this one waits for before starting.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<ContainerDependency>,
    /// Seconds to wait for `dependsOn` conditions to be met before giving up on this container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_timeout: Option<i32>,
    /// Seconds to wait after SIGTERM before the container is killed (at most 120 on Fargate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_timeout: Option<i32>,
    /// Whether the image tag is resolved to a digest once per deployment: `enabled` or `disabled`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_consistency: Option<String>,
    /// The hostname of the container (not supported in awsvpc network mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// The user (and group) the container runs as: `user`, `uid`, `user:group`, `uid:gid`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The working directory the command runs in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_directory: Option<String>,
    /// Whether networking is turned off inside the container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_networking: Option<bool>,
    /// Whether the container runs with elevated (root) privileges on the host (not on Fargate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privileged: Option<bool>,
    /// Whether the container's root file system is mounted read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readonly_root_filesystem: Option<bool>,
    /// DNS servers presented to the container (not in awsvpc network mode).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns_servers: Vec<String>,
    /// DNS search domains presented to the container (not in awsvpc network mode).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns_search_domains: Vec<String>,
    /// Extra `/etc/hosts` entries of the container (not in awsvpc network mode).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_hosts: Vec<HostEntry>,
    /// SELinux, AppArmor or credential spec labels for the container (EC2 only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub docker_security_options: Vec<String>,
    /// Whether stdin stays open so the container can be used interactively (`docker run -i`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interactive: Option<bool>,
    /// Whether a pseudo-TTY is allocated (`docker run -t`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pseudo_terminal: Option<bool>,
    /// Docker labels added to the container.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub docker_labels: BTreeMap<String, String>,
    /// Resource limits (`nofile`, `nproc`, ...) of the container.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ulimits: Vec<Ulimit>,
    /// The log driver of the container and its options, e.g. `awslogs` with a log group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_configuration: Option<LogConfiguration>,
    /// The Docker health check of the container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheck>,
    /// Namespaced kernel parameters (sysctls) set in the container.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub system_controls: Vec<SystemControl>,
    /// GPUs or Elastic Inference accelerators assigned to the container.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resource_requirements: Vec<ResourceRequirement>,
    /// The FireLens log router configuration, for a Fluent Bit or Fluentd sidecar.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firelens_configuration: Option<FirelensConfiguration>,
    /// Active Directory credential specs (`credentialspec:` or `credentialspecdomainless:` ARNs) for gMSA.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub credential_specs: Vec<String>,
}

/// The private registry credentials of a container image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RepositoryCredentials {
    /// The ARN of the Secrets Manager secret holding the registry credentials.
    pub credentials_parameter: String,
}

/// A container port exposed by the task.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PortMapping {
    /// The port the application listens on inside the container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_port: Option<i32>,
    /// The port on the host; in awsvpc mode equal to containerPort or absent, in bridge mode 0 or absent for a dynamic port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_port: Option<i32>,
    /// The transport protocol: `tcp` (default) or `udp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// The name of the port mapping, used by Service Connect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The application protocol for Service Connect: `http`, `http2` or `grpc`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_protocol: Option<String>,
    /// A range of container ports, `from-to`, instead of a single containerPort.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_port_range: Option<String>,
}

/// The in-place restart policy of a container.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContainerRestartPolicy {
    /// Whether the container is restarted when it exits.
    pub enabled: bool,
    /// Exit codes that do not trigger a restart (at most 50).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignored_exit_codes: Vec<i32>,
    /// Seconds the container must run before a restart is attempted (60 to 1800; 300 when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_attempt_period: Option<i32>,
}

/// An S3 object holding environment variables.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnvironmentFile {
    /// The ARN of the S3 object holding the environment variable file.
    pub value: String,
    /// The file type; only `s3` is supported.
    #[serde(rename = "type")]
    pub r#type: String,
}

/// A task volume mounted into a container.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MountPoint {
    /// The name of the task volume to mount (a `volumes[].name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_volume: Option<String>,
    /// The path inside the container where the volume is mounted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_path: Option<String>,
    /// Whether the container has read-only access to the volume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
}

/// Volumes mounted from another container of the task.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VolumeFrom {
    /// The name of the container whose volumes are mounted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_container: Option<String>,
    /// Whether the container has read-only access to those volumes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
}

/// Linux-specific container options.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LinuxParameters {
    /// Linux capabilities added to or dropped from Docker's default set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<KernelCapabilities>,
    /// Host devices exposed to the container (not on Fargate).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<Device>,
    /// Whether an init process runs as PID 1 to forward signals and reap zombies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_process_enabled: Option<bool>,
    /// The size of `/dev/shm` in MiB (not on Fargate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared_memory_size: Option<i32>,
    /// tmpfs mounts of the container.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tmpfs: Vec<Tmpfs>,
    /// The swap memory the container may use in MiB (not on Fargate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_swap: Option<i32>,
    /// The container's memory swappiness, 0 to 100 (not on Fargate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swappiness: Option<i32>,
}

/// Linux capabilities added to or dropped from a container.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KernelCapabilities {
    /// Capabilities added to the default set, e.g. `SYS_PTRACE` (only `SYS_PTRACE` on Fargate).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub add: Vec<String>,
    /// Capabilities removed from the default set, e.g. `ALL`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drop: Vec<String>,
}

/// A host device exposed to a container.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Device {
    /// The path of the device on the host.
    pub host_path: String,
    /// The path the device is exposed at inside the container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_path: Option<String>,
    /// What the container may do with the device: `read`, `write`, `mknod`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub permissions: Vec<String>,
}

/// A tmpfs mount of a container.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Tmpfs {
    /// The path inside the container where the tmpfs is mounted.
    pub container_path: String,
    /// The size of the tmpfs in MiB.
    pub size: i32,
    /// Mount options, e.g. `noexec`, `nosuid`, `rw`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mount_options: Vec<String>,
}

/// An environment variable whose value is read from Secrets Manager or SSM Parameter Store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Secret {
    /// The name of the environment variable (or log option) set in the container.
    pub name: String,
    /// The ARN (or, in the same Region, the name) of the secret or SSM parameter.
    pub value_from: String,
}

/// A start-up dependency on another container of the task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContainerDependency {
    /// The name of the container depended on.
    pub container_name: String,
    /// The state that container must reach: `START`, `COMPLETE`, `SUCCESS` or `HEALTHY`.
    pub condition: String,
}

/// An `/etc/hosts` entry of a container.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HostEntry {
    /// The hostname to map.
    pub hostname: String,
    /// The IP address the hostname resolves to.
    pub ip_address: String,
}

/// A resource limit of a container.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Ulimit {
    /// The limit's type, e.g. `nofile`.
    pub name: String,
    /// The soft limit.
    pub soft_limit: i32,
    /// The hard limit.
    pub hard_limit: i32,
}

/// The log configuration of a container.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LogConfiguration {
    /// The log driver: `awslogs`, `awsfirelens`, `splunk`, `json-file`, ... (Fargate: awslogs, splunk, awsfirelens).
    pub log_driver: String,
    /// Options passed to the log driver, e.g. `awslogs-group`, `awslogs-region`, `awslogs-stream-prefix`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
    /// Log driver options whose values are read from Secrets Manager or SSM Parameter Store.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secret_options: Vec<Secret>,
}

/// The Docker health check of a container.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HealthCheck {
    /// The command to run, starting with `CMD` or `CMD-SHELL`, e.g. `[CMD-SHELL, "curl -f http://localhost/ || exit 1"]`.
    pub command: Vec<String>,
    /// Seconds between two checks (5 to 300; 30 when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<i32>,
    /// Seconds a check may take before it counts as failed (2 to 60; 5 when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<i32>,
    /// Consecutive failures before the container is unhealthy (1 to 10; 3 when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<i32>,
    /// Seconds of grace after start during which failures do not count (0 to 300).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_period: Option<i32>,
}

/// A namespaced kernel parameter (sysctl) of a container.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SystemControl {
    /// The kernel parameter, e.g. `net.ipv4.tcp_keepalive_time`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The value of the kernel parameter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// A GPU or accelerator assigned to a container.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResourceRequirement {
    /// The number of GPUs, or the device name of an inference accelerator.
    pub value: String,
    /// The resource type: `GPU` or `InferenceAccelerator`.
    #[serde(rename = "type")]
    pub r#type: String,
}

/// The FireLens configuration of a log router container.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FirelensConfiguration {
    /// The log router: `fluentbit` or `fluentd`.
    #[serde(rename = "type")]
    pub r#type: String,
    /// Options of the log router, e.g. `enable-ecs-log-metadata` or `config-file-value`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
}

/// A data volume of a task.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Volume {
    /// The name of the volume, referred to by `mountPoints[].sourceVolume`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A bind mount of a host path (or, with no path, a Docker-managed path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<HostVolumeProperties>,
    /// Whether the volume is configured when the task is launched (an EBS volume given to the service).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configured_at_launch: Option<bool>,
    /// A Docker volume (EC2 only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker_volume_configuration: Option<DockerVolumeConfiguration>,
    /// An Amazon EFS file system.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub efs_volume_configuration: Option<EfsVolumeConfiguration>,
    /// An Amazon FSx for Windows File Server file system.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fsx_windows_file_server_volume_configuration: Option<FsxWindowsFileServerVolumeConfiguration>,
}

/// A bind mount volume.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HostVolumeProperties {
    /// The path on the host mounted into the containers (EC2 only); absent means a Docker-managed path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_path: Option<String>,
}

/// A Docker volume.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DockerVolumeConfiguration {
    /// The lifetime of the volume: `task` (removed with the task) or `shared` (persists).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Whether a `shared` volume is created when it does not exist yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoprovision: Option<bool>,
    /// The Docker volume driver, e.g. `local`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    /// Options passed to the volume driver.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub driver_opts: BTreeMap<String, String>,
    /// Docker labels added to the volume.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// An Amazon EFS volume.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EfsVolumeConfiguration {
    /// The ID of the EFS file system, `fs-...`.
    pub file_system_id: String,
    /// The directory of the file system mounted as the root of the volume (`/` when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_directory: Option<String>,
    /// Whether traffic to the file system is encrypted in transit: `ENABLED` or `DISABLED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transit_encryption: Option<String>,
    /// The port used for encrypted traffic between the host and the EFS server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transit_encryption_port: Option<i32>,
    /// The access point and IAM authorization used to mount the file system.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_config: Option<EfsAuthorizationConfig>,
}

/// The authorization used to mount an EFS file system.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EfsAuthorizationConfig {
    /// The EFS access point ID, `fsap-...`; requires transit encryption and a root directory of `/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_point_id: Option<String>,
    /// Whether the task role is used to mount the file system: `ENABLED` or `DISABLED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iam: Option<String>,
}

/// An Amazon FSx for Windows File Server volume.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FsxWindowsFileServerVolumeConfiguration {
    /// The ID of the FSx for Windows File Server file system.
    pub file_system_id: String,
    /// The directory of the file system mounted as the root of the volume.
    pub root_directory: String,
    /// The Active Directory credentials used to mount the file system.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_config: Option<FsxWindowsFileServerAuthorizationConfig>,
}

/// The Active Directory credentials of an FSx for Windows File Server volume.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FsxWindowsFileServerAuthorizationConfig {
    /// The ARN of the Secrets Manager secret or SSM parameter holding the Active Directory credentials.
    pub credentials_parameter: String,
    /// The fully qualified domain name of the Active Directory.
    pub domain: String,
}

/// A task placement constraint (shared with `Service.spec`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlacementConstraint {
    /// The constraint type: `memberOf`, or for services also `distinctInstance`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub r#type: Option<String>,
    /// A cluster query language expression, e.g. `attribute:ecs.instance-type =~ t3.*` (memberOf only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
}

/// The App Mesh proxy configuration of a task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProxyConfiguration {
    /// The proxy type; only `APPMESH` is supported.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub r#type: Option<String>,
    /// The name of the container that serves as the App Mesh proxy.
    pub container_name: String,
    /// The network configuration of the proxy (`IgnoredUID`, `AppPorts`, `ProxyIngressPort`, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<NameValue>,
}

/// The ephemeral storage of a Fargate task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EphemeralStorage {
    /// The total ephemeral storage in GiB, 21 to 200.
    #[serde(rename = "sizeInGiB")]
    pub size_in_gib: i32,
}

/// The platform a task runs on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuntimePlatform {
    /// The CPU architecture: `X86_64` or `ARM64`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_architecture: Option<String>,
    /// The operating system: `LINUX`, `WINDOWS_SERVER_2022_CORE`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operating_system_family: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_container_field_is_rejected() {
        let result: Result<TaskDefinitionSpec, _> = serde_json::from_value(json!({
            "containerDefinitions": [{"name": "web", "image": "nginx", "imagee": "nginx:1"}]
        }));
        let err = result.expect_err("a misspelt container field must be rejected").to_string();
        assert!(err.contains("imagee"), "error should name the field: {err}");
    }
}
