//! The template's EventBridge rules match what the function acts on and nothing else: every
//! rule's pattern is read from `template.yaml` (its CloudFormation functions and `Fn::ForEach`
//! loops evaluated for given parameters), put into the emulator's EventBridge with an SQS queue
//! as its target, and sent real-shaped events (`tests/fixtures/events/`). A burst of task state
//! changes in clusters no set manages reaches no queue.
//!
//! The emulator's pattern matcher (moto 5.2.5) knows `prefix`, `suffix`, `anything-but`,
//! `exists`, `wildcard` and `$or`, but does not look inside arrays of objects (AWS does): none of
//! these patterns needs that. Schedules never fire in the emulator: their inputs are decoded
//! with the function's own decoder instead.

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;

use common::Moto;
use ecs_reconciler::lambda::{Config, Trigger, decode};
use saphyr::{LoadableYamlNode, Scalar, Yaml};
use serde_json::{Map, Value, json};

const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";
const BUCKET: &str = "manifests";

/// The template's CloudFormation, evaluated just enough for its rules: `Ref`, `Sub`, `Join`,
/// `Split`, `If`, `Equals`, `Not`, `GetAtt`, and `Fn::ForEach` over a parameter.
struct Template {
    params: BTreeMap<String, Value>,
    conditions: BTreeMap<String, bool>,
}

fn scalar(node: &Yaml) -> Value {
    match node {
        Yaml::Value(Scalar::String(s)) => json!(s),
        Yaml::Value(Scalar::Integer(i)) => json!(i),
        Yaml::Value(Scalar::Boolean(b)) => json!(b),
        Yaml::Value(Scalar::Null) => Value::Null,
        Yaml::Value(Scalar::FloatingPoint(f)) => json!(f.into_inner()),
        other => panic!("not a scalar: {other:?}"),
    }
}

impl Template {
    fn new(doc: &Yaml, given: &[(&str, Value)]) -> Template {
        let mut t = Template { params: BTreeMap::new(), conditions: BTreeMap::new() };
        if let Some(Yaml::Mapping(params)) = doc.as_mapping_get("Parameters") {
            for (k, p) in params {
                let name = k.as_str().unwrap().to_string();
                let default = p.as_mapping_get("Default").map(scalar).unwrap_or(Value::Null);
                let list = p.as_mapping_get("Type").and_then(Yaml::as_str) == Some("CommaDelimitedList");
                let value = match given.iter().find(|(n, _)| *n == name) {
                    Some((_, v)) => v.clone(),
                    None if list => json!(default.as_str().unwrap_or("").split(',').collect::<Vec<_>>()),
                    None => default,
                };
                t.params.insert(name, value);
            }
        }
        if let Some(Yaml::Mapping(conditions)) = doc.as_mapping_get("Conditions") {
            for (k, c) in conditions {
                let v = t.eval(c, &BTreeMap::new());
                t.conditions.insert(k.as_str().unwrap().to_string(), v.as_bool().unwrap());
            }
        }
        t
    }

    fn reference(&self, name: &str) -> Value {
        match name {
            "AWS::Partition" => json!("aws"),
            "AWS::Region" => json!(REGION),
            "AWS::AccountId" => json!(ACCOUNT),
            "AWS::StackName" => json!("ecs-reconciler"),
            "ManifestBucket" => json!(BUCKET),
            "Reconciler" => json!("ecs-reconciler"),
            other => self.params.get(other).cloned().unwrap_or_else(|| panic!("Ref {other}: unknown")),
        }
    }

    fn sub(&self, text: &str, vars: &BTreeMap<String, String>) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(i) = rest.find("${") {
            out.push_str(&rest[..i]);
            let end = rest[i..].find('}').unwrap() + i;
            let name = &rest[i + 2..end];
            let value = match vars.get(name) {
                Some(v) => v.clone(),
                None if name.contains('.') => format!("arn:aws:test:::{name}"),
                None => self.reference(name).as_str().unwrap().to_string(),
            };
            out.push_str(&value);
            rest = &rest[end + 1..];
        }
        out + rest
    }

    fn eval(&self, node: &Yaml, vars: &BTreeMap<String, String>) -> Value {
        let list = |n: &Yaml| -> Vec<Value> {
            match self.eval(n, vars) {
                Value::Array(a) => a,
                other => panic!("not a list: {other}"),
            }
        };
        match node {
            Yaml::Tagged(tag, inner) => match (tag.suffix.as_ref(), inner.as_ref()) {
                ("Ref", n) => self.reference(n.as_str().unwrap()),
                ("GetAtt", n) => json!(format!("arn:aws:test:::{}", n.as_str().unwrap_or("list"))),
                ("Sub", Yaml::Sequence(s)) => {
                    let mut vars = vars.clone();
                    for (k, v) in s[1].as_mapping().unwrap() {
                        vars.insert(k.as_str().unwrap().into(), self.eval(v, &vars).as_str().unwrap().into());
                    }
                    json!(self.sub(s[0].as_str().unwrap(), &vars))
                }
                ("Sub", n) => json!(self.sub(n.as_str().unwrap(), vars)),
                ("Join", Yaml::Sequence(s)) => {
                    let parts: Vec<String> = list(&s[1]).iter().map(|v| v.as_str().unwrap().to_string()).collect();
                    json!(parts.join(s[0].as_str().unwrap()))
                }
                ("Split", Yaml::Sequence(s)) => {
                    let text = self.eval(&s[1], vars);
                    json!(text.as_str().unwrap().split(s[0].as_str().unwrap()).collect::<Vec<_>>())
                }
                ("If", Yaml::Sequence(s)) => {
                    let name = s[0].as_str().unwrap();
                    let c = self.conditions.get(name).unwrap_or_else(|| panic!("condition {name}"));
                    self.eval(if *c { &s[1] } else { &s[2] }, vars)
                }
                ("Equals", Yaml::Sequence(s)) => json!(self.eval(&s[0], vars) == self.eval(&s[1], vars)),
                ("Not", Yaml::Sequence(s)) => json!(!self.eval(&s[0], vars).as_bool().unwrap()),
                (other, _) => panic!("!{other} is not evaluated here"),
            },
            Yaml::Sequence(items) => Value::Array(items.iter().map(|i| self.eval(i, vars)).collect()),
            Yaml::Mapping(m) => {
                let mut out = Map::new();
                for (k, v) in m {
                    out.insert(self.sub(k.as_str().unwrap(), vars), self.eval(v, vars));
                }
                Value::Object(out)
            }
            scalar_node => match scalar(scalar_node) {
                Value::String(s) => json!(self.sub(&s, vars)),
                other => other,
            },
        }
    }

    /// Every rule that invokes the function: `name -> (pattern or schedule input)`. The SAM
    /// function's `EventBridgeRule` events, and the `AWS::Events::Rule` resources (Fn::ForEach
    /// loops expanded: `&{X}` keeps only the alphanumerics of the value, as CloudFormation does).
    fn rules(&self, doc: &Yaml) -> BTreeMap<String, Value> {
        let mut out = BTreeMap::new();
        let resources = doc.as_mapping_get("Resources").unwrap().as_mapping().unwrap();
        let add = |out: &mut BTreeMap<String, Value>, name: String, r: &Yaml, vars: &BTreeMap<String, String>| {
            let ty = r.as_mapping_get("Type").and_then(Yaml::as_str);
            let props = r.as_mapping_get("Properties");
            if ty == Some("AWS::Events::Rule") {
                let p = self.eval(props.unwrap(), vars);
                let what = p.get("EventPattern").cloned().unwrap_or_else(|| json!({"input": p["Targets"][0]["Input"]}));
                out.insert(name, what);
            } else if ty == Some("AWS::Serverless::Function") {
                for (event, e) in props.unwrap().as_mapping_get("Events").unwrap().as_mapping().unwrap() {
                    if e.as_mapping_get("Type").and_then(Yaml::as_str) == Some("EventBridgeRule") {
                        let p = self.eval(e.as_mapping_get("Properties").unwrap(), vars);
                        out.insert(event.as_str().unwrap().to_string(), p["Pattern"].clone());
                    }
                }
            }
        };
        for (k, r) in resources {
            let key = k.as_str().unwrap();
            if key.starts_with("Fn::ForEach::") {
                let s = r.as_sequence().unwrap();
                let id = s[0].as_str().unwrap();
                for item in self.eval(&s[1], &BTreeMap::new()).as_array().unwrap() {
                    let item = item.as_str().unwrap();
                    let vars = BTreeMap::from([(id.to_string(), item.to_string())]);
                    let alnum: String = item.chars().filter(char::is_ascii_alphanumeric).collect();
                    for (name, r) in s[2].as_mapping().unwrap() {
                        let name = name.as_str().unwrap().replace(&format!("&{{{id}}}"), &alnum);
                        add(&mut out, name, r, &vars);
                    }
                }
            } else {
                add(&mut out, key.to_string(), r, &BTreeMap::new());
            }
        }
        out
    }
}

fn template_rules(given: &[(&str, Value)]) -> BTreeMap<String, Value> {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("template.yaml")).unwrap();
    let docs = Yaml::load_from_str(&text).unwrap();
    let t = Template::new(&docs[0], given);
    t.rules(&docs[0])
}

/// A JSON-protocol call to the emulator: `service` is the signing name (`events`, `sqs`).
fn call(moto: &Moto, service: &str, target: &str, version: &str, body: &Value) -> Value {
    let body = body.to_string();
    let mut s = TcpStream::connect(("127.0.0.1", moto.port)).unwrap();
    write!(
        s,
        "POST / HTTP/1.0\r\nHost: 127.0.0.1\r\nX-Amz-Target: {target}\r\nContent-Type: application/x-amz-json-{version}\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=testing/20260101/{REGION}/{service}/aws4_request, SignedHeaders=host, Signature=0\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut buf = String::new();
    s.read_to_string(&mut buf).unwrap();
    let (head, json) = buf.split_once("\r\n\r\n").unwrap_or_default();
    assert!(head.contains(" 200 "), "{target}: {buf}");
    serde_json::from_str(json).unwrap_or(Value::Null)
}

/// The rules in the emulator, each delivering to its own queue.
struct Bus<'a> {
    moto: &'a Moto,
    queues: BTreeMap<String, String>,
}

impl<'a> Bus<'a> {
    fn new(moto: &'a Moto, rules: &BTreeMap<String, Value>) -> Bus<'a> {
        let mut queues = BTreeMap::new();
        for (name, pattern) in rules.iter().filter(|(_, p)| p.get("input").is_none()) {
            let url = call(moto, "sqs", "AmazonSQS.CreateQueue", "1.0", &json!({"QueueName": name}))["QueueUrl"]
                .as_str()
                .unwrap()
                .to_string();
            call(
                moto,
                "events",
                "AWSEvents.PutRule",
                "1.1",
                &json!({"Name": name, "EventPattern": pattern.to_string()}),
            );
            let arn = format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{name}");
            call(
                moto,
                "events",
                "AWSEvents.PutTargets",
                "1.1",
                &json!({"Rule": name, "Targets": [{"Id": "q", "Arn": arn}]}),
            );
            queues.insert(name.clone(), url);
        }
        Bus { moto, queues }
    }

    /// Send `event`; the rules that delivered it.
    fn matches(&self, event: &Value) -> Vec<String> {
        let entry = json!({
            "Source": event["source"], "DetailType": event["detail-type"],
            "Resources": event.get("resources").cloned().unwrap_or(json!([])),
            "Detail": event["detail"].to_string(),
        });
        let out = call(self.moto, "events", "AWSEvents.PutEvents", "1.1", &json!({"Entries": [entry]}));
        assert_eq!(out["FailedEntryCount"], 0, "{out}");
        let mut hit = Vec::new();
        for (name, url) in &self.queues {
            let got = call(
                self.moto,
                "sqs",
                "AmazonSQS.ReceiveMessage",
                "1.0",
                &json!({"QueueUrl": url, "MaxNumberOfMessages": 10}),
            );
            for m in got.get("Messages").and_then(Value::as_array).into_iter().flatten() {
                hit.push(name.clone());
                call(
                    self.moto,
                    "sqs",
                    "AmazonSQS.DeleteMessage",
                    "1.0",
                    &json!({"QueueUrl": url, "ReceiptHandle": m["ReceiptHandle"]}),
                );
            }
        }
        hit
    }
}

fn fixture(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/events").join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The task-stopped fixture moved to another cluster, status and stop code.
fn task(cluster: &str, last_status: &str, stop_code: Option<&str>, service: bool) -> Value {
    let mut e = fixture("ecs-task-stopped.json");
    let d = &mut e["detail"];
    d["clusterArn"] = json!(format!("arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{cluster}"));
    d["lastStatus"] = json!(last_status);
    d["desiredStatus"] = json!(if last_status == "STOPPED" { "STOPPED" } else { "RUNNING" });
    match stop_code {
        Some(c) => d["stopCode"] = json!(c),
        None => {
            let o = d.as_object_mut().unwrap();
            for k in ["stopCode", "stoppedReason", "stoppedAt", "stoppingAt"] {
                o.remove(k);
            }
        }
    }
    if !service {
        d["group"] = json!("family:batch");
        d["startedBy"] = json!("scheduler");
    }
    e
}

fn s3_created(key: &str) -> Value {
    let mut e = fixture("eventbridge-s3-object-created.json");
    e["detail"]["bucket"]["name"] = json!(BUCKET);
    e["detail"]["object"]["key"] = json!(key);
    e
}

#[test]
fn a_burst_of_task_state_changes_in_clusters_no_set_manages_invokes_nothing() {
    let moto = Moto::start();
    let rules = template_rules(&[("Sets", json!(["prod", "teams/web"])), ("Clusters", json!(["main"]))]);
    let bus = Bus::new(&moto, &rules);

    let mut burst = vec![fixture("ecs-task-running-other-cluster.json")];
    for cluster in ["batch", "other-team", "mainframe"] {
        for (status, code) in [
            ("PROVISIONING", None),
            ("PENDING", None),
            ("RUNNING", None),
            ("STOPPED", Some("EssentialContainerExited")),
            ("STOPPED", Some("TaskFailedToStart")),
            ("STOPPED", Some("ServiceSchedulerInitiated")),
        ] {
            burst.push(task(cluster, status, code, true));
            burst.push(task(cluster, status, code, false));
        }
    }
    for event in &burst {
        assert_eq!(bus.matches(event), Vec::<String>::new(), "{event:#}");
    }
    // In the managed cluster: only a service's task that failed, not its lifecycle, not the
    // scheduler's replacements during a deployment, not a standalone task.
    for (status, code) in [("PENDING", None), ("RUNNING", None), ("STOPPED", Some("ServiceSchedulerInitiated"))] {
        assert_eq!(bus.matches(&task("main", status, code, true)), Vec::<String>::new(), "{status} {code:?}");
    }
    assert_eq!(bus.matches(&task("main", "STOPPED", Some("EssentialContainerExited"), false)), Vec::<String>::new());
    assert_eq!(bus.matches(&fixture("ecs-task-stopped.json")), ["EcsServiceEventsmain"]);
}

#[test]
fn each_rule_matches_what_the_function_acts_on_and_nothing_else() {
    let moto = Moto::start();
    let rules = template_rules(&[("Sets", json!(["prod", "teams/web"])), ("Clusters", json!(["main"]))]);
    let bus = Bus::new(&moto, &rules);
    let none: Vec<String> = vec![];

    // Service actions by type: INFO other than a steady state invokes nothing.
    assert_eq!(bus.matches(&fixture("ecs-service-action.json")), ["EcsServiceEventsmain"]);
    assert_eq!(bus.matches(&fixture("ecs-service-desired-count-updated.json")), none);
    assert_eq!(bus.matches(&fixture("ecs-service-task-start-impaired.json")), ["EcsServiceEventsmain"]);
    assert_eq!(bus.matches(&fixture("ecs-service-task-placement-failure.json")), ["EcsServiceEventsmain"]);
    let mut elsewhere = fixture("ecs-service-task-start-impaired.json");
    elsewhere["detail"]["clusterArn"] = json!(format!("arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/batch"));
    assert_eq!(bus.matches(&elsewhere), none);
    // Deployments: failed and completed, not in progress.
    assert_eq!(bus.matches(&fixture("ecs-deployment-failed.json")), ["EcsDeployments"]);
    assert_eq!(bus.matches(&fixture("ecs-deployment-completed.json")), ["EcsDeployments"]);
    assert_eq!(bus.matches(&fixture("ecs-deployment-in-progress.json")), none);

    // S3: a set's generation.json only, for the sets the stack names.
    assert_eq!(bus.matches(&s3_created("prod/generation.json")), ["ManifestsSynced"]);
    assert_eq!(bus.matches(&s3_created("teams/web/generation.json")), ["ManifestsSynced"]);
    for key in ["prod/status/Service/generation.json", "prod/manifests/generation.json", "staging/generation.json"] {
        assert_eq!(bus.matches(&s3_created(key)), none, "{key}");
    }
    let mut other_bucket = s3_created("prod/generation.json");
    other_bucket["detail"]["bucket"]["name"] = json!("someone-elses");
    assert_eq!(bus.matches(&other_bucket), none);

    // CloudTrail: a write by someone else, not a read.
    assert_eq!(bus.matches(&fixture("cloudtrail-update-service.json")), ["EcsAndElbApiCalls"]);
    let mut read = fixture("cloudtrail-update-service.json");
    read["detail"]["eventName"] = json!("DescribeServices");
    assert_eq!(bus.matches(&read), none);
    let mut own = fixture("cloudtrail-update-service.json");
    own["detail"]["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"] =
        json!("arn:aws:test:::ReconcilerRole.Arn");
    assert_eq!(bus.matches(&own), none, "the function's own writes");
    // Application Auto Scaling scaling out and ECS shifting a blue/green deployment are not
    // drift; the same calls by a person are.
    for file in ["cloudtrail-update-service-autoscaling.json", "cloudtrail-modify-rule-ecs-deployment.json"] {
        assert_eq!(bus.matches(&fixture(file)), none, "{file}");
        let mut person = fixture(file);
        person["detail"]["userIdentity"] = fixture("cloudtrail-update-service.json")["detail"]["userIdentity"].clone();
        assert_eq!(bus.matches(&person), ["EcsAndElbApiCalls"], "{file} by a person");
    }
}

#[test]
fn without_clusters_any_cluster_counts_but_only_for_failed_service_tasks() {
    let moto = Moto::start();
    let rules = template_rules(&[]);
    let bus = Bus::new(&moto, &rules);
    assert_eq!(bus.matches(&task("batch", "STOPPED", Some("EssentialContainerExited"), true)), ["EcsServiceEvents"]);
    assert_eq!(bus.matches(&task("batch", "RUNNING", None, true)), Vec::<String>::new());
    assert_eq!(bus.matches(&fixture("ecs-task-running-other-cluster.json")), Vec::<String>::new());
}

/// One schedule per set, each naming its set, as the function decodes it.
#[test]
fn every_set_has_its_own_schedule_naming_it() {
    let rules = template_rules(&[("Sets", json!(["prod", "teams/web"]))]);
    let config = Config {
        bucket: BUCKET.into(),
        sets: vec!["prod".into(), "teams/web".into()],
        observe: false,
        prune: false,
        replace: Default::default(),
        function_name: None,
    };
    let mut schedules = BTreeMap::new();
    for (name, rule) in &rules {
        if let Some(input) = rule.get("input").and_then(Value::as_str) {
            schedules.insert(name.clone(), decode(&serde_json::from_str(input).unwrap(), &config));
        }
    }
    assert_eq!(
        schedules,
        BTreeMap::from([
            ("DriftScheduleprod".to_string(), Trigger::Schedule { sets: vec!["prod".into()] }),
            ("DriftScheduleteamsweb".to_string(), Trigger::Schedule { sets: vec!["teams/web".into()] }),
        ])
    );
    // And the S3 rule's keys are those sets' generation.json.
    assert_eq!(
        rules["ManifestsSynced"]["detail"]["object"]["key"],
        json!(["prod/generation.json", "teams/web/generation.json"])
    );
}
