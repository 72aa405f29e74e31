use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::Api;

use crate::harness;

/// Every kind is served: its CRD is accepted (a structural schema with valid CEL) and becomes
/// Established, with the short names, category and subresources users rely on.
#[tokio::test]
async fn every_crd_is_accepted_and_becomes_established() {
    let client = harness::client().await;
    harness::install_crds(&client).await;

    let crds: Api<CustomResourceDefinition> = Api::all(client);
    for expected in ecsplane::api::crds() {
        let name = expected.metadata.name.as_deref().unwrap();
        let served = crds.get(name).await.unwrap();
        let names = &served.spec.names;
        assert_eq!(
            names.categories.as_deref(),
            Some(&["ecs".to_owned()][..]),
            "{name} is in category ecs"
        );
        assert!(
            names
                .short_names
                .as_ref()
                .is_some_and(|s| s.iter().all(|n| n.starts_with("ecs"))),
            "{name} short names start with ecs so they do not collide with the AWS controllers' kinds"
        );
        let version = &served.spec.versions[0];
        let subresources = version.subresources.as_ref().expect("subresources");
        assert!(
            subresources.status.is_some(),
            "{name} has a status subresource"
        );
        if name == "ecsservices.ecsplane.io" {
            let scale = subresources
                .scale
                .as_ref()
                .expect("EcsService has a scale subresource");
            assert_eq!(scale.spec_replicas_path, ".spec.desiredCount");
            assert_eq!(scale.status_replicas_path, ".status.runningCount");
        }
    }
}
