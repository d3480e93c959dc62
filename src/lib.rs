//! ecs-reconciler: a Kubernetes-style reconciler for Amazon ECS, without Kubernetes.
//!
//! # Layout
//!
//! - [`manifest`]: parse a set of YAML/JSON manifests with positions, validate it offline, and
//!   describe it as JSON Schema. Pure: no AWS calls.
//! - [`aws`]: the SDK clients, built once from the standard AWS environment.
//! - [`cli`]: the `ecs-reconciler` command line, one function per command.
//!
//! The binaries are thin: `src/main.rs` (the CLI) and `src/bin/bootstrap.rs` (the Lambda).

pub mod aws;
pub mod cli;
pub mod lambda;
pub mod manifest;
pub mod plan;
pub mod reconcile;
pub mod store;
pub mod wait;
