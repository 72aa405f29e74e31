//! Writing status: one server-side apply of the status subresource under [`FIELD_MANAGER`],
//! and only when it differs from what the object already shows, so a converged object is
//! never written.

use k8s_openapi::NamespaceResourceScope;
use kube::Resource;
use kube::api::{Api, Patch, PatchParams};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::{Context, FIELD_MANAGER, ReconcileError, api_err};

/// Writes `status` to `obj` unless it equals `previous` (the status `obj` was read with).
pub async fn write<K, S>(
    ctx: &Context,
    obj: &K,
    previous: &S,
    status: &S,
) -> Result<(), ReconcileError>
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug,
    S: Serialize + PartialEq,
{
    if status == previous {
        return Ok(());
    }
    let ns = obj.meta().namespace.as_deref().unwrap_or_default();
    let name = obj.meta().name.as_deref().unwrap_or_default();
    let kind = K::kind(&());
    let written = Api::<K>::namespaced(ctx.client.clone(), ns)
        .patch_status(
            name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(json!({
                "apiVersion": K::api_version(&()),
                "kind": kind,
                "status": status,
            })),
        )
        .await
        .map_err(api_err(format!("write status of {kind} {ns}/{name}")))?;
    // The caches lag this write: reads of the kind wait until they show it.
    ctx.reader.wrote(&written);
    Ok(())
}
