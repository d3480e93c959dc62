//! `sync` and `status` as a team's CI and on-call use them, against the emulator's S3.

mod common;

use common::{Moto, cli, cli_json, create_network, example_set, lambda_ctx};
use ecs_reconciler::aws::Clients;
use ecs_reconciler::lambda::handler::handle;
use serde_json::json;

const URL: &str = "s3://manifests/prod";

async fn versions(clients: &Clients, key: &str) -> usize {
    let out = clients.s3.list_object_versions().bucket("manifests").prefix(key).send().await.unwrap();
    out.versions().iter().filter(|v| v.key() == Some(key)).count()
}

async fn keys(clients: &Clients) -> Vec<String> {
    let out = clients.s3.list_objects_v2().bucket("manifests").send().await.unwrap();
    out.contents().iter().filter_map(|o| o.key().map(str::to_string)).collect()
}

async fn bucket(moto: &Moto) -> Clients {
    let clients = Clients::new(&moto.sdk_config());
    clients.s3.create_bucket().bucket("manifests").send().await.unwrap();
    let versioning = aws_sdk_s3::types::VersioningConfiguration::builder()
        .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
        .build();
    clients.s3.put_bucket_versioning().bucket("manifests").versioning_configuration(versioning).send().await.unwrap();
    clients
}

#[tokio::test]
async fn sync_uploads_a_valid_set_once_and_writes_nothing_when_nothing_changed() {
    let moto = Moto::start();
    let clients = bucket(&moto).await;
    let (code, first) = cli_json(&moto, &["sync", "desired", URL, "--commit", "abc123"]);
    assert_eq!(code, 0, "{first:#}");
    assert_eq!(first["generation_written"], true);
    assert_eq!(first["uploaded"].as_array().unwrap().len(), 4);
    let mut k = keys(&clients).await;
    k.sort();
    assert_eq!(
        k,
        [
            "prod/generation.json",
            "prod/manifests/cluster.yaml",
            "prod/manifests/security-groups.yaml",
            "prod/manifests/web.yaml",
            "prod/manifests/worker.yaml"
        ]
    );

    let (code, second) = cli_json(&moto, &["sync", "desired", URL, "--commit", "def456"]);
    assert_eq!(code, 0);
    assert_eq!(second["generation_written"], false, "{second:#}");
    assert_eq!(versions(&clients, "prod/generation.json").await, 1, "the second sync wrote generation.json");
    assert_eq!(versions(&clients, "prod/manifests/web.yaml").await, 1);

    // A file that left the set is deleted, after the new generation; only changed files upload.
    let dir = tempfile::tempdir().unwrap();
    for f in ["cluster.yaml", "security-groups.yaml", "web.yaml"] {
        std::fs::copy(format!("desired/{f}"), dir.path().join(f)).unwrap();
    }
    let (code, third) = cli_json(&moto, &["sync", dir.path().to_str().unwrap(), URL, "--commit", "0a1b2c"]);
    assert_eq!(code, 0, "{third:#}");
    assert_eq!((third["uploaded"].clone(), third["deleted"].clone()), (json!([]), json!(["worker.yaml"])));
    assert!(!keys(&clients).await.contains(&"prod/manifests/worker.yaml".to_string()));
}

#[tokio::test]
async fn an_invalid_set_is_not_uploaded() {
    let moto = Moto::start();
    let clients = bucket(&moto).await;
    let (code, out, err) =
        cli(&moto, &["sync", "tests/fixtures/invalid/dangling-cluster.yaml", URL, "--commit", "abc"]);
    assert_eq!(code, 1, "{out}");
    assert!(err.contains("dangling-cluster.yaml:8:12: error[dangling-reference]"), "{err}");
    assert!(err.contains("nothing was uploaded"), "{err}");
    assert!(keys(&clients).await.is_empty());
}

#[tokio::test]
async fn status_shows_every_resource_and_the_last_runs() {
    let moto = Moto::start();
    let clients = bucket(&moto).await;
    let network = create_network(&moto, &clients.ec2).await;
    let dir = example_set("prod", &network);
    let (code, _, err) = cli(&moto, &["sync", dir.path().join("prod").to_str().unwrap(), URL, "--commit", "c0ffee1"]);
    assert_eq!(code, 0, "{err}");
    // The function's handler, in process, as the S3 event would run it.
    let ctx = lambda_ctx(&moto, "manifests", "prod");
    let answer = handle(&ctx, json!({"action": "apply", "set": "prod"}), "req-1").await.unwrap();
    assert_eq!(answer["run"]["errors"], json!([]), "{answer:#}");

    let (code, out, err) = cli(&moto, &["status", URL]);
    assert_eq!(code, 0, "{err}");
    for line in ["Service/web", "TargetGroup/web", "SecurityGroup/web-alb", "Cluster/main", "invoke-apply"] {
        assert!(out.contains(line), "{line} missing:\n{out}");
    }
    assert!(
        out.lines().any(|l| l.starts_with("Service/web") && l.contains("Progressing") && l.contains("c0ffee1")),
        "{out}"
    );
    assert!(out.lines().any(|l| l.starts_with("TargetGroup/web") && l.contains("Synced")), "{out}");
    let (_, json) = cli_json(&moto, &["status", URL]);
    assert_eq!(json["runs"][0]["trigger"], "invoke-apply");
}
