//! `ecs-reconciler validate` and `schema` as a user runs them: the binary, real files, exit codes.
//!
//! Fixtures: every file under `tests/fixtures/invalid/` must fail with exit 1, and every file
//! under `tests/fixtures/warnings/` must pass with its warning printed (and fail with `--strict`).
//! Each fixture says what it expects in header comments:
//!
//! ```yaml
//! # expect: unknown-field at 12:7
//! # message: unknown field `imagee`
//! ```
//!
//! The column is optional (syntax errors are reported where the parser noticed them).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ecs-reconciler"));
    c.current_dir(env!("CARGO_MANIFEST_DIR")).env("NO_COLOR", "1");
    c
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("run ecs-reconciler")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[test]
fn the_example_set_validates_with_no_error_and_no_warning() {
    let out = run(&["validate", "desired/"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(t.contains("0 error(s), 0 warning(s): valid"), "{t}");
    // All eight kinds are exercised by the example.
    let json = run(&["validate", "--output", "json", "desired/"]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["valid"], true);
    let mut kinds: Vec<&str> = v["resources"].as_array().unwrap().iter().map(|r| r["kind"].as_str().unwrap()).collect();
    kinds.sort();
    kinds.dedup();
    assert_eq!(
        kinds,
        [
            "Cluster",
            "LoadBalancer",
            "LogGroup",
            "ScalableTarget",
            "SecurityGroup",
            "Service",
            "TargetGroup",
            "TaskDefinition"
        ]
    );
}

struct Expectation {
    code: String,
    line: usize,
    column: Option<usize>,
    message: String,
}

fn expectation(file: &Path) -> Expectation {
    let body = std::fs::read_to_string(file).unwrap();
    // YAML fixtures carry `# expect: ...` and `# message: ...` lines; JSON has no comments, so a
    // JSON fixture writes both in one string: `"expect: ... / message: ..."`.
    let header = |key: &str| {
        body.lines()
            .find_map(|l| {
                l.split_once(key)
                    .map(|(_, v)| v.split(" / ").next().unwrap().trim().trim_end_matches(['"', ',']).to_string())
            })
            .unwrap_or_else(|| panic!("{} has no `# {key}` header", file.display()))
    };
    let expect = header("expect:");
    let (code, at) =
        expect.split_once(" at ").unwrap_or_else(|| panic!("{}: `expect: CODE at LINE[:COL]`", file.display()));
    let (line, column) = match at.split_once(':') {
        Some((l, c)) => (l.parse().unwrap(), Some(c.parse().unwrap())),
        None => (at.parse().unwrap(), None),
    };
    Expectation { code: code.trim().to_string(), line, column, message: header("message:") }
}

fn fixtures(dir: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files
}

/// Check one fixture's output: the finding names the file, the line (and column), the rule and
/// the message. Returns a complaint instead of panicking, so one run lists every broken fixture.
fn check(file: &Path, out: &Output, want_exit: i32, severity: &str) -> Option<String> {
    let e = expectation(file);
    let t = text(out);
    let rel = file.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap().display().to_string();
    let rel = rel.trim_start_matches('/');
    if out.status.code() != Some(want_exit) {
        return Some(format!("{rel}: exit {:?}, want {want_exit}\n{t}", out.status.code()));
    }
    let location = match e.column {
        Some(c) => format!("{rel}:{}:{c}: {severity}[{}]", e.line, e.code),
        None => format!("{rel}:{}:", e.line),
    };
    let hit = t
        .lines()
        .any(|l| l.starts_with(&location) && l.contains(&format!("{severity}[{}]", e.code)) && l.contains(&e.message));
    (!hit).then(|| format!("{rel}: no line starting `{location}` with {severity}[{}] and `{}`\n{t}", e.code, e.message))
}

#[test]
fn every_invalid_fixture_fails_naming_its_file_line_and_field() {
    let files = fixtures("invalid");
    assert!(files.len() >= 25, "the invalid corpus has {} files", files.len());
    let failures: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let rel = f.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap();
            check(f, &run(&["validate", rel.to_str().unwrap()]), 1, "error")
        })
        .collect();
    assert!(failures.is_empty(), "{} fixture(s) failed:\n\n{}", failures.len(), failures.join("\n\n"));
}

#[test]
fn every_warning_fixture_passes_with_its_warning_and_fails_when_strict() {
    let files = fixtures("warnings");
    assert!(files.len() >= 4, "the warning corpus has {} files", files.len());
    let mut failures = Vec::new();
    for f in &files {
        let rel = f.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap().to_str().unwrap();
        failures.extend(check(f, &run(&["validate", rel]), 0, "warning"));
        failures.extend(check(f, &run(&["validate", "--strict", rel]), 1, "warning"));
    }
    assert!(failures.is_empty(), "{} fixture check(s) failed:\n\n{}", failures.len(), failures.join("\n\n"));
}

#[test]
fn an_invalid_file_rejects_the_whole_set() {
    // desired/ is valid on its own; with one broken file beside it the verdict is invalid.
    let out = run(&["validate", "desired/", "tests/fixtures/invalid/unknown-kind.yaml"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("invalid: nothing in this set will be applied"));
}

#[test]
fn json_output_carries_the_same_findings_for_tools() {
    let out = run(&["validate", "--output", "json", "tests/fixtures/invalid/unknown-field-container.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json on stdout");
    assert_eq!(v["valid"], false);
    let d = &v["diagnostics"][0];
    assert_eq!(d["severity"], "error");
    assert_eq!(d["code"], "unknown-field");
    assert_eq!(d["kind"], "TaskDefinition");
    assert_eq!(d["field"], "spec.containerDefinitions[0].imagee");
    assert_eq!(d["help"], "did you mean `image`?");
    assert!(d["line"].as_u64().unwrap() > 1);
}

#[test]
fn a_missing_path_is_an_error_not_an_empty_valid_set() {
    let out = run(&["validate", "no/such/folder"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("no/such/folder"), "{}", text(&out));
}

#[test]
fn pasted_describe_task_definition_output_is_accepted_with_notes() {
    let out = run(&["validate", "tests/fixtures/valid/described-task-definition.json"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    for field in [
        "taskDefinitionArn",
        "revision",
        "status",
        "requiresAttributes",
        "compatibilities",
        "registeredAt",
        "registeredBy",
    ] {
        assert!(
            t.contains(&format!(
                "note[read-only-field]: TaskDefinition/web spec.{field}: `{field}` is read-only and is ignored"
            )),
            "{field}: {t}"
        );
    }
}

#[test]
fn the_committed_schema_is_the_one_the_binary_prints() {
    let out = run(&["schema"]);
    assert_eq!(out.status.code(), Some(0));
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let committed: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/manifest.schema.json")).unwrap(),
    )
    .unwrap();
    assert!(printed == committed, "schema/manifest.schema.json is stale: run `make schema`");
}
