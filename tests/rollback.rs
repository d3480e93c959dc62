//! `rollback` as on-call uses it: a bad commit undone from the bucket's object versions, without
//! git, and the next run putting the old content back in ECS.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{Moto, cli, cli_json, create_network, example_set, lambda_ctx};
use ecs_reconciler::aws::Clients;
use ecs_reconciler::lambda::handler::{Ctx, handle};
use ecs_reconciler::store::{Generation, sha256_hex};
use serde_json::json;

const URL: &str = "s3://manifests/prod";
const COMMIT_A: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678";
const COMMIT_B: &str = "b7e6d5c4b3a29180f7e6d5c4b3a2918076543210";
const IMAGE_A: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:1.4.2";
const IMAGE_B: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:1.5.0";

async fn bucket(moto: &Moto) -> Clients {
    let clients = Clients::new(&moto.sdk_config());
    clients.s3.create_bucket().bucket("manifests").send().await.unwrap();
    let versioning = aws_sdk_s3::types::VersioningConfiguration::builder()
        .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
        .build();
    clients.s3.put_bucket_versioning().bucket("manifests").versioning_configuration(versioning).send().await.unwrap();
    clients
}

/// VersionIds of exactly `key`.
async fn versions(clients: &Clients, key: &str) -> Vec<String> {
    let out = clients.s3.list_object_versions().bucket("manifests").prefix(key).send().await.unwrap();
    out.versions().iter().filter(|v| v.key() == Some(key)).filter_map(|v| v.version_id().map(str::to_string)).collect()
}

/// Every key's version count (delete markers included): what "nothing written" is checked on.
async fn bucket_history(clients: &Clients) -> BTreeMap<String, usize> {
    let out = clients.s3.list_object_versions().bucket("manifests").send().await.unwrap();
    let mut counts = BTreeMap::new();
    for key in out.versions().iter().filter_map(|v| v.key()).chain(out.delete_markers().iter().filter_map(|m| m.key()))
    {
        *counts.entry(key.to_string()).or_default() += 1;
    }
    counts
}

async fn current(clients: &Clients, key: &str) -> Option<Vec<u8>> {
    ecs_reconciler::store::get(clients, "manifests", key).await.unwrap().map(|(b, _)| b)
}

async fn generation(clients: &Clients) -> Generation {
    serde_json::from_slice(&current(clients, "prod/generation.json").await.unwrap()).unwrap()
}

/// The generation.json VersionId written last.
async fn current_generation_version(clients: &Clients) -> String {
    let out = clients.s3.head_object().bucket("manifests").key("prod/generation.json").send().await.unwrap();
    out.version_id().unwrap().to_string()
}

/// Commit B's folder: A with web's image bumped and the worker removed.
fn commit_b(a: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(a).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap();
        if name == "worker.yaml" {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let text = if name == "web.yaml" {
            assert!(text.contains(IMAGE_A), "desired/web.yaml no longer runs {IMAGE_A}");
            text.replace(IMAGE_A, IMAGE_B)
        } else {
            text
        };
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

fn sync(moto: &Moto, dir: &Path, commit: &str) {
    let (code, out, err) = cli(moto, &["sync", dir.to_str().unwrap(), URL, "--commit", commit]);
    assert_eq!(code, 0, "sync {commit}:\n{out}\n{err}");
}

/// The image the web service runs, as ECS has it.
async fn web_image(clients: &Clients) -> String {
    let out = clients.ecs.describe_services().cluster("main").services("web").send().await.unwrap();
    let td = out.services()[0].task_definition().unwrap().to_string();
    let out = clients.ecs.describe_task_definition().task_definition(td).send().await.unwrap();
    out.task_definition().unwrap().container_definitions()[0].image().unwrap().to_string()
}

/// The Lambda's handler, in process, as the S3 event for the new generation.json would run it.
async fn run(ctx: &Ctx, request: &str) {
    let answer = handle(ctx, json!({"action": "apply", "set": "prod"}), request).await.unwrap();
    assert_eq!(answer["run"]["errors"], json!([]), "{answer:#}");
}

struct Deployed {
    moto: Moto,
    clients: Clients,
    ctx: Ctx,
    /// Commit A's folder (a copy of desired/ that works on the emulator).
    _a: tempfile::TempDir,
    a: std::path::PathBuf,
    /// The generation.json VersionId sync wrote for A.
    a_version: String,
    a_generation: Generation,
}

/// A synced and applied, then B synced and applied: the bad commit is live.
async fn a_then_b() -> Deployed {
    let moto = Moto::start();
    let clients = bucket(&moto).await;
    let network = create_network(&moto, &clients.ec2).await;
    let dir = example_set("prod", &network);
    let a = dir.path().join("prod");
    let ctx = lambda_ctx(&moto, "manifests", "prod");
    sync(&moto, &a, COMMIT_A);
    let a_version = current_generation_version(&clients).await;
    let a_generation = generation(&clients).await;
    run(&ctx, "req-a").await;
    assert_eq!(web_image(&clients).await, IMAGE_A);

    let b = commit_b(&a);
    sync(&moto, b.path(), COMMIT_B);
    assert!(current(&clients, "prod/manifests/worker.yaml").await.is_none());
    run(&ctx, "req-b").await;
    assert_eq!(web_image(&clients).await, IMAGE_B);
    Deployed { moto, clients, ctx, _a: dir, a, a_version, a_generation }
}

/// The bucket holds A again, under the label `A (rollback)`.
async fn assert_a_restored(d: &Deployed) {
    let g = generation(&d.clients).await;
    assert_eq!(g.files, d.a_generation.files);
    assert_eq!(g.commit, format!("{COMMIT_A} (rollback)"));
    for f in ["web.yaml", "worker.yaml", "cluster.yaml", "security-groups.yaml"] {
        assert_eq!(
            current(&d.clients, &format!("prod/manifests/{f}")).await.as_deref(),
            Some(std::fs::read(d.a.join(f)).unwrap().as_slice()),
            "{f} does not have A's content"
        );
    }
    assert_eq!(sha256_hex(&current(&d.clients, "prod/manifests/web.yaml").await.unwrap()), g.files["web.yaml"]);
}

#[tokio::test]
async fn rollback_to_a_commit_restores_its_files_and_the_next_run_applies_them() {
    let d = a_then_b().await;
    let (code, report) = cli_json(&d.moto, &["rollback", URL, "--to", &COMMIT_A[..7]]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["generation_written"], true, "{report:#}");
    assert_eq!(report["uploaded"], json!(["web.yaml", "worker.yaml"]));
    assert_eq!(report["deleted"], json!([]));
    assert_eq!(report["unchanged"], 2);
    assert_eq!(report["commit"], format!("{COMMIT_A} (rollback)"));
    assert_eq!(report["restored_commit"], COMMIT_A);
    assert_eq!(report["version_id"], d.a_version.as_str());
    assert_eq!(report["file_versions"].as_object().unwrap().len(), 4);
    assert_a_restored(&d).await;

    run(&d.ctx, "req-rollback").await;
    assert_eq!(web_image(&d.clients).await, IMAGE_A, "the run after the rollback did not put A's image back");

    // Rolling back to what is already there writes nothing (so starts no run), by full commit
    // too, even though the newest generation records it with the rollback label.
    let before = bucket_history(&d.clients).await;
    let (code, again) = cli_json(&d.moto, &["rollback", URL, "--to", COMMIT_A]);
    assert_eq!(code, 0, "{again:#}");
    assert_eq!(again["generation_written"], false, "{again:#}");
    assert_eq!(bucket_history(&d.clients).await, before);

    // And B is one rollback away again.
    let (code, forward) = cli_json(&d.moto, &["rollback", URL, "--to", COMMIT_B]);
    assert_eq!(code, 0, "{forward:#}");
    assert_eq!(
        (forward["uploaded"].clone(), forward["deleted"].clone()),
        (json!(["web.yaml"]), json!(["worker.yaml"]))
    );
}

#[tokio::test]
async fn rollback_to_a_version_id_of_generation_json() {
    let d = a_then_b().await;
    let (code, out, err) = cli(&d.moto, &["rollback", URL, "--to", &d.a_version]);
    assert_eq!(code, 0, "{out}\n{err}");
    for line in [
        format!("{URL}: generation {COMMIT_A} ("),
        "restored web.yaml (version ".to_string(),
        "restored worker.yaml (version ".to_string(),
        format!("generation `{COMMIT_A} (rollback)` written (2 restored, 0 deleted, 2 unchanged)"),
    ] {
        assert!(out.contains(&line), "{line:?} missing:\n{out}");
    }
    assert_a_restored(&d).await;
    run(&d.ctx, "req-rollback").await;
    assert_eq!(web_image(&d.clients).await, IMAGE_A);
}

/// desired/ as A, B on top: enough for the failure cases, which never reach ECS.
async fn synced_a_and_b(moto: &Moto) -> Clients {
    let clients = bucket(moto).await;
    sync(moto, Path::new("desired"), COMMIT_A);
    let b = commit_b(Path::new("desired"));
    sync(moto, b.path(), COMMIT_B);
    clients
}

#[tokio::test]
async fn an_unknown_commit_is_an_error_and_writes_nothing() {
    let moto = Moto::start();
    let clients = synced_a_and_b(&moto).await;
    let before = bucket_history(&clients).await;
    assert_eq!(before["prod/generation.json"], 2);

    let (code, out, err) = cli(&moto, &["rollback", URL, "--to", "deadbeefcafe"]);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        err.contains(
            "s3://manifests/prod: no version of generation.json has VersionId `deadbeefcafe` or records commit \
             `deadbeefcafe` (searched 2 version(s) of s3://manifests/prod/generation.json, newest first); \
             nothing was written"
        ),
        "{err}"
    );
    assert_eq!(bucket_history(&clients).await, before);
    assert_eq!(generation(&clients).await.commit, COMMIT_B);

    // Too short to be a prefix: only an exact match would do, and the message says why.
    let (code, _, err) = cli(&moto, &["rollback", URL, "--to", &COMMIT_A[..6]]);
    assert_eq!(code, 1);
    assert!(err.contains("a commit prefix needs at least 7 characters"), "{err}");
    assert_eq!(bucket_history(&clients).await, before);

    // A set that was never synced.
    let (code, _, err) = cli(&moto, &["rollback", "s3://manifests/staging", "--to", COMMIT_A]);
    assert_eq!(code, 1);
    assert!(err.contains("searched 0 version(s) of s3://manifests/staging/generation.json"), "{err}");
}

#[tokio::test]
async fn a_generation_whose_content_is_gone_is_not_restored() {
    let moto = Moto::start();
    let clients = synced_a_and_b(&moto).await;
    // A's web.yaml, deleted for good (as a lifecycle rule on noncurrent versions would).
    let web = versions(&clients, "prod/manifests/web.yaml").await;
    assert_eq!(web.len(), 2);
    let a_web = sha256_hex(&std::fs::read("desired/web.yaml").unwrap());
    for v in &web {
        let body = clients.s3.get_object().bucket("manifests").key("prod/manifests/web.yaml").version_id(v);
        let bytes = body.send().await.unwrap().body.collect().await.unwrap().into_bytes();
        if sha256_hex(&bytes) == a_web {
            let del = clients.s3.delete_object().bucket("manifests").key("prod/manifests/web.yaml").version_id(v);
            del.send().await.unwrap();
        }
    }
    let before = bucket_history(&clients).await;
    let (code, out, err) = cli(&moto, &["rollback", URL, "--to", COMMIT_A]);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        err.contains(&format!(
            "s3://manifests/prod/manifests/web.yaml: none of its 1 version(s) has sha256 {a_web}, which generation \
             {COMMIT_A} lists"
        )),
        "{err}"
    );
    assert_eq!(bucket_history(&clients).await, before);
}

#[tokio::test]
async fn an_invalid_old_generation_is_refused() {
    let moto = Moto::start();
    let clients = bucket(&moto).await;
    // A generation written behind sync's back (or by an older, more lenient validator).
    let bad = std::fs::read("tests/fixtures/invalid/dangling-cluster.yaml").unwrap();
    let generation = json!({
        "commit": "0badc0ffee",
        "syncedAt": "2026-01-01T00:00:00Z",
        "files": {"set.yaml": sha256_hex(&bad)},
    });
    let put = |key: &str, body: Vec<u8>| clients.s3.put_object().bucket("manifests").key(key).body(body.into()).send();
    put("prod/manifests/set.yaml", bad).await.unwrap();
    put("prod/generation.json", serde_json::to_vec(&generation).unwrap()).await.unwrap();
    sync(&moto, Path::new("desired"), COMMIT_A);
    let before = bucket_history(&clients).await;

    let (code, out, err) = cli(&moto, &["rollback", URL, "--to", "0badc0ffee"]);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(err.contains("s3://manifests/prod/manifests/set.yaml:8:12: error[dangling-reference]"), "{err}");
    assert!(err.contains("generation 0badc0ffee (s3://manifests/prod/generation.json version "), "{err}");
    assert!(err.contains("is invalid (1 error(s)); nothing was written"), "{err}");
    assert_eq!(bucket_history(&clients).await, before);
}
