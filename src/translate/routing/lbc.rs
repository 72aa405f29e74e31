//! AWS Load Balancer Controller Ingresses.
use super::{BackendResolver, CompiledRoutes, RoutingOptions};
use crate::api::Listener;

/// Compiles `listener` into LBC Ingresses.
pub fn compile(_l: &Listener, _b: &dyn BackendResolver, _o: &RoutingOptions) -> CompiledRoutes {
    CompiledRoutes::default()
}

/// LBC model.
#[derive(Default)]
pub struct LbcModel;
impl LbcModel {
    /// Reads Ingresses.
    pub fn from_objects(_o: &[serde_json::Value]) -> Self {
        Self
    }
    /// Routes.
    pub fn route(&self, _r: &super::Request) -> Option<super::Target> {
        None
    }
}
