//! The JSON Schema is what an editor sees: it must accept the example set and reject what the
//! validator rejects for shape (unknown fields, wrong types, unknown kinds).

use ecs_reconciler::manifest::{ManifestSet, manifest_files, schema::manifest_schema, source::parse_documents};
use serde_json::json;

fn validator() -> jsonschema::Validator {
    jsonschema::validator_for(&manifest_schema()).expect("the schema is a valid JSON Schema")
}

#[test]
fn every_document_of_the_example_set_matches_the_schema() {
    let v = validator();
    let files = manifest_files(&["desired".into()]).unwrap();
    let mut documents = 0;
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for doc in parse_documents(&text).unwrap() {
            let errors: Vec<String> =
                v.iter_errors(&doc.value).map(|e| format!("{} at {}", e, e.instance_path())).collect();
            assert!(errors.is_empty(), "{} document {}: {errors:#?}", file.display(), doc.index);
            documents += 1;
        }
    }
    assert_eq!(documents, ManifestSet::load(&["desired".into()]).unwrap().resources.len());
}

#[test]
fn the_schema_rejects_what_the_parser_rejects_for_shape() {
    let v = validator();
    let ok = json!({"apiVersion": "ecs-reconciler/v1", "kind": "Cluster", "metadata": {"name": "main"}, "spec": {}});
    assert!(v.is_valid(&ok));
    let cases = [
        (
            "unknown kind",
            json!({"apiVersion": "ecs-reconciler/v1", "kind": "Clustr", "metadata": {"name": "a"}, "spec": {}}),
        ),
        ("unknown apiVersion", json!({"apiVersion": "v2", "kind": "Cluster", "metadata": {"name": "a"}, "spec": {}})),
        (
            "unknown spec field",
            json!({"apiVersion": "ecs-reconciler/v1", "kind": "Cluster", "metadata": {"name": "a"}, "spec": {"setings": []}}),
        ),
        (
            "unknown metadata field",
            json!({"apiVersion": "ecs-reconciler/v1", "kind": "Cluster", "metadata": {"name": "a", "labels": {}}, "spec": {}}),
        ),
        (
            "wrong type",
            json!({"apiVersion": "ecs-reconciler/v1", "kind": "Service", "metadata": {"name": "a"},
            "spec": {"cluster": "c", "taskDefinition": "t", "desiredCount": "two"}}),
        ),
        (
            "missing container image",
            json!({"apiVersion": "ecs-reconciler/v1", "kind": "TaskDefinition", "metadata": {"name": "a"},
            "spec": {"containerDefinitions": [{"name": "x"}]}}),
        ),
    ];
    for (what, doc) in cases {
        assert!(!v.is_valid(&doc), "the schema accepted a document with {what}");
    }
}
