//! A stack that looks like a real one, for benchmarks and tests at scale: N Fargate services,
//! each with its own task definition, target group and listener rule on one shared ALB, spread
//! over several clusters (at most [`SERVICES_PER_CLUSTER`] each, at least two).

use std::fmt::Write as _;

/// Services per cluster (at least two clusters).
pub const SERVICES_PER_CLUSTER: usize = 25;

pub struct Shape {
    pub services: usize,
    pub clusters: usize,
    /// Services in each cluster.
    pub per_cluster: Vec<usize>,
}

impl Shape {
    pub fn new(services: usize) -> Shape {
        let clusters = services.div_ceil(SERVICES_PER_CLUSTER).max(2);
        let mut per_cluster = vec![0; clusters];
        for i in 0..services {
            per_cluster[i % clusters] += 1;
        }
        Shape { services, clusters, per_cluster }
    }

    pub fn cluster(&self, i: usize) -> String {
        format!("bench-{:02}", i % self.clusters)
    }

    /// The set: C clusters, one shared security group, and per service a Fargate task definition
    /// and a service.
    pub fn manifests(&self) -> Vec<(String, String)> {
        let mut files = Vec::new();
        let mut shared = String::new();
        for c in 0..self.clusters {
            write!(
                shared,
                "apiVersion: ecs-reconciler/v1\nkind: Cluster\nmetadata:\n  name: bench-{c:02}\nspec:\n  tags:\n    - {{ key: team, value: bench }}\n---\n"
            )
            .unwrap();
        }
        shared.push_str(
            "apiVersion: ecs-reconciler/v1
kind: SecurityGroup
metadata:
  name: bench-tasks
spec:
  vpc: main
  description: Benchmark tasks
  ingress:
    - { protocol: tcp, fromPort: 8080, toPort: 8080, cidr: 10.20.0.0/16, description: from the VPC }
  egress:
    - { protocol: \"-1\", cidr: 0.0.0.0/0, description: anywhere }
---
apiVersion: ecs-reconciler/v1
kind: LoadBalancer
metadata:
  name: bench-alb
spec:
  type: application
  scheme: internal
  subnets: [public-a, public-b]
  securityGroups: [bench-tasks]
  listeners:
    - port: 8080
      protocol: HTTP
      defaultActions:
        - type: fixed-response
          fixedResponseConfig: { statusCode: \"404\", contentType: text/plain, messageBody: none }
      rules:
",
        );
        for i in 0..self.services {
            write!(
                shared,
                "        - priority: {p}\n          conditions:\n            - {{ field: path-pattern, values: [\"/svc-{i:03}/*\"] }}\n          actions:\n            - {{ type: forward, targetGroup: svc-{i:03} }}\n",
                p = i + 1
            )
            .unwrap();
        }
        files.push(("shared.yaml".to_string(), shared));
        for i in 0..self.services {
            let name = format!("svc-{i:03}");
            let cluster = self.cluster(i);
            files.push((
                format!("{name}.yaml"),
                format!(
                    "apiVersion: ecs-reconciler/v1
kind: TargetGroup
metadata:
  name: {name}
spec:
  protocol: HTTP
  port: 8080
  vpc: main
  targetType: ip
---
apiVersion: ecs-reconciler/v1
kind: TaskDefinition
metadata:
  name: {name}
spec:
  requiresCompatibilities: [FARGATE]
  networkMode: awsvpc
  cpu: 256
  memory: 512
  executionRoleArn: arn:aws:iam::123456789012:role/ecsTaskExecutionRole
  containerDefinitions:
    - name: app
      image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/{name}:1.0.0
      essential: true
      portMappings:
        - {{ containerPort: 8080, protocol: tcp }}
      environment:
        - {{ name: SERVICE, value: {name} }}
---
apiVersion: ecs-reconciler/v1
kind: Service
metadata:
  name: {name}
spec:
  cluster: {cluster}
  taskDefinition: {name}
  desiredCount: 1
  launchType: FARGATE
  loadBalancers:
    - {{ targetGroup: {name}, containerName: app, containerPort: 8080 }}
  networkConfiguration:
    awsvpcConfiguration:
      subnets: [private-a, private-b]
      securityGroups: [bench-tasks]
      assignPublicIp: DISABLED
"
                ),
            ));
        }
        files
    }

    /// The manifests written into a new folder named `set` under `dir`.
    pub fn write(&self, dir: &std::path::Path, set: &str) -> std::path::PathBuf {
        let folder = dir.join(set);
        std::fs::create_dir_all(&folder).unwrap();
        for (name, text) in self.manifests() {
            std::fs::write(folder.join(name), text).unwrap();
        }
        folder
    }
}
