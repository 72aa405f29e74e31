//! Every read a reconcile makes, in one place: the GETs and LISTs of the resolve and observe
//! steps and of finding an owner's children. Each method names what it reads, not how, so
//! the API requests can later be served from reflector stores without touching a controller.

use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet, Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, DynamicObject, ListParams};
use kube::discovery::ApiResource;
use kube::{Client, Resource};
use serde::de::DeserializeOwned;

use super::apply::Owner;
use super::{ReconcileError, api_err};
use crate::api::{EcsCluster, EcsService, EcsTask, TargetGroup};
use crate::translate::names;
use crate::translate::target_group::LABEL_TARGET_GROUP;

/// Label Kubernetes puts on a Service's EndpointSlices: the Service's name.
pub(crate) const LABEL_SERVICE_NAME: &str = "kubernetes.io/service-name";

/// Reads objects from the API server for the controllers.
#[derive(Clone)]
pub struct Reader {
    client: Client,
}

impl Reader {
    /// A reader using `client`.
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    fn api<K>(&self, namespace: &str) -> Api<K>
    where
        K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>,
    {
        Api::namespaced(self.client.clone(), namespace)
    }

    async fn list<K>(
        &self,
        api: Api<K>,
        params: &ListParams,
        action: impl FnOnce() -> String,
    ) -> Result<Vec<K>, ReconcileError>
    where
        K: Resource + Clone + DeserializeOwned + std::fmt::Debug,
    {
        match api.list(params).await {
            Ok(list) => Ok(list.items),
            Err(e) => Err(api_err(action())(e)),
        }
    }

    async fn get<K>(&self, namespace: &str, name: &str) -> Result<Option<K>, ReconcileError>
    where
        K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
            + Clone
            + DeserializeOwned
            + std::fmt::Debug,
    {
        self.api::<K>(namespace)
            .get_opt(name)
            .await
            .map_err(api_err(format!("get {} {namespace}/{name}", K::kind(&()))))
    }

    /// `obj` as the API server holds it now, or `None` once it is gone.
    ///
    /// The controller's cache can lag behind this controller's own last status write: a
    /// reconcile woken by a child (a pod it just deleted, say) may start before the watch has
    /// delivered that write. Status that builds on what came before (a service's event list, a
    /// task that has stopped and must never start again) is therefore computed from this copy,
    /// never from the cached one.
    pub async fn latest<K>(&self, obj: &K) -> Result<Option<K>, ReconcileError>
    where
        K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
            + Clone
            + DeserializeOwned
            + std::fmt::Debug,
    {
        let m = obj.meta();
        self.get(
            m.namespace.as_deref().unwrap_or_default(),
            m.name.as_deref().unwrap_or_default(),
        )
        .await
    }

    /// The children of `owner` of kind `ar` (those labelled with its UID).
    pub async fn children(
        &self,
        owner: &Owner,
        ar: &ApiResource,
    ) -> Result<Vec<DynamicObject>, ReconcileError> {
        let api = Api::namespaced_with(self.client.clone(), &owner.namespace, ar);
        self.list(
            api,
            &ListParams::default().labels(&owner.selector()),
            || format!("list {} of {} {}", ar.plural, owner.kind, owner.name),
        )
        .await
    }

    /// The object of kind `ar` named `name` in `namespace`, whoever it belongs to (to decide,
    /// before a first write, whether the name is free).
    pub async fn object(
        &self,
        namespace: &str,
        ar: &ApiResource,
        name: &str,
    ) -> Result<Option<DynamicObject>, ReconcileError> {
        Api::<DynamicObject>::namespaced_with(self.client.clone(), namespace, ar)
            .get_opt(name)
            .await
            .map_err(api_err(format!("get {} {namespace}/{name}", ar.kind)))
    }

    /// The Pods `owner` started (an EcsTask's).
    pub async fn pods_of(&self, owner: &Owner) -> Result<Vec<Pod>, ReconcileError> {
        let api = self.api(&owner.namespace);
        self.list(
            api,
            &ListParams::default().labels(&owner.selector()),
            || {
                format!(
                    "list pods of {} {}/{}",
                    owner.kind, owner.namespace, owner.name
                )
            },
        )
        .await
    }

    /// The ControllerRevisions `owner` registered (a TaskDefinition's).
    pub async fn revisions_of(
        &self,
        owner: &Owner,
    ) -> Result<Vec<ControllerRevision>, ReconcileError> {
        let api = self.api(&owner.namespace);
        self.list(
            api,
            &ListParams::default().labels(&owner.selector()),
            || {
                format!(
                    "list revisions of {} {}/{}",
                    owner.kind, owner.namespace, owner.name
                )
            },
        )
        .await
    }

    /// The ControllerRevisions of every TaskDefinition of `family` in `namespace` (the label
    /// holds the family as a DNS label; callers check the family itself).
    pub async fn family_revisions(
        &self,
        namespace: &str,
        family: &str,
    ) -> Result<Vec<ControllerRevision>, ReconcileError> {
        let selector = format!("{}={}", names::LABEL_FAMILY, names::dns_label(family));
        self.list(
            self.api(namespace),
            &ListParams::default().labels(&selector),
            || format!("list revisions of task definition family {family}"),
        )
        .await
    }

    /// Every TargetGroup in `namespace`.
    pub async fn target_groups(&self, namespace: &str) -> Result<Vec<TargetGroup>, ReconcileError> {
        self.list(self.api(namespace), &ListParams::default(), || {
            "list TargetGroups".to_owned()
        })
        .await
    }

    /// The Services of the target groups in `namespace`, as the TargetGroup controller
    /// applied them.
    pub async fn target_group_services(
        &self,
        namespace: &str,
    ) -> Result<Vec<Service>, ReconcileError> {
        self.list(
            self.api(namespace),
            &ListParams::default().labels(LABEL_TARGET_GROUP),
            || "list the Services of TargetGroups".to_owned(),
        )
        .await
    }

    /// The EcsCluster `name` in `namespace`, if it exists.
    pub async fn cluster(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Option<EcsCluster>, ReconcileError> {
        self.get(namespace, name).await
    }

    /// Every EcsService in `namespace`.
    pub async fn services(&self, namespace: &str) -> Result<Vec<EcsService>, ReconcileError> {
        self.list(self.api(namespace), &ListParams::default(), || {
            "list EcsServices".to_owned()
        })
        .await
    }

    /// Every EcsTask in `namespace`.
    pub async fn tasks(&self, namespace: &str) -> Result<Vec<EcsTask>, ReconcileError> {
        self.list(self.api(namespace), &ListParams::default(), || {
            "list EcsTasks".to_owned()
        })
        .await
    }

    /// Every Node.
    pub async fn nodes(&self) -> Result<Vec<Node>, ReconcileError> {
        self.list(
            Api::all(self.client.clone()),
            &ListParams::default(),
            || "list Nodes".to_owned(),
        )
        .await
    }

    /// The Deployment `name` in `namespace`, if it exists.
    pub async fn deployment(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Option<Deployment>, ReconcileError> {
        self.get(namespace, name).await
    }

    /// The DaemonSet `name` in `namespace`, if it exists.
    pub async fn daemon_set(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Option<DaemonSet>, ReconcileError> {
        self.get(namespace, name).await
    }

    /// The ReplicaSets of EcsService `service` (by its label).
    pub async fn replica_sets_of_service(
        &self,
        namespace: &str,
        service: &str,
    ) -> Result<Vec<ReplicaSet>, ReconcileError> {
        let selector = format!("{}={service}", names::LABEL_SERVICE);
        self.list(
            self.api(namespace),
            &ListParams::default().labels(&selector),
            || "list ReplicaSets".to_owned(),
        )
        .await
    }

    /// The Pods (tasks) of EcsService `service` (by its label).
    pub async fn pods_of_service(
        &self,
        namespace: &str,
        service: &str,
    ) -> Result<Vec<Pod>, ReconcileError> {
        let selector = format!("{}={service}", names::LABEL_SERVICE);
        self.list(
            self.api(namespace),
            &ListParams::default().labels(&selector),
            || "list pods".to_owned(),
        )
        .await
    }

    /// The EndpointSlices of Service `service`.
    pub async fn endpoint_slices(
        &self,
        namespace: &str,
        service: &str,
    ) -> Result<Vec<EndpointSlice>, ReconcileError> {
        let selector = format!("{LABEL_SERVICE_NAME}={service}");
        self.list(
            self.api(namespace),
            &ListParams::default().labels(&selector),
            || "list EndpointSlices".to_owned(),
        )
        .await
    }
}
