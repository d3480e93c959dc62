//! The CI examples a team copies (`examples/ci/sync.sh`, `examples/github-actions/sync.yml`) do
//! what they say: the script is run against the emulator under the sync role's policy as the
//! examples print it, and the workflow is read for the commands and permissions it relies on.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::Moto;
use ecs_reconciler::aws::Clients;
use ecs_reconciler::store::{Generation, sha256_hex};
use saphyr::{LoadableYamlNode, Scalar, Yaml};
use serde_json::Value;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn script() -> PathBuf {
    repo().join("examples/ci/sync.sh")
}

fn workflow() -> String {
    std::fs::read_to_string(repo().join("examples/github-actions/sync.yml")).unwrap()
}

/// Run `examples/ci/sync.sh` with POSIX `sh`, `ecs-reconciler` found on PATH (the binary cargo
/// built for this test), the emulator as the AWS endpoint, and `env` on top.
fn run_script(moto: &Moto, cwd: &Path, key: (&str, &str), env: &[(&str, &str)]) -> (i32, String, String) {
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_ecs-reconciler")).parent().unwrap().to_path_buf();
    let path = std::env::join_paths(
        std::iter::once(bin_dir).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())),
    )
    .unwrap();
    let out = common::aws_env(Command::new("sh").arg(script()).current_dir(cwd), moto)
        .env("PATH", path)
        .env("AWS_ACCESS_KEY_ID", key.0)
        .env("AWS_SECRET_ACCESS_KEY", key.1)
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("ECS_RECONCILER")
        .env_remove("COMMIT")
        .env_remove("BRANCH")
        .env_remove("DESIRED")
        .env_remove("SYNC_BRANCH")
        .envs(env.iter().copied())
        .output()
        .expect("run examples/ci/sync.sh");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

const ADMIN: (&str, &str) = ("testing", "testing");

async fn bucket(moto: &Moto) -> Clients {
    let clients = Clients::new(&moto.sdk_config());
    clients.s3.create_bucket().bucket("manifests").send().await.unwrap();
    clients
}

async fn generation(clients: &Clients) -> Option<Generation> {
    let (bytes, _) = ecs_reconciler::store::get(clients, "manifests", "prod/generation.json").await.unwrap()?;
    Some(serde_json::from_slice(&bytes).unwrap())
}

/// `desired/`'s files by content hash, as generation.json lists them.
fn hashes(dir: &Path) -> std::collections::BTreeMap<String, String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), sha256_hex(&std::fs::read(&p).unwrap())))
        .collect()
}

// The sync role's policy, as the examples print it, under the emulator's IAM enforcement
// ---------------------------------------------------------------------------------------------

/// The first JSON object written in `#` comments of `text`: the policy the examples print.
fn commented_policy(text: &str) -> Value {
    let comments: Vec<&str> =
        text.lines().map(|l| l.trim_start().strip_prefix('#').map(str::trim).unwrap_or_default()).collect();
    for start in (0..comments.len()).filter(|&i| comments[i].starts_with('{')) {
        for end in start..comments.len().min(start + 40) {
            if let Ok(v) = serde_json::from_str::<Value>(&comments[start..=end].join(" ")) {
                return v;
            }
        }
    }
    panic!("no JSON policy in the comments")
}

/// The policy with the placeholders filled in for this test's set.
fn sync_policy(text: &str) -> Value {
    let policy = commented_policy(text).to_string();
    assert!(policy.contains("arn:aws:s3:::BUCKET/PREFIX/"), "{policy}");
    serde_json::from_str(&policy.replace("BUCKET", "manifests").replace("PREFIX", "prod")).unwrap()
}

fn http(port: u16, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to moto");
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut req = format!("POST {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    let mut buf = String::new();
    s.read_to_string(&mut buf).unwrap();
    let status = buf.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, buf.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default())
}

/// IAM enforcement on (`0`: no unauthenticated calls left) or off (`inf`).
fn reset_auth(moto: &Moto, body: &str) {
    let (status, out) = http(moto.port, "/moto-api/reset-auth", &[], body);
    assert_eq!(status, 200, "reset-auth {body}: {out}");
}

fn form_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn iam(moto: &Moto, params: &[(&str, &str)]) -> String {
    let body: Vec<String> = [("Version", "2010-05-08")]
        .iter()
        .chain(params)
        .map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v)))
        .collect();
    let auth =
        "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0";
    let headers = [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"), ("Authorization", auth)];
    let (status, out) = http(moto.port, "/", &headers, &body.join("&"));
    assert_eq!(status, 200, "{params:?}: {out}");
    out
}

fn xml_field(xml: &str, name: &str) -> String {
    let open = format!("<{name}>");
    let start = xml.find(&open).unwrap_or_else(|| panic!("no <{name}> in {xml}")) + open.len();
    xml[start..].split('<').next().unwrap().trim().to_string()
}

/// An IAM user with exactly `policy`, and its key.
fn sync_user(moto: &Moto, policy: &Value) -> (String, String) {
    iam(moto, &[("Action", "CreateUser"), ("UserName", "ci")]);
    let policy = policy.to_string();
    iam(moto, &[("Action", "PutUserPolicy"), ("UserName", "ci"), ("PolicyName", "sync"), ("PolicyDocument", &policy)]);
    let key = iam(moto, &[("Action", "CreateAccessKey"), ("UserName", "ci")]);
    (xml_field(&key, "AccessKeyId"), xml_field(&key, "SecretAccessKey"))
}

#[tokio::test]
async fn the_ci_script_syncs_desired_on_main_with_only_the_printed_policy() {
    let policy = sync_policy(&workflow());
    assert_eq!(
        policy,
        sync_policy(&std::fs::read_to_string(script()).unwrap()),
        "sync.sh and sync.yml print different policies"
    );
    let moto = Moto::start();
    let admin = bucket(&moto).await;
    let (key, secret) = sync_user(&moto, &policy);
    reset_auth(&moto, "0");
    let user = (key.as_str(), secret.as_str());
    let main = [("BUCKET", "manifests"), ("PREFIX", "prod"), ("COMMIT", "c0ffee1"), ("BRANCH", "main")];

    // The first sync: no generation.json yet. (AWS answers a GetObject of a missing key with 403
    // unless s3:ListBucket is allowed, which is why the policy has it; the emulator answers 404
    // either way, so that statement is not exercised here.)
    let (code, out, err) = run_script(&moto, &repo(), user, &main);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("s3://manifests/prod: generation c0ffee1 written (4 uploaded"), "{out}\n{err}");

    // A file that left the set is deleted.
    let dir = tempfile::tempdir().unwrap();
    for f in ["cluster.yaml", "security-groups.yaml", "web.yaml"] {
        std::fs::copy(repo().join("desired").join(f), dir.path().join(f)).unwrap();
    }
    let fewer = [main.as_slice(), &[("DESIRED", dir.path().to_str().unwrap()), ("COMMIT", "c0ffee2")]].concat();
    let (code, out, err) = run_script(&moto, &repo(), user, &fewer);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("deleted  worker.yaml"), "{out}\n{err}");

    // The role can do nothing else: not write the function's status, nor another set.
    let as_user = Clients::new(
        &aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .endpoint_url(moto.endpoint())
            .credentials_provider(aws_sdk_s3::config::SharedCredentialsProvider::new(
                aws_sdk_s3::config::Credentials::new(&key, &secret, None, None, "ci"),
            ))
            .build(),
    );
    for key in ["prod/status/summary.json", "prod/lock", "staging/generation.json"] {
        let put = as_user.s3.put_object().bucket("manifests").key(key).body(b"{}".to_vec().into()).send().await;
        let code = put.err().and_then(|e| e.into_service_error().meta().code().map(str::to_string));
        assert_eq!(code.as_deref(), Some("AccessDenied"), "the sync role may write {key}");
    }

    reset_auth(&moto, "inf");
    let g = generation(&admin).await.expect("no generation.json");
    assert_eq!(g.commit, "c0ffee2");
    assert_eq!(g.files, hashes(dir.path()));
    assert_eq!(ecs_reconciler::store::get(&admin, "manifests", "prod/manifests/worker.yaml").await.unwrap(), None);
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(["-c", "user.name=ci", "-c", "user.email=ci@example.com", "-c", "commit.gpgsign=false"])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .expect("run git");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[tokio::test]
async fn the_ci_script_takes_commit_and_branch_from_git_and_only_validates_other_branches() {
    let moto = Moto::start();
    let clients = bucket(&moto).await;
    let work = tempfile::tempdir().unwrap();
    let repo_dir = work.path();
    git(repo_dir, &["init", "-q", "-b", "main"]);
    std::fs::create_dir(repo_dir.join("desired")).unwrap();
    for entry in std::fs::read_dir(repo().join("desired")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, repo_dir.join("desired").join(path.file_name().unwrap())).unwrap();
    }
    git(repo_dir, &["add", "."]);
    git(repo_dir, &["commit", "-q", "-m", "desired state"]);
    let head = git(repo_dir, &["rev-parse", "HEAD"]);
    let set = [("BUCKET", "manifests"), ("PREFIX", "prod")];

    let (code, out, err) = run_script(&moto, repo_dir, ADMIN, &set);
    assert_eq!(code, 0, "{out}\n{err}");
    let g = generation(&clients).await.expect("no generation.json");
    assert_eq!(g.commit, head);
    assert_eq!(g.files, hashes(&repo_dir.join("desired")));

    // On another branch: validated, not synced.
    git(repo_dir, &["checkout", "-q", "-b", "feature"]);
    let web = repo_dir.join("desired/web.yaml");
    std::fs::write(&web, std::fs::read_to_string(&web).unwrap().replace("web:1.4.2", "web:1.5.0")).unwrap();
    git(repo_dir, &["commit", "-q", "-am", "bump web"]);
    let (code, out, err) = run_script(&moto, repo_dir, ADMIN, &set);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("branch 'feature' is not 'main', so nothing was synced"), "{out}");
    assert_eq!(generation(&clients).await.unwrap().commit, head);

    // An invalid set fails the job on any branch, before anything is uploaded.
    git(repo_dir, &["checkout", "-q", "main"]);
    let cluster = repo_dir.join("desired/cluster.yaml");
    std::fs::write(&cluster, std::fs::read_to_string(&cluster).unwrap().replace("name: main", "name: mian")).unwrap();
    let (code, out, err) = run_script(&moto, repo_dir, ADMIN, &set);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(out.contains("error[dangling-reference]"), "{out}");
    assert_eq!(generation(&clients).await.unwrap().commit, head);

    // Without the settings it must have, it says which.
    let (code, _, err) = run_script(&moto, repo_dir, ADMIN, &[("PREFIX", "prod")]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("set BUCKET to the manifest bucket"), "{err}");
}

// The GitHub Actions workflow
// ---------------------------------------------------------------------------------------------

fn get<'a, 'b>(node: &'a Yaml<'b>, key: &str) -> &'a Yaml<'b> {
    node.as_mapping_get(key).unwrap_or_else(|| panic!("sync.yml: no `{key}` in {node:?}"))
}

fn str_of<'a>(node: &'a Yaml) -> &'a str {
    match node {
        Yaml::Value(Scalar::String(s)) => s,
        other => panic!("sync.yml: not a string: {other:?}"),
    }
}

/// The `run:` scripts of a job's steps, and the `uses:` actions.
fn steps(job: &Yaml) -> (Vec<String>, Vec<String>) {
    let (mut runs, mut uses) = (Vec::new(), Vec::new());
    for step in get(job, "steps").as_vec().expect("steps is a list") {
        if let Some(r) = step.as_mapping_get("run") {
            runs.push(str_of(r).to_string());
        }
        if let Some(u) = step.as_mapping_get("uses") {
            uses.push(str_of(u).to_string());
        }
    }
    (runs, uses)
}

#[test]
fn the_workflow_validates_pull_requests_and_syncs_main_with_an_oidc_role() {
    let text = workflow();
    let docs = Yaml::load_from_str(&text).expect("sync.yml is not YAML");
    let wf = &docs[0];
    let on = get(wf, "on");
    assert!(on.as_mapping_get("pull_request").is_some(), "not run on pull requests");
    let branches = get(get(on, "push"), "branches").as_vec().expect("push.branches is a list");
    assert!(branches.iter().any(|b| str_of(b) == "main"), "not run on pushes to main");

    let jobs = get(wf, "jobs");
    let validate = get(jobs, "validate");
    assert!(validate.as_mapping_get("if").is_none(), "validate must run on every event");
    let (runs, _) = steps(validate);
    assert!(runs.iter().any(|r| r.trim() == "ecs-reconciler validate desired/"), "{runs:?}");

    let sync = get(jobs, "sync");
    let condition = str_of(get(sync, "if"));
    assert!(
        condition.contains("github.event_name == 'push'") && condition.contains("github.ref == 'refs/heads/main'"),
        "{condition}"
    );
    assert_eq!(str_of(get(get(sync, "permissions"), "id-token")), "write");
    let (runs, uses) = steps(sync);
    assert!(
        runs.iter()
            .any(|r| r.starts_with("ecs-reconciler sync desired/ \"s3://$BUCKET/$PREFIX\" --commit ${{ github.sha }}")),
        "{runs:?}"
    );
    let step = get(sync, "steps")
        .as_vec()
        .unwrap()
        .iter()
        .find(|s| {
            s.as_mapping_get("uses").is_some_and(|u| str_of(u).starts_with("aws-actions/configure-aws-credentials@"))
        })
        .unwrap_or_else(|| panic!("no configure-aws-credentials step: {uses:?}"));
    assert!(str_of(get(get(step, "with"), "role-to-assume")).contains("${{"), "the role is not a setting");
    // Credentials come from the OIDC role only, never from stored keys.
    assert!(!text.contains("aws-access-key-id") && !text.contains("secrets.AWS"), "long-lived keys in sync.yml");
    // What a team must fill in is said.
    for placeholder in ["vars.ECS_RECONCILER_ROLE_ARN", "vars.MANIFEST_BUCKET", "vars.AWS_REGION", "PREFIX"] {
        assert!(text.contains(placeholder), "{placeholder} missing");
    }
}

/// The `ecs-reconciler` lines of the README's shell blocks, comments stripped, in order.
fn readme_commands() -> Vec<String> {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let mut out = Vec::new();
    let mut in_sh = false;
    for line in readme.lines() {
        if line.starts_with("```") {
            in_sh = line.trim() == "```sh";
            continue;
        }
        if in_sh && line.starts_with("ecs-reconciler ") {
            out.push(line.split("  #").next().unwrap().trim().to_string());
        }
    }
    out
}

/// Every `ecs-reconciler` command the README shows runs as written, in the README's order,
/// against the emulator: from a git work tree holding `desired/`, with the README's placeholders
/// (`BUCKET`, the example commit) filled in, in an account that has what the README's deploy
/// section asks for (a trail logging write management events, the service-linked roles), so that
/// `doctor` passes.
#[tokio::test]
async fn every_ecs_reconciler_command_in_the_readme_runs_as_written() {
    let commands = readme_commands();
    assert!(commands.len() >= 10, "the README shows {} commands: {commands:?}", commands.len());
    // Tasks "run" on this emulator, so `apply --wait` sees steady services.
    let moto = Moto::start_with(&[("MOTO_ECS_SERVICE_RUNNING", "2")]);
    let clients = bucket(&moto).await;
    common::account_preconditions(&moto).await;
    let network = common::create_network(&moto, &clients.ec2).await;
    let work = common::example_set("desired", &network);
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git").args(args).current_dir(work.path()).output().unwrap();
        assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    git(&["init", "-q"]);
    git(&["-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "--allow-empty", "-m", "x"]);
    git(&["add", "desired"]);
    git(&["-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "the set"]);
    let head = git(&["rev-parse", "HEAD"]);
    let bucket_name = "manifests";

    let mut ran = Vec::new();
    for command in &commands {
        let command = command.replace("BUCKET", bucket_name).replace("3f2a9c1", &head[..7]);
        let (line, redirect) = match command.split_once(" > ") {
            Some((c, file)) => (c.to_string(), Some(file.trim().to_string())),
            None => (command.clone(), None),
        };
        let args: Vec<&str> = line.split_whitespace().skip(1).collect();
        let out = common::aws_env(
            std::process::Command::new(env!("CARGO_BIN_EXE_ecs-reconciler")).args(&args).current_dir(work.path()),
            &moto,
        )
        .output()
        .unwrap();
        let code = out.status.code().unwrap_or(-1);
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        // `plan --detailed-exitcode` says 2 while there are changes to make: before the first apply.
        let want = if line.contains("--detailed-exitcode") && !ran.iter().any(|c: &String| c.contains(" apply ")) {
            2
        } else {
            0
        };
        assert_eq!(code, want, "`{command}` exited {code}:\n{text}");
        if let Some(file) = redirect {
            std::fs::write(work.path().join(&file), &out.stdout).unwrap();
            let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("`{command}`: {e}"));
            assert!(v.get("oneOf").is_some() || v.get("$schema").is_some(), "`{command}` wrote no schema");
        }
        ran.push(line);
    }
    // What the commands claim happened did happen.
    let web = clients.ecs.describe_services().cluster("main").services("web").send().await.unwrap();
    assert_eq!(web.services()[0].desired_count, 2);
    let g = generation(&clients).await.expect("sync wrote generation.json");
    assert!(g.commit.starts_with(&head[..7]), "{}", g.commit);
    assert!(ran.iter().any(|c| c.starts_with("ecs-reconciler doctor s3://")), "the README shows no doctor of a set");
}
