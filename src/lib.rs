//! ecs-reconciler: a Kubernetes-style reconciler for Amazon ECS, without Kubernetes.
//!
//! # Layout
//!
//! - [`manifest`]: parse a set of YAML/JSON manifests with positions, validate it offline, and
//!   describe it as JSON Schema. Pure: no AWS calls.
//! - [`plan`]: pure and synchronous: desired + observed → steps, each with the AWS calls it will
//!   make. Every decision lives here: `normalize` (AWS's defaults and spellings, table-tested),
//!   `diff` (field by field, lists by identity), `contract` (how each field reaches AWS: in place,
//!   replace, or create-only), `actions` (the calls, from the changes the plan shows), `engine`
//!   (ownership, replacements, prune), `render` (text).
//! - [`aws`]: the edge. SDK clients built once; per service (`ecs`, `elbv2`, `ec2`) an observer
//!   that reads live state in manifest shape and an `execute` that turns one planned action into
//!   one SDK call. Adapters decide nothing.
//! - [`reconcile`]: one run — observe, plan, apply the steps' actions in dependency phases.
//! - [`store`]: where sets come from and status goes: S3 generations, the lease, status, sync,
//!   rollback.
//! - [`lambda`]: event decoding and routing for the Lambda.
//! - [`cli`]: the `ecs-reconciler` command line, one function per command.
//! - [`wait`]: `apply --wait`, following rollouts.
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
