//! The product's SDK clients reach an AWS endpoint given the standard way, `AWS_ENDPOINT_URL`:
//! the same path a user takes to point the CLI at an emulator.

mod common;

use ecs_reconciler::aws::Clients;

// One test in this binary: it sets process environment before any other thread exists.
#[test]
fn clients_from_the_standard_environment_reach_the_emulator() {
    let moto = common::Moto::start();
    // SAFETY: this binary has this single test and no other thread has started yet.
    unsafe {
        std::env::set_var("AWS_ENDPOINT_URL", moto.endpoint());
        std::env::set_var("AWS_REGION", "us-east-1");
        std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
        std::env::remove_var("AWS_PROFILE");
    }
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let clients = Clients::from_env().await;

        // ECS: a cluster created through the client is listed back.
        clients.ecs.create_cluster().cluster_name("probe").send().await.expect("ecs CreateCluster");
        let arns = clients.ecs.list_clusters().send().await.expect("ecs ListClusters").cluster_arns.unwrap_or_default();
        assert!(arns.iter().any(|a| a.ends_with("cluster/probe")), "{arns:?}");

        // EC2: the emulator's default VPC is visible.
        let vpcs = clients.ec2.describe_vpcs().send().await.expect("ec2 DescribeVpcs").vpcs.unwrap_or_default();
        assert!(vpcs.iter().any(|v| v.is_default == Some(true)), "no default VPC in {vpcs:?}");

        // ELBv2: an empty account has no load balancers, and the call succeeds.
        let lbs = clients.elbv2.describe_load_balancers().send().await.expect("elbv2 DescribeLoadBalancers");
        assert!(lbs.load_balancers.unwrap_or_default().is_empty());

        // S3: a put object is read back byte for byte (path-style addressing on a custom endpoint).
        clients.s3.create_bucket().bucket("probe-bucket").send().await.expect("s3 CreateBucket");
        clients
            .s3
            .put_object()
            .bucket("probe-bucket")
            .key("set/generation.json")
            .body(b"{\"commit\":\"abc\"}".to_vec().into())
            .send()
            .await
            .expect("s3 PutObject");
        let got = clients
            .s3
            .get_object()
            .bucket("probe-bucket")
            .key("set/generation.json")
            .send()
            .await
            .expect("s3 GetObject");
        let body = got.body.collect().await.unwrap().into_bytes();
        assert_eq!(&body[..], b"{\"commit\":\"abc\"}");
    });
}
