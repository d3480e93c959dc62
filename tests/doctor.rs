//! `ecs-reconciler doctor` against the emulator, as a person runs it: every check the emulator can
//! answer, missing and present. (Its judgements of trail selectors, bucket notifications and the
//! lease are table-tested in `src/cli/doctor.rs`. moto answers GetBucketNotificationConfiguration
//! under a `GetBucketNotificationResponse` root, which the SDK cannot read, and never with
//! `EventBridgeConfiguration`: `bucket-events` can only be seen SKIPPED here.)

mod common;

use std::time::Duration;

use common::{
    Moto, SERVICE_LINKED_ROLES, account_preconditions, aws_env, cli, cli_json, create_service_linked_role, create_trail,
};
use ecs_reconciler::aws::Clients;
use ecs_reconciler::store::SetLocation;
use ecs_reconciler::store::status::{RunRecord, Summary};
use serde_json::Value;

/// The check named `name` of a `doctor --output json` report.
fn check<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check `{name}` in {report:#}"))
}

fn state(report: &Value, name: &str) -> String {
    check(report, name)["state"].as_str().unwrap().to_string()
}

#[test]
fn a_fresh_account_lacks_the_trail_and_the_service_linked_roles() {
    let moto = Moto::start();
    let (code, report) = cli_json(&moto, &["doctor"]);
    assert_eq!(code, 1, "the ECS and ELB roles are required: {report:#}");
    assert_eq!(report["ok"], false);
    assert_eq!(report["region"], "us-east-1");
    let trail = check(&report, "cloudtrail");
    assert_eq!((trail["state"].as_str(), trail["required"].as_bool()), (Some("MISSING"), Some(false)), "{trail:#}");
    assert_eq!(trail["detail"], "no trail logs events in us-east-1");
    assert!(trail["without"].as_str().unwrap().contains("next schedule tick"), "{trail:#}");
    assert!(trail["fix"].as_str().unwrap().contains("CreateTrail=true"), "{trail:#}");
    for (name, service, required) in [
        ("role:ecs", "ecs.amazonaws.com", true),
        ("role:elasticloadbalancing", "elasticloadbalancing.amazonaws.com", true),
        ("role:application-autoscaling", "ecs.application-autoscaling.amazonaws.com", false),
    ] {
        let c = check(&report, name);
        assert_eq!((c["state"].as_str(), c["required"].as_bool()), (Some("MISSING"), Some(required)), "{c:#}");
        assert_eq!(c["fix"], format!("aws iam create-service-linked-role --aws-service-name {service}"));
    }
    assert_eq!(state(&report, "reserved-concurrency"), "SKIPPED");
    let names: Vec<&str> = report["checks"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert!(!names.contains(&"generation"), "no set given, no set checks: {names:?}");

    // As text: one line a check, what to do under it, and the verdict.
    let (code, out, err) = cli(&moto, &["doctor", "--function", "reconciler-fn"]);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(out.contains("MISSING  service-linked role of ECS: AWSServiceRoleForECS does not exist\n"), "{out}");
    assert!(
        out.contains("         fix: aws iam create-service-linked-role --aws-service-name ecs.amazonaws.com\n"),
        "{out}"
    );
    assert!(out.contains("AWSServiceRoleForApplicationAutoScaling_ECSService does not exist (optional)"), "{out}");
    assert!(out.contains("aws lambda get-function-concurrency --function-name reconciler-fn"), "{out}");
    assert!(out.ends_with("0 OK, 4 MISSING, 1 SKIPPED: 2 required check(s) failed\n"), "{out}");
}

#[tokio::test]
async fn the_roles_and_a_logging_write_trail_pass() {
    let moto = Moto::start();
    let iam = aws_sdk_iam::Client::new(&moto.sdk_config());
    for (role, service) in SERVICE_LINKED_ROLES {
        create_service_linked_role(&iam, role, service).await;
    }
    let trail = create_trail(&moto, "us-east-1", "audit", false).await;

    // A trail that is not logging.
    let (code, report) = cli_json(&moto, &["doctor"]);
    assert_eq!(code, 0, "the roles are there; the trail is optional: {report:#}");
    let c = check(&report, "cloudtrail");
    assert_eq!(c["state"], "MISSING", "{c:#}");
    assert_eq!(c["detail"], "`audit` (us-east-1): not logging, logs write management events");
    assert!(c["fix"].as_str().unwrap().starts_with("aws cloudtrail start-logging --name audit"), "{c:#}");
    for (name, role) in [
        ("role:ecs", "AWSServiceRoleForECS"),
        ("role:elasticloadbalancing", "AWSServiceRoleForElasticLoadBalancing"),
        ("role:application-autoscaling", "AWSServiceRoleForApplicationAutoScaling_ECSService"),
    ] {
        let c = check(&report, name);
        assert_eq!((c["state"].as_str(), c["detail"].as_str()), (Some("OK"), Some(format!("{role} exists").as_str())));
    }

    // Logging, but read events only.
    trail.start_logging().name("audit").send().await.unwrap();
    common::put_management_selector(&trail, "audit", aws_sdk_cloudtrail::types::ReadWriteType::ReadOnly).await;
    let (_, report) = cli_json(&moto, &["doctor"]);
    let c = check(&report, "cloudtrail");
    assert_eq!(c["state"], "MISSING", "{c:#}");
    assert_eq!(c["detail"], "`audit` (us-east-1): logging, its selectors log no write management events");

    // Advanced selectors: management events that are not read-only.
    let field = |name: &str, value: &str| {
        aws_sdk_cloudtrail::types::AdvancedFieldSelector::builder().field(name).equals(value).build().unwrap()
    };
    trail
        .put_event_selectors()
        .trail_name("audit")
        .advanced_event_selectors(
            aws_sdk_cloudtrail::types::AdvancedEventSelector::builder()
                .field_selectors(field("eventCategory", "Management"))
                .field_selectors(field("readOnly", "false"))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let (code, report) = cli_json(&moto, &["doctor"]);
    assert_eq!(code, 0);
    let c = check(&report, "cloudtrail");
    assert_eq!(c["state"], "OK", "{c:#}");
    assert_eq!(c["detail"], "`audit` (us-east-1): logging, logs write management events");
    assert_eq!(report["ok"], true);
}

#[tokio::test]
async fn a_multi_region_trail_of_another_region_counts() {
    let moto = Moto::start();
    let trail = create_trail(&moto, "us-west-2", "org", true).await;
    trail.start_logging().name("org").send().await.unwrap();
    // Only us-west-2 trails that are not multi-region stay out of us-east-1.
    create_trail(&moto, "us-west-2", "local", false).await;
    let (_, report) = cli_json(&moto, &["doctor"]);
    let c = check(&report, "cloudtrail");
    assert_eq!(c["state"], "OK", "{c:#}");
    assert_eq!(c["detail"], "`org` (multi-region): logging, logs write management events");
}

#[tokio::test]
async fn a_set_before_its_first_sync_and_after_a_run() {
    let moto = Moto::start();
    account_preconditions(&moto).await;
    let clients = Clients::new(&moto.sdk_config());
    clients.s3.create_bucket().bucket("manifests").send().await.unwrap();
    let loc = SetLocation::new("manifests", "prod");

    // Nothing synced: generation.json is required.
    let (code, report) = cli_json(&moto, &["doctor", "s3://manifests/prod"]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(report["set"], "s3://manifests/prod");
    let g = check(&report, "generation");
    assert_eq!((g["state"].as_str(), g["required"].as_bool()), (Some("MISSING"), Some(true)), "{g:#}");
    assert_eq!(g["fix"], "ecs-reconciler sync desired/ s3://manifests/prod");
    // The emulator's answer is unreadable: could not check, which an optional check may be.
    let events = check(&report, "bucket-events");
    assert_eq!((events["state"].as_str(), events["required"].as_bool()), (Some("SKIPPED"), Some(false)), "{events:#}");
    assert!(events["error"].as_str().unwrap().starts_with("GetBucketNotificationConfiguration s3://manifests"));
    let lease = check(&report, "lease");
    assert_eq!((lease["state"].as_str(), lease["detail"].as_str()), (Some("OK"), Some("free (never taken)")));
    let last = check(&report, "last-run");
    assert_eq!((last["state"].as_str(), last["required"].as_bool()), (Some("MISSING"), Some(false)), "{last:#}");
    assert!(last["fix"].as_str().unwrap().contains(r#"'{"action": "apply", "set": "prod"}'"#), "{last:#}");

    // Synced, a run recorded, another run holding the lease.
    let desired = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("desired");
    let (code, out, err) =
        cli(&moto, &["sync", desired.to_str().unwrap(), "s3://manifests/prod", "--commit", "c0ffee1"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let run = RunRecord {
        trigger: "sync".into(),
        generation: "c0ffee0".into(),
        mode: "apply".into(),
        started_at: "2026-12-02T07:00:00Z".into(),
        finished_at: "2026-12-02T07:00:04Z".into(),
        drift: 1,
        changes: 2,
        errors: vec![],
        aws_calls: Default::default(),
        aws_calls_total: 0,
        duration_ms: 4000,
    };
    let mut summary = Summary::default();
    summary.record(run);
    ecs_reconciler::store::status::write(&clients, &loc, &summary).await.unwrap();
    let lease = ecs_reconciler::store::lease::acquire(&clients, &loc, "req-42", Duration::from_secs(300))
        .await
        .unwrap()
        .expect("the lease is free");

    let (code, report) = cli_json(&moto, &["doctor", "s3://manifests/prod"]);
    assert_eq!(code, 0, "{report:#}");
    let g = check(&report, "generation");
    assert_eq!(g["state"], "OK");
    assert!(g["detail"].as_str().unwrap().starts_with("commit c0ffee1, synced 20"), "{g:#}");
    assert!(g["detail"].as_str().unwrap().ends_with(", 4 file(s)"), "{g:#}");
    let held = check(&report, "lease")["detail"].as_str().unwrap().to_string();
    assert!(held.starts_with("held by req-42 until 20") && held.ends_with("a run is in progress"), "{held}");
    let last = check(&report, "last-run");
    assert_eq!(last["state"], "OK");
    assert_eq!(
        last["detail"],
        "2026-12-02T07:00:04Z (sync), generation c0ffee0: 2 change(s), 1 drifted, 0 error(s); generation c0ffee1 \
         not applied yet"
    );

    // Given back: free again, and who had it.
    ecs_reconciler::store::lease::release(&clients, lease).await.unwrap();
    let (_, report) = cli_json(&moto, &["doctor", "s3://manifests/prod"]);
    assert_eq!(check(&report, "lease")["detail"], "free (last held by req-42)");
}

#[tokio::test]
async fn a_required_check_that_is_denied_fails_doctor() {
    let moto = Moto::start();
    account_preconditions(&moto).await;
    // A caller who may read the trails but not the roles.
    let iam = aws_sdk_iam::Client::new(&moto.sdk_config());
    iam.create_user().user_name("auditor").send().await.unwrap();
    let policy = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["cloudtrail:DescribeTrails", "cloudtrail:GetTrailStatus", "cloudtrail:GetEventSelectors"], "Resource": "*"}]}"#;
    iam.put_user_policy().user_name("auditor").policy_name("doctor").policy_document(policy).send().await.unwrap();
    let key = iam.create_access_key().user_name("auditor").send().await.unwrap().access_key.unwrap();
    common::set_iam_enforcement(&moto, "0");
    let out = aws_env(&mut std::process::Command::new(env!("CARGO_BIN_EXE_ecs-reconciler")), &moto)
        .args(["doctor", "--output", "json"])
        .env("AWS_ACCESS_KEY_ID", key.access_key_id())
        .env("AWS_SECRET_ACCESS_KEY", key.secret_access_key())
        .output()
        .unwrap();
    common::set_iam_enforcement(&moto, "inf");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "the ECS role could not be checked: {report:#}");
    assert_eq!(state(&report, "cloudtrail"), "OK", "{report:#}");
    let c = check(&report, "role:ecs");
    assert_eq!((c["state"].as_str(), c["detail"].as_str()), (Some("SKIPPED"), Some("could not check")), "{c:#}");
    assert!(c["error"].as_str().unwrap().starts_with("GetRole AWSServiceRoleForECS"), "{c:#}");
    assert_eq!(c["fix"], "doctor needs iam:GetRole: run it again once that call succeeds");
}

/// The README's sample output (Deploying to an AWS account) shows the checks `doctor` makes, by
/// the titles it prints, and the lines that do not depend on the account as it prints them.
#[tokio::test]
async fn the_readme_sample_is_what_doctor_prints() {
    let readme = std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let opening = "On a deployed account:\n\n```\n";
    let start = readme.find(opening).expect("README: no doctor sample") + opening.len();
    let sample = &readme[start..start + readme[start..].find("```").unwrap()];
    let sample = sample.replace("eu-west-1", "us-east-1").replace("s3://BUCKET", "s3://manifests");

    let moto = Moto::start();
    let iam = aws_sdk_iam::Client::new(&moto.sdk_config());
    for (role, service) in &SERVICE_LINKED_ROLES[..2] {
        create_service_linked_role(&iam, role, service).await;
    }
    Clients::new(&moto.sdk_config()).s3.create_bucket().bucket("manifests").send().await.unwrap();
    let (_, out, _) = cli(&moto, &["doctor", "s3://manifests/prod"]);

    let titles = |text: &str| -> Vec<String> {
        text.lines()
            .filter_map(|l| l.split_once(' ').filter(|(s, _)| ["OK", "MISSING", "SKIPPED"].contains(s)))
            .map(|(_, rest)| rest.trim_start().split(": ").next().unwrap().to_string())
            .collect()
    };
    assert_eq!(titles(&sample), titles(&out), "README sample:\n{sample}\ndoctor:\n{out}");
    // The optional role and the concurrency check, with what to do: the same on any account.
    let fixed: Vec<&str> = sample
        .lines()
        .skip_while(|l| !l.contains("Application Auto Scaling"))
        .take(3)
        .chain(sample.lines().filter(|l| l.to_lowercase().contains("lambda")))
        .collect();
    assert_eq!(fixed.len(), 5, "{fixed:#?}");
    for line in fixed {
        assert!(out.lines().any(|l| l == line), "not printed as the README shows it:\n{line}\ndoctor:\n{out}");
    }
}
