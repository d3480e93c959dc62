//! Field-level differences between desired and live state, both already normalised.
//!
//! Only what the manifest says is compared: a field the manifest leaves out is AWS's to fill and
//! is never drift (the normalisers write the defaults that matter into the desired side, so a
//! field that goes back to its default is still compared). Lists are compared element by element
//! when their lengths agree (so a changed image shows as `containerDefinitions[0].image`), whole
//! otherwise.

use serde_json::Value;

use super::model::Change;

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
        (Value::Array(d), Value::Array(l)) if d.len() == l.len() && d.iter().all(Value::is_object) => {
            for (i, (dv, lv)) in d.iter().zip(l).enumerate() {
                diff(dv, Some(lv), &format!("{path}[{i}]"), out);
            }
        }
        (d, l) if d == l => {}
        (d, l) => out.push(Change { path: path.to_string(), before: Some(l.clone()), after: Some(d.clone()) }),
    }
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
    fn lists_of_objects_of_equal_length_diff_by_element() {
        let d = json!({"containerDefinitions": [{"name": "web", "image": "web:2"}]});
        let l = json!({"containerDefinitions": [{"name": "web", "image": "web:1", "cpu": 0}]});
        assert_eq!(
            changes(d, l),
            [("containerDefinitions[0].image".into(), Some(json!("web:1")), Some(json!("web:2")))]
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
