//! Rules over a whole set, after every document parsed: names, references, and the traps of
//! ECS practice. Each rule pushes diagnostics with a stable `code`; errors reject the set.

use std::collections::{BTreeMap, HashMap};

use super::diagnostic::did_you_mean;
use super::spec::{
    ClusterSpec, LoadBalancerSpec, LogGroupSpec, ScalableTargetSpec, SecurityGroupSpec, ServiceSpec, TargetGroupSpec,
    TaskDefinitionSpec,
};
use super::{Diagnostic, Kind, ManifestSet, Resource, Severity, Spec};

/// Run every set-level rule, appending to `set.diagnostics`.
pub fn validate(set: &mut ManifestSet) {
    let mut diags = Vec::new();
    duplicate_names(set, &mut diags);
    for r in &set.resources {
        names(r, &mut diags);
        ignore_differences(r, &mut diags);
        references(set, r, &mut diags);
        match &r.spec {
            Spec::TaskDefinition(td) => {
                task_definition(r, td, &mut diags);
                plaintext_secrets(r, td, &mut diags);
                host_ports(r, td, &mut diags);
                container_memory(r, td, &mut diags);
                execution_role(r, td, &mut diags);
                awslogs_groups(set, r, td, &mut diags);
            }
            Spec::Service(svc) => {
                service(set, r, svc, &mut diags);
                blue_green(set, r, svc, &mut diags);
            }
            Spec::SecurityGroup(sg) => {
                open_to_world(set, r, &mut diags);
                rule_peers(r, sg, &mut diags);
            }
            Spec::TargetGroup(tg) => health_check(r, tg, &mut diags),
            Spec::LoadBalancer(lb) => load_balancer(r, lb, &mut diags),
            Spec::Cluster(cluster) => capacity_providers(r, cluster, &mut diags),
            Spec::LogGroup(lg) => log_group(r, lg, &mut diags),
            Spec::ScalableTarget(t) => scalable_target(set, r, t, &mut diags),
        }
    }
    set.diagnostics.extend(diags);
}

fn duplicate_names(set: &ManifestSet, diags: &mut Vec<Diagnostic>) {
    let mut seen: HashMap<(Kind, &str), &Resource> = HashMap::new();
    for r in &set.resources {
        if let Some(first) = seen.get(&(r.kind, r.name())) {
            let at = &first.origin;
            diags.push(
                r.diagnostic(
                    Severity::Error,
                    "duplicate-name",
                    "metadata.name",
                    format!("{} `{}` is defined twice", r.kind, r.name()),
                )
                .with_help(format!(
                    "the first is at {}:{}; names are unique per kind in a set",
                    at.file,
                    at.positions.value("metadata.name").line
                )),
            );
        } else {
            seen.insert((r.kind, r.name()), r);
        }
    }
}

/// AWS's naming rules, checked here so that a bad name fails before any AWS call.
fn names(r: &Resource, diags: &mut Vec<Diagnostic>) {
    let name = r.name();
    let word = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    let problem = match r.kind {
        _ if name.is_empty() => Some("must not be empty".to_string()),
        Kind::Cluster | Kind::Service | Kind::TaskDefinition if name.len() > 255 || !name.chars().all(word) => {
            Some("must be 1 to 255 letters, digits, hyphens and underscores".into())
        }
        Kind::TargetGroup | Kind::LoadBalancer
            if name.len() > 32
                || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                || name.starts_with('-')
                || name.ends_with('-') =>
        {
            Some("must be at most 32 letters, digits and hyphens, not starting or ending with a hyphen".into())
        }
        Kind::LoadBalancer if name.starts_with("internal-") => Some("must not start with `internal-`".into()),
        Kind::SecurityGroup if name.len() > 255 || name.starts_with("sg-") => {
            Some("must be at most 255 characters and must not start with `sg-`".into())
        }
        // CloudWatch Logs API reference, CreateLogGroup: "between 1 and 512 characters long",
        // "a-z, A-Z, 0-9, '_' (underscore), '-' (hyphen), '/' (forward slash), '.' (period), and
        // '#' (number sign)", and "can't start with the string aws/".
        Kind::LogGroup
            if name.len() > 512
                || !name.chars().all(|c| c.is_ascii_alphanumeric() || "_-/.#".contains(c))
                || name.starts_with("aws/") =>
        {
            Some("must be at most 512 letters, digits and `_-/.#`, not starting with `aws/`".into())
        }
        Kind::ScalableTarget if name.len() > 255 || !name.chars().all(word) => {
            Some("must be 1 to 255 letters, digits, hyphens and underscores".into())
        }
        _ => None,
    };
    if let Some(problem) = problem {
        diags.push(r.diagnostic(
            Severity::Error,
            "invalid-name",
            "metadata.name",
            format!("{} name `{name}` {problem}", r.kind),
        ));
    }
}

/// `ignoreDifferences` entries must name a field of the spec, or the user is ignoring nothing.
fn ignore_differences(r: &Resource, diags: &mut Vec<Diagnostic>) {
    let known = spec_fields(r.kind);
    for (i, path) in r.metadata.ignore_differences.iter().enumerate() {
        let top = path.trim_start_matches("spec.").split(['.', '[']).next().unwrap_or_default();
        if !known.iter().any(|f| f == top) {
            let mut d = r.diagnostic(
                Severity::Error,
                "ignore-differences",
                &format!("metadata.ignoreDifferences[{i}]"),
                format!("`{path}` is not a field of a {} spec", r.kind),
            );
            if let Some(s) = did_you_mean(top, known.iter().map(String::as_str)) {
                d = d.with_help(format!("did you mean `{s}`?"));
            }
            diags.push(d);
        }
    }
}

/// The top-level field names of a kind's spec, from its JSON Schema.
fn spec_fields(kind: Kind) -> Vec<String> {
    let schema = super::schema::spec_schema(kind);
    schema.get("properties").and_then(|p| p.as_object()).map(|p| p.keys().cloned().collect()).unwrap_or_default()
}

fn references(set: &ManifestSet, r: &Resource, diags: &mut Vec<Diagnostic>) {
    for reference in r.spec.references() {
        if reference.kind.is_literal_id(&reference.value) || set.get(reference.kind, &reference.value).is_some() {
            continue;
        }
        if reference.kind == Kind::LogGroup {
            // A log group made elsewhere is fine (rule `awslogs-group` warns).
            continue;
        }
        let names = set.of_kind(reference.kind).map(|x| x.name());
        let help = match did_you_mean(&reference.value, names) {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!(
                "define a {} named `{}` in the set, or give its {}",
                reference.kind,
                reference.value,
                if reference.kind == Kind::SecurityGroup { "ID (`sg-...`) or ARN" } else { "ARN (`arn:...`)" }
            ),
        };
        diags.push(
            r.diagnostic(
                Severity::Error,
                "dangling-reference",
                &reference.path,
                format!("no {} named `{}` in the set", reference.kind, reference.value),
            )
            .with_help(help),
        );
    }
}

/// An awslogs driver writing to a log group no LogGroup of the set makes: the tasks fail to start
/// unless it exists ("awslogs-create-group ... the log group must already exist", ECS Developer
/// Guide, Using the awslogs log driver) or the driver creates it.
fn awslogs_groups(set: &ManifestSet, r: &Resource, td: &TaskDefinitionSpec, diags: &mut Vec<Diagnostic>) {
    for (i, c) in td.container_definitions.iter().enumerate() {
        let Some(log) = c.log_configuration.as_ref().filter(|l| l.log_driver == "awslogs") else { continue };
        let Some(group) = log.options.get(TaskDefinitionSpec::AWSLOGS_GROUP) else { continue };
        let creates = log.options.get("awslogs-create-group").is_some_and(|v| v == "true");
        if set.get(Kind::LogGroup, group).is_some() || creates || set.of_kind(Kind::LogGroup).next().is_none() {
            continue;
        }
        let path =
            format!("spec.containerDefinitions[{i}].logConfiguration.options.{}", TaskDefinitionSpec::AWSLOGS_GROUP);
        let names = set.of_kind(Kind::LogGroup).map(|x| x.name());
        let help = match did_you_mean(group, names) {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!("add a LogGroup named `{group}` to the set, or make sure it exists"),
        };
        diags.push(
            r.diagnostic(
                Severity::Warning,
                "awslogs-group",
                &path,
                format!("no LogGroup `{group}` in the set: the tasks cannot start unless it exists"),
            )
            .with_help(help),
        );
    }
}

fn log_group(r: &Resource, lg: &LogGroupSpec, diags: &mut Vec<Diagnostic>) {
    if let Some(days) = lg.retention_in_days
        && !LogGroupSpec::RETENTION_DAYS.contains(&days)
    {
        let nearest = LogGroupSpec::RETENTION_DAYS.iter().min_by_key(|d| (**d - days).abs()).copied().unwrap_or(1);
        diags.push(
            r.diagnostic(
                Severity::Error,
                "log-retention",
                "spec.retentionInDays",
                format!("CloudWatch Logs keeps events for set periods only; {days} days is not one"),
            )
            .with_help(format!(
                "the nearest is {nearest}; one of {} (leave it out to keep events forever)",
                LogGroupSpec::RETENTION_DAYS.map(|d| d.to_string()).join(", ")
            )),
        );
    }
    if let Some(class) = &lg.log_group_class
        && !LogGroupSpec::CLASSES.contains(&class.as_str())
    {
        diags.push(
            r.diagnostic(
                Severity::Error,
                "invalid-value",
                "spec.logGroupClass",
                format!("unknown log group class `{class}`"),
            )
            .with_help(format!("one of: {}", LogGroupSpec::CLASSES.join(", "))),
        );
    }
}

/// Application Auto Scaling's rules for an ECS service's target and its policies (API
/// reference: RegisterScalableTarget, PutScalingPolicy, PutScheduledAction, PredefinedMetricSpecification).
fn scalable_target(set: &ManifestSet, r: &Resource, t: &ScalableTargetSpec, diags: &mut Vec<Diagnostic>) {
    // Findings on the service itself, added after the target's own.
    let mut out = Vec::new();
    let mut err = |path: &str, code: &'static str, message: String, help: String| {
        diags.push(r.diagnostic(Severity::Error, code, path, message).with_help(help));
    };
    if t.min_capacity < 0 || t.max_capacity < t.min_capacity {
        err(
            "spec.maxCapacity",
            "scaling-capacity",
            format!("minCapacity {} and maxCapacity {} are not a range", t.min_capacity, t.max_capacity),
            "give 0 ≤ minCapacity ≤ maxCapacity".into(),
        );
    }
    if let Some(other) = set
        .of_kind(Kind::ScalableTarget)
        .find(|o| o.name() != r.name() && matches!(&o.spec, Spec::ScalableTarget(x) if x.service == t.service))
        .filter(|o| o.name() < r.name())
    {
        err(
            "spec.service",
            "duplicate-name",
            format!("Service `{}` already has ScalableTarget `{}`", t.service, other.name()),
            "a service has one scalable target (its desired count); put every policy in one".into(),
        );
    }
    if let Some(svc_r) = set.get(Kind::Service, &t.service)
        && let Spec::Service(svc) = &svc_r.spec
    {
        if svc.scheduling_strategy.as_deref() == Some("DAEMON") {
            err(
                "spec.service",
                "scaling-daemon",
                format!(
                    "Service `{}` is a DAEMON service: it runs one task per instance and has no desired count to scale",
                    t.service
                ),
                "scale the cluster's instances instead".into(),
            );
        }
        if let Some(n) = svc.desired_count
            && (n < t.min_capacity || n > t.max_capacity)
        {
            out.push(
                svc_r
                    .diagnostic(
                        Severity::Error,
                        "desired-count-range",
                        "spec.desiredCount",
                        format!(
                            "desiredCount {n} is outside ScalableTarget `{}`'s {}..{}: Application Auto Scaling would move it at once",
                            r.name(),
                            t.min_capacity,
                            t.max_capacity
                        ),
                    )
                    .with_help("give a desiredCount within minCapacity..maxCapacity (it is sent only when the service is created)"),
            );
        }
    }
    let mut names = std::collections::BTreeSet::new();
    for (i, p) in t.scaling_policies.iter().enumerate() {
        let at = format!("spec.scalingPolicies[{i}]");
        if !names.insert(p.policy_name.as_str()) {
            err(
                &format!("{at}.policyName"),
                "duplicate-name",
                format!("two scaling policies named `{}`", p.policy_name),
                "policy names are unique per target".into(),
            );
        }
        let (tracking, step) =
            (p.target_tracking_scaling_policy_configuration.as_ref(), p.step_scaling_policy_configuration.as_ref());
        match (p.policy_type.as_str(), tracking, step) {
            ("TargetTrackingScaling", Some(c), None) => {
                let (pre, custom) =
                    (c.predefined_metric_specification.as_ref(), c.customized_metric_specification.as_ref());
                let cat = format!("{at}.targetTrackingScalingPolicyConfiguration");
                if pre.is_some() == custom.is_some() {
                    err(&cat, "scaling-policy", "a target tracking policy needs exactly one of `predefinedMetricSpecification` and `customizedMetricSpecification`".into(), "name the metric to track".into());
                }
                if let Some(m) = pre {
                    let mat = format!("{cat}.predefinedMetricSpecification");
                    const ECS_METRICS: [&str; 3] = [
                        "ECSServiceAverageCPUUtilization",
                        "ECSServiceAverageMemoryUtilization",
                        "ALBRequestCountPerTarget",
                    ];
                    let alb = m.predefined_metric_type == "ALBRequestCountPerTarget";
                    if !ECS_METRICS.contains(&m.predefined_metric_type.as_str()) {
                        err(
                            &format!("{mat}.predefinedMetricType"),
                            "scaling-policy",
                            format!("`{}` is no predefined metric of an ECS service", m.predefined_metric_type),
                            format!("one of: {}", ECS_METRICS.join(", ")),
                        );
                    } else if alb && m.target_group.is_some() == m.resource_label.is_some() {
                        err(&mat, "scaling-policy", "ALBRequestCountPerTarget needs its target group: `targetGroup` (a TargetGroup of the set) or `resourceLabel`".into(), "add `targetGroup:` with the name of the service's target group".into());
                    } else if !alb && (m.target_group.is_some() || m.resource_label.is_some()) {
                        err(
                            &mat,
                            "scaling-policy",
                            format!("`{}` takes no target group", m.predefined_metric_type),
                            "remove `targetGroup` / `resourceLabel`".into(),
                        );
                    }
                    if let Some(tg) = m.target_group.as_deref().filter(|tg| set.get(Kind::TargetGroup, tg).is_some())
                        && !set
                            .of_kind(Kind::LoadBalancer)
                            .any(|lb| lb.spec.references().iter().any(|x| x.kind == Kind::TargetGroup && x.value == tg))
                    {
                        err(
                            &format!("{mat}.targetGroup"),
                            "scaling-policy",
                            format!(
                                "no LoadBalancer of the set forwards to TargetGroup `{tg}`: its request count has no label"
                            ),
                            "ALBRequestCountPerTarget tracks a target group behind an application load balancer".into(),
                        );
                    }
                }
            }
            ("StepScaling", None, Some(c)) => {
                if c.step_adjustments.is_empty() {
                    err(
                        &format!("{at}.stepScalingPolicyConfiguration.stepAdjustments"),
                        "scaling-policy",
                        "a step scaling policy needs at least one step adjustment".into(),
                        "add `stepAdjustments:`".into(),
                    );
                }
            }
            ("TargetTrackingScaling", _, _) => err(
                &at,
                "scaling-policy",
                "a TargetTrackingScaling policy takes `targetTrackingScalingPolicyConfiguration` and nothing else"
                    .into(),
                "give the target tracking configuration".into(),
            ),
            ("StepScaling", _, _) => err(
                &at,
                "scaling-policy",
                "a StepScaling policy takes `stepScalingPolicyConfiguration` and nothing else".into(),
                "give the step scaling configuration".into(),
            ),
            (other, _, _) => err(
                &format!("{at}.policyType"),
                "scaling-policy",
                format!("unknown policyType `{other}`"),
                "`TargetTrackingScaling` or `StepScaling`".into(),
            ),
        }
    }
    let mut names = std::collections::BTreeSet::new();
    for (i, a) in t.scheduled_actions.iter().enumerate() {
        let at = format!("spec.scheduledActions[{i}]");
        if !names.insert(a.scheduled_action_name.as_str()) {
            err(
                &format!("{at}.scheduledActionName"),
                "duplicate-name",
                format!("two scheduled actions named `{}`", a.scheduled_action_name),
                "scheduled action names are unique per target".into(),
            );
        }
        if !["at(", "rate(", "cron("].iter().any(|p| a.schedule.starts_with(p)) || !a.schedule.ends_with(')') {
            err(
                &format!("{at}.schedule"),
                "scaling-schedule",
                format!("`{}` is no schedule expression", a.schedule),
                "write `at(2026-12-24T18:00:00)`, `rate(1 day)` or `cron(0 20 * * ? *)`".into(),
            );
        }
        let ta = &a.scalable_target_action;
        if ta.min_capacity.is_none() && ta.max_capacity.is_none() {
            err(
                &format!("{at}.scalableTargetAction"),
                "scaling-schedule",
                "a scheduled action changes minCapacity, maxCapacity or both".into(),
                "add `minCapacity:` or `maxCapacity:`".into(),
            );
        }
    }
    diags.extend(out);
}

/// The task sizes Fargate accepts: cpu units → the memory values (MiB) allowed with it.
pub fn fargate_memory_choices(cpu: u32) -> Option<Vec<u32>> {
    let range = |from: u32, to: u32, step: u32| (from..=to).step_by(step as usize).collect::<Vec<_>>();
    Some(match cpu {
        256 => vec![512, 1024, 2048],
        512 => range(1024, 4096, 1024),
        1024 => range(2048, 8192, 1024),
        2048 => range(4096, 16384, 1024),
        4096 => range(8192, 30720, 1024),
        8192 => range(16384, 61440, 4096),
        16384 => range(32768, 122880, 8192),
        _ => return None,
    })
}

/// Task-level `cpu` in units: `256`, `"256"` or `"0.25 vCPU"`.
pub fn cpu_units(s: &str) -> Option<u32> {
    let s = s.trim();
    if let Some(v) = s.strip_suffix("vCPU").or_else(|| s.strip_suffix("vcpu")) {
        let v: f64 = v.trim().parse().ok()?;
        return Some((v * 1024.0).round() as u32);
    }
    s.parse().ok()
}

/// Task-level `memory` in MiB: `512`, `"512"` or `"1 GB"`.
pub fn memory_mib(s: &str) -> Option<u32> {
    let s = s.trim();
    if let Some(v) = s.strip_suffix("GB").or_else(|| s.strip_suffix("gb")) {
        let v: f64 = v.trim().parse().ok()?;
        return Some((v * 1024.0).round() as u32);
    }
    s.parse().ok()
}

fn requires_fargate(td: &TaskDefinitionSpec) -> bool {
    td.requires_compatibilities.iter().any(|c| c == "FARGATE")
}

fn network_mode(td: &TaskDefinitionSpec) -> &str {
    td.network_mode.as_deref().unwrap_or("bridge")
}

fn task_definition(r: &Resource, td: &TaskDefinitionSpec, diags: &mut Vec<Diagnostic>) {
    if let Some(family) = &td.family
        && family != r.name()
    {
        diags.push(
            r.diagnostic(
                Severity::Error,
                "family-mismatch",
                "spec.family",
                format!("family `{family}` differs from metadata.name `{}`", r.name()),
            )
            .with_help("the family is the TaskDefinition's name: drop `family` or make it equal to metadata.name"),
        );
    }
    let mut containers: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, c) in td.container_definitions.iter().enumerate() {
        if let Some(first) = containers.insert(c.name.as_str(), i) {
            diags.push(r.diagnostic(
                Severity::Error,
                "duplicate-name",
                &format!("spec.containerDefinitions[{i}].name"),
                format!("container `{}` is defined twice (first at containerDefinitions[{first}])", c.name),
            ));
        }
    }
    if td.container_definitions.is_empty() {
        diags.push(r.diagnostic(
            Severity::Error,
            "missing-field",
            "spec",
            "a task definition needs at least one entry in `containerDefinitions`",
        ));
    }
    if !requires_fargate(td) {
        return;
    }
    if network_mode(td) != "awsvpc" {
        diags.push(
            r.diagnostic(
                Severity::Error,
                "fargate-network-mode",
                "spec.networkMode",
                format!("Fargate tasks need networkMode `awsvpc`, not `{}`", network_mode(td)),
            )
            .with_help("write `networkMode: awsvpc`"),
        );
    }
    fargate_size(r, td, diags);
}

fn fargate_size(r: &Resource, td: &TaskDefinitionSpec, diags: &mut Vec<Diagnostic>) {
    let (Some(cpu), Some(memory)) = (&td.cpu, &td.memory) else {
        let missing = if td.cpu.is_none() { "cpu" } else { "memory" };
        diags.push(
            r.diagnostic(
                Severity::Error,
                "fargate-size",
                "spec",
                format!("a Fargate task definition needs task-level `{missing}`"),
            )
            .with_help("for example `cpu: 256` and `memory: 512`"),
        );
        return;
    };
    let Some(units) = cpu_units(cpu.as_str()) else {
        diags.push(
            r.diagnostic(Severity::Error, "fargate-size", "spec.cpu", format!("cannot read cpu `{}`", cpu.as_str()))
                .with_help("write CPU units such as `256`, `512`, `1024`"),
        );
        return;
    };
    let Some(choices) = fargate_memory_choices(units) else {
        diags.push(
            r.diagnostic(Severity::Error, "fargate-size", "spec.cpu", format!("Fargate does not offer cpu {units}"))
                .with_help("cpu must be one of 256, 512, 1024, 2048, 4096, 8192, 16384"),
        );
        return;
    };
    let Some(mib) = memory_mib(memory.as_str()) else {
        diags.push(
            r.diagnostic(
                Severity::Error,
                "fargate-size",
                "spec.memory",
                format!("cannot read memory `{}`", memory.as_str()),
            )
            .with_help("write MiB such as `512` or `\"1 GB\"`"),
        );
        return;
    };
    if !choices.contains(&mib) {
        let list = if choices.len() <= 4 {
            choices.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
        } else {
            format!("{} to {} in steps of {}", choices[0], choices[choices.len() - 1], choices[1] - choices[0])
        };
        diags.push(
            r.diagnostic(
                Severity::Error,
                "fargate-size",
                "spec.memory",
                format!("Fargate does not run cpu {units} with memory {mib} MiB"),
            )
            .with_help(format!("with cpu {units}, memory must be {list}")),
        );
    }
}

/// A value that looks like a credential, not a reference to one.
fn looks_secret(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    ["PASSWORD", "PASSWD", "SECRET", "TOKEN", "API_KEY", "APIKEY", "PRIVATE_KEY", "ACCESS_KEY", "CREDENTIAL"]
        .iter()
        .any(|w| n.contains(w))
}

fn plaintext_secrets(r: &Resource, td: &TaskDefinitionSpec, diags: &mut Vec<Diagnostic>) {
    for (i, c) in td.container_definitions.iter().enumerate() {
        for (j, env) in c.environment.iter().enumerate() {
            if looks_secret(&env.name) && env.value.as_deref().is_some_and(|v| !v.is_empty()) {
                diags.push(
                    r.diagnostic(
                        Severity::Warning,
                        "plaintext-secret",
                        &format!("spec.containerDefinitions[{i}].environment[{j}].value"),
                        format!("`{}` looks like a secret in plain text; it is stored in the task definition for anyone with ecs:Describe* to read", env.name),
                    )
                    .with_help("move it to `secrets:` with `valueFrom:` a Secrets Manager or SSM Parameter Store ARN, or to `environmentFiles`"),
                );
            }
        }
    }
}

/// Whether the service runs on Fargate, by launch type or capacity provider.
pub fn service_on_fargate(svc: &ServiceSpec) -> bool {
    svc.launch_type.as_deref() == Some("FARGATE")
        || svc.capacity_provider_strategy.iter().any(|c| c.capacity_provider.starts_with("FARGATE"))
}

fn service(set: &ManifestSet, r: &Resource, svc: &ServiceSpec, diags: &mut Vec<Diagnostic>) {
    if svc.launch_type.is_some() && !svc.capacity_provider_strategy.is_empty() {
        diags.push(
            r.diagnostic(
                Severity::Error,
                "launch-type-conflict",
                "spec.launchType",
                "`launchType` and `capacityProviderStrategy` cannot both be set",
            )
            .with_help("keep one: AWS rejects a service that has both"),
        );
    }
    let subnets =
        svc.network_configuration.as_ref().and_then(|n| n.awsvpc_configuration.as_ref()).map(|a| a.subnets.len());
    if service_on_fargate(svc) && subnets.is_some_and(|n| n < 2) {
        diags.push(
            r.diagnostic(
                Severity::Warning,
                "fargate-single-subnet",
                "spec.networkConfiguration.awsvpcConfiguration.subnets",
                "a Fargate service in one subnet runs in one Availability Zone: an AZ outage takes it down",
            )
            .with_help("list at least two subnets in different Availability Zones"),
        );
    }
    let td = match set.get(Kind::TaskDefinition, &svc.task_definition).map(|t| &t.spec) {
        Some(Spec::TaskDefinition(td)) => Some(td),
        _ => None,
    };
    service_role(r, svc, td, diags);
    let Some(td) = td else {
        return;
    };
    if service_on_fargate(svc) && !requires_fargate(td) {
        diags.push(
            r.diagnostic(
                Severity::Error,
                "fargate-compatibility",
                "spec.taskDefinition",
                format!("TaskDefinition `{}` is not marked Fargate-compatible", svc.task_definition),
            )
            .with_help("add `requiresCompatibilities: [FARGATE]` to the task definition"),
        );
    }
    let mode = network_mode(td);
    let awsvpc = mode == "awsvpc";
    if awsvpc && subnets.is_none() {
        diags.push(
            r.diagnostic(
                Severity::Error,
                "network-configuration",
                "spec",
                "the task definition uses networkMode `awsvpc`, so the service needs `networkConfiguration`",
            )
            .with_help("add networkConfiguration.awsvpcConfiguration with `subnets` and `securityGroups`"),
        );
    }
    for (i, lb) in svc.load_balancers.iter().enumerate() {
        let at = format!("spec.loadBalancers[{i}]");
        if let Some(tg_name) = &lb.target_group
            && let Some(Spec::TargetGroup(tg)) = set.get(Kind::TargetGroup, tg_name).map(|t| &t.spec)
        {
            let target_type = tg.target_type.as_deref().unwrap_or("instance");
            // awsvpc: "when you create any target groups for these services, you must choose
            // ip as the target type, not instance" (AWS::ECS::Service LoadBalancer,
            // https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-ecs-service-loadbalancer.html).
            // bridge/host tasks are reached at an instance's port, so the reverse holds:
            // CreateService answers "The provided target group ... has target type ip, which is
            // incompatible with the bridge network mode specified in the task definition"
            // (https://github.com/hashicorp/terraform-provider-aws/issues/12252).
            let wanted = match mode {
                "awsvpc" => Some(("ip", "awsvpc tasks register by IP".to_string())),
                "bridge" | "host" => Some(("instance", format!("{mode}-mode tasks register by instance and port"))),
                _ => None,
            };
            if let Some((wanted, registers)) = wanted.filter(|(w, _)| target_type != *w) {
                diags.push(
                    r.diagnostic(
                        Severity::Error,
                        "target-type",
                        &format!("{at}.targetGroup"),
                        format!("{registers}, but TargetGroup `{tg_name}` has targetType `{target_type}`"),
                    )
                    .with_help(format!("set `targetType: {wanted}` on TargetGroup `{tg_name}`")),
                );
            }
        }
        let Some(container_name) = &lb.container_name else {
            diags.push(
                r.diagnostic(Severity::Error, "missing-field", &at, "missing field `containerName`")
                    .with_help("name the container the load balancer sends traffic to"),
            );
            continue;
        };
        let Some(container) = td.container_definitions.iter().find(|c| &c.name == container_name) else {
            let names = td.container_definitions.iter().map(|c| c.name.as_str());
            let help = match did_you_mean(container_name, names.clone()) {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!("containers of `{}`: {}", svc.task_definition, names.collect::<Vec<_>>().join(", ")),
            };
            diags.push(
                r.diagnostic(
                    Severity::Error,
                    "lb-container",
                    &format!("{at}.containerName"),
                    format!("TaskDefinition `{}` has no container `{container_name}`", svc.task_definition),
                )
                .with_help(help),
            );
            continue;
        };
        if let Some(port) = lb.container_port
            && !container.port_mappings.iter().any(|p| p.container_port == Some(port))
        {
            let ports: Vec<String> =
                container.port_mappings.iter().filter_map(|p| p.container_port.map(|x| x.to_string())).collect();
            diags.push(
                r.diagnostic(
                    Severity::Error,
                    "lb-container",
                    &format!("{at}.containerPort"),
                    format!("container `{container_name}` has no portMapping for containerPort {port}"),
                )
                .with_help(if ports.is_empty() {
                    format!("add `portMappings: [{{containerPort: {port}}}]` to container `{container_name}`")
                } else {
                    format!("its containerPorts: {}", ports.join(", "))
                }),
            );
        }
    }
    static_host_port(r, svc, td, diags);
}

/// The lifecycle stages a deployment hook may run at (ECS API reference, DeploymentLifecycleHook
/// `lifecycleStages`).
const HOOK_STAGES: &[&str] = &[
    "RECONCILE_SERVICE",
    "PRE_SCALE_UP",
    "POST_SCALE_UP",
    "TEST_TRAFFIC_SHIFT",
    "POST_TEST_TRAFFIC_SHIFT",
    "PRE_PRODUCTION_TRAFFIC_SHIFT",
    "PRODUCTION_TRAFFIC_SHIFT",
    "POST_PRODUCTION_TRAFFIC_SHIFT",
];

/// ECS-native blue/green, linear and canary deployments: what the ECS API reference documents
/// as required or invalid (DeploymentConfiguration, AdvancedConfiguration,
/// DeploymentLifecycleHook, LinearConfiguration, CanaryConfiguration), checked before anything
/// reaches AWS.
fn blue_green(set: &ManifestSet, r: &Resource, svc: &ServiceSpec, diags: &mut Vec<Diagnostic>) {
    use super::spec::service::ListenerRule;
    let mut err = |path: &str, message: String, help: String| {
        diags.push(r.diagnostic(Severity::Error, "blue-green", path, message).with_help(help));
    };
    let d = svc.deployment_configuration.clone().unwrap_or_default();
    let strategy = d.strategy.as_deref().unwrap_or("ROLLING");
    let shifts = matches!(strategy, "BLUE_GREEN" | "LINEAR" | "CANARY");
    let at = "spec.deploymentConfiguration";
    let controller = svc.deployment_controller.as_ref().map_or("ECS", |c| c.r#type.as_str());
    if shifts && controller != "ECS" {
        err(
            &format!("{at}.strategy"),
            format!("strategy `{strategy}` is run by the ECS deployment controller, not `{controller}`"),
            "remove deploymentController (or set `type: ECS`), or use the strategy of your controller".into(),
        );
    }
    // "You must provide this parameter when you use the BLUE_GREEN deployment strategy."
    if strategy == "BLUE_GREEN" && d.bake_time_in_minutes.is_none() {
        err(
            &format!("{at}.bakeTimeInMinutes"),
            "strategy `BLUE_GREEN` needs `bakeTimeInMinutes`".into(),
            "give the minutes both revisions keep running after production traffic moved, e.g. `bakeTimeInMinutes: 5`"
                .into(),
        );
    }
    if let Some(b) = d.bake_time_in_minutes.filter(|b| !(0..=1440).contains(b)) {
        err(&format!("{at}.bakeTimeInMinutes"), format!("bakeTimeInMinutes {b} is out of range"), "give 0–1440".into());
    }
    let percent_ok = |p: f64, low: f64| (low..=100.0).contains(&p) && ((p * 10.0).round() - p * 10.0).abs() < 1e-6;
    for (config, wanted, percent, low, bake) in [
        (
            "linearConfiguration",
            "LINEAR",
            d.linear_configuration.as_ref().and_then(|c| c.step_percent),
            3.0,
            d.linear_configuration.as_ref().and_then(|c| c.step_bake_time_in_minutes),
        ),
        (
            "canaryConfiguration",
            "CANARY",
            d.canary_configuration.as_ref().and_then(|c| c.canary_percent),
            0.1,
            d.canary_configuration.as_ref().and_then(|c| c.canary_bake_time_in_minutes),
        ),
    ] {
        let given =
            if wanted == "LINEAR" { d.linear_configuration.is_some() } else { d.canary_configuration.is_some() };
        if given && strategy != wanted {
            err(
                &format!("{at}.{config}"),
                format!("`{config}` is only valid with strategy `{wanted}` (this service: `{strategy}`)"),
                format!("set `strategy: {wanted}` or remove `{config}`"),
            );
        }
        if let Some(p) = percent.filter(|p| !percent_ok(*p, low)) {
            err(
                &format!("{at}.{config}"),
                format!("{p} is no valid percentage here"),
                format!("give a multiple of 0.1 from {low} to 100.0"),
            );
        }
        if let Some(b) = bake.filter(|b| !(0..=1440).contains(b)) {
            err(&format!("{at}.{config}"), format!("bake time {b} is out of range"), "give 0–1440 minutes".into());
        }
    }
    for (i, h) in d.lifecycle_hooks.iter().enumerate() {
        let at = format!("{at}.lifecycleHooks[{i}]");
        if !shifts {
            err(
                &at,
                format!("lifecycle hooks run in blue/green, linear and canary deployments, not `{strategy}`"),
                "set `strategy: BLUE_GREEN` (or LINEAR, CANARY), or remove the hook".into(),
            );
        }
        let pause = h.target_type.as_deref() == Some("PAUSE");
        if !pause && (h.hook_target_arn.is_none() || h.role_arn.is_none()) {
            err(
                &at,
                "an AWS_LAMBDA hook needs `hookTargetArn` (the function) and `roleArn` (to invoke it)".into(),
                "add both, or set `targetType: PAUSE`".into(),
            );
        }
        if h.lifecycle_stages.is_empty() {
            err(&format!("{at}.lifecycleStages"), "a hook needs at least one stage".into(), HOOK_STAGES.join(", "));
        }
        for (j, stage) in h.lifecycle_stages.iter().enumerate() {
            let path = format!("{at}.lifecycleStages[{j}]");
            if !HOOK_STAGES.contains(&stage.as_str()) {
                let help = match did_you_mean(stage, HOOK_STAGES.iter().copied()) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => HOOK_STAGES.join(", "),
                };
                err(&path, format!("`{stage}` is no lifecycle stage"), help);
            } else if pause && matches!(stage.as_str(), "TEST_TRAFFIC_SHIFT" | "PRODUCTION_TRAFFIC_SHIFT") {
                // "PAUSE hooks cannot be configured at TEST_TRAFFIC_SHIFT or PRODUCTION_TRAFFIC_SHIFT stages."
                err(
                    &path,
                    format!("a PAUSE hook cannot run at `{stage}`"),
                    "pause before or after the shift (`PRE_PRODUCTION_TRAFFIC_SHIFT`, `POST_TEST_TRAFFIC_SHIFT`)"
                        .into(),
                );
            }
        }
    }
    // The errors CreateService/UpdateService answer for a blue/green pair (ECS developer guide,
    // "Troubleshooting Amazon ECS blue/green deployments"), quoted beside each check.
    let with = svc.load_balancers.iter().filter(|lb| lb.advanced_configuration.is_some()).count();
    let mut groups: Vec<&str> = Vec::new();
    for (i, lb) in svc.load_balancers.iter().enumerate() {
        let at = format!("spec.loadBalancers[{i}]");
        let Some(a) = &lb.advanced_configuration else {
            if shifts {
                // "advancedConfiguration field is required for all loadBalancers when using a
                // non-ROLLING deployment strategy"
                err(
                    &at,
                    format!(
                        "strategy `{strategy}` moves traffic between two target groups: this entry has no `advancedConfiguration`"
                    ),
                    "add advancedConfiguration with alternateTargetGroup, productionListenerRule and roleArn".into(),
                );
            } else if with > 0 {
                // "Either all or none of the provided loadBalancers must have advancedConfiguration defined"
                err(
                    &at,
                    "either every load balancer entry has `advancedConfiguration` or none has".into(),
                    "add it here too, or remove it from the others".into(),
                );
            }
            groups.extend(lb.target_group.as_deref().or(lb.target_group_arn.as_deref()));
            continue;
        };
        let at = format!("{at}.advancedConfiguration");
        if lb.load_balancer_name.is_some() {
            // "advancedConfiguration field is not allowed with ELBv1 loadBalancers"
            err(
                &at,
                "a Classic Load Balancer (`loadBalancerName`) has no blue/green deployments".into(),
                "use a target group of an application or network load balancer".into(),
            );
        }
        let alternate = a.alternate_target_group.as_deref().or(a.alternate_target_group_arn.as_deref());
        match (a.alternate_target_group.is_some(), a.alternate_target_group_arn.is_some()) {
            (false, false) => err(
                &at,
                "missing field `alternateTargetGroup`".into(),
                "name the second TargetGroup of the pair".into(),
            ),
            (true, true) => err(
                &format!("{at}.alternateTargetGroupArn"),
                "`alternateTargetGroup` and `alternateTargetGroupArn` cannot both be set".into(),
                "keep one".into(),
            ),
            _ => {}
        }
        let primary = lb.target_group.as_deref().or(lb.target_group_arn.as_deref());
        // "Duplicate targetGroupArn found": every group of every entry is its own.
        for (field, tg) in [("targetGroup", primary), ("advancedConfiguration.alternateTargetGroup", alternate)] {
            let Some(tg) = tg else { continue };
            if groups.contains(&tg) {
                err(
                    &format!("spec.loadBalancers[{i}].{field}"),
                    format!("TargetGroup `{tg}` is already used by this service"),
                    "a blue/green pair is two target groups of their own: create a second one".into(),
                );
            }
            groups.push(tg);
        }
        if a.test_listener_rule.as_ref() == Some(&a.production_listener_rule) {
            // "The following rules cannot be used as both production and test listener rules"
            err(
                &format!("{at}.testListenerRule"),
                "the test listener rule is the production one".into(),
                "test traffic needs a rule (or listener) of its own, e.g. on another port".into(),
            );
        }
        // What each rule of the set forwards to: None for an ARN (not the set's to check).
        let mut forwards_of = |field: &str, rule: &ListenerRule| -> Option<Vec<(String, i32)>> {
            let ListenerRule::In(rule) = rule else { return None };
            let path = format!("{at}.{field}");
            let Some(Spec::LoadBalancer(spec)) = set.get(Kind::LoadBalancer, &rule.load_balancer).map(|x| &x.spec)
            else {
                return None; // `references` reports the unknown name.
            };
            let Some(listener) = spec.listeners.iter().find(|l| l.port == Some(rule.port)) else {
                err(
                    &format!("{path}.port"),
                    format!("LoadBalancer `{}` has no listener on port {}", rule.load_balancer, rule.port),
                    format!(
                        "its listeners: {}",
                        spec.listeners
                            .iter()
                            .filter_map(|l| l.port.map(|p| p.to_string()))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                );
                return None;
            };
            let network = matches!(spec.r#type.as_deref(), Some("network"));
            // "Must be RuleArn for ALB or ListenerArn for NLB"
            let actions = match (rule.priority, network) {
                (None, false) => {
                    err(
                        &format!("{path}.priority"),
                        "an application load balancer moves blue/green traffic with a listener rule: give its `priority`".into(),
                        "ECS takes a rule of an application load balancer, a listener of a network load balancer".into(),
                    );
                    return None;
                }
                (Some(_), true) => {
                    err(
                        &format!("{path}.priority"),
                        "a network load balancer moves blue/green traffic with the listener itself".into(),
                        "leave out `priority`".into(),
                    );
                    return None;
                }
                (None, true) => &listener.default_actions,
                (Some(p), false) => match listener.rules.iter().find(|x| x.priority == p) {
                    Some(x) => &x.actions,
                    None => {
                        err(
                            &format!("{path}.priority"),
                            format!(
                                "listener {} of LoadBalancer `{}` has no rule with priority {p}",
                                rule.port, rule.load_balancer
                            ),
                            "add the rule to the load balancer's listener".into(),
                        );
                        return None;
                    }
                },
            };
            Some(
                actions
                    .iter()
                    .filter(|x| x.r#type == "forward")
                    .flat_map(|x| {
                        let plain = x.target_group.iter().chain(&x.target_group_arn).map(|g| (g.clone(), 1));
                        let weighted = x.forward_config.iter().flat_map(|f| {
                            f.target_groups.iter().filter_map(|t| {
                                Some((t.target_group.clone().or(t.target_group_arn.clone())?, t.weight.unwrap_or(1)))
                            })
                        });
                        plain.chain(weighted).collect::<Vec<_>>()
                    })
                    .collect(),
            )
        };
        let production = forwards_of("productionListenerRule", &a.production_listener_rule);
        let test = a.test_listener_rule.as_ref().and_then(|t| forwards_of("testListenerRule", t));
        let pair: Vec<&str> = primary.into_iter().chain(alternate).collect();
        let Some(production) = production else { continue };
        let path = format!("{at}.productionListenerRule");
        if let Some((tg, _)) = production.iter().find(|(tg, _)| !pair.contains(&tg.as_str())) {
            // "Production listener rule is forwarding traffic to unexpected target group"
            err(
                &path,
                format!("the production rule forwards to `{tg}`, which is neither group of the pair"),
                format!("forward only to {}", pair.iter().map(|g| format!("`{g}`")).collect::<Vec<_>>().join(" and ")),
            );
        }
        let serving = production.iter().filter(|(tg, w)| *w != 0 && pair.contains(&tg.as_str())).count();
        if serving > 1 {
            // "should have exactly one target group serving traffic but found 2"
            err(
                &path,
                format!("{serving} target groups of the production rule have a weight: ECS starts from one"),
                "give the primary weight 100 and the alternate 0; ECS moves the weights from then on".into(),
            );
        }
        let on_rules: Vec<&str> = production.iter().chain(test.iter().flatten()).map(|(g, _)| g.as_str()).collect();
        let network = matches!(&a.production_listener_rule, ListenerRule::In(r) if r.priority.is_none());
        for (what, tg) in [("primary", primary), ("alternate", alternate)] {
            let Some(tg) = tg.filter(|tg| !on_rules.contains(tg)) else { continue };
            // "Both targetGroup and alternateTargetGroup must be associated with the
            // productionListenerRule or testListenerRule"; "For Application LoadBalancer,
            // testListenerRule is required when productionListenerRule is not associated with
            // both targetGroup and alternateTargetGroup".
            let help = if a.test_listener_rule.is_none() && !network {
                "forward the production rule to both groups (weights 100 and 0), or add a testListenerRule that forwards to it"
            } else {
                "forward the production or the test rule to it"
            };
            err(&path, format!("neither listener rule forwards to the {what} target group `{tg}`"), help.into());
        }
    }
}

/// A static hostPort in bridge mode pins one task per instance and port: with maximumPercent above
/// 100 the rolling deploy starts the new task before stopping the old, and it cannot be placed.
fn static_host_port(r: &Resource, svc: &ServiceSpec, td: &TaskDefinitionSpec, diags: &mut Vec<Diagnostic>) {
    if network_mode(td) != "bridge" {
        return;
    }
    let max = svc.deployment_configuration.as_ref().and_then(|d| d.maximum_percent).unwrap_or(200);
    if max <= 100 {
        return;
    }
    for c in &td.container_definitions {
        for p in &c.port_mappings {
            if let Some(host) = p.host_port.filter(|h| *h != 0) {
                diags.push(
                    r.diagnostic(
                        Severity::Warning,
                        "static-host-port",
                        "spec.deploymentConfiguration.maximumPercent",
                        format!(
                            "container `{}` binds static hostPort {host} in bridge mode and maximumPercent is {max}: a rolling deploy cannot place the new task next to the old one",
                            c.name
                        ),
                    )
                    .with_help("use a dynamic host port (`hostPort: 0` or omit it) behind a target group, or set maximumPercent to 100"),
                );
                return;
            }
        }
    }
}

fn open_to_world(set: &ManifestSet, r: &Resource, diags: &mut Vec<Diagnostic>) {
    let Spec::SecurityGroup(sg) = &r.spec else {
        return;
    };
    // Listener ports of the load balancers that use this group: those are meant to be public.
    let mut listener_ports = Vec::new();
    for lb in set.of_kind(Kind::LoadBalancer) {
        if let Spec::LoadBalancer(spec) = &lb.spec
            && spec.security_groups.iter().any(|g| g == r.name())
        {
            listener_ports.extend(spec.listeners.iter().filter_map(|l| l.port));
        }
    }
    for (i, rule) in sg.ingress.iter().enumerate() {
        let world = rule.cidr.as_deref() == Some("0.0.0.0/0") || rule.ipv6_cidr.as_deref() == Some("::/0");
        if !world {
            continue;
        }
        let all_ports = matches!(rule.protocol.as_str(), "-1" | "all");
        let (from, to) = (rule.from_port.unwrap_or(0), rule.to_port.or(rule.from_port).unwrap_or(65535));
        let only_listeners = !all_ports && (from..=to).all(|p| listener_ports.contains(&p)) && to - from < 1024;
        if !only_listeners {
            let ports = if all_ports {
                "all ports".to_string()
            } else if from == to {
                format!("port {from}")
            } else {
                format!("ports {from}-{to}")
            };
            diags.push(
                r.diagnostic(
                    Severity::Warning,
                    "open-to-world",
                    &format!("spec.ingress[{i}]"),
                    format!("{ports} open to the whole internet, and not a listener port of a load balancer using this group"),
                )
                .with_help("allow only the load balancer's security group (`securityGroup: <name>`), or a narrower CIDR"),
            );
        }
    }
}

/// `role` lets ECS call a load balancer for a service that cannot use the service-linked role.
/// CreateService: "This parameter is only permitted if you are using a load balancer with your
/// service and your task definition doesn't use the awsvpc network mode."
/// (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateService.html, `role`)
/// The same text rejects `role` without `loadBalancers`; not checked here yet, since the
/// emulator tests apply such a service (tests/awslike.rs, [F:svc-role]).
fn service_role(r: &Resource, svc: &ServiceSpec, td: Option<&TaskDefinitionSpec>, diags: &mut Vec<Diagnostic>) {
    if svc.role.is_none() || td.is_none_or(|td| network_mode(td) != "awsvpc") {
        return;
    }
    diags.push(
        r.diagnostic(
            Severity::Error,
            "service-role",
            "spec.role",
            format!(
                "TaskDefinition `{}` uses networkMode `awsvpc`, and AWS rejects `role` for awsvpc tasks",
                svc.task_definition
            ),
        )
        .with_help("drop `role`: ECS then uses its service-linked role (AWSServiceRoleForECS)"),
    );
}

/// awsvpc and host tasks expose a container port as-is. PortMapping: "If you use containers in a
/// task with the awsvpc or host network mode, specify the exposed ports using containerPort. The
/// hostPort can be left blank or it must be the same value as the containerPort."
/// (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_PortMapping.html)
fn host_ports(r: &Resource, td: &TaskDefinitionSpec, diags: &mut Vec<Diagnostic>) {
    let mode = network_mode(td);
    if mode != "awsvpc" && mode != "host" {
        return;
    }
    for (i, c) in td.container_definitions.iter().enumerate() {
        for (j, p) in c.port_mappings.iter().enumerate() {
            let (Some(host), Some(container)) = (p.host_port, p.container_port) else {
                continue;
            };
            if host != container {
                diags.push(
                    r.diagnostic(
                        Severity::Error,
                        "host-port",
                        &format!("spec.containerDefinitions[{i}].portMappings[{j}].hostPort"),
                        format!("in `{mode}` network mode hostPort must be absent or equal to containerPort {container}, not {host}"),
                    )
                    .with_help(format!("drop `hostPort`, or write `hostPort: {container}`")),
                );
            }
        }
    }
}

/// Without task-level memory every container needs its own. ContainerDefinition.memoryReservation:
/// "If a task-level memory value is not specified, you must specify a non-zero integer for one or
/// both of memory or memoryReservation in a container definition."
/// (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerDefinition.html)
/// Fargate task definitions always have task-level memory; `fargate-size` says so when they lack it.
fn container_memory(r: &Resource, td: &TaskDefinitionSpec, diags: &mut Vec<Diagnostic>) {
    if td.memory.is_some() || requires_fargate(td) {
        return;
    }
    let positive = |v: Option<i32>| v.is_some_and(|v| v > 0);
    for (i, c) in td.container_definitions.iter().enumerate() {
        if !positive(c.memory) && !positive(c.memory_reservation) {
            diags.push(
                r.diagnostic(
                    Severity::Error,
                    "container-memory",
                    &format!("spec.containerDefinitions[{i}]"),
                    format!("container `{}` has neither `memory` nor `memoryReservation`, and the task has no task-level `memory`", c.name),
                )
                .with_help("give the container `memoryReservation` (a soft limit in MiB, e.g. 256) or `memory` (a hard limit), or give the task `memory`"),
            );
        }
    }
}

/// An image in a private ECR registry: `ACCOUNT.dkr.ecr.REGION.amazonaws.com[.cn]/repo:tag`.
fn is_ecr_image(image: &str) -> bool {
    let Some((host, _)) = image.split_once('/') else {
        return false;
    };
    host.contains(".dkr.ecr") && (host.ends_with(".amazonaws.com") || host.ends_with(".amazonaws.com.cn"))
}

/// The task execution role is what the ECS or Fargate agent pulls images, writes logs and reads
/// secrets with. "Your task is hosted on AWS Fargate ... and: pulls a container image from an
/// Amazon ECR private repository ... sends container logs to CloudWatch Logs using the awslogs log
/// driver", and on Fargate or EC2 when it "uses private registry authentication" or "the task
/// definition references sensitive data using Secrets Manager secrets or AWS Systems Manager
/// Parameter Store parameters" (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_execution_IAM_role.html).
/// RegisterTaskDefinition refuses the secrets case on any launch type ("When you are specifying
/// container secrets, you must also specify a value for 'executionRoleArn'") and the Fargate ones
/// ("Fargate requires task definition to have execution role ARN to support log driver awslogs" /
/// "... ECR images").
fn execution_role(r: &Resource, td: &TaskDefinitionSpec, diags: &mut Vec<Diagnostic>) {
    if td.execution_role_arn.is_some() {
        return;
    }
    let fargate = requires_fargate(td);
    for (i, c) in td.container_definitions.iter().enumerate() {
        let at = format!("spec.containerDefinitions[{i}]");
        let logs = c.log_configuration.as_ref();
        let (path, why) = if !c.secrets.is_empty() {
            (format!("{at}.secrets"), "it reads `secrets` from Secrets Manager or SSM Parameter Store")
        } else if c.repository_credentials.is_some() {
            (format!("{at}.repositoryCredentials"), "it pulls its image with `repositoryCredentials`")
        } else if logs.is_some_and(|l| !l.secret_options.is_empty()) {
            (format!("{at}.logConfiguration.secretOptions"), "its log driver reads `secretOptions`")
        } else if fargate && logs.is_some_and(|l| l.log_driver == "awslogs") {
            (format!("{at}.logConfiguration.logDriver"), "on Fargate the awslogs driver writes with that role")
        } else if fargate && is_ecr_image(&c.image) {
            (format!("{at}.image"), "on Fargate an ECR image is pulled with that role")
        } else {
            continue;
        };
        diags.push(
            r.diagnostic(
                Severity::Error,
                "execution-role",
                &path,
                format!("container `{}` needs the task's `executionRoleArn`: {why}", c.name),
            )
            .with_help("add `executionRoleArn:` with the ARN of a role that ecs-tasks.amazonaws.com may assume, with AmazonECSTaskExecutionRolePolicy (and read access to the secrets it uses)"),
        );
    }
}

/// Every rule has exactly one peer. AuthorizeSecurityGroupIngress: "You must specify exactly one of
/// the following sources: an IPv4 or IPv6 address range, a prefix list, or a security group."
/// (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_AuthorizeSecurityGroupIngress.html;
/// AuthorizeSecurityGroupEgress says the same of destinations.)
fn rule_peers(r: &Resource, sg: &SecurityGroupSpec, diags: &mut Vec<Diagnostic>) {
    for (direction, peer, rules) in
        [("ingress", "source", &sg.ingress[..]), ("egress", "destination", sg.egress.as_deref().unwrap_or_default())]
    {
        for (i, rule) in rules.iter().enumerate() {
            let given: Vec<&str> = [
                ("cidr", rule.cidr.is_some()),
                ("ipv6Cidr", rule.ipv6_cidr.is_some()),
                ("prefixList", rule.prefix_list.is_some()),
                ("securityGroup", rule.security_group.is_some()),
            ]
            .into_iter()
            .filter_map(|(field, set)| set.then_some(field))
            .collect();
            let at = format!("spec.{direction}[{i}]");
            let d = match given.as_slice() {
                [_] => continue,
                [] => r
                    .diagnostic(Severity::Error, "rule-peer", &at, format!("an {direction} rule needs a {peer}"))
                    .with_help(format!("add one {peer}: `cidr`, `ipv6Cidr`, `prefixList` or `securityGroup`")),
                [_, second, ..] => r
                    .diagnostic(
                        Severity::Error,
                        "rule-peer",
                        &format!("{at}.{second}"),
                        format!(
                            "an {direction} rule takes exactly one {peer}, this one names {}: `{}`",
                            given.len(),
                            given.join("`, `")
                        ),
                    )
                    .with_help(format!("write one rule per {peer}, each with the same protocol and ports")),
            };
            diags.push(d);
        }
    }
}

/// One health-check number as the adapter sends it: the flat `healthCheck*` field, else the
/// `healthCheck:` block's, with the path it is written at.
#[derive(Debug, Clone, Copy)]
struct Setting {
    value: i32,
    path: &'static str,
}

fn setting(
    flat: Option<i32>,
    flat_path: &'static str,
    block: Option<i32>,
    block_path: &'static str,
) -> Option<Setting> {
    flat.map(|value| Setting { value, path: flat_path }).or(block.map(|value| Setting { value, path: block_path }))
}

/// AWS's default health-check interval and timeout of a target group, and what it is called, as
/// DescribeTargetGroups reads on a real account (AWS-FACTS [F:tg], [F:tg-nlb-http]); `None` when
/// the protocol is unknown or not one of those read.
fn default_interval_timeout(tg: &TargetGroupSpec) -> Option<(i32, i32, String)> {
    let target_type = tg.target_type.as_deref().unwrap_or("instance");
    let protocol = tg.protocol.as_deref().unwrap_or_default();
    let check = tg.health_check_protocol.as_deref().or(tg.health_check.as_ref().and_then(|h| h.protocol.as_deref()));
    let (interval, timeout) = match (target_type, protocol) {
        ("lambda", _) => return Some((35, 30, "a lambda target group".into())),
        (_, "GENEVE") => (10, 5),
        (_, "HTTP" | "HTTPS") => (30, 5),
        (_, "TCP" | "TLS" | "UDP" | "TCP_UDP") => {
            match check.unwrap_or(if target_type == "alb" { "HTTP" } else { "TCP" }) {
                "HTTP" => (30, 6),
                _ => (30, 10),
            }
        }
        _ => return None,
    };
    let checked = match check {
        Some(c) if c != protocol => format!(" with {c} health checks"),
        _ => String::new(),
    };
    Some((interval, timeout, format!("a {protocol} target group{checked}")))
}

/// Health-check numbers AWS rejects. CreateTargetGroup: HealthCheckIntervalSeconds "The range is
/// 5-300", HealthCheckTimeoutSeconds "The range is 2–120 seconds", HealthyThresholdCount and
/// UnhealthyThresholdCount "The range is 2-10"
/// (https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateTargetGroup.html);
/// and a timeout not shorter than the interval: "ValidationError: Health check interval must be
/// greater than the timeout." (https://github.com/hashicorp/terraform-provider-aws/pull/48071), also
/// when one of the two is AWS's default for the protocol.
fn health_check(r: &Resource, tg: &TargetGroupSpec, diags: &mut Vec<Diagnostic>) {
    let block = tg.health_check.clone().unwrap_or_default();
    let interval = setting(
        tg.health_check_interval_seconds,
        "spec.healthCheckIntervalSeconds",
        block.interval_seconds,
        "spec.healthCheck.intervalSeconds",
    );
    let timeout = setting(
        tg.health_check_timeout_seconds,
        "spec.healthCheckTimeoutSeconds",
        block.timeout_seconds,
        "spec.healthCheck.timeoutSeconds",
    );
    let healthy = setting(
        tg.healthy_threshold_count,
        "spec.healthyThresholdCount",
        block.healthy_threshold_count,
        "spec.healthCheck.healthyThresholdCount",
    );
    let unhealthy = setting(
        tg.unhealthy_threshold_count,
        "spec.unhealthyThresholdCount",
        block.unhealthy_threshold_count,
        "spec.healthCheck.unhealthyThresholdCount",
    );
    let mut in_range = true;
    for (s, what, (min, max)) in [
        (interval, "the health-check interval", (5, 300)),
        (timeout, "the health-check timeout", (2, 120)),
        (healthy, "healthyThresholdCount", (2, 10)),
        (unhealthy, "unhealthyThresholdCount", (2, 10)),
    ] {
        if let Some(s) = s.filter(|s| !(min..=max).contains(&s.value)) {
            in_range = false;
            diags.push(
                r.diagnostic(
                    Severity::Error,
                    "health-check",
                    s.path,
                    format!("{what} must be {min} to {max}, not {}", s.value),
                )
                .with_help(format!("write a value from {min} to {max}")),
            );
        }
    }
    if !in_range {
        return;
    }
    let defaults = default_interval_timeout(tg);
    let (i, t, defaulted) = match (interval, timeout, &defaults) {
        (None, None, _) => return,
        (Some(i), Some(t), _) => (i, t, None),
        (Some(i), None, Some((_, t, what))) => (i, Setting { value: *t, path: "" }, Some(what)),
        (None, Some(t), Some((i, _, what))) => (Setting { value: *i, path: "" }, t, Some(what)),
        _ => return,
    };
    if t.value < i.value {
        return;
    }
    let block_style = i.path.starts_with("spec.healthCheck.") || t.path.starts_with("spec.healthCheck.");
    let (interval_field, timeout_field) = if block_style {
        ("intervalSeconds", "timeoutSeconds")
    } else {
        ("healthCheckIntervalSeconds", "healthCheckTimeoutSeconds")
    };
    let (at, message) = match (defaulted, i.path.is_empty()) {
        (None, _) => (
            t.path,
            format!("the health-check timeout ({} s) must be shorter than the interval ({} s)", t.value, i.value),
        ),
        (Some(what), true) => (
            t.path,
            format!(
                "the health-check timeout ({} s) must be shorter than the interval, which is {} s by default for {what}",
                t.value, i.value
            ),
        ),
        (Some(what), false) => (
            i.path,
            format!(
                "the health-check interval ({} s) must be longer than the timeout, which is {} s by default for {what}",
                i.value, t.value
            ),
        ),
    };
    diags.push(
        r.diagnostic(Severity::Error, "health-check", at, message).with_help(format!(
            "AWS rejects a timeout that is not shorter than the interval: give `{timeout_field}` below {}, or `{interval_field}` above {}",
            i.value, t.value
        )),
    );
}

/// The listener protocols of each load balancer type; a gateway load balancer's listener takes none.
/// CreateListener: "For Application Load Balancers, the supported protocols are HTTP and HTTPS. For
/// Network Load Balancers, the supported protocols are TCP, TLS, UDP, and TCP_UDP. ... You can't
/// specify a protocol for a Gateway Load Balancer." and "You can't specify a port for a Gateway
/// Load Balancer." (https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateListener.html);
/// the NLB guide adds "Protocols: TCP, TLS, UDP, TCP_UDP, QUIC, TCP_QUIC"
/// (https://docs.amazonaws.cn/en_us/elasticloadbalancing/latest/network/load-balancer-listeners.html).
fn listener_protocols(lb_type: &str) -> Option<&'static [&'static str]> {
    match lb_type {
        "application" => Some(&["HTTP", "HTTPS"]),
        "network" => Some(&["TCP", "TLS", "UDP", "TCP_UDP", "QUIC", "TCP_QUIC"]),
        "gateway" => Some(&[]),
        _ => None,
    }
}

fn load_balancer(r: &Resource, lb: &LoadBalancerSpec, diags: &mut Vec<Diagnostic>) {
    let lb_type = lb.r#type.as_deref().unwrap_or("application");
    // CreateLoadBalancer Subnets: "[Application Load Balancers] You must specify subnets from at
    // least two Availability Zones." (https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateLoadBalancer.html)
    let subnets = lb.subnets.len() + lb.subnet_mappings.len();
    if lb_type == "application" && subnets < 2 {
        let at = if !lb.subnets.is_empty() {
            "spec.subnets"
        } else if !lb.subnet_mappings.is_empty() {
            "spec.subnetMappings"
        } else {
            "spec"
        };
        diags.push(
            r.diagnostic(
                Severity::Error,
                "alb-subnets",
                at,
                format!("an application load balancer needs subnets in at least two Availability Zones, this one has {subnets}"),
            )
            .with_help("list two or more subnets (or subnetMappings), each in a different Availability Zone"),
        );
    }
    let protocols = listener_protocols(lb_type);
    let mut ports: HashMap<i32, usize> = HashMap::new();
    for (l, listener) in lb.listeners.iter().enumerate() {
        let at = format!("spec.listeners[{l}]");
        if let (Some(protocol), Some(allowed)) = (&listener.protocol, protocols)
            && !allowed.contains(&protocol.as_str())
        {
            let help = if allowed.is_empty() {
                "drop `protocol`: a gateway load balancer's listeners are always GENEVE on port 6081".to_string()
            } else {
                format!("one of {}", allowed.join(", "))
            };
            diags.push(
                r.diagnostic(
                    Severity::Error,
                    "listener-protocol",
                    &format!("{at}.protocol"),
                    format!(
                        "`{protocol}` is not a listener protocol of a{} {lb_type} load balancer",
                        if lb_type == "application" { "n" } else { "" }
                    ),
                )
                .with_help(help),
            );
        }
        if lb_type == "gateway" && listener.port.is_some() {
            diags.push(
                r.diagnostic(
                    Severity::Error,
                    "listener-protocol",
                    &format!("{at}.port"),
                    "a gateway load balancer's listener takes no port",
                )
                .with_help("drop `port`: a gateway load balancer's listeners are always GENEVE on port 6081"),
            );
        }
        listener_certificate(r, &at, listener, diags);
        if let Some(port) = listener.port
            && let first = *ports.entry(port).or_insert(l)
            && first != l
        {
            diags.push(
                r.diagnostic(
                    Severity::Error,
                    "duplicate-listener",
                    &format!("{at}.port"),
                    format!("port {port} already has a listener (listeners[{first}])"),
                )
                .with_help(if lb_type == "network" {
                    "one listener per port: for TCP and UDP on one port use a single `TCP_UDP` listener"
                } else {
                    "one listener per port: merge the two, or move one to another port"
                }),
            );
        }
        rule_priorities(r, &at, listener, diags);
    }
}

/// CreateListener Certificates: "[HTTPS and TLS listeners] The default certificate for the
/// listener. You must provide exactly one certificate."
/// (https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateListener.html)
fn listener_certificate(
    r: &Resource,
    at: &str,
    listener: &super::spec::load_balancer::Listener,
    diags: &mut Vec<Diagnostic>,
) {
    let Some(protocol) = listener.protocol.as_deref().filter(|p| matches!(*p, "HTTPS" | "TLS")) else {
        return;
    };
    let help = "give `certificates: [{certificateArn: arn:aws:acm:REGION:ACCOUNT:certificate/ID}]`";
    // The first certificate is the listener's default (CreateListener takes exactly one); the
    // plan adds the others with AddListenerCertificates (SNI).
    if listener.certificates.is_empty() {
        diags.push(
            r.diagnostic(
                Severity::Error,
                "listener-certificate",
                &format!("{at}.protocol"),
                format!("an {protocol} listener needs a certificate"),
            )
            .with_help(help),
        );
    }
    for (i, c) in listener.certificates.iter().enumerate().filter(|(_, c)| c.certificate_arn.is_none()) {
        let _ = c;
        diags.push(
            r.diagnostic(
                Severity::Error,
                "listener-certificate",
                &format!("{at}.certificates[{i}]"),
                "the certificate has no `certificateArn`",
            )
            .with_help(help),
        );
    }
}

/// CreateRule Priority: "The rule priority. A listener can't have multiple rules with the same
/// priority." and RulePriorityPair: "Valid Range: Minimum value of 1. Maximum value of 50000."
/// (https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateRule.html,
/// .../API_RulePriorityPair.html). The plan keys rules by priority, so a duplicate would
/// otherwise be silently dropped.
fn rule_priorities(
    r: &Resource,
    at: &str,
    listener: &super::spec::load_balancer::Listener,
    diags: &mut Vec<Diagnostic>,
) {
    let mut seen: HashMap<i32, usize> = HashMap::new();
    for (i, rule) in listener.rules.iter().enumerate() {
        let path = format!("{at}.rules[{i}].priority");
        if !(1..=50000).contains(&rule.priority) {
            diags.push(
                r.diagnostic(
                    Severity::Error,
                    "rule-priority",
                    &path,
                    format!("rule priority must be 1 to 50000, not {}", rule.priority),
                )
                .with_help("write a priority from 1 to 50000; lower is evaluated first"),
            );
        }
        let first = *seen.entry(rule.priority).or_insert(i);
        if first != i {
            diags.push(
                r.diagnostic(
                    Severity::Error,
                    "duplicate-priority",
                    &path,
                    format!("priority {} is already used by rules[{first}] of this listener", rule.priority),
                )
                .with_help("give every rule of a listener its own priority"),
            );
        }
    }
}

/// PutClusterCapacityProviders / CreateCluster defaultCapacityProviderStrategy: "A capacity
/// provider must be associated with the cluster to be used in a capacity provider strategy. ...
/// The Fargate capacity providers are available to all accounts and only need to be associated
/// with a cluster to be used." (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_PutClusterCapacityProviders.html)
fn capacity_providers(r: &Resource, cluster: &ClusterSpec, diags: &mut Vec<Diagnostic>) {
    for (i, item) in cluster.default_capacity_provider_strategy.iter().enumerate() {
        let provider = &item.capacity_provider;
        if !cluster.capacity_providers.contains(provider) {
            diags.push(
                r.diagnostic(
                    Severity::Error,
                    "capacity-provider",
                    &format!("spec.defaultCapacityProviderStrategy[{i}].capacityProvider"),
                    format!("`{provider}` is in the default strategy but not in the cluster's `capacityProviders`"),
                )
                .with_help(format!(
                    "add `{provider}` to `capacityProviders` (FARGATE and FARGATE_SPOT too: a strategy may use only providers associated with the cluster)"
                )),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fargate_size_table() {
        let cases = [
            (256, 512, true),
            (256, 2048, true),
            (256, 4096, false),
            (512, 1024, true),
            (512, 512, false),
            (1024, 8192, true),
            (2048, 16384, true),
            (4096, 30720, true),
            (4096, 31744, false),
            (8192, 20480, true),
            (8192, 18432, false),
            (16384, 122880, true),
            (16384, 36864, false),
        ];
        for (cpu, mem, ok) in cases {
            assert_eq!(fargate_memory_choices(cpu).unwrap().contains(&mem), ok, "cpu {cpu} memory {mem}");
        }
        assert_eq!(fargate_memory_choices(300), None);
    }

    #[test]
    fn units_as_aws_writes_them() {
        assert_eq!(cpu_units("256"), Some(256));
        assert_eq!(cpu_units("0.25 vCPU"), Some(256));
        assert_eq!(cpu_units("1 vCPU"), Some(1024));
        assert_eq!(memory_mib("1 GB"), Some(1024));
        assert_eq!(memory_mib("0.5GB"), Some(512));
        assert_eq!(memory_mib("3072"), Some(3072));
        assert_eq!(memory_mib("lots"), None);
    }

    #[test]
    fn ecr_images_by_registry_host() {
        for i in [
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:1",
            "123456789012.dkr.ecr-fips.us-east-1.amazonaws.com/web@sha256:abc",
            "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/web:1",
        ] {
            assert!(is_ecr_image(i), "{i}");
        }
        for i in ["nginx:1.27", "public.ecr.aws/nginx/nginx:1.27", "ghcr.io/acme/dkr.ecr.amazonaws.com:1", "web"] {
            assert!(!is_ecr_image(i), "{i}");
        }
    }

    #[test]
    fn default_interval_and_timeout_by_protocol_and_target_type() {
        let tg = |json: serde_json::Value| serde_json::from_value::<TargetGroupSpec>(json).unwrap();
        let d = |json| default_interval_timeout(&tg(json)).map(|(i, t, _)| (i, t));
        use serde_json::json;
        assert_eq!(d(json!({"protocol": "HTTP"})), Some((30, 5)));
        assert_eq!(d(json!({"protocol": "HTTPS", "targetType": "ip"})), Some((30, 5)));
        assert_eq!(d(json!({"protocol": "TCP"})), Some((30, 10)));
        assert_eq!(d(json!({"protocol": "UDP", "targetType": "ip"})), Some((30, 10)));
        assert_eq!(d(json!({"protocol": "TCP", "healthCheckProtocol": "HTTP"})), Some((30, 6)));
        assert_eq!(d(json!({"protocol": "TLS", "healthCheck": {"protocol": "HTTPS"}})), Some((30, 10)));
        assert_eq!(d(json!({"protocol": "TCP", "targetType": "alb"})), Some((30, 6)));
        assert_eq!(d(json!({"protocol": "GENEVE"})), Some((10, 5)));
        assert_eq!(d(json!({"targetType": "lambda"})), Some((35, 30)));
        assert_eq!(d(json!({})), None);
        let (_, _, what) =
            default_interval_timeout(&tg(json!({"protocol": "TCP", "healthCheckProtocol": "HTTP"}))).unwrap();
        assert_eq!(what, "a TCP target group with HTTP health checks");
    }

    #[test]
    fn secret_names() {
        for n in ["DB_PASSWORD", "stripe_api_key", "GITHUB_TOKEN", "AWS_SECRET_ACCESS_KEY"] {
            assert!(looks_secret(n), "{n}");
        }
        for n in ["PORT", "LOG_LEVEL", "NODE_ENV"] {
            assert!(!looks_secret(n), "{n}");
        }
    }
}

/// The rules' quiet side and their corners: what a rule must not flag, and the edge cases the
/// fixtures do not reach. (What each rule flags is covered, through
/// the binary, by the fixture corpora in `tests/fixtures/`.)
#[cfg(test)]
mod quiet {
    use crate::manifest::ManifestSet;

    fn codes(yaml: &str) -> Vec<&'static str> {
        ManifestSet::from_texts([("t.yaml", yaml)]).diagnostics.iter().map(|d| d.code).collect()
    }

    const BRIDGE_TD: &str = "apiVersion: ecs-reconciler/v1\nkind: TaskDefinition\nmetadata: {name: api}\nspec:\n  networkMode: bridge\n  containerDefinitions:\n    - {name: api, image: 'api:1', memory: 256, portMappings: [{containerPort: 8080, hostPort: HOST}]}\n---\napiVersion: ecs-reconciler/v1\nkind: Service\nmetadata: {name: api}\nspec:\n  cluster: arn:aws:ecs:us-east-1:1:cluster/main\n  taskDefinition: api\n  deploymentConfiguration: {maximumPercent: MAX}\n";

    #[test]
    fn static_host_port_is_fine_with_max_100_or_a_dynamic_port() {
        let set = |host: &str, max: &str| codes(&BRIDGE_TD.replace("HOST", host).replace("MAX", max));
        assert_eq!(set("8080", "200"), ["static-host-port"]);
        assert!(set("8080", "100").is_empty());
        assert!(set("0", "200").is_empty());
    }

    #[test]
    fn secrets_by_reference_and_harmless_names_are_not_flagged() {
        let td = "apiVersion: ecs-reconciler/v1\nkind: TaskDefinition\nmetadata: {name: api}\nspec:\n  executionRoleArn: arn:aws:iam::1:role/exec\n  containerDefinitions:\n    - name: api\n      image: api:1\n      memory: 256\n      environment: [{name: TOKEN_TTL_SECONDS_NAME, value: ''}, {name: PORT, value: '80'}]\n      secrets: [{name: DB_PASSWORD, valueFrom: 'arn:aws:ssm:us-east-1:1:parameter/db'}]\n";
        assert!(codes(td).is_empty(), "{:?}", codes(td));
    }

    #[test]
    fn world_open_listener_ports_are_expected_on_a_load_balancer_group() {
        let set = "apiVersion: ecs-reconciler/v1\nkind: SecurityGroup\nmetadata: {name: alb}\nspec:\n  vpc: main\n  description: alb\n  ingress: [{protocol: tcp, fromPort: 443, toPort: 443, cidr: 0.0.0.0/0}]\n---\napiVersion: ecs-reconciler/v1\nkind: LoadBalancer\nmetadata: {name: web}\nspec:\n  subnets: [public-a, public-b]\n  securityGroups: [alb]\n  listeners: [{port: PORT, protocol: HTTP, defaultActions: [{type: fixed-response, fixedResponseConfig: {statusCode: 200}}]}]\n";
        assert!(codes(&set.replace("PORT", "443")).is_empty());
        assert_eq!(codes(&set.replace("PORT", "8443")), ["open-to-world"]);
    }

    fn doc(kind: &str, spec: &str) -> String {
        format!("apiVersion: ecs-reconciler/v1\nkind: {kind}\nmetadata: {{name: x}}\nspec:\n{spec}")
    }

    #[test]
    fn a_rule_with_one_peer_passes_whatever_its_protocol() {
        let sg =
            |rule: &str| codes(&doc("SecurityGroup", &format!("  vpc: main\n  description: d\n  ingress: [{rule}]\n")));
        assert!(sg("{protocol: icmp, fromPort: -1, toPort: -1, cidr: 10.0.0.0/8}").is_empty());
        assert!(sg("{protocol: icmpv6, ipv6Cidr: 'fd00::/8'}").is_empty());
        assert!(sg("{protocol: '-1', prefixList: pl-0123}").is_empty());
        assert_eq!(sg("{protocol: icmp, fromPort: 8, toPort: 0}"), ["rule-peer"]);
        assert_eq!(sg("{protocol: tcp, fromPort: 22, ipv6Cidr: 'fd00::/8', prefixList: pl-1}"), ["rule-peer"]);
    }

    #[test]
    fn host_ports_may_be_absent_or_equal_in_awsvpc_and_host_mode_and_anything_in_bridge() {
        let td = |mode: &str, ports: &str| {
            codes(&doc(
                "TaskDefinition",
                &format!(
                    "  networkMode: {mode}\n  containerDefinitions:\n    - {{name: a, image: a, memory: 64, portMappings: [{ports}]}}\n"
                ),
            ))
        };
        assert!(td("awsvpc", "{containerPort: 80}").is_empty());
        assert!(td("awsvpc", "{containerPort: 80, hostPort: 80}").is_empty());
        assert!(td("awsvpc", "{containerPortRange: '8000-8010'}").is_empty());
        assert_eq!(td("awsvpc", "{containerPort: 80, hostPort: 0}"), ["host-port"]);
        assert_eq!(td("host", "{containerPort: 80, hostPort: 8080}"), ["host-port"]);
        assert!(td("bridge", "{containerPort: 80, hostPort: 8080}").is_empty());
    }

    #[test]
    fn container_memory_is_needed_only_without_task_memory_and_outside_fargate() {
        let td = |task: &str, container: &str| {
            codes(&doc(
                "TaskDefinition",
                &format!("{task}  containerDefinitions:\n    - {{name: a, image: a{container}}}\n"),
            ))
        };
        assert!(td("", ", memoryReservation: 128").is_empty());
        assert!(td("", ", memory: 128").is_empty());
        assert!(td("  memory: 512\n", "").is_empty());
        assert_eq!(td("", ", memory: 0"), ["container-memory"]);
        assert_eq!(td("  requiresCompatibilities: [EXTERNAL]\n", ""), ["container-memory"]);
        // Fargate: fargate-size asks for the task-level memory instead.
        let fargate = "  requiresCompatibilities: [FARGATE]\n  networkMode: awsvpc\n  cpu: 256\n";
        assert_eq!(td(fargate, ""), ["fargate-size"]);
    }

    #[test]
    fn the_execution_role_is_needed_for_fargate_logs_and_ecr_and_for_secrets_anywhere() {
        let fargate = "  requiresCompatibilities: [FARGATE]\n  networkMode: awsvpc\n  cpu: 256\n  memory: 512\n";
        let ec2 = "  requiresCompatibilities: [EC2]\n";
        let td = |task: &str, container: &str| {
            codes(&doc(
                "TaskDefinition",
                &format!("{task}  containerDefinitions:\n    - {{name: a, memory: 64, {container}}}\n"),
            ))
        };
        let awslogs = "image: a, logConfiguration: {logDriver: awslogs}";
        let ecr = "image: 1.dkr.ecr.us-east-1.amazonaws.com/a:1";
        let secrets = "image: a, secrets: [{name: S, valueFrom: 'arn:aws:ssm:us-east-1:1:parameter/s'}]";
        let creds =
            "image: a, repositoryCredentials: {credentialsParameter: 'arn:aws:secretsmanager:us-east-1:1:secret:c'}";
        let log_secrets =
            "image: a, logConfiguration: {logDriver: splunk, secretOptions: [{name: splunk-token, valueFrom: t}]}";
        for c in [awslogs, ecr, secrets, creds, log_secrets] {
            assert_eq!(td(fargate, c), ["execution-role"], "{c}");
            let with_role = format!("{fargate}  executionRoleArn: arn:aws:iam::1:role/exec\n");
            assert!(td(&with_role, c).is_empty(), "{c}");
        }
        // On EC2 the instance role pulls images and writes logs; secrets still need the task's role.
        assert!(td(ec2, awslogs).is_empty());
        assert!(td(ec2, ecr).is_empty());
        assert_eq!(td(ec2, secrets), ["execution-role"]);
        assert!(td(fargate, "image: public.ecr.aws/nginx/nginx:1").is_empty());
    }

    #[test]
    fn health_check_timeouts_against_given_or_default_intervals() {
        let tg = |fields: &str| codes(&doc("TargetGroup", &format!("  vpc: main\n{fields}")));
        // HTTP: default timeout 5, so an interval of 10 (or 6) is fine, 5 is not.
        assert!(tg("  protocol: HTTP\n  healthCheckIntervalSeconds: 10\n").is_empty());
        assert!(tg("  protocol: HTTP\n  healthCheck: {intervalSeconds: 6}\n").is_empty());
        assert_eq!(tg("  protocol: HTTP\n  healthCheckIntervalSeconds: 5\n"), ["health-check"]);
        // TCP: default timeout 10; with HTTP health checks 6.
        assert_eq!(tg("  protocol: TCP\n  healthCheck: {intervalSeconds: 10}\n"), ["health-check"]);
        assert!(tg("  protocol: TCP\n  healthCheckProtocol: HTTP\n  healthCheckIntervalSeconds: 10\n").is_empty());
        // A timeout against the default interval (30; GENEVE 10; lambda 35).
        assert!(tg("  protocol: HTTP\n  healthCheckTimeoutSeconds: 29\n").is_empty());
        assert_eq!(tg("  protocol: HTTP\n  healthCheckTimeoutSeconds: 30\n"), ["health-check"]);
        assert_eq!(tg("  protocol: GENEVE\n  healthCheckTimeoutSeconds: 10\n"), ["health-check"]);
        assert!(tg("  targetType: lambda\n  healthCheckTimeoutSeconds: 34\n").is_empty());
        // Unknown protocol: only a pair given in full is compared.
        assert!(tg("  healthCheckIntervalSeconds: 5\n").is_empty());
        assert_eq!(tg("  healthCheck: {intervalSeconds: 5, timeoutSeconds: 5}\n"), ["health-check"]);
        // The flat field wins over the block, as the adapter sends it.
        assert!(tg("  protocol: HTTP\n  healthCheckTimeoutSeconds: 5\n  healthCheck: {intervalSeconds: 10, timeoutSeconds: 20}\n").is_empty());
        // Out of range: one finding, not a second about the order.
        assert_eq!(
            tg("  protocol: HTTP\n  healthCheckIntervalSeconds: 301\n  healthCheckTimeoutSeconds: 121\n"),
            ["health-check", "health-check"]
        );
        assert_eq!(tg("  protocol: HTTP\n  healthCheckIntervalSeconds: 4\n"), ["health-check"]);
        assert_eq!(tg("  protocol: HTTP\n  unhealthyThresholdCount: 11\n"), ["health-check"]);
    }

    #[test]
    fn listeners_by_load_balancer_type() {
        let lb = |spec: &str| codes(&doc("LoadBalancer", spec));
        let fixed = "defaultActions: [{type: fixed-response, fixedResponseConfig: {statusCode: 200}}]";
        let cert = "certificates: [{certificateArn: 'arn:aws:acm:us-east-1:1:certificate/x'}]";
        let nlb =
            |listener: &str| lb(&format!("  type: network\n  subnets: [a]\n  listeners: [{{{listener}, {fixed}}}]\n"));
        assert!(nlb("port: 443, protocol: QUIC").is_empty());
        assert!(nlb(&format!("port: 443, protocol: TLS, {cert}")).is_empty());
        assert_eq!(nlb("port: 443, protocol: TLS"), ["listener-certificate"]);
        assert_eq!(nlb("port: 80, protocol: tcp"), ["listener-protocol"]);
        let gwlb =
            |listener: &str| lb(&format!("  type: gateway\n  subnets: [a]\n  listeners: [{{{listener}{fixed}}}]\n"));
        assert!(gwlb("").is_empty());
        assert_eq!(gwlb("protocol: GENEVE, "), ["listener-protocol"]);
        assert_eq!(gwlb("port: 6081, "), ["listener-protocol"]);
        let alb = |listener: &str| lb(&format!("  subnets: [a, b]\n  listeners: [{{{listener}, {fixed}}}]\n"));
        // Several certificates: the first is the default, the rest are added (SNI).
        assert!(alb("port: 443, protocol: HTTPS, certificates: [{certificateArn: a}, {certificateArn: b}]").is_empty());
        assert_eq!(alb("port: 443, protocol: HTTPS, certificates: [{}]"), ["listener-certificate"]);
        assert_eq!(alb("port: 443, protocol: TLS"), ["listener-protocol", "listener-certificate"]);
        // Subnets: an ALB needs two (subnetMappings count), an NLB one.
        assert_eq!(lb("  subnets: []\n"), ["alb-subnets"]);
        assert!(lb("  subnetMappings: [{subnetId: a}, {subnetId: b}]\n").is_empty());
    }

    #[test]
    fn listener_ports_and_rule_priorities_are_unique_per_listener_not_per_load_balancer() {
        let fixed = "[{type: fixed-response, fixedResponseConfig: {statusCode: 200}}]";
        let rule = |p: i32| {
            format!("{{priority: {p}, conditions: [{{field: path-pattern, values: ['/{p}']}}], actions: {fixed}}}")
        };
        let listener = |port: i32, rules: &[i32]| {
            let rules: Vec<String> = rules.iter().map(|p| rule(*p)).collect();
            format!("{{port: {port}, protocol: HTTP, defaultActions: {fixed}, rules: [{}]}}", rules.join(", "))
        };
        let lb = |listeners: &[String]| {
            codes(&doc("LoadBalancer", &format!("  subnets: [a, b]\n  listeners: [{}]\n", listeners.join(", "))))
        };
        assert!(lb(&[listener(80, &[1, 2]), listener(8080, &[1, 50000])]).is_empty());
        assert_eq!(lb(&[listener(80, &[5, 5, 5])]), ["duplicate-priority", "duplicate-priority"]);
        assert_eq!(
            lb(&[listener(80, &[]), listener(80, &[]), listener(80, &[])]),
            ["duplicate-listener", "duplicate-listener"]
        );
        assert_eq!(lb(&[listener(80, &[50001])]), ["rule-priority"]);
    }

    #[test]
    fn a_service_role_is_rejected_only_with_awsvpc_tasks() {
        let set = |mode: &str, lbs: &str| {
            let td = doc(
                "TaskDefinition",
                &format!(
                    "  networkMode: {mode}\n  containerDefinitions: [{{name: a, image: a, memory: 64, portMappings: [{{containerPort: 80}}]}}]\n"
                ),
            );
            let svc = format!(
                "apiVersion: ecs-reconciler/v1\nkind: Service\nmetadata: {{name: s}}\nspec:\n  cluster: arn:aws:ecs:us-east-1:1:cluster/c\n  taskDefinition: x\n  role: ecsServiceRole\n{lbs}"
            );
            codes(&format!("{td}---\n{svc}"))
        };
        let lb = "  loadBalancers: [{targetGroupArn: 'arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/t/1', containerName: a, containerPort: 80}]\n";
        assert!(set("bridge", lb).is_empty());
        assert!(set("bridge", "").is_empty(), "AWS rejects this too; see service_role");
        let awsvpc = "  networkConfiguration: {awsvpcConfiguration: {subnets: [a, b]}}\n";
        assert_eq!(set("awsvpc", &format!("{lb}{awsvpc}")), ["service-role"]);
    }

    #[test]
    fn a_default_strategy_names_only_associated_providers() {
        let cluster = |spec: &str| codes(&doc("Cluster", spec));
        assert!(cluster("  capacityProviders: [FARGATE]\n").is_empty());
        assert!(cluster("  capacityProviders: [asg, FARGATE_SPOT]\n  defaultCapacityProviderStrategy: [{capacityProvider: asg}, {capacityProvider: FARGATE_SPOT}]\n").is_empty());
        assert_eq!(
            cluster("  defaultCapacityProviderStrategy: [{capacityProvider: FARGATE}]\n"),
            ["capacity-provider"]
        );
    }

    #[test]
    fn literal_ids_and_arns_are_not_dangling() {
        let svc = "apiVersion: ecs-reconciler/v1\nkind: Service\nmetadata: {name: api}\nspec:\n  cluster: arn:aws:ecs:us-east-1:1:cluster/main\n  taskDefinition: arn:aws:ecs:us-east-1:1:task-definition/api:3\n  networkConfiguration: {awsvpcConfiguration: {subnets: [a, b], securityGroups: [sg-0123]}}\n";
        assert!(codes(svc).is_empty(), "{:?}", codes(svc));
    }
}
