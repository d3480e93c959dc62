//! Field-level differences between desired and live state, both already normalised.
//!
//! Only what the manifest says is compared: a field the manifest leaves out is AWS's to fill and
//! is never drift (the normalisers write the defaults that matter into the desired side, so a
//! field that goes back to its default is still compared). Lists whose elements have an identity
//! (a container by its name, a listener by its port, a rule by its priority, a security-group
//! rule by what it allows) are compared element by element under that identity, so a changed
//! image shows as `containerDefinitions[web].image` and a stray rule as one removed
//! `ingress[tcp/22 from 0.0.0.0/0]`. Other lists of objects of equal length compare by position;
//! the rest whole.

use std::collections::BTreeMap;

use serde_json::Value;

use super::model::Change;

/// How the elements of a list are told apart, by the list's field name.
struct Identity {
    key: fn(&Value) -> Option<String>,
    /// Whether a live element the manifest does not name is drift (an extra rule, container or
    /// listener is; a cluster setting AWS adds from the account's defaults is not).
    extra_is_drift: bool,
}

fn field(name: &'static str) -> impl Fn(&Value) -> Option<String> {
    move |v| match v.get(name)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn identity(list: &str) -> Option<Identity> {
    let drift = |key| Some(Identity { key, extra_is_drift: true });
    match list {
        "containerDefinitions" | "environment" | "secrets" | "volumes" => drift(|v| field("name")(v)),
        "listeners" => drift(|v| field("port")(v)),
        "rules" => drift(|v| field("priority")(v)),
        "scalingPolicies" => drift(|v| field("policyName")(v)),
        "scheduledActions" => drift(|v| field("scheduledActionName")(v)),
        "ingress" | "egress" => drift(|v| Some(rule_label(v))),
        "capacityProviderStrategy" | "defaultCapacityProviderStrategy" => drift(|v| field("capacityProvider")(v)),
        "loadBalancers" => drift(|v| {
            let part = |k: &str| field_any(v, k);
            Some(format!("{}/{}:{}", part("targetGroup"), part("containerName"), part("containerPort")))
        }),
        "settings" => Some(Identity { key: |v| field("name")(v), extra_is_drift: false }),
        _ => None,
    }
}

fn field_any(v: &Value, key: &str) -> String {
    match v.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    }
}

/// A security-group rule as a person reads it: `tcp/22 from 0.0.0.0/0`, `all from sg web-alb`.
pub fn rule_label(v: &Value) -> String {
    let protocol = match v.get("protocol").and_then(Value::as_str) {
        Some("-1") | None => "all".to_string(),
        Some(p) => p.to_string(),
    };
    let icmp = matches!(protocol.as_str(), "icmp" | "icmpv6");
    let code = |x: &Value| if x == -1 { "any".to_string() } else { x.to_string() };
    let ports = match (v.get("fromPort"), v.get("toPort")) {
        // ICMP's "ports" are its type and code.
        (Some(t), _) if icmp && t == -1 => " any".to_string(),
        (Some(t), Some(c)) if icmp => format!(" type {t} code {}", code(c)),
        (Some(t), None) if icmp => format!(" type {t}"),
        (Some(f), Some(t)) if f == t => format!("/{f}"),
        (Some(f), Some(t)) => format!("/{f}-{t}"),
        (Some(f), None) => format!("/{f}"),
        _ => String::new(),
    };
    let source = [("cidr", ""), ("ipv6Cidr", ""), ("prefixList", "prefix list "), ("securityGroup", "sg ")]
        .iter()
        .filter_map(|(k, label)| v.get(*k).and_then(Value::as_str).map(|s| format!("{label}{s}")))
        .collect::<Vec<_>>()
        .join(", ");
    format!("{protocol}{ports} from {source}")
}

/// Append the differences below `path` to `out`.
pub fn diff(desired: &Value, live: Option<&Value>, path: &str, out: &mut Vec<Change>) {
    let Some(live) = live else {
        out.push(Change { path: path.to_string(), before: None, after: Some(desired.clone()) });
        return;
    };
    match (desired, live) {
        (Value::Object(d), Value::Object(l)) => {
            for (k, dv) in d {
                diff(dv, l.get(k), &join(path, k), out);
            }
        }
        (Value::Array(d), Value::Array(l)) if keyed(d, l, path, out) => {}
        (Value::Array(d), Value::Array(l)) if d.len() == l.len() && d.iter().all(Value::is_object) => {
            for (i, (dv, lv)) in d.iter().zip(l).enumerate() {
                diff(dv, Some(lv), &format!("{path}[{i}]"), out);
            }
        }
        (d, l) if d == l => {}
        (d, l) => out.push(Change { path: path.to_string(), before: Some(l.clone()), after: Some(d.clone()) }),
    }
}

/// Element-by-element differences of a list with an identity; false when the list has none (or
/// its keys are not unique), so the caller compares it another way.
fn keyed(desired: &[Value], live: &[Value], path: &str, out: &mut Vec<Change>) -> bool {
    let name = path.rsplit(['.', ']']).next().unwrap_or(path);
    let Some(identity) = identity(name) else {
        return false;
    };
    let index = |list: &[Value]| -> Option<BTreeMap<String, Value>> {
        let mut m = BTreeMap::new();
        for v in list {
            if m.insert((identity.key)(v)?, v.clone()).is_some() {
                return None;
            }
        }
        Some(m)
    };
    let (Some(d), Some(l)) = (index(desired), index(live)) else {
        return false;
    };
    for (k, dv) in &d {
        let at = format!("{path}[{k}]");
        match l.get(k) {
            Some(lv) => diff(dv, Some(lv), &at, out),
            None => out.push(Change { path: at, before: None, after: Some(dv.clone()) }),
        }
    }
    if identity.extra_is_drift {
        for (k, lv) in l.iter().filter(|(k, _)| !d.contains_key(*k)) {
            out.push(Change { path: format!("{path}[{k}]"), before: Some(lv.clone()), after: None });
        }
    }
    true
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_string() } else { format!("{path}.{key}") }
}

/// Whether `path` falls under one of the `ignoreDifferences` entries (written with or without a
/// leading `spec.`).
pub fn ignored(path: &str, ignore: &[String]) -> bool {
    ignore.iter().any(|i| {
        let i = i.strip_prefix("spec.").unwrap_or(i);
        path == i || path.starts_with(&format!("{i}.")) || path.starts_with(&format!("{i}["))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn changes(d: Value, l: Value) -> Vec<(String, Option<Value>, Option<Value>)> {
        let mut out = Vec::new();
        diff(&d, Some(&l), "", &mut out);
        out.into_iter().map(|c| (c.path, c.before, c.after)).collect()
    }

    #[test]
    fn fields_the_manifest_leaves_out_are_not_drift() {
        assert!(changes(json!({"port": 80}), json!({"port": 80, "loadBalancerArns": ["x"]})).is_empty());
    }

    #[test]
    fn a_changed_scalar_has_before_and_after() {
        assert_eq!(
            changes(json!({"desiredCount": 2}), json!({"desiredCount": 0})),
            [("desiredCount".into(), Some(json!(0)), Some(json!(2)))]
        );
    }

    #[test]
    fn a_missing_field_has_no_before() {
        assert_eq!(changes(json!({"a": {"b": 1}}), json!({"a": {}})), [("a.b".into(), None, Some(json!(1)))]);
    }

    #[test]
    fn lists_with_an_identity_diff_by_it() {
        let d = json!({"containerDefinitions": [{"name": "side", "image": "s:1"}, {"name": "web", "image": "web:2"}]});
        let l = json!({"containerDefinitions": [{"name": "web", "image": "web:1", "cpu": 0}, {"name": "side", "image": "s:1"}]});
        assert_eq!(
            changes(d, l),
            [("containerDefinitions[web].image".into(), Some(json!("web:1")), Some(json!("web:2")))]
        );
    }

    #[test]
    fn a_stray_rule_or_listener_is_one_removed_element_and_a_missing_one_one_added() {
        let d = json!({"ingress": [{"protocol": "tcp", "fromPort": 443, "toPort": 443, "cidr": "0.0.0.0/0"}]});
        let l = json!({"ingress": [
            {"protocol": "tcp", "fromPort": 22, "toPort": 22, "cidr": "0.0.0.0/0"},
            {"protocol": "tcp", "fromPort": 443, "toPort": 443, "cidr": "0.0.0.0/0"}]});
        let c = changes(d, l);
        assert_eq!(c.len(), 1, "{c:?}");
        assert_eq!(c[0].0, "ingress[tcp/22 from 0.0.0.0/0]");
        assert_eq!(c[0].2, None);

        let d = json!({"listeners": [{"port": 80}, {"port": 443, "protocol": "HTTPS"}]});
        let l = json!({"listeners": [{"port": 80}]});
        assert_eq!(changes(d, l), [("listeners[443]".into(), None, Some(json!({"port": 443, "protocol": "HTTPS"})))]);
    }

    #[test]
    fn settings_the_manifest_does_not_name_are_not_drift() {
        let d = json!({"settings": []});
        let l = json!({"settings": [{"name": "containerInsights", "value": "enhanced"}]});
        assert!(changes(d, l).is_empty());
        let d = json!({"settings": [{"name": "containerInsights", "value": "disabled"}]});
        let l = json!({"settings": [{"name": "containerInsights", "value": "enhanced"}]});
        assert_eq!(changes(d, l)[0].0, "settings[containerInsights].value");
    }

    #[test]
    fn rule_labels_read_as_people_write_them() {
        assert_eq!(rule_label(&json!({"protocol": "-1", "cidr": "0.0.0.0/0"})), "all from 0.0.0.0/0");
        assert_eq!(
            rule_label(&json!({"protocol": "tcp", "fromPort": 1024, "toPort": 2048, "securityGroup": "web-alb"})),
            "tcp/1024-2048 from sg web-alb"
        );
        assert_eq!(
            rule_label(&json!({"protocol": "icmp", "fromPort": 8, "toPort": -1, "cidr": "10.0.0.0/8"})),
            "icmp type 8 code any from 10.0.0.0/8"
        );
    }

    #[test]
    fn lists_of_other_lengths_or_scalars_diff_whole() {
        let c = changes(json!({"subnets": ["a", "b"]}), json!({"subnets": ["a"]}));
        assert_eq!(c, [("subnets".into(), Some(json!(["a"])), Some(json!(["a", "b"])))]);
        let c = changes(json!({"rules": [{"p": 1}, {"p": 2}]}), json!({"rules": [{"p": 1}]}));
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].0, "rules");
    }

    #[test]
    fn ignore_differences_covers_the_path_and_below() {
        let ignore = vec!["desiredCount".to_string(), "spec.deploymentConfiguration".to_string()];
        assert!(ignored("desiredCount", &ignore));
        assert!(ignored("deploymentConfiguration.maximumPercent", &ignore));
        assert!(!ignored("desiredCountX", &ignore));
        assert!(!ignored("taskDefinition", &ignore));
    }
}
