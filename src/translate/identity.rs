//! Task roles → IRSA: a workload whose task definition (or RunTask override) names a task role
//! runs as a ServiceAccount of the workload's name that carries the role ARN.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{PodSpec, ServiceAccount};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

/// The IRSA annotation on a ServiceAccount.
pub const ROLE_ARN_ANNOTATION: &str = "eks.amazonaws.com/role-arn";

/// The ServiceAccount carrying a task role, named after the workload.
pub fn service_account(
    name: &str,
    namespace: Option<&str>,
    role_arn: &str,
    labels: &BTreeMap<String, String>,
) -> ServiceAccount {
    ServiceAccount {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            namespace: namespace.map(str::to_owned),
            labels: Some(labels.clone()),
            annotations: Some(BTreeMap::from([(
                ROLE_ARN_ANNOTATION.to_owned(),
                role_arn.to_owned(),
            )])),
            ..ObjectMeta::default()
        },
        ..ServiceAccount::default()
    }
}

/// With a task role: the workload's ServiceAccount carrying it, and `spec` runs as it.
/// Without one: nothing, and `spec` keeps the namespace's default ServiceAccount.
pub fn run_as_task_role(
    spec: &mut PodSpec,
    task_role_arn: Option<&str>,
    name: &str,
    namespace: Option<&str>,
    labels: &BTreeMap<String, String>,
) -> Option<ServiceAccount> {
    let role = task_role_arn?;
    spec.service_account_name = Some(name.to_owned());
    Some(service_account(name, namespace, role, labels))
}
