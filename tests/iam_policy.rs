//! The Lambda role in `template.yaml` is enough, and nothing more.
//!
//! The tests read the role's inline policy from the template, give exactly those actions to an IAM
//! user in the emulator, turn on the emulator's IAM enforcement and run the reconciler with that
//! user's key: the CLI's plan, apply, an update of task definition, service, target group and
//! security group, and a prune of the whole set; and the Lambda's handler on a set in S3 (sync
//! event, schedule ticks, lease, status). All must succeed, every call they report must be in the
//! policy, and calls outside it must be refused. A static check besides: every AWS operation the
//! code under `src/` calls is named in the policy.
//!
//! What the emulator (moto 5.2.5) checks and what it does not (tests/README.md):
//! - It matches the action (`ecs:CreateService`) case-sensitively, as the policy spells it.
//! - For ECS, ELBv2 and EC2 it authorises every request against Resource `*`: a statement scoped to
//!   ARNs never matches there. The test policy therefore keeps the template's actions and gives
//!   those statements Resource `*`; the ARN scoping of the real role is not exercised here.
//! - For S3 it does evaluate the object and bucket ARNs, so the S3 statements keep the template's
//!   resources, with the test's bucket for `ManifestBucket`.
//! - It evaluates a statement's `Condition` only against request parameters and treats an unmet
//!   condition on an Allow as an explicit Deny; it never checks `iam:PassRole` on
//!   RegisterTaskDefinition. Conditions are left out of the test policy.
//! - It checks the signature of a form-encoded request (EC2, ELBv2) against the parameters it
//!   parsed, encoded again: a value with a space fails (see `no_spaces_in_descriptions`).
//! - Its denials are one XML shape for every service: the SDK reads the code for EC2 and S3 but
//!   not for ECS (JSON) or ELBv2, where the product reports "HTTP 403 with a response that is not
//!   an AWS error" or "no message". AWS answers `AccessDeniedException` (ECS), `AccessDenied`
//!   (ELBv2, S3) and `UnauthorizedOperation` (EC2).

mod common;

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ecs::config::{Credentials, SharedCredentialsProvider, retry::RetryConfig};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use common::{Moto, create_network, example_set};
use ecs_reconciler::aws::Clients;
use saphyr::{LoadableYamlNode, Yaml};
use serde_json::{Value, json};

/// The bucket the S3 checks use (the template's `ManifestBucket`).
const BUCKET: &str = "reconciler-manifests";

/// One statement of the role's inline policy, as the template writes it.
#[derive(Debug)]
struct Statement {
    sid: String,
    effect: String,
    actions: Vec<String>,
    /// The resources with `ManifestBucket` resolved to `arn:aws:s3:::BUCKET`, or `None` when the
    /// statement is scoped to something else (then the test policy uses `*`, see the top).
    bucket_resources: Option<Vec<String>>,
    /// The resources as written (`!Sub` strings unexpanded).
    resources: Vec<String>,
    /// `Condition` as `operator -> key -> value`, when there is one.
    condition: Option<Value>,
}

fn template() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("template.yaml")).expect("read template.yaml")
}

/// A node with its CloudFormation tag (`!Sub`, `!GetAtt`, ...) taken off, and the tag's name.
fn untag<'a, 'b>(node: &'a Yaml<'b>) -> (Option<&'a str>, &'a Yaml<'b>) {
    match node {
        Yaml::Tagged(tag, inner) => (Some(tag.suffix.as_str()), inner),
        other => (None, other),
    }
}

fn get<'a, 'b>(node: &'a Yaml<'b>, key: &str) -> &'a Yaml<'b> {
    untag(node).1.as_mapping_get(key).unwrap_or_else(|| panic!("template.yaml: no `{key}` in {node:?}"))
}

/// A scalar or a sequence of scalars, as strings (`Action: x` or `Action: [x, y]`).
fn strings(node: &Yaml) -> Vec<String> {
    match untag(node).1 {
        Yaml::Sequence(items) => items.iter().flat_map(strings).collect(),
        scalar => {
            vec![scalar.as_str().unwrap_or_else(|| panic!("template.yaml: not a string: {scalar:?}")).to_string()]
        }
    }
}

/// `Resource` of a statement with `ManifestBucket` resolved, or `None` if it names anything else.
fn bucket_resources(node: &Yaml) -> Option<Vec<String>> {
    let arn = format!("arn:aws:s3:::{BUCKET}");
    let one = |n: &Yaml| -> Option<String> {
        match untag(n) {
            (Some("GetAtt"), v) if v.as_str() == Some("ManifestBucket.Arn") => Some(arn.clone()),
            (Some("Sub"), v) => v
                .as_str()
                .filter(|s| s.contains("${ManifestBucket.Arn}"))
                .map(|s| s.replace("${ManifestBucket.Arn}", &arn)),
            _ => None,
        }
    };
    match untag(node).1 {
        Yaml::Sequence(items) => items.iter().map(one).collect(),
        _ => one(node).map(|r| vec![r]),
    }
}

/// `Resource` as strings: a `!Sub`'s text, a `!GetAtt`'s `Name.Attribute`, or the value.
fn resource_strings(node: &Yaml) -> Vec<String> {
    match untag(node) {
        (_, Yaml::Sequence(items)) => items.iter().flat_map(resource_strings).collect(),
        (Some("If"), _) => vec!["(conditional)".into()],
        (_, v) => v.as_str().map(|s| vec![s.to_string()]).unwrap_or_default(),
    }
}

/// A statement's `Condition` of plain strings as JSON (`{"Null": {"aws:RequestTag/k": "false"}}`).
fn condition_json(node: &Yaml) -> Value {
    match untag(node).1 {
        Yaml::Mapping(m) => Value::Object(
            m.iter().map(|(k, v)| (k.as_str().unwrap_or_default().to_string(), condition_json(v))).collect(),
        ),
        Yaml::Sequence(items) => Value::Array(items.iter().map(condition_json).collect()),
        v => json!(v.as_str().unwrap_or_default()),
    }
}

/// The statements of every inline policy of `Resources.ReconcilerRole`.
fn role_statements() -> Vec<Statement> {
    let text = template();
    let docs = Yaml::load_from_str(&text).expect("template.yaml is YAML");
    let role = get(get(&docs[0], "Resources"), "ReconcilerRole");
    assert_eq!(get(role, "Type").as_str(), Some("AWS::IAM::Role"));
    let policies = get(get(role, "Properties"), "Policies").as_sequence().expect("Policies is a list");
    let mut out = Vec::new();
    for policy in policies {
        for s in get(get(policy, "PolicyDocument"), "Statement").as_sequence().expect("Statement is a list") {
            let m = untag(s).1;
            out.push(Statement {
                sid: m.as_mapping_get("Sid").and_then(|v| v.as_str()).unwrap_or_default().to_string(),
                effect: get(s, "Effect").as_str().unwrap_or_default().to_string(),
                actions: strings(get(s, "Action")),
                bucket_resources: bucket_resources(get(s, "Resource")),
                resources: resource_strings(get(s, "Resource")),
                condition: m.as_mapping_get("Condition").map(condition_json),
            });
        }
    }
    assert!(!out.is_empty(), "template.yaml: the role has no policy statements");
    out
}

fn policy_actions() -> BTreeSet<String> {
    role_statements().into_iter().filter(|s| s.effect == "Allow").flat_map(|s| s.actions).collect()
}

/// The IAM policy the emulator's user gets: the template's statements, Resource `*` where the
/// template scopes to ARNs the emulator does not evaluate, no conditions (see the top).
fn test_policy() -> Value {
    let statements: Vec<Value> = role_statements()
        .into_iter()
        .map(|s| {
            let resource = match s.bucket_resources {
                Some(r) => json!(r),
                None => json!("*"),
            };
            let mut statement = json!({"Effect": s.effect, "Action": s.actions, "Resource": resource});
            if !s.sid.is_empty() {
                statement["Sid"] = json!(s.sid);
            }
            statement
        })
        .collect();
    json!({"Version": "2012-10-17", "Statement": statements})
}

// ---------------------------------------------------------------------------------------------
// The policy as written
// ---------------------------------------------------------------------------------------------

#[test]
fn every_action_is_named_without_wildcards() {
    let statements = role_statements();
    for s in &statements {
        assert_eq!(s.effect, "Allow", "{s:?}");
        for a in &s.actions {
            let (service, name) = a.split_once(':').unwrap_or_else(|| panic!("{a}: not service:Action"));
            assert!(!service.is_empty() && !name.is_empty(), "{a}");
            assert!(!a.contains(['*', '?']), "statement {}: `{a}` is a wildcard; name each action", s.sid);
            assert!(name.chars().next().unwrap().is_ascii_uppercase(), "{a}: IAM spells actions in PascalCase");
        }
    }
    // An action may sit in two statements only for different resources (CreateSecurityGroup is
    // authorised on the group and on the VPC); within one statement, once.
    for s in &statements {
        let unique: BTreeSet<&String> = s.actions.iter().collect();
        assert_eq!(unique.len(), s.actions.len(), "statement {}: an action is listed twice", s.sid);
    }
    // iam:CreateServiceLinkedRole only for Application Auto Scaling's role for ECS, by the
    // service name and the role's ARN (template.yaml says why).
    for s in statements.iter().filter(|s| s.actions.iter().any(|a| a == "iam:CreateServiceLinkedRole")) {
        assert_eq!(s.actions, ["iam:CreateServiceLinkedRole"], "statement {}", s.sid);
        assert_eq!(
            s.condition.as_ref().and_then(|c| c.pointer("/StringEquals/iam:AWSServiceName")),
            Some(&json!("ecs.application-autoscaling.amazonaws.com")),
            "statement {}: not conditioned on the service name",
            s.sid
        );
        assert!(
            s.resources.len() == 1
                && s.resources[0].ends_with(
                    ":role/aws-service-role/ecs.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_ECSService"
                ),
            "statement {}: {:?}",
            s.sid,
            s.resources
        );
    }
}

/// Ownership enforced by IAM itself, read from the policy as written. (The emulator evaluates
/// actions and S3 resources only, never these conditions: this test is the only check of them.)
#[test]
fn ownership_is_enforced_by_tag_conditions_where_the_services_support_them() {
    let statements = role_statements();
    let null_false = |s: &Statement, key: &str| {
        s.condition.as_ref().and_then(|c| c.pointer(&format!("/Null/{}", key.replace('/', "~1"))))
            == Some(&json!("false"))
    };
    let statements_of = |action: &str| -> Vec<&Statement> {
        let found: Vec<&Statement> = statements.iter().filter(|s| s.actions.iter().any(|a| a == action)).collect();
        assert!(!found.is_empty(), "{action} is not in the policy");
        found
    };
    // Creates carry the set's tag; so must every tagging call (adoption is tagging).
    for action in [
        "ecs:CreateCluster",
        "ecs:CreateService",
        "ecs:RegisterTaskDefinition",
        "ecs:TagResource",
        "elasticloadbalancing:CreateLoadBalancer",
        "elasticloadbalancing:CreateTargetGroup",
        "elasticloadbalancing:CreateListener",
        "elasticloadbalancing:CreateRule",
        "elasticloadbalancing:AddTags",
        "ec2:CreateTags",
        "logs:CreateLogGroup",
        "logs:TagResource",
        "application-autoscaling:TagResource",
    ] {
        for s in statements_of(action) {
            assert!(
                null_false(s, "aws:RequestTag/ecs-reconciler:set"),
                "{action} in {}: no aws:RequestTag condition",
                s.sid
            );
        }
    }
    // Updates and deletes touch only what carries the tag (an adopting run tags first).
    for action in [
        "ecs:DeleteCluster",
        "ecs:DeleteService",
        "ecs:UpdateCluster",
        "ecs:UpdateClusterSettings",
        "ecs:PutClusterCapacityProviders",
        "ecs:UpdateService",
        "elasticloadbalancing:DeleteLoadBalancer",
        "elasticloadbalancing:DeleteTargetGroup",
        "elasticloadbalancing:ModifyLoadBalancerAttributes",
        "elasticloadbalancing:SetSecurityGroups",
        "elasticloadbalancing:SetSubnets",
        "elasticloadbalancing:SetIpAddressType",
        "elasticloadbalancing:ModifyTargetGroup",
        "elasticloadbalancing:ModifyTargetGroupAttributes",
        "ec2:DeleteSecurityGroup",
        "logs:PutRetentionPolicy",
        "logs:DeleteRetentionPolicy",
        "logs:AssociateKmsKey",
        "logs:DeleteLogGroup",
    ] {
        for s in statements_of(action) {
            assert!(
                null_false(s, "aws:ResourceTag/ecs-reconciler:set"),
                "{action} in {}: no aws:ResourceTag condition",
                s.sid
            );
        }
    }
    // Rule edits: on a group only with its tag; the rule resource itself has none of ours.
    for action in [
        "ec2:AuthorizeSecurityGroupIngress",
        "ec2:AuthorizeSecurityGroupEgress",
        "ec2:RevokeSecurityGroupIngress",
        "ec2:RevokeSecurityGroupEgress",
    ] {
        for s in statements_of(action) {
            let on_groups = s.resources.iter().any(|r| r.ends_with(":security-group/*"));
            assert!(
                !on_groups || null_false(s, "aws:ResourceTag/ecs-reconciler:set"),
                "{action} in {}: groups without the aws:ResourceTag condition",
                s.sid
            );
            assert!(
                s.resources.iter().all(|r| r.ends_with(":security-group/*") || r.ends_with(":security-group-rule/*")),
                "{action} in {}: {:?}",
                s.sid,
                s.resources
            );
        }
    }
    // Listeners and rules made by hand on an owned load balancer carry no tag but are the plan's
    // to change: these calls are unconditioned, and so confined to listeners and rules.
    for action in [
        "elasticloadbalancing:ModifyListener",
        "elasticloadbalancing:AddListenerCertificates",
        "elasticloadbalancing:RemoveListenerCertificates",
        "elasticloadbalancing:ModifyRule",
        "elasticloadbalancing:DeleteListener",
        "elasticloadbalancing:DeleteRule",
    ] {
        for s in statements_of(action) {
            assert!(
                s.resources.iter().all(|r| r.ends_with(":listener/*") || r.ends_with(":listener-rule/*")),
                "{action} in {}: reaches beyond listeners and rules: {:?}",
                s.sid,
                s.resources
            );
        }
    }
    // Scalable targets are owned through their services: unconditioned, and so confined to
    // scalable targets.
    for action in [
        "application-autoscaling:RegisterScalableTarget",
        "application-autoscaling:PutScalingPolicy",
        "application-autoscaling:DeleteScalingPolicy",
        "application-autoscaling:PutScheduledAction",
        "application-autoscaling:DeleteScheduledAction",
        "application-autoscaling:DeregisterScalableTarget",
    ] {
        for s in statements_of(action) {
            assert!(
                s.resources.iter().all(|r| r.ends_with(":scalable-target/*")),
                "{action} in {}: reaches beyond scalable targets: {:?}",
                s.sid,
                s.resources
            );
        }
    }
    // CreateSecurityGroup on the group needs the tag; on the VPC it cannot have one, and the VPC is
    // named for nothing else.
    let on_group = statements_of("ec2:CreateSecurityGroup");
    assert!(on_group.iter().any(|s| s.resources.iter().all(|r| r.ends_with(":security-group/*"))
        && null_false(s, "aws:RequestTag/ecs-reconciler:set")));
    for s in statements.iter().filter(|s| s.resources.iter().any(|r| r.contains(":vpc/"))) {
        assert_eq!(
            s.actions,
            ["ec2:CreateSecurityGroup"],
            "statement {} may do more to a VPC than create a group in it",
            s.sid
        );
        assert_eq!(s.resources.len(), 1, "statement {}: the VPC shares it with other resources", s.sid);
    }
}

/// S3 operations to IAM actions: not one to one, unlike ECS, ELBv2 and EC2.
fn s3_actions(op: &str) -> &'static [&'static str] {
    match op {
        "get_object" | "head_object" => &["s3:GetObject"],
        "put_object" => &["s3:PutObject"],
        "delete_object" | "delete_objects" => &["s3:DeleteObject"],
        "list_objects" | "list_objects_v2" => &["s3:ListBucket"],
        "list_object_versions" => &["s3:ListBucketVersions"],
        "copy_object" => &["s3:GetObject", "s3:PutObject"],
        other => panic!("S3 `{other}`: add its IAM action(s) to s3_actions in tests/iam_policy.rs"),
    }
}

/// `ListObjectsV2` -> `list_objects_v2`.
fn snake(op: &str) -> String {
    let mut out = String::new();
    for (i, c) in op.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// `describe_target_groups` -> `DescribeTargetGroups`.
fn pascal(op: &str) -> String {
    op.split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
        })
        .collect()
}

/// Code only the CLI runs, with a person's own credentials, never the function: `rollback` reads
/// object versions (`s3:ListBucketVersions`, `s3:GetObjectVersion`), and `doctor` reads the
/// account's trails, service-linked roles and the bucket's notification settings
/// (`cloudtrail:*`, `iam:GetRole`, `s3:GetBucketNotification`), which the function's role must not
/// have.
const CLI_ONLY: [&str; 2] = ["store/rollback.rs", "cli/doctor.rs"];

/// `(client, operation)` for every SDK call in the Rust sources under `dir`: the `ecs`, `ec2`,
/// `elbv2` and `s3` fields of `Clients` followed by a method call, across line breaks
/// (`clients\n    .ecs\n    .create_service()`). A file's `#[cfg(test)] mod` and what follows it
/// are skipped.
fn sdk_calls(dir: &Path, out: &mut BTreeSet<(String, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sdk_calls(&path, out);
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") || CLI_ONLY.iter().any(|f| path.ends_with(f)) {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        // Up to the first `#[cfg(test)] mod ...`.
        let end = text
            .match_indices("#[cfg(test)]")
            .map(|(i, _)| i)
            .find(|&i| text[i + "#[cfg(test)]".len()..].trim_start().starts_with("mod "))
            .unwrap_or(text.len());
        let text = &text[..end];
        // Join `a\n    .b` into `a.b`.
        let mut code = String::with_capacity(text.len());
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '.' {
                while code.ends_with(char::is_whitespace) {
                    code.pop();
                }
                code.push('.');
                while chars.peek().is_some_and(|c| c.is_whitespace()) {
                    chars.next();
                }
            } else {
                code.push(c);
            }
        }
        for client in ["ecs", "ec2", "elbv2", "s3", "logs", "autoscaling"] {
            let needle = format!("{client}.");
            for (i, _) in code.match_indices(&needle) {
                let before = code[..i].chars().next_back();
                if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
                    continue; // part of a longer name, e.g. `aws_sdk_ecs.` or `s3::`
                }
                let rest = &code[i + needle.len()..];
                let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                let call = rest[name.len()..].starts_with("()");
                if call && !name.is_empty() && !["clone", "config", "build"].contains(&name.as_str()) {
                    out.insert((client.to_string(), name));
                }
            }
        }
    }
}

#[test]
fn the_policy_names_every_aws_operation_the_code_calls() {
    let mut calls = BTreeSet::new();
    sdk_calls(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut calls);
    let ops: BTreeSet<&str> = calls.iter().map(|(_, op)| op.as_str()).collect();
    // The scan must see the calls we know are there, or it is not looking at all.
    for known in [
        "create_service",
        "describe_target_groups",
        "authorize_security_group_ingress",
        "put_object",
        "create_log_group",
        "put_scaling_policy",
    ] {
        assert!(ops.contains(known), "the source scan missed `{known}`: {calls:?}");
    }
    let policy = policy_actions();
    let mut missing = Vec::new();
    for (client, op) in &calls {
        let needed: Vec<String> = match client.as_str() {
            "ecs" => vec![format!("ecs:{}", pascal(op))],
            "ec2" => vec![format!("ec2:{}", pascal(op))],
            "elbv2" => vec![format!("elasticloadbalancing:{}", pascal(op))],
            "logs" => vec![format!("logs:{}", pascal(op))],
            "autoscaling" => vec![format!("application-autoscaling:{}", pascal(op))],
            _ => s3_actions(op).iter().map(|a| a.to_string()).collect(),
        };
        missing.extend(needed.into_iter().filter(|a| !policy.contains(a)).map(|a| format!("{a} (for {client}.{op})")));
    }
    assert!(missing.is_empty(), "template.yaml's role lacks:\n  {}", missing.join("\n  "));
}

// ---------------------------------------------------------------------------------------------
// The policy in use, with the emulator's IAM enforcement on
// ---------------------------------------------------------------------------------------------

/// A raw HTTP/1.0 request to the emulator: (status, body).
fn http(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to moto");
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut req = format!("{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n", body.len());
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

/// Turn the emulator's IAM enforcement on (`0`: no unauthenticated calls left) or off (`inf`).
fn reset_auth(moto: &Moto, body: &str) {
    let (status, out) = http(moto.port, "POST", "/moto-api/reset-auth", &[], body);
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

/// A call to the emulator's IAM (query protocol, XML answer) as the admin, with enforcement off
/// (moto checks no signature then).
fn iam_call(moto: &Moto, params: &[(&str, &str)]) -> (u16, String) {
    let body: Vec<String> = [("Version", "2010-05-08")]
        .iter()
        .chain(params)
        .map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v)))
        .collect();
    let auth =
        "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0";
    http(
        moto.port,
        "POST",
        "/",
        &[("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"), ("Authorization", auth)],
        &body.join("&"),
    )
}

fn xml_field(xml: &str, name: &str) -> String {
    let open = format!("<{name}>");
    let start = xml.find(&open).unwrap_or_else(|| panic!("no <{name}> in {xml}")) + open.len();
    xml[start..].split('<').next().unwrap().trim().to_string()
}

/// An IAM user in the emulator with the template's role policy (see `test_policy`) and a key.
struct User {
    key: String,
    secret: String,
}

fn create_user(moto: &Moto) -> User {
    let admin = |params: &[(&str, &str)]| {
        let (status, body) = iam_call(moto, params);
        assert_eq!(status, 200, "{params:?}: {body}");
        body
    };
    admin(&[("Action", "CreateUser"), ("UserName", "reconciler")]);
    let policy = test_policy().to_string();
    admin(&[
        ("Action", "PutUserPolicy"),
        ("UserName", "reconciler"),
        ("PolicyName", "reconcile"),
        ("PolicyDocument", &policy),
    ]);
    let key = admin(&[("Action", "CreateAccessKey"), ("UserName", "reconciler")]);
    User { key: xml_field(&key, "AccessKeyId"), secret: xml_field(&key, "SecretAccessKey") }
}

impl User {
    fn sdk_config(&self, moto: &Moto) -> SdkConfig {
        SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(moto.endpoint())
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                &self.key,
                &self.secret,
                None,
                None,
                "iam-policy-test",
            )))
            .retry_config(RetryConfig::standard().with_max_attempts(1))
            .build()
    }

    /// `common::cli` with this user's key instead of `testing`.
    fn cli(&self, moto: &Moto, args: &[&str]) -> (i32, String, String) {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_ecs-reconciler"))
            .args(args)
            .env("AWS_ENDPOINT_URL", moto.endpoint())
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", &self.key)
            .env("AWS_SECRET_ACCESS_KEY", &self.secret)
            .env_remove("AWS_SESSION_TOKEN")
            .env("AWS_MAX_ATTEMPTS", "1")
            .env("AWS_CONFIG_FILE", "/nonexistent")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
            .env_remove("AWS_PROFILE")
            .env("NO_COLOR", "1")
            .output()
            .expect("run ecs-reconciler");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into(),
            String::from_utf8_lossy(&out.stderr).into(),
        )
    }

    /// `--output json`, parsed.
    fn cli_json(&self, moto: &Moto, args: &[&str]) -> (i32, Value) {
        let mut all = args.to_vec();
        all.extend(["--output", "json"]);
        let (code, out, err) = self.cli(moto, &all);
        let v: Value = serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}); exit {code}\nstdout:\n{out}\nstderr:\n{err}"));
        (code, v)
    }
}

/// The steps of a run that failed, with their messages (an AccessDenied names the action).
fn failures(v: &Value) -> Vec<&Value> {
    let results = v["summary"]["results"].as_array().map(Vec::as_slice).unwrap_or_default();
    results.iter().filter(|r| r["outcome"] == "failed").collect()
}

/// Every AWS operation a run reports having called (`summary.aws_calls` of apply, `aws_calls` of
/// plan) is in the policy: a second guard besides moto's enforcement.
fn assert_calls_in_policy(args: &[&str], v: &Value) {
    // apply: summary.aws_calls; plan: aws_calls; a Lambda run record: awsCalls.
    let calls =
        v.get("summary").and_then(|s| s.get("aws_calls")).or_else(|| v.get("aws_calls")).or_else(|| v.get("awsCalls"));
    let policy = policy_actions();
    for op in calls.and_then(Value::as_object).expect("aws_calls in the output").keys() {
        let (service, name) = op.split_once(':').unwrap();
        let needed: Vec<String> = match service {
            "ECS" => vec![format!("ecs:{name}")],
            "EC2" => vec![format!("ec2:{name}")],
            "ELBv2" => vec![format!("elasticloadbalancing:{name}")],
            "Logs" => vec![format!("logs:{name}")],
            "ApplicationAutoScaling" => vec![format!("application-autoscaling:{name}")],
            // `S3:ListObjectsV2` -> `list_objects_v2`.
            "S3" => s3_actions(&snake(name)).iter().map(|a| a.to_string()).collect(),
            other => panic!("{op}: map service {other} to its IAM prefix"),
        };
        for action in needed {
            assert!(policy.contains(&action), "{args:?} called {op}, which needs {action}: not in the policy");
        }
    }
}

/// An emulator with the network and the example set made by the admin, a user with the policy,
/// and IAM enforcement on: from here on only the user's key works.
struct World {
    moto: Moto,
    user: User,
    dir: tempfile::TempDir,
    desired: String,
}

async fn world() -> World {
    let moto = Moto::start();
    let admin = Clients::new(&moto.sdk_config());
    let network = create_network(&moto, &admin.ec2).await;
    admin.s3.create_bucket().bucket(BUCKET).send().await.expect("CreateBucket");
    let dir = example_set("shop", &network);
    let desired = dir.path().join("shop").display().to_string();
    no_spaces_in_descriptions(&dir.path().join("shop/security-groups.yaml"));
    let user = create_user(&moto);
    reset_auth(&moto, "0");
    World { moto, user, dir, desired }
}

/// moto checks the signature of a form-encoded request (EC2, ELBv2) against the form it parsed,
/// encoded again with `+` for a space; the SDK, like AWS, signs the body it sent, with `%20`. A
/// parameter with a space therefore fails moto's signature check when enforcement is on. Only the
/// security groups' descriptions have spaces: the test's copy of the set gets `-` instead.
fn no_spaces_in_descriptions(file: &Path) {
    let text = std::fs::read_to_string(file).unwrap();
    let fixed: Vec<String> = text
        .lines()
        .map(|line| match line.split_once("description: ") {
            Some((head, rest)) => {
                let end = rest.find(" }").unwrap_or(rest.len());
                let value = rest[..end].trim_matches('"').replace([' ', ','], "-");
                format!("{head}description: {value}{}", &rest[end..])
            }
            None => line.to_string(),
        })
        .collect();
    std::fs::write(file, fixed.join("\n") + "\n").unwrap();
}

impl World {
    fn apply(&self, extra: &[&str]) -> Value {
        let mut args = vec!["apply", "--desired", &self.desired];
        args.extend(extra);
        let (code, v) = self.user.cli_json(&self.moto, &args);
        assert!(failures(&v).is_empty(), "apply {extra:?} with the policy failed: {:#?}", failures(&v));
        assert_eq!(code, 0, "apply {extra:?} with the policy failed: {v:#}");
        assert_calls_in_policy(&args, &v);
        v
    }

    /// `plan --detailed-exitcode`: the exit code (0 no changes, 2 changes).
    fn plan(&self, extra: &[&str]) -> (i32, Value) {
        let mut args = vec!["plan", "--desired", &self.desired, "--detailed-exitcode"];
        args.extend(extra);
        let (code, v) = self.user.cli_json(&self.moto, &args);
        assert_ne!(code, 1, "plan with the policy failed: {v:#}");
        assert_calls_in_policy(&args, &v);
        (code, v)
    }

    fn edit(&self, file: &str, from: &str, to: &str) {
        let path = self.dir.path().join("shop").join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{file} has no `{from}`");
        std::fs::write(path, text.replace(from, to)).unwrap();
    }
}

#[tokio::test]
async fn plan_apply_update_and_prune_need_nothing_outside_the_policy() {
    let w = world().await;

    // Observe: a plan of an empty account reads everything and shows the whole set to create.
    let (code, _) = w.plan(&[]);
    assert_eq!(code, 2);

    // Create everything; the second apply settles what moto drops on CreateService (see
    // tests/reconcile.rs), so it also runs UpdateService.
    w.apply(&[]);
    w.apply(&[]);
    let (code, plan) = w.plan(&[]);
    assert_eq!(code, 0, "not converged: {plan:#}");

    // A change of every kind with update calls: a new image (RegisterTaskDefinition and
    // UpdateService), a health check and a target group attribute (ModifyTargetGroup,
    // ModifyTargetGroupAttributes), a security group rule (Revoke and Authorize).
    w.edit("web.yaml", "web:1.4.2", "web:1.5.0");
    w.edit("web.yaml", "intervalSeconds: 15", "intervalSeconds: 20");
    w.edit("web.yaml", "deregistration_delay.timeout_seconds: 30", "deregistration_delay.timeout_seconds: 60");
    w.edit("security-groups.yaml", "{ protocol: \"-1\", cidr: 0.0.0.0/0", "{ protocol: \"-1\", cidr: 10.0.0.0/8");
    let (code, _) = w.plan(&[]);
    assert_eq!(code, 2);
    w.apply(&[]);
    let (code, plan) = w.plan(&[]);
    assert_eq!(code, 0, "not converged after the change: {plan:#}");

    // Prune the whole set: every delete call.
    for f in std::fs::read_dir(w.dir.path().join("shop")).unwrap() {
        std::fs::remove_file(f.unwrap().path()).unwrap();
    }
    std::fs::write(w.dir.path().join("shop/empty.yaml"), "# nothing\n").unwrap();
    // Prune runs in order across runs (a cluster after its services, groups after the load
    // balancer): each run's waits are skipped steps, none fails, every call is in the policy.
    let mut ops: BTreeSet<String> = BTreeSet::new();
    for _ in 0..5 {
        let args = ["apply", "--desired", &w.desired, "--prune", "--force"];
        let (_, v) = w.user.cli_json(&w.moto, &args);
        assert!(failures(&v).is_empty(), "prune with the policy failed: {:#?}", failures(&v));
        assert_eq!(v["summary"]["failed"], 0, "{v:#}");
        assert_calls_in_policy(&args, &v);
        ops.extend(v["summary"]["aws_calls"].as_object().unwrap().keys().cloned());
        if w.plan(&["--prune"]).0 == 0 {
            break;
        }
    }
    for op in
        ["ECS:DeleteService", "ECS:DeregisterTaskDefinition", "ELBv2:DeleteLoadBalancer", "EC2:DeleteSecurityGroup"]
    {
        assert!(ops.iter().any(|o| o.as_str() == op), "the prune made no {op}: {ops:?}");
    }
    let (code, plan) = w.plan(&["--prune"]);
    assert_eq!(code, 0, "left behind after the prune: {plan:#}");
}

/// The error code of a failed SDK call, from the parsed error or, when the emulator's denial
/// does not parse as the service's protocol, from the raw body.
fn error_code<E: ProvideErrorMetadata + std::fmt::Debug, R: std::fmt::Debug>(
    result: Result<
        R,
        aws_smithy_runtime_api::client::result::SdkError<E, aws_smithy_runtime_api::client::orchestrator::HttpResponse>,
    >,
) -> String {
    let err = result.expect_err("the call must be refused");
    if let Some(code) = err.code() {
        return code.to_string();
    }
    let raw = err.raw_response().and_then(|r| r.body().bytes()).map(|b| String::from_utf8_lossy(b).to_string());
    raw.as_deref()
        .and_then(|b| b.split("<Code>").nth(1))
        .and_then(|c| c.split('<').next())
        .map(str::to_string)
        .unwrap_or_else(|| format!("{err:?}"))
}

#[tokio::test]
async fn calls_outside_the_policy_are_refused() {
    let w = world().await;
    let clients = Clients::new(&w.user.sdk_config(&w.moto));

    // The user's key works for what the policy names ...
    clients.ecs.list_clusters().send().await.expect("ecs:ListClusters is in the policy");
    clients.ec2.describe_vpcs().send().await.expect("ec2:DescribeVpcs is in the policy");

    // ... and nothing else: reads and writes of the same services, and other services.
    let denied =
        |code: &str| code == "AccessDenied" || code == "AccessDeniedException" || code == "UnauthorizedOperation";
    let code = error_code(clients.ecs.list_container_instances().cluster("main").send().await);
    assert!(denied(&code), "ecs:ListContainerInstances: {code}");
    let code = error_code(clients.ecs.run_task().cluster("main").task_definition("web").send().await);
    assert!(denied(&code), "ecs:RunTask: {code}");
    let code = error_code(clients.ec2.run_instances().image_id("ami-12345678").min_count(1).max_count(1).send().await);
    assert!(denied(&code), "ec2:RunInstances: {code}");
    let code = error_code(clients.elbv2.describe_ssl_policies().send().await);
    assert!(denied(&code), "elasticloadbalancing:DescribeSSLPolicies: {code}");

    // S3: the manifest bucket's objects and listing, as the store uses them, and not another
    // bucket, nor the bucket's configuration.
    let s3 = &clients.s3;
    s3.put_object()
        .bucket(BUCKET)
        .key("shop/lock")
        .if_none_match("*")
        .body(b"{}".to_vec().into())
        .send()
        .await
        .expect("s3:PutObject (conditional) on the bucket's objects");
    s3.get_object().bucket(BUCKET).key("shop/lock").send().await.expect("s3:GetObject");
    let listed = s3.list_objects_v2().bucket(BUCKET).prefix("shop/").send().await.expect("s3:ListBucket");
    assert_eq!(listed.key_count(), Some(1));
    s3.delete_object().bucket(BUCKET).key("shop/lock").send().await.expect("s3:DeleteObject");
    let code = error_code(s3.put_object().bucket("someone-elses").key("x").body(b"x".to_vec().into()).send().await);
    assert!(denied(&code), "s3:PutObject elsewhere: {code}");
    let code = error_code(s3.get_bucket_policy().bucket(BUCKET).send().await);
    assert!(denied(&code), "s3:GetBucketPolicy: {code}");

    // With enforcement off again, the same key may do anything: the refusals above were IAM's.
    reset_auth(&w.moto, "inf");
    if let Err(e) = clients.ecs.list_container_instances().cluster("main").send().await {
        let code = e.code().unwrap_or_default();
        assert!(!denied(code), "still refused with enforcement off: {e:?}");
    }
}

/// The Lambda's own path, in process: `handle` with the function's configuration and the
/// policy's key reads the set from S3 (generation.json, then the listed files), takes and gives
/// back the lease, applies, and writes status. The bucket's S3 statements keep their ARNs here.
#[tokio::test]
async fn the_lambda_reads_applies_and_records_a_set_in_s3_with_only_the_policy() {
    use ecs_reconciler::lambda::Config;
    use ecs_reconciler::lambda::handler::{Ctx, handle};
    use ecs_reconciler::store::sha256_hex;

    let moto = Moto::start();
    let admin = Clients::new(&moto.sdk_config());
    let network = create_network(&moto, &admin.ec2).await;
    admin.s3.create_bucket().bucket(BUCKET).send().await.expect("CreateBucket");
    let dir = example_set("shop", &network);
    no_spaces_in_descriptions(&dir.path().join("shop/security-groups.yaml"));
    // What `sync` uploads: the files, then generation.json listing their hashes.
    let mut files = serde_json::Map::new();
    for entry in std::fs::read_dir(dir.path().join("shop")).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        files.insert(name.clone(), json!(sha256_hex(&bytes)));
        admin
            .s3
            .put_object()
            .bucket(BUCKET)
            .key(format!("shop/manifests/{name}"))
            .body(bytes.into())
            .send()
            .await
            .unwrap();
    }
    let generation = json!({"commit": "c0ffee1", "syncedAt": "2026-11-22T00:00:00Z", "files": files}).to_string();
    admin
        .s3
        .put_object()
        .bucket(BUCKET)
        .key("shop/generation.json")
        .body(generation.into_bytes().into())
        .send()
        .await
        .unwrap();
    let user = create_user(&moto);
    reset_auth(&moto, "0");

    let ctx = Ctx {
        clients: Clients::new(&user.sdk_config(&moto)),
        config: Config {
            bucket: BUCKET.into(),
            sets: vec!["shop".into()],
            observe: false,
            prune: false,
            replace: Default::default(),
            function_name: Some("ecs-reconciler".into()),
        },
    };
    let event = |source: &str, detail_type: &str, detail: Value| {
        json!({"version": "0", "id": "7bf73129-1428-4cd3-a780-95db273d1602", "detail-type": detail_type,
               "source": source, "account": "123456789012", "time": "2026-11-22T00:00:00Z",
               "region": "us-east-1", "resources": [], "detail": detail})
    };
    let synced = event(
        "aws.s3",
        "Object Created",
        json!({"bucket": {"name": BUCKET}, "object": {"key": "shop/generation.json"}}),
    );
    let tick = event("aws.events", "Scheduled Event", json!({}));
    let run = |answer: &Value| -> Value {
        let run = if answer.get("runs").is_some() { &answer["runs"][0]["run"] } else { &answer["run"] };
        assert_eq!(run["errors"], json!([]), "the run failed with the policy: {answer:#}");
        assert_calls_in_policy(&["lambda"], run);
        run.clone()
    };

    // The sync creates the set; the first tick settles what moto drops on CreateService; the
    // second finds nothing to do.
    let first = run(&handle(&ctx, synced, "req-1").await.expect("sync event"));
    assert!(first["changes"].as_u64().unwrap() >= 9, "{first:#}");
    run(&handle(&ctx, tick.clone(), "req-2").await.expect("schedule"));
    let last = run(&handle(&ctx, tick, "req-3").await.expect("schedule"));
    assert_eq!(last["changes"], 0, "{last:#}");
    // A run's record counts its calls up to writing its own status; the process counter has all
    // of them, the status writes included.
    let all = json!({"awsCalls": ctx.clients.calls.snapshot()});
    assert_calls_in_policy(&["lambda"], &all);
    let ops: BTreeSet<&String> = all["awsCalls"].as_object().unwrap().keys().collect();
    for op in ["S3:GetObject", "S3:PutObject", "S3:ListObjectsV2"] {
        assert!(ops.iter().any(|o| o.as_str() == op), "the run made no {op}: {ops:?}");
    }

    // A failed status write or lease release is only logged: check both happened, as the user.
    let get = |key: &'static str| {
        let s3 = ctx.clients.s3.clone();
        async move {
            let out = s3.get_object().bucket(BUCKET).key(key).send().await.unwrap_or_else(|e| panic!("{key}: {e:?}"));
            serde_json::from_slice::<Value>(&out.body.collect().await.unwrap().into_bytes()).unwrap()
        }
    };
    let summary = get("shop/status/summary.json").await;
    assert_eq!(summary["runs"][0]["errors"], json!([]), "{summary:#}");
    assert_eq!(summary["runs"].as_array().unwrap().len(), 3, "{summary:#}");
    assert_eq!(get("shop/lock").await["expiresAt"], 0, "the lease was not given back");
}
