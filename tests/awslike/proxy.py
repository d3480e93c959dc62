#!/usr/bin/env python3
"""An AWS-shaped HTTP proxy in front of moto, for tests.

moto answers the reads ecs-reconciler makes with thinner objects than AWS does (missing defaults,
other defaults, dropped request fields). This proxy listens on 127.0.0.1, forwards every request
to a moto server unchanged (signature headers included), remembers what the write requests sent,
and rewrites the answers of the reads so they look like what real AWS returns. Every rewrite
names the fact it relies on in /work/shared/AWS-FACTS.md as `[F:id]`.

It also injects faults for reliability tests (throttling in each protocol's real shape, 500/503,
connection reset, lost reply, stall), seeded and configurable by flags or over HTTP:

    GET  /__proxy/stats           requests per operation, faults injected, responses shaped
    POST /__proxy/stats/reset     zero the counters
    GET  /__proxy/faults          the fault rules in force
    POST /__proxy/faults          {"seed": 7, "faults": [{"kind": "throttle", "ops": ["ecs.DescribeServices"]}]}
    GET  /__proxy/state           what the proxy remembers of the writes (for debugging)

Standard library only (Python 3.11). Usage:

    proxy.py --upstream http://127.0.0.1:5000 [--port 0] [--port-file F] [--seed N]
             [--fault KIND:OPS[:key=value,...]]... [--no-shape]

With --port 0 it picks a free port and prints `listening on http://127.0.0.1:PORT` (and writes
the port to --port-file when given).
"""

from __future__ import annotations

import argparse
import base64
import copy
import gzip
import http.client
import http.server
import json
import os
import random
import re
import socket
import struct
import sys
import threading
import time
import urllib.parse
import uuid
import xml.etree.ElementTree as ET

ECS_TARGET_PREFIX = "AmazonEC2ContainerServiceV20141113."
DEFAULT_ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"

# Request and response headers that belong to one hop, never forwarded (RFC 9110 7.6.1), plus
# the framing headers this proxy recomputes.
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "expect",
    "content-length",
}

# Query-protocol API versions, for requests whose SigV4 credential scope is missing.
QUERY_VERSIONS = {"2015-12-01": "elasticloadbalancing", "2016-11-15": "ec2"}
# Short service names used in operation keys ("ecs.DescribeServices").
SERVICE_KEYS = {"elasticloadbalancing": "elbv2", "ecs": "ecs", "ec2": "ec2", "s3": "s3"}


def log(msg: str) -> None:
    print(f"awslike: {msg}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------------------------
# Requests: which service and operation a request is
# ----------------------------------------------------------------------------------------------


class Call:
    """One request as the proxy understands it."""

    def __init__(self, method: str, path: str, headers: dict[str, str], body: bytes):
        self.method = method
        self.path = path
        self.headers = headers  # lower-case names
        self.body = body
        self.region = DEFAULT_REGION
        scope_service = None
        m = re.search(r"Credential=[^/]+/\d{8}/([^/]+)/([^/]+)/aws4_request", headers.get("authorization", ""))
        if m:
            self.region, scope_service = m.group(1), m.group(2)
        self.params: dict[str, str] = {}
        self.json: dict | None = None
        target = headers.get("x-amz-target", "")
        url = urllib.parse.urlsplit(path)
        if target:
            self.protocol = "json"
            prefix, _, self.operation = target.rpartition(".")
            self.service = "ecs" if prefix == ECS_TARGET_PREFIX[:-1] else (scope_service or prefix)
            try:
                self.json = json.loads(body or b"{}")
            except ValueError:
                self.json = None
        else:
            params = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
            if "x-www-form-urlencoded" in headers.get("content-type", ""):
                params.update(urllib.parse.parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
            if "Action" in params:
                self.protocol = "query"
                self.params = params
                self.operation = params["Action"]
                self.service = scope_service or QUERY_VERSIONS.get(params.get("Version", ""), "unknown")
            elif url.path.startswith("/moto-api"):
                self.protocol = "moto"
                self.service = "moto-api"
                self.operation = url.path
            else:
                # REST (S3 and friends): the method names the operation well enough for counting.
                self.protocol = "rest"
                self.service = scope_service or "s3"
                self.operation = method
        self.service_key = SERVICE_KEYS.get(self.service, self.service)

    @property
    def key(self) -> str:
        return f"{self.service_key}.{self.operation}"


# ----------------------------------------------------------------------------------------------
# Faults
# ----------------------------------------------------------------------------------------------

FAULT_KINDS = ("throttle", "error500", "error503", "reset", "lost", "stall")


class FaultRule:
    def __init__(self, spec: dict):
        self.kind = spec["kind"]
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r} (one of {', '.join(FAULT_KINDS)})")
        ops = spec.get("ops", ["*"])
        self.ops = [ops] if isinstance(ops, str) else list(ops)
        self.rate = float(spec.get("rate", 1.0))
        self.count = None if spec.get("count") is None else int(spec["count"])
        self.after = int(spec.get("after", 0))
        self.seconds = float(spec.get("seconds", 5.0))
        self.seen = 0
        self.injected = 0

    def matches(self, call: Call) -> bool:
        for op in self.ops:
            if op == "*" or op == call.operation or op == call.key:
                return True
            if op.endswith(".*") and op[:-2] == call.service_key:
                return True
        return False

    def to_json(self) -> dict:
        return {
            "kind": self.kind,
            "ops": self.ops,
            "rate": self.rate,
            "count": self.count,
            "after": self.after,
            "seconds": self.seconds,
            "seen": self.seen,
            "injected": self.injected,
        }


def parse_fault_flag(text: str) -> dict:
    """`KIND:OPS[:key=value,...]`, OPS comma-separated (`ecs.DescribeServices,elbv2.*`)."""
    parts = text.split(":", 2)
    spec: dict = {"kind": parts[0]}
    if len(parts) > 1 and parts[1]:
        spec["ops"] = parts[1].split(",")
    if len(parts) > 2:
        for kv in parts[2].split(","):
            k, _, v = kv.partition("=")
            spec[k.strip()] = v.strip()
    return spec


class Faults:
    def __init__(self, seed: int, specs: list[dict]):
        self.lock = threading.Lock()
        self.set(seed, specs)

    def set(self, seed: int, specs: list[dict]) -> None:
        rules = [FaultRule(s) for s in specs]
        with self.lock:
            self.seed = seed
            self.rng = random.Random(seed)
            self.rules = rules

    def pick(self, call: Call) -> FaultRule | None:
        """The first rule that fires for this request (at most one fault per request)."""
        with self.lock:
            for rule in self.rules:
                if not rule.matches(call):
                    continue
                rule.seen += 1
                if rule.seen <= rule.after:
                    continue
                if rule.count is not None and rule.injected >= rule.count:
                    continue
                # Draw for every eligible request, so a seed gives the same sequence each run.
                if self.rng.random() >= rule.rate:
                    continue
                rule.injected += 1
                return rule
        return None

    def to_json(self) -> dict:
        with self.lock:
            return {"seed": self.seed, "faults": [r.to_json() for r in self.rules]}


def error_response(call: Call, kind: str) -> tuple[int, dict[str, str], bytes]:
    """What AWS answers when it throttles or fails, in the protocol of the called service.

    Shapes and status codes:
    - ECS (awsJson1_1): `{"__type":"ThrottlingException","message":"Rate exceeded"}`, HTTP 400 —
      Amazon ECS API reference, "Request throttling for the Amazon ECS API" ("Rate exceeded
      (Service: AmazonECS; Status Code: 400; Error Code: ThrottlingException ...)"); botocore
      `_retry.json` `throttling_exception` (ThrottlingException, 400).
    - ELBv2 (awsQuery): `<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>
      <Message>Rate exceeded</Message></Error><RequestId/></ErrorResponse>`, HTTP 400, text/xml —
      a live DescribeLoadBalancers throttle quoted in ansible-collections/community.aws PR #977
      (code Throttling, message "Rate exceeded", type Sender, 400, text/xml), boto/boto3#3125;
      the SDK's parser: aws-sdk-elasticloadbalancingv2 `rest_xml_wrapped_errors.rs`.
      (The ELB user guide page says "ThrottlingException"; live responses say "Throttling".)
    - EC2 (ec2Query): `<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request
      limit exceeded.</Message></Error></Errors><RequestID/></Response>`, HTTP 503 — botocore
      `_retry.json` `request_limit_exceeded` (RequestLimitExceeded, 503, EC2 only); the SDK's
      parser: aws-sdk-ec2 `ec2_query_errors.rs`; EC2 API "Error codes" page.
    - S3 (restXml): `<Error><Code>SlowDown</Code>...`, HTTP 503.
    Server errors use each service's documented 500/503 codes (ECS ServerException; ELBv2
    InternalFailure / ServiceUnavailable; EC2 InternalError / Unavailable).
    """
    rid = str(uuid.uuid4())
    status, code, message = {
        ("ecs", "throttle"): (400, "ThrottlingException", "Rate exceeded"),
        ("ecs", "error500"): (500, "ServerException", "Service encountered an internal error."),
        ("ecs", "error503"): (503, "ServiceUnavailableException", "Service Unavailable"),
        ("elbv2", "throttle"): (400, "Throttling", "Rate exceeded"),
        ("elbv2", "error500"): (500, "InternalFailure", "An internal error has occurred."),
        ("elbv2", "error503"): (503, "ServiceUnavailable", "Service Unavailable"),
        ("ec2", "throttle"): (503, "RequestLimitExceeded", "Request limit exceeded."),
        ("ec2", "error500"): (500, "InternalError", "An internal error has occurred"),
        ("ec2", "error503"): (503, "Unavailable", "The server is overloaded and can't handle the request."),
        ("s3", "throttle"): (503, "SlowDown", "Please reduce your request rate."),
        ("s3", "error500"): (500, "InternalError", "We encountered an internal error. Please try again."),
        ("s3", "error503"): (503, "ServiceUnavailable", "Service is unable to handle request."),
    }.get(
        (call.service_key, kind),
        {
            "throttle": (400, "ThrottlingException" if call.protocol == "json" else "Throttling", "Rate exceeded"),
            "error500": (500, "InternalFailure", "An internal error has occurred."),
            "error503": (503, "ServiceUnavailable", "Service Unavailable"),
        }[kind],
    )
    if call.protocol == "json":
        body = json.dumps({"__type": code, "message": message}, separators=(",", ":")).encode()
        return status, {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": rid}, body
    if call.service_key == "ec2":
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors>"
            f"<RequestID>{rid}</RequestID></Response>"
        ).encode()
        return status, {"Content-Type": "text/xml;charset=UTF-8"}, body
    if call.protocol == "query":
        ns = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/" if call.service_key == "elbv2" else ""
        xmlns = f' xmlns="{ns}"' if ns else ""
        side = "Sender" if status < 500 else "Receiver"
        body = (
            f"<ErrorResponse{xmlns}>\n  <Error>\n    <Type>{side}</Type>\n    <Code>{code}</Code>\n"
            f"    <Message>{message}</Message>\n  </Error>\n  <RequestId>{rid}</RequestId>\n</ErrorResponse>\n"
        ).encode()
        return status, {"Content-Type": "text/xml", "x-amzn-RequestId": rid}, body
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message><RequestId>{rid}</RequestId></Error>"
    ).encode()
    return status, {"Content-Type": "application/xml", "x-amz-request-id": rid}, body


# ----------------------------------------------------------------------------------------------
# What the proxy remembers of the writes
# ----------------------------------------------------------------------------------------------


def deep_merge(base: dict, over: dict) -> dict:
    """`over` on top of `base`, recursively for objects (lists and scalars are replaced)."""
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


class Memory:
    """What the write requests sent, keyed by the ARN the answer named."""

    def __init__(self):
        self.lock = threading.Lock()
        self.clear()

    def clear(self) -> None:
        self.services: dict[str, dict] = {}  # service ARN -> merged CreateService/UpdateService input
        self.service_created: dict[str, float] = {}
        self.task_definitions: dict[str, float] = {}  # task definition ARN -> registeredAt
        self.account_settings: dict[str, str] = {}  # PutAccountSettingDefault name -> value
        self.clusters_ci_default: dict[str, str] = {}  # cluster ARN -> containerInsights at create
        self.target_groups: dict[str, dict] = {}  # TG ARN -> {"set": [fields], protocol, ...}
        self.tg_attrs: dict[str, dict[str, str]] = {}  # TG ARN -> attributes modified
        self.load_balancers: dict[str, dict] = {}  # LB ARN -> {"type": ...}
        self.lb_attrs: dict[str, dict[str, str]] = {}  # LB ARN -> attributes modified

    def to_json(self) -> dict:
        with self.lock:
            return {
                "services": self.services,
                "task_definitions": self.task_definitions,
                "account_settings": self.account_settings,
                "target_groups": self.target_groups,
                "tg_attrs": self.tg_attrs,
                "load_balancers": self.load_balancers,
                "lb_attrs": self.lb_attrs,
            }


# ----------------------------------------------------------------------------------------------
# ECS (JSON protocol)
# ----------------------------------------------------------------------------------------------


def account_of(arn: str | None) -> str:
    parts = (arn or "").split(":")
    return parts[4] if len(parts) > 5 and parts[4] else DEFAULT_ACCOUNT


def caller_arn(account: str) -> str:
    # [F:svc-basic] createdBy / [F:td-attrs] registeredBy: the caller's IAM ARN. moto's STS
    # answers GetCallerIdentity for any test key as the user `moto`.
    return f"arn:aws:iam::{account}:user/moto"


SERVICE_LINKED_ROLE = "arn:aws:iam::{account}:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS"


class Ecs:
    # Fields of CreateService/UpdateService that describe the service (not the request).
    NOT_REMEMBERED = {"cluster", "service", "serviceName", "clientToken", "forceNewDeployment", "tags", "include"}
    # Remembered but not copied as is: merged, renamed, moto's own, or shown on deployments only.
    NOT_FILLED = {
        "deploymentConfiguration",
        "role",
        "taskDefinition",
        "desiredCount",
        "serviceConnectConfiguration",
        "volumeConfigurations",
        "vpcLatticeConfigurations",
    }

    def __init__(self, proxy: "Proxy"):
        self.proxy = proxy
        self.mem = proxy.memory

    # -- writes ----------------------------------------------------------------------------------

    def remember(self, call: Call, answer: dict) -> None:
        op, sent = call.operation, call.json or {}
        mem = self.mem
        with mem.lock:
            if op in ("CreateService", "UpdateService") and isinstance(answer.get("service"), dict):
                arn = answer["service"].get("serviceArn")
                if not arn:
                    return
                given = {k: v for k, v in sent.items() if k not in self.NOT_REMEMBERED}
                if op == "CreateService":
                    # moto: CreateService with an existing name overwrites the service.
                    mem.services[arn] = given
                    mem.service_created[arn] = time.time()
                else:
                    # AWS keeps what it was given; an update changes only what it names.
                    mem.services[arn] = deep_merge(mem.services.get(arn, {}), given)
            elif op == "RegisterTaskDefinition":
                arn = (answer.get("taskDefinition") or {}).get("taskDefinitionArn")
                if arn:
                    mem.task_definitions.setdefault(arn, time.time())
            elif op == "PutAccountSettingDefault":
                if sent.get("name"):
                    mem.account_settings[sent["name"]] = sent.get("value", "")
            elif op == "CreateCluster":
                arn = (answer.get("cluster") or {}).get("clusterArn")
                given = {s.get("name"): s.get("value") for s in sent.get("settings") or []}
                if arn:
                    if "containerInsights" in given:
                        mem.clusters_ci_default.pop(arn, None)
                    elif "containerInsights" in mem.account_settings:
                        mem.clusters_ci_default[arn] = mem.account_settings["containerInsights"]

    # -- reads -----------------------------------------------------------------------------------

    def shape(self, call: Call, answer: dict) -> bool:
        op = call.operation
        if op == "DescribeServices":
            for s in answer.get("services") or []:
                self.shape_service(call, s)
            return True
        if op in ("CreateService", "UpdateService", "DeleteService") and isinstance(answer.get("service"), dict):
            self.shape_service(call, answer["service"])
            return True
        if op == "DescribeClusters":
            for c in answer.get("clusters") or []:
                self.shape_cluster(c)
            return True
        if op in ("CreateCluster", "UpdateCluster", "PutClusterCapacityProviders", "DeleteCluster") and isinstance(
            answer.get("cluster"), dict
        ):
            self.shape_cluster(answer["cluster"])
            return True
        if op in ("DescribeTaskDefinition", "RegisterTaskDefinition", "DeregisterTaskDefinition") and isinstance(
            answer.get("taskDefinition"), dict
        ):
            self.shape_task_definition(answer["taskDefinition"])
            return True
        if op == "ListTaskDefinitions":
            return self.shape_list_task_definitions(call, answer)
        return False

    def shape_service(self, call: Call, s: dict) -> None:
        arn = s.get("serviceArn", "")
        account = account_of(arn)
        with self.mem.lock:
            sent = copy.deepcopy(self.mem.services.get(arn, {}))
            created = self.mem.service_created.get(arn)

        # What moto dropped from CreateService (deploymentConfiguration,
        # healthCheckGracePeriodSeconds, enableExecuteCommand, enableECSManagedTags,
        # placementStrategy, placementConstraints, capacityProviderStrategy,
        # availabilityZoneRebalancing, ...): AWS keeps what it was given (F:svc-deploy, last item).
        for k, v in sent.items():
            if k in self.NOT_FILLED:
                continue
            if k not in s or s[k] in (None, {}):
                s[k] = copy.deepcopy(v)
        if "role" in sent and not s.get("roleArn"):
            s["roleArn"] = sent["role"]
        if s.get("capacityProviderStrategy") and "launchType" not in sent:
            # A service given a capacity provider strategy has no launch type.
            s.pop("launchType", None)

        scheduling = s.setdefault("schedulingStrategy", sent.get("schedulingStrategy", "REPLICA"))  # [F:svc-basic]
        controller = s.setdefault("deploymentController", {"type": "ECS"})  # [F:svc-basic]

        # [F:svc-deploy] deploymentConfiguration is always returned, filled: what was sent (merged
        # over updates) on top of moto's, on top of the defaults. DAEMON: 100/0; EXTERNAL: 200/100.
        if controller.get("type") == "EXTERNAL":
            defaults = {"maximumPercent": 200, "minimumHealthyPercent": 100}
        else:
            daemon = scheduling == "DAEMON"
            defaults = {
                "maximumPercent": 100 if daemon else 200,
                "minimumHealthyPercent": 0 if daemon else 100,
                "deploymentCircuitBreaker": {
                    "enable": False,
                    "rollback": False,
                    "thresholdConfiguration": {"type": "BOUNDED_PERCENT", "value": 50},
                    "resetOnHealthyTask": True,
                },
                "strategy": "ROLLING",
                "bakeTimeInMinutes": 0,
            }
        s["deploymentConfiguration"] = deep_merge(
            deep_merge(defaults, s.get("deploymentConfiguration") or {}), sent.get("deploymentConfiguration") or {}
        )

        s.setdefault("healthCheckGracePeriodSeconds", 0)  # [F:svc-hcgp]
        for k, v in (  # [F:svc-basic]
            ("enableECSManagedTags", False),
            ("enableExecuteCommand", False),
            ("propagateTags", "NONE"),
            ("placementConstraints", []),
            ("placementStrategy", []),
            ("loadBalancers", []),
            ("serviceRegistries", []),
            ("resourceManagementType", "CUSTOMER"),
        ):
            if s.get(k) is None:
                s[k] = v
        if "createdAt" not in s:  # [F:svc-basic]
            deployments = s.get("deployments") or []
            s["createdAt"] = created or min((d.get("createdAt", time.time()) for d in deployments), default=time.time())
        s.setdefault("createdBy", caller_arn(account))  # [F:svc-basic]
        td = s.get("taskDefinition")
        if td and not td.startswith("arn:"):  # [F:svc-basic] taskDefinition as a full ARN
            s["taskDefinition"] = self.task_definition_arn(call, td, account)

        # [F:svc-basic] a bridge/host-mode service has no networkConfiguration key (moto: {}).
        awsvpc = False
        for holder in [s] + list(s.get("deployments") or []):
            nc = holder.get("networkConfiguration")
            if not nc or not nc.get("awsvpcConfiguration"):
                holder.pop("networkConfiguration", None)
                continue
            awsvpc = True
            vpc = nc["awsvpcConfiguration"]
            vpc.setdefault("assignPublicIp", "DISABLED")  # [F:svc-awsvpc]
            vpc.setdefault("securityGroups", [])  # [F:svc-awsvpc]

        # [F:svc-role] a role given by name comes back as its full ARN; awsvpc or load-balanced
        # services without one report the ECS service-linked role.
        role = s.get("roleArn")
        if role and not role.startswith("arn:"):
            s["roleArn"] = f"arn:aws:iam::{account}:role/{role.lstrip('/')}"
        elif not role and (awsvpc or s.get("loadBalancers")):
            s["roleArn"] = SERVICE_LINKED_ROLE.format(account=account)

        # [F:svc-azr] CreateService defaults availabilityZoneRebalancing to ENABLED; live DAEMON
        # services read DISABLED.
        if not s.get("availabilityZoneRebalancing"):
            s["availabilityZoneRebalancing"] = "DISABLED" if scheduling == "DAEMON" else "ENABLED"

        # [F:svc-fargate] Fargate: platformVersion LATEST and platformFamily Linux on the service;
        # deployments carry the resolved version (1.4.0) and platformFamily Linux (moto: FARGATE).
        strategy = s.get("capacityProviderStrategy") or []
        fargate = s.get("launchType") == "FARGATE" or any(
            (i.get("capacityProvider") or "").startswith("FARGATE") for i in strategy
        )
        if fargate:
            s.setdefault("platformVersion", "LATEST")
            s.setdefault("platformFamily", "Linux")
            for d in s.get("deployments") or []:
                pv = d.get("platformVersion") or s["platformVersion"]
                d["platformVersion"] = "1.4.0" if pv == "LATEST" else pv
                if d.get("platformFamily") in (None, "FARGATE"):
                    d["platformFamily"] = "Linux"

    def task_definition_arn(self, call: Call, td: str, account: str) -> str:
        family, _, revision = td.partition(":")
        if not revision:
            got = self.proxy.upstream_json(call, "DescribeTaskDefinition", {"taskDefinition": td})
            arn = ((got or {}).get("taskDefinition") or {}).get("taskDefinitionArn")
            if arn:
                return arn
            return td
        return f"arn:aws:ecs:{call.region}:{account}:task-definition/{family}:{revision}"

    def shape_cluster(self, c: dict) -> None:
        arn = c.get("clusterArn", "")
        with self.mem.lock:
            ci_default = self.mem.clusters_ci_default.get(arn)
        # [F:cluster] a fresh cluster reads containerInsights disabled, empty capacity providers,
        # strategy, statistics and tags.
        settings = c.setdefault("settings", [])
        if not any(x.get("name") == "containerInsights" for x in settings):
            settings.append({"name": "containerInsights", "value": "disabled"})
        if ci_default:
            # [F:cluster-ci] created without the setting: the account default applies.
            for x in settings:
                if x.get("name") == "containerInsights":
                    x["value"] = ci_default
        c.setdefault("capacityProviders", [])
        c.setdefault("defaultCapacityProviderStrategy", [])
        for item in c["defaultCapacityProviderStrategy"]:
            item.setdefault("base", 0)  # [F:cluster] omitted base reads back 0
        c.setdefault("statistics", [])
        c.setdefault("tags", [])

    def shape_task_definition(self, t: dict) -> None:
        arn = t.get("taskDefinitionArn", "")
        account = account_of(arn)
        awsvpc = t.get("networkMode") == "awsvpc"
        # [F:td-units] task-level cpu/memory are strings of units: "1 vCPU" -> "1024", "1 GB" -> "1024".
        for key in ("cpu", "memory"):
            if key in t and t[key] is not None:
                t[key] = task_units(str(t[key]), key)
        for c in t.get("containerDefinitions") or []:
            for k, v in (  # [F:td-container]
                ("cpu", 0),
                ("essential", True),
                ("portMappings", []),
                ("environment", []),
                ("mountPoints", []),
                ("volumesFrom", []),
                ("systemControls", []),
            ):
                if c.get(k) is None:
                    c[k] = v
            for p in c["portMappings"]:
                p.setdefault("protocol", "tcp")  # [F:td-ports]
                if awsvpc and "containerPort" in p:
                    p.setdefault("hostPort", p["containerPort"])  # [F:td-ports]
        # [F:td-attrs] read-only fields AWS adds.
        t.setdefault("volumes", [])
        t.setdefault("placementConstraints", [])
        required = t.get("requiresCompatibilities") or []
        if "FARGATE" in required:
            t["compatibilities"] = sorted(set(t.get("compatibilities") or []) | {"EC2", "FARGATE"})
        if "requiresAttributes" not in t:
            t["requiresAttributes"] = [{"name": n} for n in required_attributes(t)]
        with self.mem.lock:
            registered = self.mem.task_definitions.setdefault(arn, time.time())
        t.setdefault("registeredAt", registered)
        t.setdefault("registeredBy", caller_arn(account))

    def shape_list_task_definitions(self, call: Call, answer: dict) -> bool:
        # [F:list-td] AWS honours sort (ASC by default), maxResults and nextToken; moto ignores
        # them and returns everything. moto's full list is sorted and paged here.
        sent = call.json or {}
        arns = list(answer.get("taskDefinitionArns") or [])

        def order(a: str) -> tuple[str, int]:
            fam, _, rev = a.rsplit("/", 1)[-1].partition(":")
            return fam, int(rev) if rev.isdigit() else 0

        arns.sort(key=order, reverse=sent.get("sort") == "DESC")
        start = 0
        if sent.get("nextToken"):
            try:
                start = int(base64.b64decode(sent["nextToken"]).decode().split(":", 1)[1])
            except (ValueError, IndexError):
                start = 0
        limit = int(sent.get("maxResults") or 100)
        page = arns[start : start + limit]
        answer["taskDefinitionArns"] = page
        answer.pop("nextToken", None)
        if start + limit < len(arns):
            answer["nextToken"] = base64.b64encode(f"awslike:{start + limit}".encode()).decode()
        return True


def task_units(value: str, key: str) -> str:
    m = re.fullmatch(r"\s*([0-9.]+)\s*(vcpu|gb)?\s*", value, re.IGNORECASE)
    if not m:
        return value
    number, unit = float(m.group(1)), (m.group(2) or "").lower()
    if unit in ("vcpu", "gb"):
        return str(int(number * 1024))
    return str(int(number)) if number.is_integer() else value


ECR_IMAGE = re.compile(r"^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/")


def required_attributes(t: dict) -> list[str]:
    """[F:td-attrs] requiresAttributes derived from the task definition's features."""
    names: list[str] = []
    containers = t.get("containerDefinitions") or []
    execution_role = bool(t.get("executionRoleArn"))
    if t.get("networkMode") == "awsvpc":
        names += ["ecs.capability.task-eni", "com.amazonaws.ecs.capability.docker-remote-api.1.18"]
    if any((c.get("logConfiguration") or {}).get("logDriver") == "awslogs" for c in containers):
        names += ["com.amazonaws.ecs.capability.logging-driver.awslogs", "com.amazonaws.ecs.capability.docker-remote-api.1.19"]
        if execution_role:
            names.append("ecs.capability.execution-role-awslogs")
    if t.get("taskRoleArn"):
        names.append("com.amazonaws.ecs.capability.task-iam-role")
    if any(ECR_IMAGE.match(c.get("image") or "") for c in containers):
        names.append("com.amazonaws.ecs.capability.ecr-auth")
        if execution_role:
            names.append("ecs.capability.execution-role-ecr-pull")
    if any(c.get("healthCheck") for c in containers):
        names.append("ecs.capability.container-health-check")
    seen: list[str] = []
    for n in names:
        if n not in seen:
            seen.append(n)
    return seen


# ----------------------------------------------------------------------------------------------
# XML helpers (query protocols)
# ----------------------------------------------------------------------------------------------


class Xml:
    """Namespace-aware helpers over one parsed response document."""

    def __init__(self, root: ET.Element):
        self.root = root
        self.ns = root.tag[1:].split("}", 1)[0] if root.tag.startswith("{") else ""

    def q(self, tag: str) -> str:
        return f"{{{self.ns}}}{tag}" if self.ns else tag

    def path(self, path: str) -> str:
        return "/".join(self.q(p) if p not in (".", "..", "*") else p for p in path.split("/"))

    def find(self, el: ET.Element, path: str) -> ET.Element | None:
        return el.find(self.path(path))

    def findall(self, el: ET.Element, path: str) -> list[ET.Element]:
        return el.findall(self.path(path))

    def text(self, el: ET.Element, path: str) -> str | None:
        found = self.find(el, path)
        return None if found is None else (found.text or "")

    def members(self, el: ET.Element | None, tag: str = "member") -> list[ET.Element]:
        return [] if el is None else el.findall(self.q(tag))

    def ensure(self, el: ET.Element, tag: str) -> ET.Element:
        found = el.find(self.q(tag))
        if found is None:
            found = ET.SubElement(el, self.q(tag))
        return found

    def set(self, el: ET.Element, tag: str, value) -> ET.Element:
        child = self.ensure(el, tag)
        child.text = xml_value(value)
        return child

    def default(self, el: ET.Element, tag: str, value) -> None:
        if el.find(self.q(tag)) is None:
            self.set(el, tag, value)

    def remove(self, el: ET.Element, tag: str) -> None:
        for child in el.findall(self.q(tag)):
            el.remove(child)

    def serialize(self) -> bytes:
        body = ET.tostring(self.root, encoding="unicode", default_namespace=self.ns or None)
        return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body).encode()


def xml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# ----------------------------------------------------------------------------------------------
# ELBv2 (query protocol)
# ----------------------------------------------------------------------------------------------

TG_FIELDS = (
    "HealthCheckProtocol",
    "HealthCheckPort",
    "HealthCheckEnabled",
    "HealthCheckPath",
    "HealthCheckIntervalSeconds",
    "HealthCheckTimeoutSeconds",
    "HealthyThresholdCount",
    "UnhealthyThresholdCount",
    "Matcher",
    "ProtocolVersion",
    "IpAddressType",
)
NLB_PROTOCOLS = ("TCP", "TLS", "UDP", "TCP_UDP")

# [F:tg-attrs] a fresh ALB (HTTP/HTTPS) target group's attributes (cdkrd corpus GreenTg).
ALB_TG_ATTRS = [
    ("deregistration_delay.timeout_seconds", "300"),
    ("stickiness.enabled", "false"),
    ("stickiness.type", "lb_cookie"),
    ("stickiness.lb_cookie.duration_seconds", "86400"),
    ("stickiness.app_cookie.cookie_name", ""),
    ("stickiness.app_cookie.duration_seconds", "86400"),
    ("slow_start.duration_seconds", "0"),
    ("load_balancing.algorithm.type", "round_robin"),
    ("load_balancing.algorithm.anomaly_mitigation", "off"),
    ("load_balancing.cross_zone.enabled", "use_load_balancer_configuration"),
    ("target_group_health.dns_failover.minimum_healthy_targets.count", "1"),
    ("target_group_health.dns_failover.minimum_healthy_targets.percentage", "off"),
    ("target_group_health.unhealthy_state_routing.minimum_healthy_targets.count", "1"),
    ("target_group_health.unhealthy_state_routing.minimum_healthy_targets.percentage", "off"),
]
# [F:tg-attrs] NLB (TCP/TLS/UDP/TCP_UDP) target groups read another list (cdkrd corpus HuntAlbTg
# for `alb` targets; TlsIpTg for ip/instance targets, which add the target_health_state keys).
NLB_TG_ATTRS = [
    ("deregistration_delay.timeout_seconds", "300"),
    ("deregistration_delay.connection_termination.enabled", "false"),
    ("stickiness.enabled", "false"),
    ("stickiness.type", "source_ip"),
    ("preserve_client_ip.enabled", None),  # by protocol and target type, below
    ("proxy_protocol_v2.enabled", "false"),
    ("load_balancing.cross_zone.enabled", "use_load_balancer_configuration"),
    ("target_group_health.dns_failover.minimum_healthy_targets.count", "1"),
    ("target_group_health.dns_failover.minimum_healthy_targets.percentage", "off"),
    ("target_group_health.unhealthy_state_routing.minimum_healthy_targets.count", "1"),
    ("target_group_health.unhealthy_state_routing.minimum_healthy_targets.percentage", "off"),
]
NLB_TG_HEALTH_STATE_ATTRS = [
    ("target_health_state.unhealthy.connection_termination.enabled", "true"),
    ("target_health_state.unhealthy.draining_interval_seconds", "0"),
]

# [F:lb-attrs] a fresh ALB's 22 attributes (cdkrd corpus Alb16C2F182.bare).
ALB_LB_ATTRS = [
    ("access_logs.s3.enabled", "false"),
    ("access_logs.s3.bucket", ""),
    ("access_logs.s3.prefix", ""),
    ("connection_logs.s3.enabled", "false"),
    ("connection_logs.s3.bucket", ""),
    ("connection_logs.s3.prefix", ""),
    ("health_check_logs.s3.enabled", "false"),
    ("health_check_logs.s3.bucket", ""),
    ("health_check_logs.s3.prefix", ""),
    ("idle_timeout.timeout_seconds", "60"),
    ("client_keep_alive.seconds", "3600"),
    ("deletion_protection.enabled", "false"),
    ("routing.http2.enabled", "true"),
    ("routing.http.drop_invalid_header_fields.enabled", "false"),
    ("routing.http.xff_client_port.enabled", "false"),
    ("routing.http.preserve_host_header.enabled", "false"),
    ("routing.http.xff_header_processing.mode", "append"),
    ("routing.http.x_amzn_tls_version_and_cipher_suite.enabled", "false"),
    ("routing.http.desync_mitigation_mode", "defensive"),
    ("load_balancing.cross_zone.enabled", "true"),
    ("waf.fail_open.enabled", "false"),
    ("zonal_shift.config.enabled", "false"),
]
# [F:lb-attrs] a fresh NLB: cross_zone false, plus the secondary_ips / dns_record keys (cdkrd
# corpus NlbBCDB97FE).
NLB_LB_ATTRS = [
    ("access_logs.s3.enabled", "false"),
    ("access_logs.s3.bucket", ""),
    ("access_logs.s3.prefix", ""),
    ("deletion_protection.enabled", "false"),
    ("load_balancing.cross_zone.enabled", "false"),
    ("zonal_shift.config.enabled", "false"),
    ("secondary_ips.auto_assigned.per_subnet", "0"),
    ("dns_record.client_routing_policy", "any_availability_zone"),
]
# moto's own defaults where they are not AWS's: a moto value equal to these and never modified
# through the proxy is moto's default, not the user's.
MOTO_LB_DEFAULTS = {"load_balancing.cross_zone.enabled": "false"}

# [F:elb-zone][F:lb] the Region's ELB hosted zone, by load balancer type.
ELB_ZONES = {("us-east-1", "application"): "Z35SXDOTRQ7X7K", ("us-east-1", "network"): "Z26RNL4JYFTOTI"}


def tg_defaults(protocol: str, version: str, target_type: str, hc_protocol: str | None) -> dict:
    """AWS's target group defaults by protocol, protocol version and target type.

    A value of None means "absent". Fields: TG_FIELDS; Matcher as ("HttpCode"|"GrpcCode", code).
    """
    if target_type == "lambda":
        # [F:tg] lambda: health checks off, interval 35, timeout 30, path /, matcher 200.
        return {
            "HealthCheckEnabled": False,
            "HealthCheckIntervalSeconds": 35,
            "HealthCheckTimeoutSeconds": 30,
            "HealthyThresholdCount": 5,
            "UnhealthyThresholdCount": 2,
            "HealthCheckPath": "/",
            "Matcher": ("HttpCode", "200"),
        }
    if protocol == "GENEVE":
        # [F:tg] GENEVE: TCP checks on port 80, interval 10, timeout 5.
        return {
            "HealthCheckProtocol": "TCP",
            "HealthCheckPort": "80",
            "HealthCheckEnabled": True,
            "HealthCheckIntervalSeconds": 10,
            "HealthCheckTimeoutSeconds": 5,
            "HealthyThresholdCount": 5,
            "UnhealthyThresholdCount": 2,
            "HealthCheckPath": None,
            "Matcher": None,
            "IpAddressType": "ipv4",
        }
    common = {
        "HealthCheckPort": "traffic-port",
        "HealthCheckEnabled": True,
        "HealthCheckIntervalSeconds": 30,
        "HealthyThresholdCount": 5,
        "UnhealthyThresholdCount": 2,
        "IpAddressType": "ipv4",
    }
    if protocol in NLB_PROTOCOLS:
        hc = hc_protocol or ("HTTP" if target_type == "alb" else "TCP")
        if hc in ("HTTP", "HTTPS"):
            # [F:tg] TCP with alb targets: HTTP checks, timeout 6, path /, 200-399.
            # [F:tg-nlb-http] an NLB group checked over HTTP: the same (timeout 6 for HTTP only;
            # the CreateTargetGroup text gives HTTPS checks 10).
            return {
                **common,
                "HealthCheckProtocol": hc,
                "HealthCheckTimeoutSeconds": 6 if hc == "HTTP" else 10,
                "HealthCheckPath": "/",
                "Matcher": ("HttpCode", "200-399"),
            }
        # [F:tg] TCP/TLS/UDP/TCP_UDP: TCP checks, timeout 10, no path, no matcher.
        return {**common, "HealthCheckProtocol": hc, "HealthCheckTimeoutSeconds": 10, "HealthCheckPath": None, "Matcher": None}
    # [F:tg] HTTP/HTTPS (ALB), instance or ip: checks in the group's protocol, timeout 5, path /,
    # matcher 200, ProtocolVersion HTTP1.
    out = {
        **common,
        "HealthCheckProtocol": protocol,
        "HealthCheckTimeoutSeconds": 5,
        "HealthCheckPath": "/",
        "Matcher": ("HttpCode", "200"),
        "ProtocolVersion": "HTTP1",
    }
    if version == "GRPC":
        # [F:tg-grpc] gRPC: path /AWS.ALB/healthcheck, matcher GrpcCode 12.
        out["HealthCheckPath"] = "/AWS.ALB/healthcheck"
        out["Matcher"] = ("GrpcCode", "12")
    return out


def attribute_params(params: dict[str, str]) -> dict[str, str]:
    """`Attributes.member.N.Key/Value` of a Modify*Attributes request."""
    keys: dict[str, dict[str, str]] = {}
    for name, value in params.items():
        m = re.fullmatch(r"Attributes\.member\.(\d+)\.(Key|Value)", name)
        if m:
            keys.setdefault(m.group(1), {})[m.group(2)] = value
    return {e["Key"]: e.get("Value", "") for e in keys.values() if "Key" in e}


class Elbv2:
    def __init__(self, proxy: "Proxy"):
        self.proxy = proxy
        self.mem = proxy.memory

    # -- writes ----------------------------------------------------------------------------------

    def remember(self, call: Call, x: Xml) -> None:
        op, p, mem = call.operation, call.params, self.mem
        if op == "CreateTargetGroup":
            member = x.find(x.root, f"{op}Result/TargetGroups/member")
            if member is None:
                return
            arn = x.text(member, "TargetGroupArn")
            given = sorted({k.split(".", 1)[0] for k in p if k.split(".", 1)[0] in TG_FIELDS})
            with mem.lock:
                mem.target_groups[arn] = {
                    "set": given,
                    "Protocol": p.get("Protocol") or x.text(member, "Protocol") or "",
                    "ProtocolVersion": p.get("ProtocolVersion") or "",
                    "TargetType": p.get("TargetType") or x.text(member, "TargetType") or "instance",
                    "HealthCheckProtocol": p.get("HealthCheckProtocol"),
                }
        elif op == "ModifyTargetGroup":
            arn = p.get("TargetGroupArn")
            with mem.lock:
                if arn in mem.target_groups:
                    tg = mem.target_groups[arn]
                    tg["set"] = sorted(set(tg["set"]) | {k.split(".", 1)[0] for k in p if k.split(".", 1)[0] in TG_FIELDS})
                    if p.get("HealthCheckProtocol"):
                        tg["HealthCheckProtocol"] = p["HealthCheckProtocol"]
        elif op == "ModifyTargetGroupAttributes":
            with mem.lock:
                mem.tg_attrs.setdefault(p.get("TargetGroupArn", ""), {}).update(attribute_params(p))
        elif op == "CreateLoadBalancer":
            member = x.find(x.root, f"{op}Result/LoadBalancers/member")
            if member is not None:
                with mem.lock:
                    mem.load_balancers[x.text(member, "LoadBalancerArn")] = {
                        "type": p.get("Type") or x.text(member, "Type") or "application"
                    }
        elif op == "ModifyLoadBalancerAttributes":
            with mem.lock:
                mem.lb_attrs.setdefault(p.get("LoadBalancerArn", ""), {}).update(attribute_params(p))

    # -- reads -----------------------------------------------------------------------------------

    def shape(self, call: Call, x: Xml) -> bool:
        op = call.operation
        result = x.find(x.root, f"{op}Result")
        if result is None:
            return False
        if op in ("DescribeTargetGroups", "CreateTargetGroup", "ModifyTargetGroup"):
            for tg in x.members(x.find(result, "TargetGroups")):
                self.shape_target_group(x, tg)
            return True
        if op == "DescribeTargetGroupAttributes":
            return self.shape_tg_attributes(call, x, result)
        if op == "DescribeLoadBalancerAttributes":
            return self.shape_lb_attributes(call, x, result)
        if op in ("DescribeListeners", "CreateListener", "ModifyListener"):
            for listener in x.members(x.find(result, "Listeners")):
                self.shape_listener(x, listener)
            return True
        if op in ("DescribeRules", "CreateRule", "ModifyRule"):
            for rule in x.members(x.find(result, "Rules")):
                self.shape_rule(x, rule)
            return True
        if op in ("DescribeLoadBalancers", "CreateLoadBalancer"):
            for lb in x.members(x.find(result, "LoadBalancers")):
                self.shape_load_balancer(call, x, lb)
            return True
        return False

    def shape_target_group(self, x: Xml, tg: ET.Element) -> None:
        # [F:tg] LoadBalancerArns names each load balancer once (moto repeats one per listener
        # and rule that forwards to the group).
        arns_el = x.find(tg, "LoadBalancerArns")
        if arns_el is not None:
            seen: set[str] = set()
            for m in x.members(arns_el):
                if m.text in seen:
                    arns_el.remove(m)
                seen.add(m.text or "")
        arn = x.text(tg, "TargetGroupArn")
        with self.mem.lock:
            known = copy.deepcopy(self.mem.target_groups.get(arn or ""))
        if known is None:
            return  # not created through the proxy: what was set is unknown, leave moto's values
        defaults = tg_defaults(
            known["Protocol"], known["ProtocolVersion"], known["TargetType"], known.get("HealthCheckProtocol")
        )
        for field, value in defaults.items():
            if field in known["set"]:
                continue  # only for fields the create request did not set
            if value is None:
                x.remove(tg, field)
            elif field == "Matcher":
                x.remove(tg, "Matcher")
                matcher = x.ensure(tg, "Matcher")
                x.set(matcher, value[0], value[1])
            else:
                x.set(tg, field, value)

    def target_group_info(self, call: Call, arn: str) -> dict | None:
        with self.mem.lock:
            known = copy.deepcopy(self.mem.target_groups.get(arn))
        if known:
            return known
        root = self.proxy.upstream_query(call, {"Action": "DescribeTargetGroups", "Version": "2015-12-01", "TargetGroupArns.member.1": arn})
        if root is None:
            return None
        ux = Xml(root)
        member = ux.find(root, "DescribeTargetGroupsResult/TargetGroups/member")
        if member is None:
            return None
        return {
            "Protocol": ux.text(member, "Protocol") or "",
            "TargetType": ux.text(member, "TargetType") or "instance",
            "ProtocolVersion": ux.text(member, "ProtocolVersion") or "",
        }

    def shape_tg_attributes(self, call: Call, x: Xml, result: ET.Element) -> bool:
        arn = call.params.get("TargetGroupArn", "")
        info = self.target_group_info(call, arn)
        if info is None:
            return False
        protocol, target_type = info["Protocol"], info["TargetType"]
        if protocol in ("HTTP", "HTTPS"):
            defaults = list(ALB_TG_ATTRS)
        elif protocol in NLB_PROTOCOLS:
            # AWS: client IP preservation is on for instance targets and for UDP/TCP_UDP ip
            # targets, off for TCP/TLS ip targets (TlsIpTg reads false; HuntAlbTg true).
            preserve = "false" if target_type == "ip" and protocol in ("TCP", "TLS") else "true"
            defaults = [(k, preserve if v is None else v) for k, v in NLB_TG_ATTRS]
            if target_type != "alb":
                defaults += NLB_TG_HEALTH_STATE_ATTRS
        else:
            return False  # lambda, GENEVE: no fact to shape by
        with self.mem.lock:
            modified = dict(self.mem.tg_attrs.get(arn, {}))
        return self.replace_attributes(x, result, defaults, modified, {})

    def shape_lb_attributes(self, call: Call, x: Xml, result: ET.Element) -> bool:
        arn = call.params.get("LoadBalancerArn", "")
        with self.mem.lock:
            lb_type = (self.mem.load_balancers.get(arn) or {}).get("type")
            modified = dict(self.mem.lb_attrs.get(arn, {}))
        if lb_type is None:
            root = self.proxy.upstream_query(call, {"Action": "DescribeLoadBalancers", "Version": "2015-12-01", "LoadBalancerArns.member.1": arn})
            lb_type = Xml(root).text(root, "DescribeLoadBalancersResult/LoadBalancers/member/Type") if root is not None else None
        defaults = {"application": ALB_LB_ATTRS, "network": NLB_LB_ATTRS}.get(lb_type or "")
        if defaults is None:
            return False
        return self.replace_attributes(x, result, defaults, modified, MOTO_LB_DEFAULTS)

    def replace_attributes(self, x: Xml, result: ET.Element, defaults, modified: dict, moto_defaults: dict) -> bool:
        """AWS's full key list, keeping values that were modified ([F:tg-attrs], [F:lb-attrs])."""
        attrs = x.find(result, "Attributes")
        if attrs is None:
            attrs = x.ensure(result, "Attributes")
        moto = {x.text(m, "Key"): x.text(m, "Value") or "" for m in x.members(attrs)}
        out: dict[str, str] = {}
        for key, value in defaults:
            got = moto.get(key)
            if key in modified:
                out[key] = got if got is not None else modified[key]
            elif got is not None and moto_defaults.get(key) != got:
                out[key] = got
            else:
                out[key] = value
        for key, value in modified.items():  # modified keys outside the default list
            out.setdefault(key, moto.get(key, value))
        for m in x.members(attrs):
            attrs.remove(m)
        for key, value in out.items():
            m = ET.SubElement(attrs, x.q("member"))
            x.set(m, "Key", key)
            x.set(m, "Value", value)
        return True

    def shape_actions(self, x: Xml, actions: ET.Element | None) -> None:
        # [F:listener][F:rules] a forward reads TargetGroupArn and ForwardConfig (weight 1,
        # stickiness off), and every action an Order.
        for i, action in enumerate(x.members(actions), start=1):
            x.default(action, "Order", i)
            if x.text(action, "Type") != "forward":
                continue
            fc = x.find(action, "ForwardConfig")
            tg_arn = x.text(action, "TargetGroupArn")
            if fc is None:
                if not tg_arn:
                    continue
                fc = x.ensure(action, "ForwardConfig")
                m = ET.SubElement(x.ensure(fc, "TargetGroups"), x.q("member"))
                x.set(m, "TargetGroupArn", tg_arn)
            for m in x.members(x.find(fc, "TargetGroups")):
                x.default(m, "Weight", 1)
            sticky = x.ensure(fc, "TargetGroupStickinessConfig")
            x.default(sticky, "Enabled", False)

    def shape_listener(self, x: Xml, listener: ET.Element) -> None:
        protocol = x.text(listener, "Protocol")
        if protocol in ("HTTPS", "TLS"):
            # [F:listener] an HTTPS listener without a policy reads ELBSecurityPolicy-2016-08 and
            # MutualAuthentication {Mode: off}.
            x.default(listener, "SslPolicy", "ELBSecurityPolicy-2016-08")
            if protocol == "HTTPS" and x.find(listener, "MutualAuthentication") is None:
                x.set(x.ensure(listener, "MutualAuthentication"), "Mode", "off")
        else:
            # [F:listener] an HTTP listener has no SslPolicy and no MutualAuthentication (moto:
            # SslPolicy ELBSecurityPolicy-2016-08 and an empty AlpnPolicy). TCP/UDP likewise: no
            # TLS, no policy.
            x.remove(listener, "SslPolicy")
            x.remove(listener, "MutualAuthentication")
            alpn = x.find(listener, "AlpnPolicy")
            if alpn is not None and not x.members(alpn):
                listener.remove(alpn)
        self.shape_actions(x, x.find(listener, "DefaultActions"))

    def shape_rule(self, x: Xml, rule: ET.Element) -> None:
        # [F:rules] host/path conditions read Values and PathPatternConfig/HostHeaderConfig;
        # rules carry Transforms [].
        for cond in x.members(x.find(rule, "Conditions")):
            config_tag = {"path-pattern": "PathPatternConfig", "host-header": "HostHeaderConfig"}.get(
                x.text(cond, "Field") or ""
            )
            if not config_tag:
                continue
            values = x.find(cond, "Values")
            config = x.find(cond, config_tag)
            config_values = None if config is None else x.find(config, "Values")
            if values is not None and config_values is None:
                config = x.ensure(cond, config_tag)
                copy_members(x, values, x.ensure(config, "Values"))
            elif config_values is not None and values is None:
                copy_members(x, config_values, x.ensure(cond, "Values"))
        self.shape_actions(x, x.find(rule, "Actions"))
        x.ensure(rule, "Transforms")
        if x.text(rule, "IsDefault") == "true":
            x.set(rule, "Priority", "default")
            x.ensure(rule, "Conditions")

    def shape_load_balancer(self, call: Call, x: Xml, lb: ET.Element) -> None:
        lb_type = x.text(lb, "Type") or "application"
        zone = ELB_ZONES.get((call.region, lb_type))
        if zone:
            x.set(lb, "CanonicalHostedZoneId", zone)  # [F:elb-zone][F:lb]
        x.default(lb, "IpAddressType", "ipv4")  # [F:lb]
        if lb_type == "application":
            for az in x.members(x.find(lb, "AvailabilityZones")):
                x.ensure(az, "LoadBalancerAddresses")  # [F:lb] ALB zones carry LoadBalancerAddresses []
        if lb_type == "network":
            # [F:lb] EnablePrefixForIpv6SourceNat off (the live NLB read NlbBCDB97FE).
            x.default(lb, "EnablePrefixForIpv6SourceNat", "off")
        # [F:lb] DNSName NAME-DIGITS.REGION.elb.amazonaws.com, `internal-` when internal; the live
        # NLB read is NAME-ID.elb.REGION.amazonaws.com (NlbBCDB97FE).
        name = x.text(lb, "LoadBalancerName") or ""
        dns = x.text(lb, "DNSName") or ""
        arn = x.text(lb, "LoadBalancerArn") or ""
        if lb_type == "network" and name:
            dns = f"{name}-{arn.rsplit('/', 1)[-1]}.elb.{call.region}.amazonaws.com"
        if x.text(lb, "Scheme") == "internal" and dns and not dns.startswith("internal-"):
            dns = "internal-" + dns
        if dns:
            x.set(lb, "DNSName", dns)


def copy_members(x: Xml, src: ET.Element, dst: ET.Element) -> None:
    for m in x.members(src):
        ET.SubElement(dst, x.q("member")).text = m.text


# ----------------------------------------------------------------------------------------------
# EC2 (query protocol, EC2 flavour)
# ----------------------------------------------------------------------------------------------


class Ec2:
    def __init__(self, proxy: "Proxy"):
        self.proxy = proxy

    def shape(self, call: Call, x: Xml) -> bool:
        if call.operation == "DescribeSecurityGroups":
            for sg in x.findall(x.root, "securityGroupInfo/item"):
                owner = x.text(sg, "ownerId") or DEFAULT_ACCOUNT
                for perms in ("ipPermissions", "ipPermissionsEgress"):
                    for perm in x.findall(sg, f"{perms}/item"):
                        self.shape_permission(x, perm, owner)
            return True
        if call.operation == "DescribeSecurityGroupRules":
            for rule in x.findall(x.root, "securityGroupRuleSet/item"):
                # [F:sgr] every rule has GroupOwnerId; all-protocol rules read ports -1/-1.
                x.default(rule, "groupOwnerId", DEFAULT_ACCOUNT)
                if x.text(rule, "ipProtocol") == "-1":
                    x.set(rule, "fromPort", -1)
                    x.set(rule, "toPort", -1)
            return True
        return False

    def shape_permission(self, x: Xml, perm: ET.Element, owner: str) -> None:
        # [F:sg] all-protocol permissions have no FromPort/ToPort; every list is present (empty
        # when unused); group-to-group pairs carry UserId beside GroupId.
        if x.text(perm, "ipProtocol") == "-1":
            x.remove(perm, "fromPort")
            x.remove(perm, "toPort")
        for tag in ("groups", "ipRanges", "ipv6Ranges", "prefixListIds"):
            x.ensure(perm, tag)
        for pair in x.findall(perm, "groups/item"):
            x.default(pair, "userId", owner)


# ----------------------------------------------------------------------------------------------
# The proxy
# ----------------------------------------------------------------------------------------------


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.requests: dict[str, int] = {}
            self.faults: dict[str, dict[str, int]] = {}
            self.shaped: dict[str, int] = {}
            self.stood_in: dict[str, int] = {}

    def count(self, table: str, key: str, sub: str | None = None) -> None:
        with self.lock:
            t = getattr(self, table)
            if sub is None:
                t[key] = t.get(key, 0) + 1
            else:
                t.setdefault(key, {})[sub] = t.setdefault(key, {}).get(sub, 0) + 1

    def to_json(self) -> dict:
        with self.lock:
            return {
                "requests": dict(self.requests),
                "requests_total": sum(self.requests.values()),
                "faults": copy.deepcopy(self.faults),
                "faults_total": sum(sum(v.values()) for v in self.faults.values()),
                "shaped": dict(self.shaped),
                "stood_in": dict(self.stood_in),
            }


class Proxy:
    def __init__(self, upstream: str, seed: int, faults: list[dict], shape: bool, timeout: float):
        u = urllib.parse.urlsplit(upstream)
        self.up_host, self.up_port = u.hostname or "127.0.0.1", u.port or 80
        if self.up_host not in ("127.0.0.1", "localhost", "::1"):
            raise SystemExit("awslike: the upstream must be on this machine (127.0.0.1)")
        self.timeout = timeout
        self.shaping = shape
        self.memory = Memory()
        self.stats = Stats()
        self.faults = Faults(seed, faults)
        self.ecs = Ecs(self)
        self.elbv2 = Elbv2(self)
        self.ec2 = Ec2(self)

    # -- upstream --------------------------------------------------------------------------------

    def forward(self, method: str, path: str, headers: list[tuple[str, str]], body: bytes):
        conn = http.client.HTTPConnection(self.up_host, self.up_port, timeout=self.timeout)
        try:
            conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            has_host = False
            for name, value in headers:
                if name.lower() in HOP_BY_HOP:
                    continue
                has_host |= name.lower() == "host"
                conn.putheader(name, value)
            if not has_host:
                conn.putheader("Host", f"{self.up_host}:{self.up_port}")
            if body or method not in ("GET", "HEAD", "DELETE", "OPTIONS"):
                conn.putheader("Content-Length", str(len(body)))
            conn.putheader("Connection", "close")
            conn.endheaders(body or None)
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, resp.reason, resp.getheaders(), data
        finally:
            conn.close()

    def upstream_json(self, call: Call, operation: str, payload: dict) -> dict | None:
        """An extra read the proxy makes of moto itself (not counted, not faulted)."""
        scope = f"Credential=testing/20260101/{call.region}/ecs/aws4_request"
        headers = [
            ("Host", f"{self.up_host}:{self.up_port}"),
            ("Content-Type", "application/x-amz-json-1.1"),
            ("X-Amz-Target", ECS_TARGET_PREFIX + operation),
            ("Authorization", f"AWS4-HMAC-SHA256 {scope}, SignedHeaders=host, Signature=0"),
        ]
        try:
            status, _, _, data = self.forward("POST", "/", headers, json.dumps(payload).encode())
            return json.loads(data) if status == 200 else None
        except (OSError, ValueError):
            return None

    def upstream_query(self, call: Call, params: dict) -> ET.Element | None:
        scope = f"Credential=testing/20260101/{call.region}/{call.service}/aws4_request"
        headers = [
            ("Host", f"{self.up_host}:{self.up_port}"),
            ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"),
            ("Authorization", f"AWS4-HMAC-SHA256 {scope}, SignedHeaders=host, Signature=0"),
        ]
        try:
            status, _, _, data = self.forward("POST", "/", headers, urllib.parse.urlencode(params).encode())
            return ET.fromstring(data) if status == 200 else None
        except (OSError, ET.ParseError):
            return None

    # -- shaping ---------------------------------------------------------------------------------

    def stand_in(self, call: Call, status: int) -> bytes | None:
        """An answer for a write moto does not implement (HTML 500), where the proxy can keep the
        state itself; None to pass moto's answer on."""
        if status == 500 and call.key == "ecs.PutAccountSettingDefault" and call.json:
            # moto 5.2.5: unimplemented. The proxy remembers the default ([F:cluster-ci]: clusters
            # created without the setting then read it) and answers as ECS does.
            setting = {
                "name": call.json.get("name"),
                "value": call.json.get("value"),
                "principalArn": f"arn:aws:iam::{DEFAULT_ACCOUNT}:root",
            }
            return json.dumps({"setting": setting}).encode()
        return None

    def observe_and_shape(self, call: Call, status: int, body: bytes) -> bytes | None:
        """Remember what a successful write sent; return the reshaped body of a read, or None."""
        if status != 200 or call.protocol not in ("json", "query"):
            return None
        try:
            if call.protocol == "json":
                if call.service_key != "ecs":
                    return None
                answer = json.loads(body)
                self.ecs.remember(call, answer)
                if self.shaping and self.ecs.shape(call, answer):
                    return json.dumps(answer).encode()
                return None
            root = ET.fromstring(body)
            x = Xml(root)
            if call.service_key == "elbv2":
                self.elbv2.remember(call, x)
                changed = self.shaping and self.elbv2.shape(call, x)
            elif call.service_key == "ec2":
                changed = self.shaping and self.ec2.shape(call, x)
            else:
                changed = False
            return x.serialize() if changed else None
        except (ValueError, ET.ParseError, KeyError, TypeError, AttributeError) as e:
            log(f"{call.key}: left as moto answered ({type(e).__name__}: {e})")
            return None


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "awslike"
    sys_version = ""
    proxy: Proxy  # set on the class by main()

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass

    def do_GET(self):
        self.handle_any()

    do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = do_GET

    # -- plumbing --------------------------------------------------------------------------------

    def read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def reply(self, status: int, headers: list[tuple[str, str]], body: bytes, reason: str | None = None) -> None:
        self.send_response(status, reason)
        for name, value in headers:
            if name.lower() in HOP_BY_HOP or name.lower() in ("server", "date"):
                continue
            self.send_header(name, value)
        no_body = self.command == "HEAD" or status in (204, 304) or 100 <= status < 200
        if self.command == "HEAD":
            upstream_length = next((v for n, v in headers if n.lower() == "content-length"), None)
            self.send_header("Content-Length", upstream_length or str(len(body)))
        elif not no_body:
            self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close" if self.close_connection else "keep-alive")
        self.end_headers()
        if not no_body:
            self.wfile.write(body)
        self.wfile.flush()

    def reply_json(self, status: int, value) -> None:
        self.reply(status, [("Content-Type", "application/json")], json.dumps(value, indent=1, default=str).encode())

    def drop_connection(self, reset: bool) -> None:
        """Close the client connection without an answer: RST when `reset`, else FIN."""
        self.close_connection = True
        try:
            self.wfile.flush()
        except OSError:
            pass
        try:
            if reset:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            else:
                self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.connection.close()

    # -- control API -----------------------------------------------------------------------------

    def control(self, path: str, body: bytes) -> None:
        p = self.proxy
        if path == "/__proxy/stats" and self.command == "GET":
            return self.reply_json(200, p.stats.to_json())
        if path == "/__proxy/stats/reset" and self.command == "POST":
            p.stats.reset()
            return self.reply_json(200, p.stats.to_json())
        if path == "/__proxy/faults" and self.command == "GET":
            return self.reply_json(200, p.faults.to_json())
        if path == "/__proxy/faults" and self.command in ("POST", "PUT", "DELETE"):
            try:
                spec = json.loads(body or b"{}") if self.command != "DELETE" else {}
                p.faults.set(int(spec.get("seed", p.faults.seed)), list(spec.get("faults", [])))
            except (ValueError, KeyError, TypeError) as e:
                return self.reply_json(400, {"error": str(e)})
            return self.reply_json(200, p.faults.to_json())
        if path == "/__proxy/state" and self.command == "GET":
            return self.reply_json(200, p.memory.to_json())
        if path == "/__proxy/health":
            return self.reply_json(200, {"ok": True})
        return self.reply_json(404, {"error": f"no control endpoint {self.command} {path}"})

    # -- one request -----------------------------------------------------------------------------

    def handle_any(self) -> None:
        p = self.proxy
        body = self.read_body()
        path = urllib.parse.urlsplit(self.path).path
        if path.startswith("/__proxy/"):
            return self.control(path, body)
        raw_headers = list(self.headers.items())
        call = Call(self.command, self.path, {k.lower(): v for k, v in raw_headers}, body)
        if call.protocol != "moto":
            p.stats.count("requests", call.key)

        rule = p.faults.pick(call) if call.protocol != "moto" else None
        if rule is not None:
            p.stats.count("faults", call.key, rule.kind)
            if rule.kind == "reset":
                return self.drop_connection(reset=True)
            if rule.kind in ("throttle", "error500", "error503"):
                status, headers, err = error_response(call, rule.kind)
                return self.reply(status, list(headers.items()), err)
            if rule.kind == "stall":
                time.sleep(rule.seconds)

        try:
            status, reason, headers, data = p.forward(self.command, self.path, raw_headers, body)
        except OSError as e:
            log(f"{call.key}: upstream failed: {e}")
            self.close_connection = True
            return self.reply(502, [("Content-Type", "text/plain")], f"awslike: upstream failed: {e}\n".encode())

        if rule is not None and rule.kind == "lost":
            # The request reached moto and took effect; the answer never comes back.
            return self.drop_connection(reset=False)

        if call.protocol == "moto" and path.rstrip("/") == "/moto-api/reset" and status == 200:
            p.memory.clear()  # a fresh emulator state: forget what was sent to the old one

        stand_in = p.stand_in(call, status)
        if stand_in is not None:
            p.stats.count("stood_in", call.key)
            status, reason, data = 200, "OK", stand_in
            headers = [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-RequestId", str(uuid.uuid4()))]

        encoding = next((v for n, v in headers if n.lower() == "content-encoding"), "").lower()
        plain = gzip.decompress(data) if encoding == "gzip" else data
        shaped = p.observe_and_shape(call, status, plain) if encoding in ("", "gzip", "identity") else None
        if shaped is not None:
            p.stats.count("shaped", call.key)
            headers = [(n, v) for n, v in headers if n.lower() not in ("content-encoding", "x-amz-crc32")]
            data = shaped
        self.reply(status, headers, data, reason)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="AWS-shaped proxy in front of moto, for tests")
    ap.add_argument("--upstream", required=True, help="moto's URL, e.g. http://127.0.0.1:5000")
    ap.add_argument("--port", type=int, default=0, help="port to listen on, on 127.0.0.1 (0: a free one)")
    ap.add_argument("--port-file", help="write the port here once listening")
    ap.add_argument("--seed", type=int, default=0, help="seed of the fault draws")
    ap.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="KIND:OPS[:k=v,...]",
        help=f"inject a fault; KIND one of {', '.join(FAULT_KINDS)}; OPS like ecs.DescribeServices,elbv2.*; "
        "options rate=0.5, count=N, after=N, seconds=S (stall)",
    )
    ap.add_argument("--no-shape", action="store_true", help="forward answers as moto gives them")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for moto")
    args = ap.parse_args(argv)

    try:
        specs = [parse_fault_flag(f) for f in args.fault]
        proxy = Proxy(args.upstream, args.seed, specs, not args.no_shape, args.timeout)
    except (ValueError, KeyError) as e:
        ap.error(str(e))
    Handler.proxy = proxy
    server = Server(("127.0.0.1", args.port), Handler)
    port = server.server_address[1]
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write(f"{port}\n")
        os.replace(args.port_file + ".tmp", args.port_file)
    print(f"listening on http://127.0.0.1:{port}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
