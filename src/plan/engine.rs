//! `plan(desired, observed) -> Plan`: pure, synchronous, and the only place that decides what
//! changes.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::actions::{self, Input};
use super::contract::{self, Field, top};
use super::diff::{diff, ignored};
use super::model::*;
use super::normalize::{self, Ctx, revision_label};
use super::replace;
use crate::manifest::{DeletionPolicy, Kind, ManifestSet, Resource, Spec};

#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// Delete owned resources whose manifests left the set.
    pub prune: bool,
}

/// Why the changes cannot be made in place: the fields the contract says AWS cannot change, and
/// the cases where AWS's rules depend on the live state.
fn replace_reasons(kind: Kind, changes: &[Change], desired: &Value, live: &Value) -> Vec<String> {
    let mut out: BTreeSet<String> = changes
        .iter()
        .map(|c| top(&c.path))
        .filter(|f| contract::field(kind, f) == Some(Field::Replace))
        // A service moves between a launch type and a capacity provider strategy in place; only
        // one launch type to another needs a new service (UpdateService, capacityProviderStrategy).
        .filter(|f| !(kind == Kind::Service && *f == "launchType" && live.get("launchType").is_none()))
        .map(|f| format!("{f} cannot change in place"))
        .collect();
    if kind == Kind::LoadBalancer
        && desired["type"] == "network"
        && changes.iter().any(|c| top(&c.path) == "securityGroups")
    {
        // ELBv2 API reference, SetSecurityGroups: "You can't associate a security group with a
        // Network Load Balancer if it did not have security groups when it was created", and
        // one created with them cannot have them all removed.
        let none = |v: &Value| v.get("securityGroups").and_then(Value::as_array).is_none_or(Vec::is_empty);
        if none(live) != none(desired) {
            out.insert("a network load balancer keeps having (or not having) security groups as it was created".into());
        }
    }
    out.into_iter().collect()
}

/// The content hash of a task definition manifest: sha256 of its normalised spec (keys sorted).
/// The revision registered from it carries the hash as a tag; equal hash, equal content.
pub fn task_definition_hash(r: &Resource) -> String {
    let empty = Observed::default();
    let revisions = BTreeMap::new();
    let ctx = Ctx { observed: &empty, revisions: &revisions, names: None };
    let spec = normalize::desired(Kind::TaskDefinition, serde_json::to_value(&r.spec).unwrap_or_default(), &ctx);
    let digest = Sha256::digest(serde_json::to_vec(&spec).unwrap_or_default());
    hex::encode(&digest[..16])
}

/// For a service whose set still has a service of its name in another cluster (a move: see
/// `aws::ecs::observe_moves`), that cluster's name.
fn moved_from(observed: &Observed, r: &Resource) -> Option<String> {
    if r.kind != Kind::Service {
        return None;
    }
    observed
        .superseded
        .iter()
        .find(|s| s.live.kind == Kind::Service && s.live.name == r.name())
        .map(|s| replace::service_cluster(&s.live))
}

/// Decide every step for the set.
pub fn plan(set: &str, desired: &ManifestSet, observed: &Observed, opts: &PlanOptions) -> Plan {
    let mut resources: Vec<&Resource> = desired.resources.iter().collect();
    resources.sort_by(|a, b| (a.kind, a.name()).cmp(&(b.kind, b.name())));

    // Which revision each family's services should run: a matching ACTIVE revision, or new.
    let mut revisions = BTreeMap::new();
    for r in resources.iter().filter(|r| r.kind == Kind::TaskDefinition) {
        let label = match observed.task_definition_matches.get(r.name()) {
            Some(arn) => revision_label(arn),
            None => format!("{}:(new)", r.name()),
        };
        revisions.insert(r.name().to_string(), label);
    }
    let names = observed.names();
    let ctx = Ctx { observed, revisions: &revisions, names: Some(&names) };
    // Each service that runs a task definition of the set carries the revision and its content
    // hash as a tag, so the next observe knows the revision's content without reading it.
    let bindings: BTreeMap<&str, String> = resources
        .iter()
        .filter(|r| r.kind == Kind::TaskDefinition)
        .map(|r| (r.name(), actions::binding(&revisions[r.name()], &task_definition_hash(r))))
        .collect();

    let scaling = Scaling::of(desired);
    let ecs_parts = ecs_owned_parts(desired, observed);
    let steps_with = |ctx: &Ctx| -> Vec<Step> {
        resources
            .iter()
            .map(|r| {
                let binding = match &r.spec {
                    Spec::Service(s) => bindings.get(s.task_definition.as_str()).map(String::as_str),
                    _ => None,
                };
                let r = scaling.resource(r);
                let ecs_parts = (r.kind == Kind::LoadBalancer).then(|| ecs_parts.get(r.name())).flatten();
                step_for(set, &r, observed, ctx, Extra { binding, resource_id: scaling.resource_id(&r), ecs_parts })
            })
            .collect()
    };
    let mut steps = steps_with(&ctx);
    // A create-before-destroy replacement: the old generation's ID is no longer the manifest
    // name's, so every reference to it differs from the manifest and its user's step moves it
    // (to the new one, which the replacement creates earlier in the run).
    let replaced: Vec<(Kind, String)> = steps
        .iter()
        .filter(|s| s.op == Op::Replace && replace::creates_before_destroying(s.kind))
        .filter_map(|s| Some((s.kind, observed.get(s.kind, &s.name)?.id.clone())))
        .collect();
    if !replaced.is_empty() {
        let mut names = names.clone();
        for key in &replaced {
            names.remove(key);
        }
        let ctx = Ctx { observed, revisions: &revisions, names: Some(&names) };
        let again = steps_with(&ctx);
        // The replaced resources' own steps stay as first planned.
        steps = again
            .into_iter()
            .zip(steps)
            .map(
                |(new, old)| {
                    if old.op == Op::Replace && replace::creates_before_destroying(old.kind) { old } else { new }
                },
            )
            .collect();
    }
    mark_disruptive(&mut steps, desired);
    mark_unknown(&mut steps, desired, observed);

    steps.extend(replace::superseded_steps(observed));
    if opts.prune {
        let mut orphans: Vec<&Live> = observed.orphans.iter().collect();
        orphans.sort_by(|a, b| (b.kind, &b.name).cmp(&(a.kind, &a.name)));
        for o in orphans {
            if let Some(step) = retained(set, o) {
                steps.push(step);
                continue;
            }
            steps.push(Step {
                kind: o.kind,
                name: o.name.clone(),
                op: Op::Delete,
                changes: vec![],
                reason: Some(format!("owned by set `{set}` and no longer in it (--prune)")),
                adopt: false,
                disruptive: false,
                actions: actions::delete(o),
            });
            if let Some(step) = steps.last_mut() {
                replace::wait_for_users(step, o, observed);
            }
        }
    }
    Plan { set: set.to_string(), steps }
}

/// An owned resource that left the set but whose deletion policy (its tag, else its kind's
/// default: Retain for a LogGroup) keeps it: prune leaves it in place and says so, every time.
/// It keeps the set's tags, as CloudFormation's `DeletionPolicy: Retain` and Argo CD's
/// `Delete=false` leave a resource as it was: the tags still say whose data it is, and a manifest
/// of that name brought back manages it again without `adopt`. Deleting it is a person's act (by
/// hand, or `deletionPolicy: Delete` applied before the manifest leaves).
fn retained(set: &str, o: &Live) -> Option<Step> {
    let policy = o.tags.get(TAG_DELETION_POLICY).and_then(|p| DeletionPolicy::parse(p));
    if policy.unwrap_or(o.kind.default_deletion_policy()) != DeletionPolicy::Retain {
        return None;
    }
    let why = if policy.is_some() { "its deletionPolicy is Retain" } else { "a LogGroup is retained by default" };
    Some(Step {
        kind: o.kind,
        name: o.name.clone(),
        op: Op::NoOp,
        changes: vec![],
        reason: Some(format!(
            "{RETAINED} owned by set `{set}` and no longer in it, but {why}: left in place with its tags \
             (delete it by hand, or set `deletionPolicy: Delete` and apply before removing its manifest)"
        )),
        adopt: false,
        disruptive: false,
        actions: vec![],
    })
}

/// Application Auto Scaling's hold on services: a service with a ScalableTarget has its
/// `desiredCount` sent at creation and then left to autoscaling (as if `ignoreDifferences`
/// named it); each target's resource ID comes from its service's cluster.
struct Scaling {
    /// Service name → its scalable target's resource ID.
    services: BTreeMap<String, String>,
}

impl Scaling {
    fn of(set: &ManifestSet) -> Scaling {
        let mut services = BTreeMap::new();
        for t in set.of_kind(Kind::ScalableTarget) {
            let Spec::ScalableTarget(t) = &t.spec else { continue };
            if let Some(Spec::Service(svc)) = set.get(Kind::Service, &t.service).map(|r| &r.spec) {
                services.insert(
                    t.service.clone(),
                    crate::manifest::spec::ScalableTargetSpec::resource_id(&svc.cluster, &t.service),
                );
            }
        }
        Scaling { services }
    }

    fn resource<'a>(&self, r: &'a Resource) -> std::borrow::Cow<'a, Resource> {
        if r.kind == Kind::Service
            && self.services.contains_key(r.name())
            && !r.metadata.ignore_differences.iter().any(|f| f == "desiredCount")
        {
            let mut owned = r.clone();
            owned.metadata.ignore_differences.push("desiredCount".into());
            return std::borrow::Cow::Owned(owned);
        }
        std::borrow::Cow::Borrowed(r)
    }

    fn resource_id(&self, r: &Resource) -> Option<String> {
        match &r.spec {
            Spec::ScalableTarget(t) => self.services.get(&t.service).cloned(),
            _ => None,
        }
    }
}

/// What a step needs beyond its resource: a service's binding tag, a scalable target's ID.
struct Extra<'a> {
    binding: Option<&'a str>,
    resource_id: Option<String>,
    /// For a load balancer: its rules and listeners a blue/green service of the set names
    /// (`rule:443:10`, `listener:443`), each with the pair's target groups: ECS owns their
    /// forward action.
    ecs_parts: Option<&'a BTreeMap<String, BTreeSet<String>>>,
}

/// The listener rules (and listeners) that blue/green services of the set name, by load
/// balancer, with the target groups of the pair: ECS moves their weights during a deployment.
fn ecs_owned_parts(desired: &ManifestSet, observed: &Observed) -> BTreeMap<String, BTreeMap<String, BTreeSet<String>>> {
    use crate::manifest::spec::service::ListenerRule;
    let mut out: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for r in &desired.resources {
        let Spec::Service(s) = &r.spec else { continue };
        for lb in &s.load_balancers {
            let Some(a) = &lb.advanced_configuration else { continue };
            // The pair by the names the normalised specs use (a group of the set by its name).
            let name = |g: &String| observed.name_of(Kind::TargetGroup, g).map_or_else(|| g.clone(), str::to_string);
            let pair: BTreeSet<String> =
                [&lb.target_group, &lb.target_group_arn, &a.alternate_target_group, &a.alternate_target_group_arn]
                    .into_iter()
                    .flatten()
                    .map(name)
                    .collect();
            for rule in std::iter::once(&a.production_listener_rule).chain(a.test_listener_rule.as_ref()) {
                let found = match rule {
                    ListenerRule::In(at) => Some((at.load_balancer.clone(), at.part())),
                    ListenerRule::Arn(arn) => {
                        observed.part_of(Kind::LoadBalancer, arn).map(|(lb, part)| (lb.to_string(), part.to_string()))
                    }
                };
                if let Some((lb, part)) = found {
                    out.entry(lb).or_default().entry(part).or_default().extend(pair.iter().cloned());
                }
            }
        }
    }
    out
}

/// Resources whose live state could not be read, and everything that references them (directly
/// or through others): their steps do nothing this run and say why.
fn mark_unknown(steps: &mut [Step], desired: &ManifestSet, observed: &Observed) {
    if observed.unknown.is_empty() {
        return;
    }
    let mut why: BTreeMap<(Kind, String), String> = observed.unknown.clone();
    loop {
        let mut grew = false;
        for r in &desired.resources {
            let key = (r.kind, r.name().to_string());
            if why.contains_key(&key) {
                continue;
            }
            let dep = r.spec.references().into_iter().find(|d| why.contains_key(&(d.kind, d.value.clone())));
            if let Some(d) = dep {
                why.insert(key, format!("depends on {}/{}, whose live state is unknown", d.kind, d.value));
                grew = true;
            }
        }
        if !grew {
            break;
        }
    }
    for s in steps.iter_mut() {
        if let Some(reason) = why.get(&(s.kind, s.name.clone())) {
            s.op = Op::Unknown;
            s.reason = Some(format!("live state unknown: {reason}"));
            s.changes.clear();
            s.actions.clear();
            s.adopt = false;
            s.disruptive = false;
        }
    }
}

fn step_for(set: &str, r: &Resource, observed: &Observed, ctx: &Ctx, extra: Extra) -> Step {
    let Extra { binding, resource_id, ecs_parts } = extra;
    let resource_id = resource_id.as_deref();
    let spec = serde_json::to_value(&r.spec).unwrap_or_default();
    let desired = normalize::desired(r.kind, spec, ctx);
    let mut step = Step {
        kind: r.kind,
        name: r.name().to_string(),
        op: Op::NoOp,
        changes: vec![],
        reason: None,
        adopt: false,
        disruptive: false,
        actions: vec![],
    };
    let hash = (r.kind == Kind::TaskDefinition).then(|| task_definition_hash(r));

    let Some(live) = observed.get(r.kind, r.name()) else {
        step.op = Op::Create;
        if let Value::Object(fields) = &desired {
            step.changes =
                fields.iter().map(|(k, v)| Change { path: k.clone(), before: None, after: Some(v.clone()) }).collect();
        }
        if r.kind == Kind::Service {
            step.changes.retain(|c| !ignored_on_create(&c.path));
        }
        let moved = moved_from(observed, r);
        if let Some(from) = &moved {
            step.reason = Some(format!(
                "moved from cluster `{from}`: the service there is deleted once this one serves (its step {})",
                replace::superseded_name(r.name(), from)
            ));
        }
        let input = Input {
            set,
            r,
            desired: &desired,
            changes: &[],
            live: None,
            binding,
            resource_id,
            moved_from: moved.as_deref(),
        };
        step.actions = actions::create(&input, hash.as_deref());
        return step;
    };

    // A family whose ACTIVE revisions include one registered from exactly this content is ours
    // to reuse, whoever registered the newest revision since.
    if r.kind == Kind::TaskDefinition && observed.task_definition_matches.contains_key(r.name()) {
        return task_definition_step(set, step, r, live, desired, ctx);
    }
    match live.owner() {
        Owner::Set(s) if s == set => {}
        owner if r.metadata.adopt => {
            step.adopt = true;
            step.reason = Some(match owner {
                Owner::Set(other) => format!("adopted from set `{other}` (adopt: true)"),
                Owner::Nobody => "adopted: exists without the reconciler's tags (adopt: true)".into(),
            });
        }
        Owner::Set(other) => {
            return refuse(step, format!("exists and belongs to set `{other}`; set `adopt: true` to take it over"));
        }
        Owner::Nobody => {
            return refuse(
                step,
                "exists and is not managed by ecs-reconciler; set `adopt: true` in its metadata to take it over".into(),
            );
        }
    }

    if r.kind == Kind::TaskDefinition {
        return task_definition_step(set, step, r, live, desired, ctx);
    }

    let live_spec = normalize::live(r.kind, live.spec.clone(), ctx);
    // What ECS owns in a blue/green pair (which group is primary, the rules' weights) is taken
    // from the live side: neither a difference nor sent back.
    let mut desired = desired;
    if r.kind == Kind::Service {
        normalize::orient_blue_green_pairs(&mut desired, &live_spec);
    }
    if let Some(parts) = ecs_parts {
        normalize::take_ecs_forwards(&mut desired, &live_spec, parts);
    }
    let mut changes = Vec::new();
    diff(&desired, Some(&live_spec), "", &mut changes);
    changes.retain(|c| !ignored(&c.path, &r.metadata.ignore_differences));
    if let Spec::SecurityGroup(sg) = &r.spec {
        // Rule descriptions are labels, not access: sent with a new rule, never drift.
        changes.retain(|c| !c.path.ends_with(".description"));
        if sg.egress.is_none() {
            // A manifest without `egress` keeps AWS's default egress, which in a VPC with an IPv6
            // CIDR includes all IPv6 traffic too (EC2 User Guide, security group rules: "If your
            // VPC has an IPv6 CIDR block, ... also includes an outbound rule that allows all IPv6
            // traffic").
            changes.retain(|c| !(c.path == "egress[all from ::/0]" && c.after.is_none()));
        }
    }
    changes.extend(tag_changes(set, r, live, binding, moved_from(observed, r).as_deref()));
    if step.adopt && !changes.iter().any(|c| c.path.starts_with("tags.")) {
        // Adoption always writes the ownership tags, so it is never a no-op.
        changes.push(Change { path: format!("tags.{TAG_SET}"), before: None, after: Some(json!(set)) });
    }

    let replace = replace_reasons(r.kind, &changes, &desired, &live_spec);
    let input = Input {
        set,
        r,
        desired: &desired,
        changes: &changes,
        live: Some(live),
        binding,
        resource_id,
        moved_from: None,
    };
    if !replace.is_empty() && replace::creates_before_destroying(r.kind) {
        // Create before destroy: the new generation under a generated name; the users move to
        // it through their own steps (the plan no longer maps the old ID to this name, see
        // `plan`), and the old one is deleted by the first run that sees nothing using it.
        let aws_name = replace::generated_name(r);
        if aws_name == live.aws_name() {
            return refuse(
                step,
                format!("{}; the generated name `{aws_name}` is taken by the live one", replace.join("; ")),
            );
        }
        step.op = Op::Replace;
        step.reason = Some(format!(
            "{}: creates `{aws_name}` first, moves its users to it, then deletes `{}` once nothing uses it",
            replace.join("; "),
            live.aws_name()
        ));
        step.actions = actions::create(&input, hash.as_deref());
        if let Some(first) = step.actions.first_mut() {
            let key = if r.kind == Kind::SecurityGroup { "groupName" } else { "name" };
            first.params[key] = json!(aws_name);
            first.summary = format!("{} {aws_name}", first.summary.rsplit_once(' ').map_or("", |(k, _)| k));
        }
    } else if !replace.is_empty() {
        step.reason = Some(replace.join("; "));
        step.op = Op::Replace;
        step.actions = actions::delete(live);
        step.actions.extend(actions::create(&input, hash.as_deref()));
    } else if changes.is_empty() {
        step.op = Op::NoOp;
    } else {
        let (calls, not_sent) = actions::update(&input);
        step.op = if calls.is_empty() { Op::Refuse } else { Op::Update };
        if !not_sent.is_empty() {
            let why: Vec<String> = not_sent.iter().map(|n| format!("{}: {}", n.path, n.why)).collect();
            step.reason = Some(format!("not sent: {}", why.join("; ")));
        }
        step.actions = calls;
        if step.adopt {
            // Adoption tags first: every later call then acts on a resource that carries the
            // set's tag, so IAM can require it (aws:ResourceTag) on updates too.
            step.actions.sort_by_key(|a| !is_tagging(a.call));
        }
    }
    step.changes = changes;
    if step.reason.is_none()
        && let Some(aws) = &live.aws_name
    {
        // Both names, for `plan` and `status`: the manifest's is the identity, AWS's generated.
        step.reason = Some(format!("AWS name `{aws}`"));
    }
    step
}

fn is_tagging(call: super::action::Call) -> bool {
    use super::action::{Call, Ec2Call, EcsCall, Elbv2Call};
    matches!(
        call,
        Call::Ecs(EcsCall::TagResource)
            | Call::Elbv2(Elbv2Call::AddTags)
            | Call::Ec2(Ec2Call::CreateTags)
            | Call::Logs(super::action::LogsCall::TagResource)
    )
}

/// Fields AWS fills on create that a service manifest rarely names; a create shows the rest.
fn ignored_on_create(path: &str) -> bool {
    matches!(path, "enableECSManagedTags" | "deploymentController" | "schedulingStrategy")
}

fn refuse(mut step: Step, reason: String) -> Step {
    step.op = Op::Refuse;
    step.reason = Some(reason);
    step
}

/// Tags: the manifest's and the ownership tags (and a service's task-definition binding) must be
/// on the resource with these values. Tags others add are left alone.
fn tag_changes(set: &str, r: &Resource, live: &Live, binding: Option<&str>, moved: Option<&str>) -> Vec<Change> {
    let mut want: BTreeMap<String, String> = tags_of(&r.spec);
    want.insert(TAG_SET.into(), set.into());
    want.insert(TAG_NAME.into(), r.name().into());
    if let Some(b) = binding {
        want.insert(TAG_TD.into(), b.into());
    }
    // A move in flight names the cluster left; a finished one (nothing left there) empties it.
    match moved {
        Some(from) => {
            want.insert(TAG_MOVED_FROM.into(), from.into());
        }
        None if live.tags.get(TAG_MOVED_FROM).is_some_and(|v| !v.is_empty()) => {
            want.insert(TAG_MOVED_FROM.into(), String::new());
        }
        None => {}
    }
    // The deletion policy lives on the resource (prune reads it once the manifest is gone):
    // written when it is not the kind's default, and kept true once written.
    let policy = r.metadata.deletion_policy(r.kind);
    if policy != r.kind.default_deletion_policy() || live.tags.contains_key(TAG_DELETION_POLICY) {
        want.insert(TAG_DELETION_POLICY.into(), policy.as_str().into());
    }
    want.into_iter()
        .filter(|(k, v)| live.tags.get(k) != Some(v))
        .map(|(k, v)| Change {
            path: format!("tags.{k}"),
            before: live.tags.get(&k).map(|x| json!(x)),
            after: Some(json!(v)),
        })
        .collect()
}

fn tags_of(spec: &Spec) -> BTreeMap<String, String> {
    let tags = match spec {
        Spec::SecurityGroup(s) => &s.tags,
        Spec::TargetGroup(s) => &s.tags,
        Spec::LoadBalancer(s) => &s.tags,
        Spec::TaskDefinition(s) => &s.tags,
        Spec::Cluster(s) => &s.tags,
        Spec::Service(s) => &s.tags,
        Spec::LogGroup(s) => &s.tags,
        // Application Auto Scaling targets are the service's: owned through it (aws/autoscaling.rs).
        Spec::ScalableTarget(_) => return BTreeMap::new(),
    };
    tags.iter().map(|t| (t.key.clone(), t.value.clone())).collect()
}

/// Task definitions are content-addressed: an ACTIVE revision registered from the same content
/// (hash tag) is reused; otherwise a new revision is registered. Never an in-place update.
fn task_definition_step(set: &str, mut step: Step, r: &Resource, live: &Live, desired: Value, ctx: &Ctx) -> Step {
    if let Some(arn) = ctx.observed.task_definition_matches.get(r.name()) {
        step.op = Op::NoOp;
        if arn != &live.id {
            step.reason =
                Some(format!("revision {} has this content and is still ACTIVE: reused", revision_label(arn)));
        }
        return step;
    }
    let live_spec = normalize::live(Kind::TaskDefinition, live.spec.clone(), ctx);
    let mut changes = Vec::new();
    diff(&desired, Some(&live_spec), "", &mut changes);
    step.op = Op::Update;
    step.reason = Some(format!("registers a new revision (newest ACTIVE is {})", revision_label(&live.id)));
    let input = Input {
        set,
        r,
        desired: &desired,
        changes: &changes,
        live: Some(live),
        binding: None,
        resource_id: None,
        moved_from: None,
    };
    step.actions = actions::create(&input, Some(&task_definition_hash(r)));
    step.changes = changes;
    step
}

/// A replacement that would take a running service down: the service itself, or what a service
/// in the set stands on (its cluster, target groups, security groups, and their load balancers).
fn mark_disruptive(steps: &mut [Step], set: &ManifestSet) {
    let mut used: BTreeSet<(Kind, String)> = BTreeSet::new();
    for r in set.of_kind(Kind::Service) {
        for reference in r.spec.references() {
            used.insert((reference.kind, reference.value));
        }
    }
    for lb in set.of_kind(Kind::LoadBalancer) {
        if lb.spec.references().iter().any(|x| used.contains(&(x.kind, x.value.clone()))) {
            used.insert((Kind::LoadBalancer, lb.name().to_string()));
        }
    }
    for s in steps.iter_mut().filter(|s| s.op == Op::Replace && !replace::creates_before_destroying(s.kind)) {
        s.disruptive = s.kind == Kind::Service || used.contains(&(s.kind, s.name.clone()));
    }
}

/// The engine on an in-memory world: live state built by hand, no AWS.
#[cfg(test)]
mod tests {
    use super::super::render;
    use super::*;
    use serde_json::{Value, json};

    const SET: &str = "shop";

    fn set(yaml: &str) -> ManifestSet {
        let s = ManifestSet::from_texts([("t.yaml", yaml)]);
        assert!(s.is_valid(), "{:#?}", s.diagnostics);
        s
    }

    /// Live state equal to the manifest, owned by `owner` (None: untagged).
    fn live_from(r: &Resource, id: &str, owner: Option<&str>) -> Live {
        let mut l = Live::new(r.kind, r.name(), id);
        l.spec = serde_json::to_value(&r.spec).unwrap();
        if let Some(o) = owner {
            l.tags.insert(TAG_SET.into(), o.into());
            l.tags.insert(TAG_NAME.into(), r.name().into());
        }
        l
    }

    const TG: &str = "apiVersion: ecs-reconciler/v1\nkind: TargetGroup\nmetadata: {name: web}\nspec: {protocol: HTTP, port: 3000, vpc: vpc-1, targetType: ip}\n";
    const SVC: &str = "---\napiVersion: ecs-reconciler/v1\nkind: Service\nmetadata: {name: web, ignoreDifferences: [desiredCount]}\nspec:\n  cluster: arn:aws:ecs:us-east-1:1:cluster/main\n  taskDefinition: arn:aws:ecs:us-east-1:1:task-definition/web:3\n  desiredCount: 2\n  loadBalancers: [{targetGroup: web, containerName: web, containerPort: 3000}]\n";

    fn world(yaml: &str, owner: Option<&str>) -> (ManifestSet, Observed) {
        let s = set(yaml);
        let mut o = Observed::default();
        for r in &s.resources {
            let id = format!("arn:aws:x:us-east-1:1:{}/{}", r.kind, r.name());
            o.live.insert((r.kind, r.name().to_string()), live_from(r, &id, owner));
        }
        (s, o)
    }

    fn op(plan: &Plan, kind: Kind, name: &str) -> Op {
        plan.steps.iter().find(|s| s.kind == kind && s.name == name).unwrap().op
    }

    /// A resource whose read failed, and what references it, do nothing; the rest is planned.
    #[test]
    fn unknown_live_state_leaves_a_resource_and_its_dependents_alone() {
        let (s, mut o) = world(&format!("{TG}{SVC}"), Some(SET));
        o.live.remove(&(Kind::TargetGroup, "web".to_string()));
        let p = plan(SET, &s, &o, &PlanOptions::default());
        assert_eq!(op(&p, Kind::TargetGroup, "web"), Op::Create, "absent: created");
        o.unknown.insert((Kind::TargetGroup, "web".into()), "DescribeTargetGroups: Rate exceeded".into());
        let p = plan(SET, &s, &o, &PlanOptions::default());
        let tg = p.steps.iter().find(|s| s.kind == Kind::TargetGroup).unwrap();
        assert_eq!((tg.op, tg.actions.len()), (Op::Unknown, 0));
        assert!(tg.reason.as_deref().unwrap().contains("Rate exceeded"), "{tg:?}");
        let svc = p.steps.iter().find(|s| s.kind == Kind::Service).unwrap();
        assert_eq!((svc.op, svc.actions.len()), (Op::Unknown, 0));
        assert!(svc.reason.as_deref().unwrap().contains("depends on TargetGroup/web"), "{svc:?}");
        assert!(!p.has_changes());
    }

    #[test]
    fn an_account_equal_to_the_set_plans_nothing() {
        let (s, o) = world(&format!("{TG}{SVC}"), Some(SET));
        let plan = plan(SET, &s, &o, &PlanOptions::default());
        assert!(!plan.has_changes(), "{plan:#?}");
    }

    /// A target group whose port changed is created anew under a generated name before the old
    /// one goes; the service using it moves to it in the same plan; nothing is disruptive.
    #[test]
    fn an_immutable_target_group_field_creates_before_destroying_and_moves_the_service() {
        let (s, mut o) = world(&format!("{TG}{SVC}"), Some(SET));
        let tg_arn = o.get(Kind::TargetGroup, "web").unwrap().id.clone();
        o.live.get_mut(&(Kind::TargetGroup, "web".into())).unwrap().spec["port"] = json!(8080);
        o.live.get_mut(&(Kind::Service, "web".into())).unwrap().spec["loadBalancers"] =
            json!([{"targetGroupArn": tg_arn, "containerName": "web", "containerPort": 3000}]);
        let before = plan(SET, &s, &o, &PlanOptions::default());
        let step = before.steps.iter().find(|s| s.kind == Kind::TargetGroup).unwrap();
        let generated = replace::generated_name(s.get(Kind::TargetGroup, "web").unwrap());
        assert_eq!(step.op, Op::Replace);
        assert!(!step.disruptive, "create before destroy keeps serving");
        assert!(step.reason.as_deref().unwrap().starts_with("port cannot change in place: creates `"), "{step:?}");
        let calls: Vec<String> = step.actions.iter().map(|a| a.call.to_string()).collect();
        assert_eq!(calls, ["elbv2:CreateTargetGroup"], "no delete in the replacement itself");
        assert_eq!(step.actions[0].params["name"], json!(generated));
        let svc = before.steps.iter().find(|s| s.kind == Kind::Service).unwrap();
        assert_eq!(svc.op, Op::Update, "{svc:#?}");
        assert_eq!(svc.changes[0].path, "loadBalancers[web/web:3000]", "{svc:#?}");
        assert_eq!(svc.actions[0].call.to_string(), "ecs:UpdateService");
    }

    const BLUE_GREEN: &str = "apiVersion: ecs-reconciler/v1\nkind: TargetGroup\nmetadata: {name: blue}\nspec: {protocol: HTTP, port: 3000, vpc: vpc-1, targetType: ip}
---
apiVersion: ecs-reconciler/v1\nkind: TargetGroup\nmetadata: {name: green}\nspec: {protocol: HTTP, port: 3000, vpc: vpc-1, targetType: ip}
---
apiVersion: ecs-reconciler/v1
kind: LoadBalancer
metadata: {name: web}
spec:
  subnets: [subnet-a, subnet-b]
  listeners:
    - port: 80
      protocol: HTTP
      defaultActions: [{type: fixed-response, fixedResponseConfig: {statusCode: '404'}}]
      rules:
        - priority: 10
          conditions: [{field: path-pattern, values: ['/*']}]
          actions: [{type: forward, targetGroup: blue}]
    - port: 8080
      protocol: HTTP
      defaultActions: [{type: fixed-response, fixedResponseConfig: {statusCode: '404'}}]
      rules:
        - priority: 10
          conditions: [{field: path-pattern, values: ['/*']}]
          actions: [{type: forward, targetGroup: green}]
---
apiVersion: ecs-reconciler/v1
kind: Service
metadata: {name: web}
spec:
  cluster: arn:aws:ecs:us-east-1:1:cluster/main
  taskDefinition: arn:aws:ecs:us-east-1:1:task-definition/web:3
  desiredCount: 2
  deploymentConfiguration: {strategy: BLUE_GREEN, bakeTimeInMinutes: 5}
  loadBalancers:
    - targetGroup: blue
      containerName: web
      containerPort: 3000
      advancedConfiguration:
        alternateTargetGroup: green
        productionListenerRule: {loadBalancer: web, port: 80, priority: 10}
        testListenerRule: {loadBalancer: web, port: 8080, priority: 10}
        roleArn: arn:aws:iam::1:role/ecsInfrastructureRoleForLoadBalancers
";

    /// After a blue/green deployment ECS has rewritten the production rule to a weighted forward
    /// that serves the alternate group: not drift, and a rule change for another reason sends
    /// ECS's forward back as it is. A forward to a group outside the pair is still drift.
    #[test]
    fn a_blue_green_deployment_s_traffic_shift_is_ecs_s() {
        let (mut s, mut o) = world(BLUE_GREEN, Some(SET));
        let arn = |o: &Observed, name: &str| o.get(Kind::TargetGroup, name).unwrap().id.clone();
        let (blue, green) = (arn(&o, "blue"), arn(&o, "green"));
        let lb_live = &mut o.live.get_mut(&(Kind::LoadBalancer, "web".into())).unwrap().spec;
        let shifted = json!([{"type": "forward", "order": 1, "forwardConfig": {
            "targetGroups": [{"targetGroupArn": blue, "weight": 0}, {"targetGroupArn": green, "weight": 100}],
            "targetGroupStickinessConfig": {"enabled": false}}}]);
        lb_live["listeners"][0]["rules"][0]["actions"] = shifted.clone();
        // The service's pair read the other way round (should DescribeServices ever report it so).
        o.live.get_mut(&(Kind::Service, "web".into())).unwrap().spec["loadBalancers"][0] = json!({
            "targetGroupArn": green, "containerName": "web", "containerPort": 3000,
            "advancedConfiguration": {"alternateTargetGroupArn": blue,
                "productionListenerRule": {"loadBalancer": "web", "port": 80, "priority": 10},
                "testListenerRule": {"loadBalancer": "web", "port": 8080, "priority": 10},
                "roleArn": "arn:aws:iam::1:role/ecsInfrastructureRoleForLoadBalancers"}});
        let p = plan(SET, &s, &o, &PlanOptions::default());
        assert!(
            p.steps.iter().all(|s| s.op == Op::NoOp),
            "{:#?}",
            p.steps.iter().filter(|s| s.op != Op::NoOp).collect::<Vec<_>>()
        );

        // A condition changed by hand: ModifyRule puts it back, with ECS's forward as it is.
        o.live.get_mut(&(Kind::LoadBalancer, "web".into())).unwrap().spec["listeners"][0]["rules"][0]["conditions"] =
            json!([{"field": "path-pattern", "values": ["/old/*"]}]);
        let p = plan(SET, &s, &o, &PlanOptions::default());
        let lb = p.steps.iter().find(|s| s.kind == Kind::LoadBalancer).unwrap();
        assert_eq!(
            lb.changes.iter().map(|c| c.path.as_str()).collect::<Vec<_>>(),
            ["listeners[80].rules[10].conditions[0].values"]
        );
        assert_eq!(lb.actions.len(), 1);
        assert_eq!(lb.actions[0].call.to_string(), "elbv2:ModifyRule");
        let sent = &lb.actions[0].params["actions"][0];
        assert_eq!(
            sent["forwardConfig"]["targetGroups"],
            json!([{"targetGroup": "blue", "weight": 0}, {"targetGroup": "green", "weight": 100}])
        );

        // A forward to a group outside the pair is someone else's change: the manifest's is sent.
        let lb_live = &mut o.live.get_mut(&(Kind::LoadBalancer, "web".into())).unwrap().spec;
        lb_live["listeners"][0]["rules"][0]["conditions"] = json!([{"field": "path-pattern", "values": ["/*"]}]);
        lb_live["listeners"][0]["rules"][0]["actions"] =
            json!([{"type": "forward", "targetGroupArn": "arn:aws:x:us-east-1:1:TargetGroup/other"}]);
        let p = plan(SET, &s, &o, &PlanOptions::default());
        let lb = p.steps.iter().find(|s| s.kind == Kind::LoadBalancer).unwrap();
        assert_eq!(lb.op, Op::Update);
        assert_eq!(lb.actions[0].params["actions"], json!([{"type": "forward", "targetGroup": "blue"}]));

        // An UpdateService for another field keeps the pair as ECS has it.
        o.live.get_mut(&(Kind::LoadBalancer, "web".into())).unwrap().spec["listeners"][0]["rules"][0]["actions"] =
            shifted;
        s = set(&BLUE_GREEN.replace("desiredCount: 2", "desiredCount: 3"));
        let p = plan(SET, &s, &o, &PlanOptions::default());
        let svc = p.steps.iter().find(|s| s.kind == Kind::Service).unwrap();
        assert_eq!(svc.changes.iter().map(|c| c.path.as_str()).collect::<Vec<_>>(), ["desiredCount"], "{svc:#?}");
        assert!(svc.actions[0].params.get("loadBalancers").is_none(), "{:#?}", svc.actions[0]);
    }

    /// A superseded generation is deleted only when nothing uses it: what AWS reports, and the
    /// resources of the set that still name its ID.
    #[test]
    fn a_superseded_generation_waits_until_nothing_uses_it() {
        let (s, mut o) = world(&format!("{TG}{SVC}"), Some(SET));
        let mut old = Live::new(Kind::TargetGroup, "web", "arn:old");
        old.tags.insert(TAG_SET.into(), SET.into());
        old.tags.insert(TAG_NAME.into(), "web".into());
        let superseded = |used_by: &[&str]| Superseded {
            live: old.clone(),
            used_by: vec![],
            load_balancers: used_by.iter().map(|u| u.to_string()).collect(),
        };
        let step_of = |o: &Observed| {
            let p = plan(SET, &s, o, &PlanOptions::default());
            p.steps.into_iter().find(|s| s.name == "web@web").unwrap()
        };
        o.superseded = vec![superseded(&["arn:lb/other"])];
        let waits = step_of(&o);
        assert_eq!((waits.op, waits.actions.len()), (Op::Delete, 0));
        assert_eq!(waits.reason.as_deref(), Some("waits until nothing uses it: load balancer arn:lb/other"));
        o.superseded = vec![superseded(&[])];
        o.live.get_mut(&(Kind::Service, "web".into())).unwrap().spec["loadBalancers"] =
            json!([{"targetGroupArn": "arn:old", "containerName": "web", "containerPort": 3000}]);
        assert_eq!(step_of(&o).reason.as_deref(), Some("waits until nothing uses it: Service/web"));
        o.live.get_mut(&(Kind::Service, "web".into())).unwrap().spec["loadBalancers"] = json!([]);
        let goes = step_of(&o);
        let calls: Vec<String> = goes.actions.iter().map(|a| a.call.to_string()).collect();
        assert_eq!(calls, ["elbv2:DeleteTargetGroup"]);
        assert_eq!(goes.actions[0].params["id"], "arn:old");
    }

    /// Prune waits, level-triggered: a cluster for its services (in the plan, or DRAINING), a
    /// group for its network interfaces and for groups naming it (after revoking its own rules
    /// that name another group); once nothing is left, the delete itself.
    #[test]
    fn prune_waits_for_what_still_uses_a_cluster_or_a_group() {
        let (s, mut o) = world(TG, Some(SET));
        let owned = |kind: Kind, name: &str, id: &str, spec: Value| {
            let mut l = Live::new(kind, name, id);
            l.tags.insert(TAG_SET.into(), SET.into());
            l.spec = spec;
            l
        };
        let step = |o: &Observed, kind: Kind, name: &str| {
            let p = plan(SET, &s, o, &PlanOptions { prune: true });
            p.steps.into_iter().find(|s| s.kind == kind && s.name == name).unwrap()
        };
        let calls = |s: &Step| s.actions.iter().map(|a| a.call.to_string()).collect::<Vec<_>>();
        let rule = |g: &str| json!({"protocol": "tcp", "fromPort": 80, "toPort": 80, "securityGroup": g});
        o.orphans = vec![
            owned(Kind::Cluster, "main", "arn:cluster/main", json!({})),
            owned(Kind::Service, "web", "arn:svc/web", json!({"cluster": "arn:cluster/main"})),
            owned(Kind::SecurityGroup, "a", "sg-a", json!({"ingress": [rule("sg-b")], "egress": []})),
            owned(Kind::SecurityGroup, "b", "sg-b", json!({"ingress": [rule("sg-a")], "egress": []})),
        ];
        o.in_use.insert("sg-a".into(), vec!["network interface eni-1".into()]);
        let cluster = step(&o, Kind::Cluster, "main");
        assert_eq!((cluster.op, calls(&cluster).len()), (Op::Delete, 0));
        assert_eq!(cluster.reason.as_deref(), Some("waits until nothing uses it: Service/web"));
        assert_eq!(calls(&step(&o, Kind::Service, "web")), ["ecs:DeleteService"]);
        let a = step(&o, Kind::SecurityGroup, "a");
        assert_eq!(
            (calls(&a).len(), a.reason.as_deref()),
            (0, Some("waits until nothing uses it: network interface eni-1"))
        );
        let b = step(&o, Kind::SecurityGroup, "b");
        assert_eq!(calls(&b), ["ec2:RevokeSecurityGroupIngress"], "named by a: revokes its own rule, no delete yet");

        // The next run: the service is gone but still DRAINING; the interface is gone.
        o.orphans.retain(|l| l.kind != Kind::Service);
        o.in_use = [("arn:cluster/main".to_string(), vec!["service web (DRAINING)".to_string()])].into();
        let cluster = step(&o, Kind::Cluster, "main");
        assert_eq!(cluster.reason.as_deref(), Some("waits until nothing uses it: service web (DRAINING)"));
        assert_eq!(calls(&step(&o, Kind::SecurityGroup, "a")), ["ec2:RevokeSecurityGroupIngress"]);

        // Then: nothing left in the cluster, no rule naming either group.
        o.in_use.clear();
        for g in o.orphans.iter_mut().filter(|l| l.kind == Kind::SecurityGroup) {
            g.spec["ingress"] = json!([]);
        }
        assert_eq!(calls(&step(&o, Kind::Cluster, "main")), ["ecs:DeleteCluster"]);
        assert_eq!(calls(&step(&o, Kind::SecurityGroup, "a")), ["ec2:DeleteSecurityGroup"]);
        assert_eq!(calls(&step(&o, Kind::SecurityGroup, "b")), ["ec2:DeleteSecurityGroup"]);
    }

    #[test]
    fn a_load_balancer_scheme_change_is_a_disruptive_replacement_when_a_service_uses_it() {
        let lb = "---\napiVersion: ecs-reconciler/v1\nkind: LoadBalancer\nmetadata: {name: web}\nspec:\n  scheme: internal\n  subnets: [subnet-1, subnet-2]\n  listeners: [{port: 80, protocol: HTTP, defaultActions: [{type: forward, targetGroup: web}]}]\n";
        let (s, mut o) = world(&format!("{TG}{SVC}{lb}"), Some(SET));
        o.live.get_mut(&(Kind::LoadBalancer, "web".into())).unwrap().spec["scheme"] = json!("internet-facing");
        let plan = plan(SET, &s, &o, &PlanOptions::default());
        let step = plan.steps.iter().find(|s| s.kind == Kind::LoadBalancer).unwrap();
        assert_eq!(step.op, Op::Replace);
        assert!(step.disruptive, "{step:#?}");
        let text = super::super::render::text(&plan, false);
        assert!(text.contains("replace (disruptive)"), "{text}");
    }

    #[test]
    fn ignored_differences_are_left_alone() {
        let (s, mut o) = world(&format!("{TG}{SVC}"), Some(SET));
        o.live.get_mut(&(Kind::Service, "web".into())).unwrap().spec["desiredCount"] = json!(7);
        let plan = plan(SET, &s, &o, &PlanOptions::default());
        assert_eq!(op(&plan, Kind::Service, "web"), Op::NoOp);
    }

    #[test]
    fn a_resource_of_another_set_or_of_nobody_is_refused_unless_adopted() {
        for owner in [Some("other-team"), None] {
            let (s, o) = world(TG, owner);
            let p = plan(SET, &s, &o, &PlanOptions::default());
            assert_eq!(op(&p, Kind::TargetGroup, "web"), Op::Refuse, "owner {owner:?}");
            let (s, o) = world(&TG.replace("metadata: {name: web}", "metadata: {name: web, adopt: true}"), owner);
            let p = plan(SET, &s, &o, &PlanOptions::default());
            let step = &p.steps[0];
            assert_eq!((step.op, step.adopt), (Op::Update, true), "owner {owner:?}");
            assert!(step.changes.iter().any(|c| c.path == format!("tags.{TAG_SET}")));
            assert_eq!(step.actions.first().map(|a| a.call.to_string()).as_deref(), Some("elbv2:AddTags"));
        }
    }

    #[test]
    fn an_adopted_resource_is_tagged_before_anything_else_is_changed() {
        let (s, mut o) = world(&TG.replace("metadata: {name: web}", "metadata: {name: web, adopt: true}"), None);
        o.live.get_mut(&(Kind::TargetGroup, "web".into())).unwrap().spec["healthCheckPath"] = json!("/other");
        let p = plan(SET, &s, &o, &PlanOptions::default());
        let calls: Vec<String> = p.steps[0].actions.iter().map(|a| a.call.to_string()).collect();
        assert_eq!(calls, ["elbv2:AddTags", "elbv2:ModifyTargetGroup"]);
    }

    #[test]
    fn prune_deletes_orphans_in_reverse_dependency_order_and_only_when_asked() {
        let (s, mut o) = world(TG, Some(SET));
        for (kind, name) in [(Kind::TargetGroup, "old"), (Kind::Service, "old"), (Kind::SecurityGroup, "old")] {
            let mut l = Live::new(kind, name, format!("id-{name}"));
            l.tags.insert(TAG_SET.into(), SET.into());
            o.orphans.push(l);
        }
        assert!(!plan(SET, &s, &o, &PlanOptions::default()).has_changes());
        let plan = plan(SET, &s, &o, &PlanOptions { prune: true });
        let deletes: Vec<Kind> = plan.steps.iter().filter(|s| s.op == Op::Delete).map(|s| s.kind).collect();
        assert_eq!(deletes, [Kind::Service, Kind::TargetGroup, Kind::SecurityGroup]);
    }

    /// With a ScalableTarget, the service's desiredCount is sent when the service is created and
    /// then belongs to Application Auto Scaling; without one it is the manifest's.
    #[test]
    fn a_scaled_service_s_desired_count_is_sent_at_creation_only() {
        let target = "---\napiVersion: ecs-reconciler/v1\nkind: ScalableTarget\nmetadata: {name: web}\nspec: {service: web, minCapacity: 2, maxCapacity: 10}\n";
        let svc = SVC.replace(", ignoreDifferences: [desiredCount]", "");
        let (s, mut o) = world(&format!("{TG}{svc}"), Some(SET));
        o.live.get_mut(&(Kind::Service, "web".into())).unwrap().spec["desiredCount"] = json!(7);
        assert_eq!(op(&plan(SET, &s, &o, &PlanOptions::default()), Kind::Service, "web"), Op::Update, "not scaled");
        let (s, mut o) = world(&format!("{TG}{svc}{target}"), Some(SET));
        o.live.get_mut(&(Kind::Service, "web".into())).unwrap().spec["desiredCount"] = json!(7);
        o.live.get_mut(&(Kind::ScalableTarget, "web".into())).unwrap().id = "service/main/web".into();
        assert_eq!(op(&plan(SET, &s, &o, &PlanOptions::default()), Kind::Service, "web"), Op::NoOp, "scaled");
        o.live.clear();
        let p = plan(SET, &s, &o, &PlanOptions::default());
        let create = p.steps.iter().find(|s| s.kind == Kind::Service).unwrap();
        assert_eq!(create.actions[0].params["desiredCount"], json!(2), "sent at creation");
        let target = p.steps.iter().find(|s| s.kind == Kind::ScalableTarget).unwrap();
        assert_eq!(target.actions[0].params["resourceId"], json!("service/main/web"));
    }

    /// A non-default deletion policy is written on the resource; prune reads it from there (the
    /// manifest is gone) and keeps a Retain resource, as it keeps a LogGroup by default.
    #[test]
    fn prune_keeps_what_its_deletion_policy_retains_and_says_so() {
        let kept = TG.replace("metadata: {name: web}", "metadata: {name: web, deletionPolicy: Retain}");
        let p = plan(SET, &set(&kept), &Observed::default(), &PlanOptions::default());
        assert_eq!(p.steps[0].actions[0].params["tags"][TAG_DELETION_POLICY], json!("Retain"));
        let (s, _) = world(&kept, Some(SET));
        let mut o = Observed::default();
        for (kind, name, tag) in [
            (Kind::TargetGroup, "kept", Some("Retain")),
            (Kind::TargetGroup, "gone", None),
            (Kind::LogGroup, "/ecs/old", None),
            (Kind::LogGroup, "/ecs/scratch", Some("Delete")),
        ] {
            let mut l = Live::new(kind, name, format!("id-{name}"));
            l.tags.insert(TAG_SET.into(), SET.into());
            if let Some(t) = tag {
                l.tags.insert(TAG_DELETION_POLICY.into(), t.into());
            }
            o.orphans.push(l);
        }
        let p = plan(SET, &s, &o, &PlanOptions { prune: true });
        let of = |name: &str| p.steps.iter().find(|s| s.name == name).unwrap();
        assert!(of("kept").is_retained() && of("/ecs/old").is_retained());
        assert!(of("kept").actions.is_empty());
        assert_eq!((of("gone").op, of("/ecs/scratch").op), (Op::Delete, Op::Delete));
        assert!(render::text(&p, false).contains("retained"), "the plan says so");
    }

    #[test]
    fn task_definitions_are_reused_by_content_and_registered_on_change() {
        let td = "apiVersion: ecs-reconciler/v1\nkind: TaskDefinition\nmetadata: {name: web}\nspec:\n  containerDefinitions: [{name: web, image: 'web:1', memory: 256}]\n";
        let svc = "---\napiVersion: ecs-reconciler/v1\nkind: Service\nmetadata: {name: web}\nspec: {cluster: arn:aws:ecs:us-east-1:1:cluster/main, taskDefinition: web}\n";
        let (s, mut o) = world(&format!("{td}{svc}"), Some(SET));
        let latest = "arn:aws:ecs:us-east-1:1:task-definition/web:9";
        o.live.get_mut(&(Kind::TaskDefinition, "web".into())).unwrap().id = latest.into();
        o.live.get_mut(&(Kind::Service, "web".into())).unwrap().spec["taskDefinition"] = json!(latest);

        // The newest revision was registered from this content: nothing to do but bind the
        // service to it (the tag that spares the next observe reading the revision).
        o.task_definition_matches.insert("web".into(), latest.into());
        let p = plan(SET, &s, &o, &PlanOptions::default());
        let svc_step = p.steps.iter().find(|s| s.kind == Kind::Service).unwrap();
        let binding = format!("web:9@{}", task_definition_hash(s.get(Kind::TaskDefinition, "web").unwrap()));
        assert_eq!(
            svc_step.changes,
            [Change { path: format!("tags.{TAG_TD}"), before: None, after: Some(json!(binding)) }]
        );
        assert_eq!(svc_step.actions.len(), 1);
        assert_eq!(svc_step.actions[0].call.to_string(), "ecs:TagResource");
        o.live.get_mut(&(Kind::Service, "web".into())).unwrap().tags.insert(TAG_TD.into(), binding);
        assert!(!plan(SET, &s, &o, &PlanOptions::default()).has_changes());

        // An older ACTIVE revision has the content: reuse it, and point the service at it.
        o.task_definition_matches.insert("web".into(), "arn:aws:ecs:us-east-1:1:task-definition/web:4".into());
        let p = plan(SET, &s, &o, &PlanOptions::default());
        assert_eq!(op(&p, Kind::TaskDefinition, "web"), Op::NoOp);
        let svc_step = p.steps.iter().find(|s| s.kind == Kind::Service).unwrap();
        assert_eq!(svc_step.changes[0].after, Some(json!("web:4")));

        // No revision has it: register one; the service moves to the new revision.
        o.task_definition_matches.clear();
        let p = plan(SET, &s, &o, &PlanOptions::default());
        assert_eq!(op(&p, Kind::TaskDefinition, "web"), Op::Update);
        let svc_step = p.steps.iter().find(|s| s.kind == Kind::Service).unwrap();
        assert_eq!(svc_step.changes[0].after, Some(json!("web:(new)")));
        // The binding follows, in the same step, after the UpdateService: the adapter fills in
        // the registered revision's number.
        let calls: Vec<String> = svc_step.actions.iter().map(|a| a.call.to_string()).collect();
        assert_eq!(calls, ["ecs:UpdateService", "ecs:TagResource"]);
        assert!(svc_step.actions[1].params[TAG_TD].as_str().unwrap().starts_with("web:(new)@"));
    }

    #[test]
    fn the_content_hash_ignores_spelling_but_not_content() {
        let a = set(
            "apiVersion: ecs-reconciler/v1\nkind: TaskDefinition\nmetadata: {name: w}\nspec: {cpu: 256, containerDefinitions: [{name: w, image: 'w:1', memory: 256, environment: [{name: B, value: '2'}, {name: A, value: '1'}]}]}\n",
        );
        let b = set(
            "apiVersion: ecs-reconciler/v1\nkind: TaskDefinition\nmetadata: {name: w}\nspec: {cpu: '0.25 vCPU', containerDefinitions: [{name: w, image: 'w:1', memory: 256, essential: true, environment: [{name: A, value: '1'}, {name: B, value: '2'}]}]}\n",
        );
        let c = set(
            "apiVersion: ecs-reconciler/v1\nkind: TaskDefinition\nmetadata: {name: w}\nspec: {cpu: 256, containerDefinitions: [{name: w, image: 'w:2', memory: 256}]}\n",
        );
        let h = |s: &ManifestSet| task_definition_hash(&s.resources[0]);
        assert_eq!(h(&a), h(&b));
        assert_ne!(h(&a), h(&c));
    }
}
