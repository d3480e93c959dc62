//! The edge to AWS: SDK clients, built once per process from the standard AWS environment.

use aws_config::{BehaviorVersion, SdkConfig};

/// Every AWS client the reconciler uses, built once and borrowed by each run.
#[derive(Debug, Clone)]
pub struct Clients {
    pub ecs: aws_sdk_ecs::Client,
    pub ec2: aws_sdk_ec2::Client,
    pub elbv2: aws_sdk_elasticloadbalancingv2::Client,
    pub s3: aws_sdk_s3::Client,
}

impl Clients {
    /// Clients from the standard AWS environment: `AWS_REGION`, `AWS_PROFILE`, credentials, and
    /// `AWS_ENDPOINT_URL` (or `AWS_ENDPOINT_URL_<SERVICE>`) for an emulator.
    pub async fn from_env() -> Self {
        Self::new(&aws_config::defaults(BehaviorVersion::latest()).load().await)
    }

    pub fn new(config: &SdkConfig) -> Self {
        let mut s3 = aws_sdk_s3::config::Builder::from(config);
        if config.endpoint_url().is_some() {
            // A custom endpoint (an emulator, a VPC endpoint by IP) has no per-bucket DNS names.
            s3 = s3.force_path_style(true);
        }
        Clients {
            ecs: aws_sdk_ecs::Client::new(config),
            ec2: aws_sdk_ec2::Client::new(config),
            elbv2: aws_sdk_elasticloadbalancingv2::Client::new(config),
            s3: aws_sdk_s3::Client::from_conf(s3.build()),
        }
    }
}
