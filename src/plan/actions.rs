//! The calls each step makes, built from what the plan compared: the normalised desired spec
//! and the field-level changes. An update sends exactly the changed fields with the values the
//! plan shows (AWS's defaults included, so a field that drifted from its default goes back to
//! it); a create sends what the manifest names. Pure: no AWS, table-tested below and driven by
//! the field contract (`contract.rs`).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use super::action::{Action, Ec2Call as Ec2, EcsCall as Ecs, Elbv2Call as Elb};
use super::contract::{self, Field, top};
use super::model::{Change, Live, TAG_DELETION_POLICY, TAG_HASH, TAG_MOVED_FROM, TAG_NAME, TAG_SET, TAG_TD};
use super::normalize::flatten_health_check;
use crate::manifest::{Kind, Resource, Spec};

/// What the builders read for one step.
pub struct Input<'a> {
    pub set: &'a str,
    pub r: &'a Resource,
    /// The manifest's spec, normalised (`normalize::desired`).
    pub desired: &'a Value,
    /// The changes the plan shows for the step (updates only).
    pub changes: &'a [Change],
    pub live: Option<&'a Live>,
    /// For a service that runs a task definition of the set: its binding tag's value
    /// (`family:rev@hash`, `family:(new)@hash` when this run registers the revision).
    pub binding: Option<&'a str>,
    /// For a scalable target: Application Auto Scaling's ID of its service
    /// (`service/CLUSTER/SERVICE`), from the service's manifest.
    pub resource_id: Option<&'a str>,
    /// For a service moving to another cluster: the cluster the set's old service is in.
    pub moved_from: Option<&'a str>,
}

/// The value of a service's [`TAG_TD`] binding tag: the revision label it runs (`web:7`, or
/// `web:(new)`, which the adapter resolves to the revision registered earlier in the run) and
/// that revision's content hash.
pub fn binding(revision_label: &str, hash: &str) -> String {
    format!("{revision_label}@{hash}")
}

/// The ownership tags plus the manifest's own.
pub fn owned_tags(set: &str, name: &str, tags: &[crate::manifest::spec::Tag]) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = tags.iter().map(|t| (t.key.clone(), t.value.clone())).collect();
    out.insert(TAG_SET.to_string(), set.to_string());
    out.insert(TAG_NAME.to_string(), name.to_string());
    out
}

/// The tags a create gives the resource: the ownership tags, the manifest's, and its deletion
/// policy when that is not the kind's default (prune reads it once the manifest is gone).
pub fn resource_tags(set: &str, r: &Resource) -> BTreeMap<String, String> {
    let mut out = owned_tags(set, r.name(), manifest_tags(r));
    let policy = r.metadata.deletion_policy(r.kind);
    if policy != r.kind.default_deletion_policy() {
        out.insert(TAG_DELETION_POLICY.to_string(), policy.as_str().to_string());
    }
    out
}

fn manifest_tags(r: &Resource) -> &[crate::manifest::spec::Tag] {
    match &r.spec {
        Spec::SecurityGroup(s) => &s.tags,
        Spec::TargetGroup(s) => &s.tags,
        Spec::LoadBalancer(s) => &s.tags,
        Spec::TaskDefinition(s) => &s.tags,
        Spec::Cluster(s) => &s.tags,
        Spec::Service(s) => &s.tags,
        Spec::LogGroup(s) => &s.tags,
        Spec::ScalableTarget(_) => &[],
    }
}

/// The manifest's spec as JSON, the `healthCheck:` block as flat fields.
fn manifest_json(r: &Resource) -> Value {
    let mut v = serde_json::to_value(&r.spec).unwrap_or_default();
    flatten_health_check(&mut v);
    if let Some(o) = v.as_object_mut() {
        o.remove("tags");
    }
    v
}

/// The fields the manifest names, with their normalised values (names resolved, units made one);
/// `except` keeps the manifest's own spelling (references resolved when the call runs).
fn named(r: &Resource, desired: &Value, except: &[&str]) -> Map<String, Value> {
    let manifest = manifest_json(r);
    let mut out = Map::new();
    for (k, v) in manifest.as_object().into_iter().flatten() {
        let value = if except.contains(&k.as_str()) { v } else { desired.get(k).unwrap_or(v) };
        out.insert(k.clone(), value.clone());
    }
    out
}

fn with(mut params: Map<String, Value>, extra: impl IntoIterator<Item = (&'static str, Value)>) -> Value {
    for (k, v) in extra {
        params.insert(k.to_string(), v);
    }
    Value::Object(params)
}

// ---- create ------------------------------------------------------------------------------------

/// The calls that create the resource, in order. A task definition's `hash` is its content hash.
pub fn create(i: &Input, hash: Option<&str>) -> Vec<Action> {
    let (set, r, name) = (i.set, i.r, i.r.name());
    let tags = json!(resource_tags(set, r));
    match r.kind {
        Kind::SecurityGroup => {
            let mut out = vec![Action::new(
                Ec2::CreateSecurityGroup,
                format!("group {name}"),
                json!({"groupName": name, "description": i.desired["description"], "vpc": i.desired["vpc"], "tags": tags}),
            )];
            out.extend(new_group_rules(i.desired));
            out
        }
        Kind::TargetGroup => {
            let mut params = named(r, i.desired, &[]);
            let attributes = params.remove("attributes");
            let mut out = vec![Action::new(
                Elb::CreateTargetGroup,
                format!("target group {name}"),
                with(params, [("name", json!(name)), ("tags", tags)]),
            )];
            if let Some(a) = attributes.filter(|a| a.as_object().is_some_and(|o| !o.is_empty())) {
                out.push(Action::new(
                    Elb::ModifyTargetGroupAttributes,
                    attribute_summary(&a),
                    json!({"attributes": a}),
                ));
            }
            out
        }
        Kind::LoadBalancer => {
            let mut params = named(r, i.desired, &[]);
            let attributes = params.remove("attributes");
            params.remove("listeners");
            let mut out = vec![Action::new(
                Elb::CreateLoadBalancer,
                format!("load balancer {name}"),
                with(params, [("name", json!(name)), ("tags", tags)]),
            )];
            if let Some(a) = attributes.filter(|a| a.as_object().is_some_and(|o| !o.is_empty())) {
                out.push(Action::new(
                    Elb::ModifyLoadBalancerAttributes,
                    attribute_summary(&a),
                    json!({"attributes": a}),
                ));
            }
            for l in i.desired["listeners"].as_array().into_iter().flatten() {
                out.extend(new_listener(i, l));
            }
            out
        }
        Kind::TaskDefinition => {
            let mut tags = resource_tags(set, r);
            if let Some(h) = hash {
                tags.insert(TAG_HASH.to_string(), h.to_string());
            }
            let mut spec = serde_json::to_value(&r.spec).unwrap_or_default();
            if let Some(o) = spec.as_object_mut() {
                o.remove("tags");
                o.insert("family".into(), json!(name));
                o.insert("tags".into(), json!(tags));
            }
            vec![Action::new(Ecs::RegisterTaskDefinition, format!("revision of {name}"), spec)]
        }
        Kind::Cluster => {
            let params = named(r, i.desired, &[]);
            vec![Action::new(
                Ecs::CreateCluster,
                format!("cluster {name}"),
                with(params, [("clusterName", json!(name)), ("tags", tags)]),
            )]
        }
        Kind::Service => {
            let params = named(r, i.desired, &["cluster", "taskDefinition"]);
            let mut tags = resource_tags(set, r);
            if let Some(b) = i.binding {
                tags.insert(TAG_TD.to_string(), b.to_string());
            }
            if let Some(from) = i.moved_from {
                tags.insert(TAG_MOVED_FROM.to_string(), from.to_string());
            }
            vec![Action::new(
                Ecs::CreateService,
                format!("service {name}"),
                with(params, [("serviceName", json!(name)), ("tags", json!(tags))]),
            )]
        }
        Kind::LogGroup => super::log_group::create(i),
        Kind::ScalableTarget => super::scalable_target::create(i),
    }
}

/// A new group's rules: AWS gives every new group an allow-all egress rule, so the plan
/// authorizes what the manifest adds to it and revokes it when the manifest's egress lacks it.
fn new_group_rules(desired: &Value) -> Vec<Action> {
    let default = aws_default_egress();
    let rules = |key: &str| desired[key].as_array().cloned().unwrap_or_default();
    let ingress = rules("ingress");
    let egress: Vec<Value> = rules("egress");
    let keeps_default = egress.iter().any(|r| same_rule(r, &default));
    let mut out = Vec::new();
    if !ingress.is_empty() {
        out.push(rules_action(Ec2::AuthorizeSecurityGroupIngress, "ingress", ingress));
    }
    let add: Vec<Value> = egress.into_iter().filter(|r| !same_rule(r, &default)).collect();
    if !add.is_empty() {
        out.push(rules_action(Ec2::AuthorizeSecurityGroupEgress, "egress", add));
    }
    if !keeps_default {
        out.push(rules_action(Ec2::RevokeSecurityGroupEgress, "egress", vec![default]));
    }
    out
}

/// The egress rule AWS adds to every new VPC security group (EC2 User Guide, "Security group
/// rules": "By default, a security group includes an outbound rule that allows all outbound
/// traffic"; AWS-FACTS [F:sg]).
pub fn aws_default_egress() -> Value {
    json!({"protocol": "-1", "cidr": "0.0.0.0/0"})
}

fn same_rule(a: &Value, b: &Value) -> bool {
    super::diff::rule_label(a) == super::diff::rule_label(b)
}

fn rules_action(call: Ec2, direction: &str, rules: Vec<Value>) -> Action {
    let summary =
        rules.iter().map(|r| format!("{direction} {}", super::diff::rule_label(r))).collect::<Vec<_>>().join("; ");
    Action::new(call, summary, json!({ "rules": rules }))
}

fn attribute_summary(attributes: &Value) -> String {
    let keys: Vec<&String> = attributes.as_object().map(|o| o.keys().collect()).unwrap_or_default();
    format!("attributes {}", keys.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", "))
}

fn port_of(listener: &Value) -> String {
    super::normalize::key(&listener["port"])
}

/// The manifest's tags of a listener (by port) or of one of its rules (by priority).
fn listener_tags(i: &Input, port: &str, priority: Option<&str>) -> Value {
    let Spec::LoadBalancer(spec) = &i.r.spec else { return json!({}) };
    let Some(l) = spec.listeners.iter().find(|l| l.port.map(|p| p.to_string()).as_deref() == Some(port)) else {
        return json!(owned_tags(i.set, i.r.name(), &[]));
    };
    let tags = match priority {
        None => &l.tags,
        Some(p) => match l.rules.iter().find(|r| r.priority.to_string() == p) {
            Some(rule) => &rule.tags,
            None => &l.tags,
        },
    };
    json!(owned_tags(i.set, i.r.name(), tags))
}

/// CreateListener with its default certificate, then the other certificates and the rules.
fn new_listener(i: &Input, l: &Value) -> Vec<Action> {
    let port = port_of(l);
    let part = format!("listener:{port}");
    let certificates = l["certificates"].as_array().cloned().unwrap_or_default();
    let mut params: Map<String, Value> = l.as_object().cloned().unwrap_or_default();
    params.remove("rules");
    if let Some(first) = certificates.first() {
        // CreateListener takes exactly one certificate, the default (ELBv2 API reference,
        // CreateListener: "Certificates ... You must provide exactly one certificate");
        // the others go through AddListenerCertificates.
        params.insert("certificates".into(), json!([first]));
    }
    params.insert("tags".into(), listener_tags(i, &port, None));
    let mut out = vec![Action::new(Elb::CreateListener, format!("listener {port}"), Value::Object(params)).on(&part)];
    if certificates.len() > 1 {
        out.push(certificates_action(Elb::AddListenerCertificates, &port, &certificates[1..]));
    }
    for rule in l["rules"].as_array().into_iter().flatten() {
        out.push(create_rule(i, &port, rule));
    }
    out
}

fn certificates_action(call: Elb, port: &str, certificates: &[Value]) -> Action {
    let arns: Vec<&str> = certificates.iter().filter_map(|c| c["certificateArn"].as_str()).collect();
    Action::new(
        call,
        format!("listener {port} certificates {}", arns.join(", ")),
        json!({"certificates": certificates}),
    )
    .on(format!("listener:{port}"))
}

fn create_rule(i: &Input, port: &str, rule: &Value) -> Action {
    let priority = super::normalize::key(&rule["priority"]);
    let mut params = rule.as_object().cloned().unwrap_or_default();
    params.insert("tags".into(), listener_tags(i, port, Some(&priority)));
    Action::new(Elb::CreateRule, format!("listener {port} rule {priority}"), Value::Object(params))
        .on(format!("listener:{port}"))
}

// ---- update ------------------------------------------------------------------------------------

/// Why a changed field is not sent.
#[derive(Debug, Clone, PartialEq)]
pub struct NotSent {
    pub path: String,
    pub why: String,
}

/// The calls that bring the live resource to the desired one, from the plan's changes; and the
/// changes that are reported but not sent (create-only fields, a controller that owns them).
pub fn update(i: &Input) -> (Vec<Action>, Vec<NotSent>) {
    let mut not_sent = Vec::new();
    let mut changes: Vec<&Change> = Vec::new();
    for c in i.changes {
        match contract::field(i.r.kind, top(&c.path)) {
            Some(Field::CreateOnly(why)) => not_sent.push(NotSent { path: c.path.clone(), why: why.into() }),
            _ => changes.push(c),
        }
    }
    let actions = match i.r.kind {
        Kind::SecurityGroup => security_group(i, &changes),
        Kind::TargetGroup => target_group(i, &changes),
        Kind::LoadBalancer => load_balancer(i, &changes),
        Kind::TaskDefinition => create(i, None),
        Kind::Cluster => cluster(i, &changes),
        Kind::Service => return service(i, &changes, not_sent),
        Kind::LogGroup => super::log_group::update(i, &changes),
        Kind::ScalableTarget => super::scalable_target::update(i, &changes),
    };
    (actions, not_sent)
}

/// The changed tags as one map (tags are only added or changed, never removed: other tools may
/// own tags the manifest does not name).
/// The changed tags, sent with the ownership tags: IAM lets the reconciler tag only in a request
/// that carries `ecs-reconciler:set` (`aws:RequestTag`, template.yaml), so a repair of one drifted
/// tag rewrites the (unchanged) ownership tags with it.
pub(super) fn tags_action(i: &Input, changes: &[&Change], call: impl Into<super::action::Call>) -> Option<Action> {
    let mut tags: BTreeMap<&str, Value> =
        changes.iter().filter_map(|c| Some((c.path.strip_prefix("tags.")?, c.after.clone()?))).collect();
    let keys: Vec<&str> = tags.keys().copied().collect();
    if keys.is_empty() {
        return None;
    }
    tags.entry(TAG_SET).or_insert_with(|| json!(i.set));
    tags.entry(TAG_NAME).or_insert_with(|| json!(i.r.name()));
    Some(Action::new(call, format!("tags {}", keys.join(", ")), json!(tags)))
}

fn tops<'a>(changes: &[&'a Change]) -> BTreeSet<&'a str> {
    changes.iter().map(|c| top(&c.path)).collect()
}

/// The desired values of the changed top-level fields among `fields`.
fn changed_fields(i: &Input, changes: &[&Change], fields: impl Fn(&str) -> bool) -> Map<String, Value> {
    tops(changes)
        .into_iter()
        .filter(|f| fields(f))
        .filter_map(|f| Some((f.to_string(), i.desired.get(f)?.clone())))
        .collect()
}

fn security_group(i: &Input, changes: &[&Change]) -> Vec<Action> {
    let mut out = Vec::new();
    // Authorize before revoke: a rule that changes is never missing in between.
    for (direction, authorize, revoke) in [
        ("ingress", Ec2::AuthorizeSecurityGroupIngress, Ec2::RevokeSecurityGroupIngress),
        ("egress", Ec2::AuthorizeSecurityGroupEgress, Ec2::RevokeSecurityGroupEgress),
    ] {
        let mine = changes.iter().filter(|c| top(&c.path) == direction);
        let (add, remove): (Vec<&&Change>, Vec<&&Change>) = mine.partition(|c| c.after.is_some());
        let add: Vec<Value> = add.iter().filter_map(|c| c.after.clone()).flat_map(flatten_rules).collect();
        let remove: Vec<Value> = remove.iter().filter_map(|c| c.before.clone()).flat_map(flatten_rules).collect();
        if !add.is_empty() {
            out.push(rules_action(authorize, direction, add));
        }
        if !remove.is_empty() {
            out.push(rules_action(revoke, direction, remove));
        }
    }
    out.extend(tags_action(i, changes, Ec2::CreateTags));
    out
}

/// A change's value as rules: one rule (a keyed element), or a whole list (when the rules could
/// not be told apart).
fn flatten_rules(v: Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a,
        other => vec![other],
    }
}

fn target_group(i: &Input, changes: &[&Change]) -> Vec<Action> {
    let mut out = Vec::new();
    let hc = changed_fields(
        i,
        changes,
        |f| matches!(contract::field(Kind::TargetGroup, f), Some(Field::Update(c)) if c == [super::action::Call::Elbv2(Elb::ModifyTargetGroup)]),
    );
    if !hc.is_empty() {
        let summary = format!("health check {}", hc.keys().cloned().collect::<Vec<_>>().join(", "));
        out.push(Action::new(Elb::ModifyTargetGroup, summary, Value::Object(hc)));
    }
    out.extend(attributes_action(i, changes, Elb::ModifyTargetGroupAttributes));
    out.extend(tags_action(i, changes, Elb::AddTags));
    out
}

/// The changed attributes with their desired values (the names contain dots: `attributes.` is
/// the prefix, the rest the key).
fn attributes_action(i: &Input, changes: &[&Change], call: Elb) -> Option<Action> {
    let desired = i.desired.get("attributes")?.as_object()?;
    let mut attributes = Map::new();
    for c in changes {
        if c.path == "attributes" {
            attributes.extend(desired.clone());
        } else if let Some(key) = c.path.strip_prefix("attributes.")
            && let Some(v) = desired.get(key)
        {
            attributes.insert(key.to_string(), v.clone());
        }
    }
    (!attributes.is_empty()).then(|| {
        let a = Value::Object(attributes);
        Action::new(call, attribute_summary(&a), json!({ "attributes": a }))
    })
}

fn load_balancer(i: &Input, changes: &[&Change]) -> Vec<Action> {
    let mut out = Vec::new();
    let t = tops(changes);
    if t.contains("securityGroups") {
        out.push(Action::new(
            Elb::SetSecurityGroups,
            "security groups",
            json!({"securityGroups": i.desired.get("securityGroups").cloned().unwrap_or(json!([]))}),
        ));
    }
    if t.contains("subnets") || t.contains("subnetMappings") {
        let mut p = Map::new();
        for k in ["subnets", "subnetMappings"] {
            if let Some(v) = i.desired.get(k) {
                p.insert(k.into(), v.clone());
            }
        }
        out.push(Action::new(Elb::SetSubnets, "subnets", Value::Object(p)));
    }
    if t.contains("ipAddressType") {
        out.push(Action::new(
            Elb::SetIpAddressType,
            format!("ip address type {}", i.desired["ipAddressType"].as_str().unwrap_or_default()),
            json!({"ipAddressType": i.desired["ipAddressType"]}),
        ));
    }
    out.extend(attributes_action(i, changes, Elb::ModifyLoadBalancerAttributes));
    out.extend(tags_action(i, changes, Elb::AddTags));
    out.extend(listeners(i, changes));
    out
}

/// `listeners[443].rules[10].actions` → ("443", Some("10"), "actions").
fn listener_path(path: &str) -> Option<(&str, Option<&str>, &str)> {
    let rest = path.strip_prefix("listeners[")?;
    let (port, rest) = rest.split_once(']')?;
    let rest = rest.strip_prefix('.').unwrap_or(rest);
    if let Some(r) = rest.strip_prefix("rules[") {
        let (priority, tail) = r.split_once(']')?;
        return Some((port, Some(priority), tail.strip_prefix('.').unwrap_or(tail)));
    }
    Some((port, None, rest))
}

/// Listener and rule calls from the changes below `listeners`: deletes first (a freed port or
/// priority can be taken again), then changes in place, then creates.
fn listeners(i: &Input, changes: &[&Change]) -> Vec<Action> {
    let desired_listener =
        |port: &str| -> Option<&Value> { i.desired["listeners"].as_array()?.iter().find(|l| port_of(l) == port) };
    let (mut deletes, mut modifies, mut creates) = (Vec::new(), Vec::new(), Vec::new());
    let mut modified_listeners: BTreeMap<&str, Map<String, Value>> = BTreeMap::new();
    let mut modified_rules: BTreeSet<(&str, &str)> = BTreeSet::new();
    for c in changes.iter().filter(|c| top(&c.path) == "listeners") {
        let Some((port, rule, field)) = listener_path(&c.path) else { continue };
        match (rule, field, &c.before, &c.after) {
            // A whole listener added or removed.
            (None, "", None, Some(l)) => creates.extend(new_listener(i, l)),
            (None, "", Some(_), None) => deletes.push(
                Action::new(Elb::DeleteListener, format!("listener {port}"), json!({})).on(format!("listener:{port}")),
            ),
            // A whole rule added or removed.
            (Some(_), "", None, Some(rule)) => creates.push(create_rule(i, port, rule)),
            (Some(p), "", Some(_), None) => deletes.insert(
                0,
                Action::new(Elb::DeleteRule, format!("listener {port} rule {p}"), json!({}))
                    .on(format!("rule:{port}:{p}")),
            ),
            (Some(p), _, _, _) => {
                modified_rules.insert((port, p));
            }
            (None, f, before, after) => {
                let key = top(f);
                if key == "certificates" {
                    modifies.extend(certificate_changes(port, before.as_ref(), after.as_ref()));
                    let default = |v: Option<&Value>| v.and_then(|v| v.get(0)).cloned();
                    if default(before.as_ref()) != default(after.as_ref())
                        && let Some(d) = default(after.as_ref())
                    {
                        modified_listeners.entry(port).or_default().insert("certificates".into(), json!([d]));
                    }
                } else if let Some(l) = desired_listener(port) {
                    modified_listeners.entry(port).or_default().insert(key.into(), l[key].clone());
                }
            }
        }
    }
    let mut out = deletes;
    for (port, mut fields) in modified_listeners {
        if fields.contains_key("protocol") {
            // A protocol change carries what the new protocol needs (HTTPS: a certificate and a
            // policy) in the same call.
            if let Some(l) = desired_listener(port) {
                for k in ["sslPolicy", "alpnPolicy"] {
                    if let Some(v) = l.get(k) {
                        fields.entry(k.to_string()).or_insert(v.clone());
                    }
                }
                if let Some(first) = l["certificates"].get(0) {
                    fields.entry("certificates".to_string()).or_insert(json!([first]));
                }
            }
        }
        let summary = format!("listener {port} {}", fields.keys().cloned().collect::<Vec<_>>().join(", "));
        out.push(Action::new(Elb::ModifyListener, summary, Value::Object(fields)).on(format!("listener:{port}")));
    }
    out.extend(modifies);
    for (port, priority) in modified_rules {
        let Some(rule) = desired_listener(port)
            .and_then(|l| l["rules"].as_array()?.iter().find(|r| super::normalize::key(&r["priority"]) == priority))
        else {
            continue;
        };
        out.push(
            Action::new(
                Elb::ModifyRule,
                format!("listener {port} rule {priority}"),
                json!({"conditions": rule.get("conditions").cloned().unwrap_or(json!([])),
                       "actions": rule.get("actions").cloned().unwrap_or(json!([]))}),
            )
            .on(format!("rule:{port}:{priority}")),
        );
    }
    out.extend(creates);
    out
}

/// The non-default certificates added and removed (the default goes through ModifyListener).
fn certificate_changes(port: &str, before: Option<&Value>, after: Option<&Value>) -> Vec<Action> {
    let rest = |v: Option<&Value>| -> Vec<Value> {
        v.and_then(Value::as_array).map(|a| a.iter().skip(1).cloned().collect()).unwrap_or_default()
    };
    let (had, want) = (rest(before), rest(after));
    let add: Vec<Value> = want.iter().filter(|c| !had.contains(c)).cloned().collect();
    let remove: Vec<Value> = had.iter().filter(|c| !want.contains(c)).cloned().collect();
    let mut out = Vec::new();
    if !add.is_empty() {
        out.push(certificates_action(Elb::AddListenerCertificates, port, &add));
    }
    if !remove.is_empty() {
        out.push(certificates_action(Elb::RemoveListenerCertificates, port, &remove));
    }
    out
}

fn cluster(i: &Input, changes: &[&Change]) -> Vec<Action> {
    let mut out = Vec::new();
    let t = tops(changes);
    if t.contains("settings") {
        // Only the settings the manifest names, with their values.
        let named: BTreeSet<&str> =
            changes.iter().filter_map(|c| c.path.strip_prefix("settings[")?.split(']').next()).collect();
        let settings: Vec<Value> = i.desired["settings"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|s| named.is_empty() || s["name"].as_str().is_some_and(|n| named.contains(n)))
            .cloned()
            .collect();
        out.push(Action::new(Ecs::UpdateClusterSettings, "settings", json!({ "settings": settings })));
    }
    let config = changed_fields(i, changes, |f| matches!(f, "configuration" | "serviceConnectDefaults"));
    if !config.is_empty() {
        let summary = config.keys().cloned().collect::<Vec<_>>().join(", ");
        out.push(Action::new(Ecs::UpdateCluster, summary, Value::Object(config)));
    }
    if t.contains("capacityProviders") || t.contains("defaultCapacityProviderStrategy") {
        // PutClusterCapacityProviders replaces both lists: send both, as desired.
        out.push(Action::new(
            Ecs::PutClusterCapacityProviders,
            "capacity providers",
            json!({
                "capacityProviders": i.desired.get("capacityProviders").cloned().unwrap_or(json!([])),
                "defaultCapacityProviderStrategy": i.desired.get("defaultCapacityProviderStrategy").cloned().unwrap_or(json!([])),
            }),
        ));
    }
    out.extend(tags_action(i, changes, Ecs::TagResource));
    out
}

fn service(i: &Input, changes: &[&Change], mut not_sent: Vec<NotSent>) -> (Vec<Action>, Vec<NotSent>) {
    let controller =
        i.live.and_then(|l| l.spec.pointer("/deploymentController/type")).and_then(Value::as_str).unwrap_or("ECS");
    let allowed = contract::service_fields_for_controller(controller);
    let mut fields = Map::new();
    for f in tops(changes) {
        if f == "tags" {
            continue;
        }
        if let Some(allowed) = allowed.filter(|a| !a.contains(&f)) {
            let _ = allowed;
            not_sent.push(NotSent {
                path: f.to_string(),
                why: format!(
                    "a service on the {controller} deployment controller changes this only through {}",
                    if controller == "CODE_DEPLOY" { "a CodeDeploy deployment" } else { "a new task set" }
                ),
            });
            continue;
        }
        let value = match f {
            // The manifest's reference; the revision this run settles on is looked up when the
            // call runs (a reused ACTIVE revision, or the one registered just before).
            "taskDefinition" => json!(match &i.r.spec {
                Spec::Service(s) => s.task_definition.clone(),
                _ => String::new(),
            }),
            // Moving between a launch type and a capacity provider strategy: the strategy, or
            // an empty one to go back to the launch type (UpdateService, capacityProviderStrategy).
            "launchType" => {
                fields.entry("capacityProviderStrategy").or_insert(json!([]));
                continue;
            }
            _ => i.desired.get(f).cloned().unwrap_or(Value::Null),
        };
        fields.insert(f.to_string(), value);
    }
    let mut out = Vec::new();
    if !fields.is_empty() {
        // "This parameter doesn't trigger a new service deployment" (UpdateService,
        // capacityProviderStrategy): without forceNewDeployment the tasks keep running where
        // they are.
        if fields.contains_key("capacityProviderStrategy") {
            fields.insert("forceNewDeployment".into(), json!(true));
        }
        let summary = fields.keys().filter(|k| *k != "forceNewDeployment").cloned().collect::<Vec<_>>().join(", ");
        let cluster = i.live.and_then(|l| l.spec.get("cluster")).cloned().unwrap_or(Value::Null);
        fields.insert("cluster".into(), cluster);
        out.push(Action::new(Ecs::UpdateService, summary, Value::Object(fields)));
    }
    out.extend(tags_action(i, changes, Ecs::TagResource));
    (out, not_sent)
}

// ---- delete ------------------------------------------------------------------------------------

/// The call that deletes a live resource (its dependents go first: the plan orders the steps).
pub fn delete(live: &Live) -> Vec<Action> {
    let name = &live.name;
    let id = json!(live.id);
    let action = match live.kind {
        Kind::SecurityGroup => Action::new(Ec2::DeleteSecurityGroup, format!("group {name}"), json!({"id": id})),
        Kind::TargetGroup => Action::new(Elb::DeleteTargetGroup, format!("target group {name}"), json!({"id": id})),
        // AWS deletes its listeners and rules with it.
        Kind::LoadBalancer => Action::new(Elb::DeleteLoadBalancer, format!("load balancer {name}"), json!({"id": id})),
        Kind::TaskDefinition => Action::new(
            Ecs::DeregisterTaskDefinition,
            format!("every ACTIVE revision of {name}"),
            json!({"family": name}),
        ),
        Kind::Cluster => Action::new(Ecs::DeleteCluster, format!("cluster {name}"), json!({"id": id})),
        // `force`: the reconciler deletes only what the set asked to be gone, without first
        // scaling it to zero.
        Kind::Service => Action::new(
            Ecs::DeleteService,
            format!("service {name}"),
            json!({"id": id, "cluster": live.spec.get("cluster"), "force": true}),
        ),
        Kind::LogGroup => super::log_group::delete(live),
        Kind::ScalableTarget => super::scalable_target::delete(live),
    };
    vec![action]
}

/// What real AWS requires of the calls, on an in-memory world: the plan engine with live state
/// built by hand.
#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::super::engine::{PlanOptions, plan};
    use super::super::model::{Live, Observed, Op, Step, TAG_NAME, TAG_SET};
    use crate::manifest::{Kind, ManifestSet};

    const SET: &str = "shop";

    fn set(yaml: &str) -> ManifestSet {
        let s = ManifestSet::from_texts([("t.yaml", yaml)]);
        assert!(s.errors().next().is_none(), "{:#?}", s.diagnostics);
        s
    }

    /// The one step of a one-resource set whose live state is `live` (owned by the set).
    fn step(yaml: &str, kind: Kind, live: Value) -> Step {
        step_with(yaml, kind, live, |_| {})
    }

    fn step_with(yaml: &str, kind: Kind, live: Value, more: impl FnOnce(&mut Live)) -> Step {
        let s = set(yaml);
        let mut o = Observed::default();
        let r = s.resources.iter().find(|r| r.kind == kind).expect("resource");
        let mut l = Live::new(kind, r.name(), format!("arn:aws:x:us-east-1:1:{kind}/{}", r.name()));
        l.spec = live;
        l.tags.insert(TAG_SET.into(), SET.into());
        l.tags.insert(TAG_NAME.into(), r.name().into());
        more(&mut l);
        o.live.insert((kind, r.name().to_string()), l);
        plan(SET, &s, &o, &PlanOptions::default()).steps.into_iter().find(|s| s.kind == kind).expect("step")
    }

    fn calls(s: &Step) -> Vec<String> {
        s.actions.iter().map(|a| a.call.to_string()).collect()
    }

    const HEAD: &str = "apiVersion: ecs-reconciler/v1\n";

    fn service(spec: &str) -> String {
        format!(
            "{HEAD}kind: Service\nmetadata: {{name: web}}\nspec:\n  cluster: arn:aws:ecs:us-east-1:1:cluster/main\n  taskDefinition: arn:aws:ecs:us-east-1:1:task-definition/web:3\n{spec}"
        )
    }

    fn live_service(extra: Value) -> Value {
        let mut v = json!({"cluster": "arn:aws:ecs:us-east-1:1:cluster/main",
            "taskDefinition": "arn:aws:ecs:us-east-1:1:task-definition/web:3", "desiredCount": 2});
        for (k, x) in extra.as_object().unwrap() {
            v[k] = x.clone();
        }
        v
    }

    #[test]
    fn a_drifted_default_is_sent_back_with_the_value_the_plan_shows() {
        let tg = format!(
            "{HEAD}kind: TargetGroup\nmetadata: {{name: web}}\nspec: {{protocol: HTTP, port: 80, vpc: vpc-1}}\n"
        );
        let s = step(
            &tg,
            Kind::TargetGroup,
            json!({"protocol": "HTTP", "port": 80, "vpc": "vpc-1", "healthCheckPath": "/changed"}),
        );
        assert_eq!(s.op, Op::Update);
        assert_eq!(calls(&s), ["elbv2:ModifyTargetGroup"]);
        // Only the drifted field, with AWS's default: nothing the plan did not show is sent.
        assert_eq!(s.actions[0].params, json!({"healthCheckPath": "/"}));
    }

    #[test]
    fn a_tag_repair_carries_the_ownership_tags_iam_requires_on_every_tagging_call() {
        // template.yaml lets TagResource/AddTags/CreateTags through only with
        // aws:RequestTag/ecs-reconciler:set present.
        let tags = "  tags: [{key: team, value: shop}]\n";
        let cases = [
            (
                format!(
                    "{HEAD}kind: TargetGroup\nmetadata: {{name: web}}\nspec:\n  protocol: HTTP\n  port: 80\n  vpc: vpc-1\n{tags}"
                ),
                Kind::TargetGroup,
                json!({"protocol": "HTTP", "port": 80, "vpc": "vpc-1"}),
                "elbv2:AddTags",
            ),
            (
                format!(
                    "{HEAD}kind: SecurityGroup\nmetadata: {{name: web}}\nspec:\n  description: web\n  vpc: vpc-1\n{tags}"
                ),
                Kind::SecurityGroup,
                json!({"description": "web", "vpc": "vpc-1", "ingress": [], "egress": [{"protocol": "-1", "cidr": "0.0.0.0/0"}]}),
                "ec2:CreateTags",
            ),
            (service(&format!("  desiredCount: 2\n{tags}")), Kind::Service, live_service(json!({})), "ecs:TagResource"),
        ];
        for (yaml, kind, live, call) in cases {
            let s = step_with(&yaml, kind, live, |l| {
                l.tags.insert("team".into(), "other".into());
            });
            assert_eq!(calls(&s), [call], "{kind}: {s:#?}");
            assert_eq!(
                s.actions[0].params,
                json!({"team": "shop", TAG_SET: SET, TAG_NAME: "web"}),
                "{kind}: the changed tag and the ownership tags"
            );
            assert_eq!(s.actions[0].summary, "tags team", "{kind}");
        }
    }

    #[test]
    fn a_capacity_provider_strategy_change_forces_a_new_deployment() {
        let yaml =
            service("  desiredCount: 2\n  capacityProviderStrategy: [{capacityProvider: FARGATE_SPOT, weight: 1}]\n");
        let s = step(&yaml, Kind::Service, live_service(json!({"launchType": "FARGATE"})));
        assert_eq!((s.op, calls(&s)), (Op::Update, vec!["ecs:UpdateService".to_string()]), "{s:#?}");
        assert_eq!(s.actions[0].params["forceNewDeployment"], json!(true));
        assert_eq!(
            s.actions[0].params["capacityProviderStrategy"],
            json!([{"capacityProvider": "FARGATE_SPOT", "weight": 1, "base": 0}])
        );
    }

    #[test]
    fn back_from_a_strategy_to_a_launch_type_is_an_empty_strategy_and_one_launch_type_to_another_a_replacement() {
        let yaml = service("  desiredCount: 2\n  launchType: FARGATE\n");
        let s = step(
            &yaml,
            Kind::Service,
            live_service(
                json!({"capacityProviderStrategy": [{"capacityProvider": "FARGATE", "weight": 1, "base": 0}]}),
            ),
        );
        assert_eq!(s.op, Op::Update, "{s:#?}");
        assert_eq!(s.actions[0].params["capacityProviderStrategy"], json!([]));
        assert_eq!(s.actions[0].params["forceNewDeployment"], json!(true));
        let s = step(&yaml, Kind::Service, live_service(json!({"launchType": "EC2"})));
        assert_eq!(s.op, Op::Replace, "{s:#?}");
    }

    #[test]
    fn a_code_deploy_service_gets_only_what_update_service_allows_it() {
        let yaml = service("  desiredCount: 3\n");
        let s = step(
            &yaml,
            Kind::Service,
            live_service(
                json!({"deploymentController": {"type": "CODE_DEPLOY"}, "taskDefinition": "arn:aws:ecs:us-east-1:1:task-definition/web:2"}),
            ),
        );
        assert_eq!(calls(&s), ["ecs:UpdateService"]);
        let sent: Vec<&String> = s.actions[0].params.as_object().unwrap().keys().collect();
        assert!(
            sent.contains(&&"desiredCount".to_string()) && !sent.contains(&&"taskDefinition".to_string()),
            "{sent:?}"
        );
        assert!(s.reason.as_deref().unwrap_or_default().contains("taskDefinition"), "{:?}", s.reason);
    }

    #[test]
    fn a_deployment_controller_change_is_reported_and_not_sent() {
        let yaml = service("  desiredCount: 2\n  deploymentController: {type: ECS}\n");
        let s = step(&yaml, Kind::Service, live_service(json!({"deploymentController": {"type": "EXTERNAL"}})));
        assert_eq!(s.op, Op::Refuse, "{s:#?}");
        assert!(s.actions.is_empty());
        assert!(s.reason.unwrap().contains("deploymentController"));
    }

    #[test]
    fn listener_certificates_one_default_and_the_rest_added_and_removed() {
        let lb = format!(
            "{HEAD}kind: LoadBalancer\nmetadata: {{name: web}}\nspec:\n  subnets: [subnet-a, subnet-b]\n  listeners:\n    - port: 443\n      protocol: HTTPS\n      \
             certificates: [{{certificateArn: arn:c1}}, {{certificateArn: arn:c2}}, {{certificateArn: arn:c3}}]\n      \
             defaultActions: [{{type: fixed-response, fixedResponseConfig: {{statusCode: '404'}}}}]\n"
        );
        let live = json!({"type": "application", "scheme": "internet-facing", "ipAddressType": "ipv4", "subnets": ["subnet-a", "subnet-b"],
            "listeners": [{"port": 443, "protocol": "HTTPS", "certificates": [{"certificateArn": "arn:c0"}, {"certificateArn": "arn:c2"}, {"certificateArn": "arn:c9"}],
                "defaultActions": [{"type": "fixed-response", "fixedResponseConfig": {"statusCode": "404"}}], "rules": []}]});
        let s = step_with(&lb, Kind::LoadBalancer, live, |l| {
            l.parts.insert("listener:443".into(), "arn:l443".into());
        });
        assert_eq!(
            calls(&s),
            ["elbv2:ModifyListener", "elbv2:AddListenerCertificates", "elbv2:RemoveListenerCertificates"],
            "{s:#?}"
        );
        assert_eq!(s.actions[0].params, json!({"certificates": ["arn:c1"]}));
        assert_eq!(s.actions[1].params, json!({"certificates": ["arn:c3"]}));
        assert_eq!(s.actions[2].params, json!({"certificates": ["arn:c9"]}));

        // A new listener: CreateListener takes exactly one certificate.
        let live = json!({"type": "application", "scheme": "internet-facing", "ipAddressType": "ipv4", "subnets": ["subnet-a", "subnet-b"], "listeners": []});
        let s = step(&lb, Kind::LoadBalancer, live);
        assert_eq!(calls(&s), ["elbv2:CreateListener", "elbv2:AddListenerCertificates"]);
        assert_eq!(s.actions[0].params["certificates"], json!(["arn:c1"]));
        assert_eq!(s.actions[1].params["certificates"], json!(["arn:c2", "arn:c3"]));
    }

    #[test]
    fn security_group_rules_are_authorized_before_revoked_and_icmp_keeps_its_code() {
        let sg = format!(
            "{HEAD}kind: SecurityGroup\nmetadata: {{name: web}}\nspec:\n  vpc: vpc-1\n  description: d\n  ingress:\n    \
             - {{protocol: tcp, fromPort: 443, toPort: 443, cidr: 0.0.0.0/0}}\n    - {{protocol: icmp, fromPort: 8, cidr: 10.0.0.0/8}}\n"
        );
        let live = json!({"vpc": "vpc-1", "description": "d", "egress": [{"protocol": "-1", "cidr": "0.0.0.0/0"}],
            "ingress": [{"protocol": "tcp", "fromPort": 22, "toPort": 22, "cidr": "0.0.0.0/0"},
                        {"protocol": "icmp", "fromPort": 8, "toPort": -1, "cidr": "10.0.0.0/8"}]});
        let s = step(&sg, Kind::SecurityGroup, live);
        assert_eq!(calls(&s), ["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"]);
        assert_eq!(s.actions[0].summary, "ingress tcp/443 from 0.0.0.0/0");
        assert_eq!(s.actions[1].summary, "ingress tcp/22 from 0.0.0.0/0");
    }

    #[test]
    fn a_network_load_balancer_cannot_gain_or_lose_all_its_security_groups_in_place() {
        let nlb = format!(
            "{HEAD}kind: LoadBalancer\nmetadata: {{name: n}}\nspec:\n  type: network\n  subnets: [subnet-a]\n  securityGroups: [sg-1]\n"
        );
        let live = json!({"type": "network", "scheme": "internet-facing", "ipAddressType": "ipv4", "subnets": ["subnet-a"], "listeners": []});
        let s = step(&nlb, Kind::LoadBalancer, live);
        assert_eq!(s.op, Op::Replace, "{s:#?}");
        let live = json!({"type": "network", "scheme": "internet-facing", "ipAddressType": "ipv4", "subnets": ["subnet-a"], "securityGroups": ["sg-2"], "listeners": []});
        let s = step(&nlb, Kind::LoadBalancer, live);
        assert_eq!((s.op, calls(&s)), (Op::Update, vec!["elbv2:SetSecurityGroups".to_string()]));
    }

    #[test]
    fn a_new_group_authorizes_its_rules_and_revokes_the_default_egress_it_does_not_want() {
        let sg = format!(
            "{HEAD}kind: SecurityGroup\nmetadata: {{name: web}}\nspec:\n  vpc: vpc-1\n  description: d\n  egress: [{{protocol: tcp, fromPort: 443, toPort: 443, cidr: 0.0.0.0/0}}]\n"
        );
        let s = set(&sg);
        let p = plan(SET, &s, &Observed::default(), &PlanOptions::default());
        assert_eq!(
            calls(&p.steps[0]),
            ["ec2:CreateSecurityGroup", "ec2:AuthorizeSecurityGroupEgress", "ec2:RevokeSecurityGroupEgress"]
        );
    }

    #[test]
    fn egress_left_out_keeps_aws_defaults_and_an_empty_egress_means_none() {
        let sg = |egress: &str| {
            format!(
                "{HEAD}kind: SecurityGroup\nmetadata: {{name: web}}\nspec:\n  vpc: vpc-1\n  description: d\n{egress}"
            )
        };
        let live = json!({"vpc": "vpc-1", "description": "d", "ingress": [],
            "egress": [{"protocol": "-1", "cidr": "0.0.0.0/0"}, {"protocol": "-1", "ipv6Cidr": "::/0"}]});
        assert_eq!(step(&sg(""), Kind::SecurityGroup, live.clone()).op, Op::NoOp);
        let s = step(&sg("  egress: []\n"), Kind::SecurityGroup, live);
        assert_eq!(calls(&s), ["ec2:RevokeSecurityGroupEgress"]);
        assert_eq!(s.actions[0].summary, "egress all from 0.0.0.0/0; egress all from ::/0");
        let p = plan(SET, &set(&sg("  egress: []\n")), &Observed::default(), &PlanOptions::default());
        assert_eq!(calls(&p.steps[0]), ["ec2:CreateSecurityGroup", "ec2:RevokeSecurityGroupEgress"]);
    }

    #[test]
    fn cluster_settings_send_only_the_named_ones_and_capacity_providers_both_lists() {
        let yaml = format!(
            "{HEAD}kind: Cluster\nmetadata: {{name: main}}\nspec:\n  settings: [{{name: containerInsights, value: enhanced}}]\n  \
             capacityProviders: [FARGATE]\n  defaultCapacityProviderStrategy: [{{capacityProvider: FARGATE, weight: 1}}]\n"
        );
        let live = json!({"settings": [{"name": "containerInsights", "value": "disabled"}, {"name": "other", "value": "x"}],
            "capacityProviders": ["FARGATE", "FARGATE_SPOT"], "defaultCapacityProviderStrategy": [{"capacityProvider": "FARGATE", "weight": 1, "base": 0}]});
        let s = step(&yaml, Kind::Cluster, live);
        assert_eq!(calls(&s), ["ecs:UpdateClusterSettings", "ecs:PutClusterCapacityProviders"]);
        assert_eq!(s.actions[0].params, json!({"settings": [{"name": "containerInsights", "value": "enhanced"}]}));
        assert_eq!(
            s.actions[1].params,
            json!({"capacityProviders": ["FARGATE"], "defaultCapacityProviderStrategy": [{"capacityProvider": "FARGATE", "weight": 1, "base": 0}]})
        );
    }

    #[test]
    fn a_service_s_load_balancers_are_sent_whole_with_target_groups_by_name() {
        let yaml = service(
            "  desiredCount: 2\n  loadBalancers: [{targetGroupArn: arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/web/1, containerName: web, containerPort: 80}]\n",
        );
        let s = step(&yaml, Kind::Service, live_service(json!({"loadBalancers": []})));
        assert_eq!(calls(&s), ["ecs:UpdateService"]);
        assert_eq!(
            s.actions[0].params["loadBalancers"],
            json!([{"targetGroup": "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/web/1", "containerName": "web", "containerPort": 80}])
        );
    }
}
