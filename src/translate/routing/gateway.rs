//! Gateway API HTTPRoutes.
use super::{BackendResolver, CompiledRoutes, RoutingOptions};
use crate::api::Listener;

/// Compiles `listener` into HTTPRoutes.
pub fn compile(_l: &Listener, _b: &dyn BackendResolver, _o: &RoutingOptions) -> CompiledRoutes {
    CompiledRoutes::default()
}

/// A model of Gateway API precedence.
#[derive(Default)]
pub struct GatewayModel {
    /// Envoy-like: pick the hostname first.
    pub no_fallthrough_between_hostnames: bool,
}
impl GatewayModel {
    /// Reads HTTPRoutes.
    pub fn from_objects(_o: &[serde_json::Value]) -> Self {
        Self::default()
    }
    /// Routes.
    pub fn route(&self, _r: &super::Request) -> Option<super::Target> {
        None
    }
}
