//! The Lambda entry point (`bootstrap` on provided.al2023): clients and settings built once per
//! cold start, then every event is handed to `lambda::handler`. Logs are JSON lines with the
//! request id; each run also prints one CloudWatch embedded-metric line.

use ecs_reconciler::aws::Clients;
use ecs_reconciler::lambda::Config;
use ecs_reconciler::lambda::handler::{self, Ctx};
use lambda_runtime::{Diagnostic, Error, LambdaEvent, service_fn};
use serde_json::Value;
use tracing::Instrument;

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .without_time()
        .init();
    let config = Config::from_env()?;
    let ctx = Ctx { clients: Clients::from_env().await, config };
    let ctx = &ctx;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let request_id = event.context.request_id.clone();
        let deadline = Some(event.context.deadline);
        let span = tracing::info_span!("invoke", request_id = %request_id);
        // Only a transient failure is an error to Lambda (which retries async events); the rest
        // is recorded in the set's status and acknowledged.
        let answer = handler::handle_until(ctx, event.payload, &request_id, deadline)
            .instrument(span)
            .await
            .map_err(|e| Diagnostic { error_type: "Transient".into(), error_message: e.to_string() })?;
        // One embedded-metric line a run, on stdout where CloudWatch Logs reads it.
        for (set, run) in handler::runs_in(&answer) {
            println!("{}", handler::metrics_line(&set, &run));
        }
        Ok::<_, Diagnostic>(answer)
    }))
    .await
}
