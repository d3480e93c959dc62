//! The Lambda entry point (`bootstrap` on provided.al2023). Event handling lands with the Lambda
//! issue; until then the binary refuses to start rather than pretend to reconcile.

fn main() -> std::process::ExitCode {
    eprintln!("ecs-reconciler bootstrap: the Lambda handler is not built yet; use the `ecs-reconciler` CLI");
    std::process::ExitCode::FAILURE
}
