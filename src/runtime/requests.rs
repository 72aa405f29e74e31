//! Counting the operator's own requests to the API server, by verb
//! (`ecsplane_kube_requests_total`): the API server's `apiserver_request_total` counts every
//! client together, so this is the figure that says what the operator alone sent (a
//! converged operator sends nothing but its watches).

use std::task::{Context, Poll};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;

/// The verbs requests are counted by: reads (GET of one object or a LIST), watches, and each
/// kind of write.
pub const VERBS: [&str; 6] = ["read", "watch", "create", "update", "patch", "delete"];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct VerbLabels {
    verb: &'static str,
}

/// The counters of the operator's requests, one series per [`VERBS`] entry (cheap to clone:
/// the series are shared).
#[derive(Clone, Debug, Default)]
pub struct RequestCounts {
    pub(crate) family: Family<VerbLabels, Counter>,
}

impl RequestCounts {
    /// Counts one request with `method` and `query` (its URI's query string, if any).
    pub fn count(&self, method: &http::Method, query: Option<&str>) {
        let verb = verb(method, query);
        self.family.get_or_create(&VerbLabels { verb }).inc();
    }

    /// Creates every series at zero.
    pub(crate) fn register_all(&self) {
        for verb in VERBS {
            let _series = self.family.get_or_create(&VerbLabels { verb });
        }
    }
}

/// The verb a request is counted as.
fn verb(method: &http::Method, query: Option<&str>) -> &'static str {
    let watch = query.is_some_and(|q| q.split('&').any(|p| p == "watch=true" || p == "watch=1"));
    match *method {
        http::Method::GET if watch => "watch",
        http::Method::GET | http::Method::HEAD => "read",
        http::Method::POST => "create",
        http::Method::PUT => "update",
        http::Method::PATCH => "patch",
        http::Method::DELETE => "delete",
        _ => "read",
    }
}

/// The client layer that counts every request into [`RequestCounts`].
#[derive(Clone, Debug)]
pub struct CountLayer(pub RequestCounts);

impl<S> tower::Layer<S> for CountLayer {
    type Service = Counted<S>;

    fn layer(&self, inner: S) -> Counted<S> {
        Counted {
            inner,
            counts: self.0.clone(),
        }
    }
}

/// A client service whose requests are counted ([`CountLayer`]).
#[derive(Clone, Debug)]
pub struct Counted<S> {
    inner: S,
    counts: RequestCounts,
}

impl<S, B> tower::Service<http::Request<B>> for Counted<S>
where
    S: tower::Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        self.counts.count(req.method(), req.uri().query());
        self.inner.call(req)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_count_as_reads_watches_and_each_kind_of_write() {
        assert_eq!(verb(&http::Method::GET, None), "read");
        assert_eq!(verb(&http::Method::GET, Some("labelSelector=a")), "read");
        assert_eq!(
            verb(
                &http::Method::GET,
                Some("labelSelector=a&watch=true&resourceVersion=5")
            ),
            "watch"
        );
        assert_eq!(verb(&http::Method::GET, Some("watchy=true")), "read");
        assert_eq!(verb(&http::Method::PATCH, Some("fieldManager=x")), "patch");
        assert_eq!(verb(&http::Method::POST, None), "create");
        assert_eq!(verb(&http::Method::PUT, None), "update");
        assert_eq!(verb(&http::Method::DELETE, None), "delete");
    }
}
