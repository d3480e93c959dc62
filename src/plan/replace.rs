//! Create-before-destroy replacements: the AWS name a replacement generates, and the steps that
//! delete a superseded generation once nothing uses it.
//!
//! A target group or security group whose immutable field changed is created anew under a
//! generated AWS name (the manifest name, cut to fit, plus a short hash of the immutable fields
//! as the manifest writes them), carrying the same `ecs-reconciler:name` tag: the manifest name
//! stays the identity. Its users move to it through their own steps (listeners, rules, services,
//! load balancers, rules of other groups), because the plan no longer maps the old ID to the
//! manifest name. The old generation is then *superseded*: observed by its tags, deleted by the
//! first run that sees nothing using it.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::action::{Action, Ec2Call, Elbv2Call};
use super::contract::{self, Field};
use super::model::{Observed, Op, Step, Superseded};
use crate::manifest::{Kind, Resource};

/// Hex digits of the content hash in a generated name.
const SUFFIX: usize = 6;

/// Kinds replaced by creating the new resource first: their users can be moved to another ID
/// while both exist, so nothing stops serving.
pub fn creates_before_destroying(kind: Kind) -> bool {
    matches!(kind, Kind::TargetGroup | Kind::SecurityGroup)
}

/// The longest AWS name of the kind: CreateTargetGroup, `Name`: "a maximum of 32 characters,
/// must contain only alphanumeric characters or hyphens, and must not begin or end with a
/// hyphen"; CreateSecurityGroup, `GroupName`: "Constraints: Up to 255 characters in length".
fn max_len(kind: Kind) -> usize {
    match kind {
        Kind::TargetGroup => 32,
        _ => 255,
    }
}

/// The AWS name a replacement of `r` creates: `<name>-<hash>`, the name cut so the whole fits
/// the kind's limit and never ends in a hyphen. Stable: the same immutable fields give the same
/// name, so a run that died after the create finds its resource by name and tags.
pub fn generated_name(r: &Resource) -> String {
    let spec = serde_json::to_value(&r.spec).unwrap_or_default();
    let immutable: serde_json::Map<String, Value> = spec
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| contract::field(r.kind, k) == Some(Field::Replace))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let digest = Sha256::digest(serde_json::to_vec(&immutable).unwrap_or_default());
    let suffix: String = hex::encode(digest).chars().take(SUFFIX).collect();
    let keep = max_len(r.kind) - SUFFIX - 1;
    let prefix: String = r.name().chars().take(keep).collect();
    format!("{}-{suffix}", prefix.trim_end_matches('-'))
}

/// Whether `aws_name` has the shape of a name [`generated_name`] makes for the manifest `name`
/// (any hash): the candidates an observe reads the tags of.
pub fn is_generated(kind: Kind, name: &str, aws_name: &str) -> bool {
    let Some((prefix, suffix)) = aws_name.rsplit_once('-') else { return false };
    let keep = max_len(kind) - SUFFIX - 1;
    let want: String = name.chars().take(keep).collect();
    suffix.len() == SUFFIX
        && suffix.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        && prefix == want.trim_end_matches('-')
}

/// One step per superseded generation: a delete once nothing uses it, else a delete that waits
/// (no actions; the reason says for what) and is finished by a later run.
pub fn superseded_steps(observed: &Observed) -> Vec<Step> {
    observed.superseded.iter().map(|s| superseded_step(s, observed)).collect()
}

fn superseded_step(s: &Superseded, observed: &Observed) -> Step {
    let live = &s.live;
    let mut users = s.used_by.clone();
    let ours = |arn: &String| observed.live.values().any(|l| l.kind == Kind::LoadBalancer && &l.id == arn);
    users.extend(s.load_balancers.iter().filter(|a| !ours(a)).map(|a| format!("load balancer {a}")));
    users.extend(referrers(live.kind, &live.id, observed));
    // Superseded groups may reference each other (the example's `web-alb` and `web-tasks`): each
    // first revokes its own rules that name another group, and is deleted by the run that sees
    // no other superseded group naming it.
    let by_superseded: Vec<String> = observed
        .superseded
        .iter()
        .filter(|o| o.live.id != live.id && mentions(&o.live.spec, &live.id))
        .map(|o| format!("{}/{}", o.live.kind, superseded_name(&o.live.name, &generation(&o.live))))
        .collect();
    let (reason, actions) = if !users.is_empty() {
        (format!("waits until nothing uses it: {}", users.join(", ")), vec![])
    } else {
        let going: Vec<&str> = observed.superseded.iter().map(|o| o.live.id.as_str()).collect();
        let mut actions = revoke_group_references(live, &going);
        let reason = if by_superseded.is_empty() {
            actions.extend(delete_superseded(live));
            match live.kind {
                Kind::Service | Kind::ScalableTarget => {
                    format!("its service moved to another cluster, where Service/{} serves now", live.name)
                }
                _ => format!("superseded by a replacement of {}/{} and no longer used", live.kind, live.name),
            }
        } else {
            format!("waits until no superseded group names it: {}", by_superseded.join(", "))
        };
        (reason, actions)
    };
    Step {
        kind: live.kind,
        name: superseded_name(&live.name, &generation(live)),
        op: Op::Delete,
        changes: vec![],
        reason: Some(reason),
        adopt: false,
        disruptive: false,
        actions,
    }
}

/// The step name of a superseded generation: the manifest name and the AWS name
/// (`web@web-3f2a1c`), apart from the current generation's step.
pub fn superseded_name(name: &str, aws_name: &str) -> String {
    format!("{name}@{aws_name}")
}

/// The cluster name a live service is in (its spec's `cluster` is the cluster ARN).
pub fn service_cluster(live: &super::model::Live) -> String {
    let arn = live.spec["cluster"].as_str().unwrap_or_default();
    arn.rsplit('/').next().unwrap_or(arn).to_string()
}

/// What tells a superseded generation apart from the current one in its step's name: the AWS
/// name (a replacement's generated name), for a service the cluster it was left in.
pub fn generation(live: &super::model::Live) -> String {
    match live.kind {
        Kind::Service => service_cluster(live),
        // `service/CLUSTER/NAME`
        Kind::ScalableTarget => live.id.split('/').nth(1).unwrap_or_default().to_string(),
        _ => live.aws_name().to_string(),
    }
}

fn delete_superseded(live: &super::model::Live) -> Vec<Action> {
    let (kind, aws_name, id) = (live.kind, live.aws_name(), live.id.as_str());
    let params = json!({"id": id});
    match kind {
        // A moved service (and its scalable target) goes as a pruned one does.
        Kind::Service | Kind::ScalableTarget => super::actions::delete(live),
        Kind::TargetGroup => {
            vec![Action::new(Elbv2Call::DeleteTargetGroup, format!("target group {aws_name}"), params)]
        }
        Kind::SecurityGroup => vec![Action::new(Ec2Call::DeleteSecurityGroup, format!("group {aws_name}"), params)],
        _ => vec![],
    }
}

/// Prune in order, level-triggered: a cluster is deleted only when no service is left in it
/// (DRAINING ones included: DeleteCluster fails with ClusterContainsServicesException), a
/// security group only when no network interface, load balancer, service or other group's rule
/// uses it (DeleteSecurityGroup fails with DependencyViolation, and a deleted load balancer's
/// interfaces linger for minutes). Until then the delete waits (no actions) and a later run
/// finishes it. Groups that name each other first revoke their own rules naming another group.
pub fn wait_for_users(step: &mut Step, orphan: &super::model::Live, observed: &Observed) {
    if !matches!(orphan.kind, Kind::Cluster | Kind::SecurityGroup) {
        return;
    }
    let mut users: Vec<String> = observed.in_use.get(&orphan.id).cloned().unwrap_or_default();
    let others = observed.live.values().chain(observed.orphans.iter());
    let (groups, rest): (Vec<&super::model::Live>, Vec<&super::model::Live>) = others
        .filter(|l| !(l.kind == orphan.kind && l.id == orphan.id) && mentions(&l.spec, &orphan.id))
        .partition(|l| l.kind == Kind::SecurityGroup);
    users.extend(rest.iter().map(|l| format!("{}/{}", l.kind, l.name)));
    if !users.is_empty() {
        step.actions.clear();
        step.reason = Some(format!("waits until nothing uses it: {}", users.join(", ")));
        return;
    }
    let going: Vec<&str> =
        observed.orphans.iter().filter(|l| l.kind == Kind::SecurityGroup).map(|l| l.id.as_str()).collect();
    let mut actions = revoke_group_references(orphan, &going);
    if groups.is_empty() {
        actions.append(&mut step.actions);
    } else {
        let names: Vec<String> = groups.iter().map(|l| format!("{}/{}", l.kind, l.name)).collect();
        step.reason = Some(format!("waits until no other group names it: {}", names.join(", ")));
    }
    step.actions = actions;
}

/// Revocations of a group's rules that name another group also being deleted (`going`), which
/// would otherwise keep that group from being deleted.
fn revoke_group_references(live: &super::model::Live, going: &[&str]) -> Vec<Action> {
    if live.kind != Kind::SecurityGroup {
        return vec![];
    }
    let mut out = Vec::new();
    for (direction, call) in
        [("ingress", Ec2Call::RevokeSecurityGroupIngress), ("egress", Ec2Call::RevokeSecurityGroupEgress)]
    {
        let rules: Vec<Value> = live.spec[direction]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|r| r["securityGroup"].as_str().is_some_and(|g| g != live.id && going.contains(&g)))
            .cloned()
            .collect();
        if !rules.is_empty() {
            let summary = rules
                .iter()
                .map(|r| format!("{direction} {}", super::diff::rule_label(r)))
                .collect::<Vec<_>>()
                .join("; ");
            out.push(Action::new(call, summary, json!({ "rules": rules })));
        }
    }
    out
}

/// The live resources of the set that still refer to `id`: services through their load
/// balancers or network configuration, load balancers through listeners or security groups,
/// security groups through rules.
fn referrers(kind: Kind, id: &str, observed: &Observed) -> Vec<String> {
    observed
        .live
        .values()
        .filter(|l| !(l.kind == kind && l.id == id))
        .filter(|l| mentions(&l.spec, id))
        .map(|l| format!("{}/{}", l.kind, l.name))
        .collect()
}

fn mentions(v: &Value, id: &str) -> bool {
    match v {
        Value::String(s) => s == id,
        Value::Array(a) => a.iter().any(|x| mentions(x, id)),
        Value::Object(o) => o.values().any(|x| mentions(x, id)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::ManifestSet;

    fn tg(name: &str, port: u16) -> ManifestSet {
        let s = ManifestSet::from_texts([(
            "t.yaml",
            format!(
                "apiVersion: ecs-reconciler/v1\nkind: TargetGroup\nmetadata: {{name: {name}}}\nspec: {{protocol: HTTP, port: {port}, vpc: vpc-1, targetType: ip, healthCheckPath: /x}}\n"
            )
            .as_str(),
        )]);
        assert!(s.is_valid(), "{:#?}", s.diagnostics);
        s
    }

    /// Generated names keep AWS's rules for every length of manifest name, are stable, change
    /// with the immutable fields only, and are recognised as generated for that name only.
    #[test]
    fn generated_names_fit_aws_rules_and_are_recognised() {
        for len in 1..=32 {
            let name: String = (0..len).map(|i| if i % 5 == 4 { '-' } else { 'a' }).collect();
            let name = name.trim_matches('-').to_string();
            if name.is_empty() {
                continue;
            }
            let s = tg(&name, 3000);
            let g = generated_name(&s.resources[0]);
            assert!(g.len() <= 32, "{g}");
            assert!(!g.starts_with('-') && !g.ends_with('-'), "{g}");
            assert!(g.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'), "{g}");
            assert!(is_generated(Kind::TargetGroup, &name, &g), "{name} {g}");
            assert!(!is_generated(Kind::TargetGroup, &format!("{name}x"), &g) || name.len() >= 25, "{name} {g}");
            assert_eq!(g, generated_name(&tg(&name, 3000).resources[0]), "stable");
            assert_ne!(g, generated_name(&tg(&name, 8080).resources[0]), "an immutable field changes it");
        }
        let a = tg("web", 3000);
        let b = ManifestSet::from_texts([(
            "t.yaml",
            "apiVersion: ecs-reconciler/v1\nkind: TargetGroup\nmetadata: {name: web}\nspec: {protocol: HTTP, port: 3000, vpc: vpc-1, targetType: ip, healthCheckPath: /other}\n",
        )]);
        assert_eq!(generated_name(&a.resources[0]), generated_name(&b.resources[0]), "a mutable field does not");
        assert!(!is_generated(Kind::TargetGroup, "web", "web"));
        assert!(!is_generated(Kind::TargetGroup, "web", "web-api"));
        assert!(!is_generated(Kind::TargetGroup, "web", "webx-abc123"));
    }
}
