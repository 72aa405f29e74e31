//! What the cases share: the running data plane (from `DIR/dataplane.env`), a client for its
//! API server, the stand-in backends, an HTTP/1.1 client, and the comparison of what the proxy
//! answered with what the ALB model expects.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ecsplane::api::ConditionField;
use ecsplane::translate::routing::alb::{self, Request, RuleId, Terminal};
use ecsplane::translate::routing::{CompiledRoutes, Implementation, Profile, RoutingOptions};
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::{ApiResource, GroupVersionKind};
use kube::{Client, Config};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Field manager of everything the data-plane tests apply.
pub const MANAGER: &str = "ecsplane-dataplane-tests";

/// Port every stand-in backend listens on, on its own address.
pub const BACKEND_PORT: u16 = 8080;

/// The path of the sentinel route (see [`World::sentinel`]).
pub const SENTINEL_PATH: &str = "/ecsplane-sentinel/ready";

/// Label on every route object a case applies, so the case can delete exactly its own.
pub const CASE_LABEL: &str = "dataplane.ecsplane.io/case";

/// The data plane the tests run against, and what they share.
pub struct World {
    /// `contour` or `traefik`.
    pub data_plane: String,
    /// Versions, for the summary.
    pub version: String,
    settings: HashMap<String, String>,
    /// A client for the API server inside the namespace.
    pub client: Client,
    /// The stand-in backends.
    pub backends: Backends,
}

impl World {
    /// Reads `DIR/dataplane.env` and `DIR/kubeconfig`.
    pub async fn load(dir: &Path) -> World {
        let text = std::fs::read_to_string(dir.join("dataplane.env"))
            .unwrap_or_else(|e| panic!("read {}/dataplane.env: {e}", dir.display()));
        let settings: HashMap<String, String> = text
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let kubeconfig = Kubeconfig::read_from(dir.join("kubeconfig")).expect("read kubeconfig");
        let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
            .await
            .expect("load kubeconfig");
        let client = Client::try_from(config).expect("build a client");
        World {
            data_plane: settings["DATA_PLANE"].clone(),
            version: settings["DATA_PLANE_VERSION"].clone(),
            settings,
            client,
            backends: Backends::default(),
        }
    }

    /// Where the proxy serves `profile`.
    pub fn proxy(&self, profile: Profile) -> SocketAddr {
        let key = match profile {
            Profile::Gateway => "GATEWAY_HTTP",
            _ => "INGRESS_HTTP",
        };
        self.settings[key]
            .parse()
            .unwrap_or_else(|e| panic!("{key}={}: {e}", self.settings[key]))
    }

    /// Routing options that attach HTTPRoutes to the data plane's Gateway and compile for its
    /// implementation (Traefik's precedence on Traefik, the API's on Contour).
    pub fn routing_options(&self, profile: Profile) -> RoutingOptions {
        RoutingOptions {
            profile,
            gateway_name: self.settings["GATEWAY_NAME"].clone(),
            gateway_namespace: Some(self.settings["GATEWAY_NAMESPACE"].clone()),
            implementation: match self.data_plane.as_str() {
                "traefik" => Implementation::Traefik,
                _ => Implementation::Conformant,
            },
            ..RoutingOptions::default()
        }
    }

    /// Creates namespace `name` if it does not exist.
    pub async fn namespace(&self, name: &str) {
        let doc = serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
        let api: Api<DynamicObject> = Api::all_with(self.client.clone(), &api_resource(&doc));
        api.patch(
            name,
            &PatchParams::apply(MANAGER).force(),
            &Patch::Apply(&doc),
        )
        .await
        .unwrap_or_else(|e| panic!("create namespace {name}: {e}"));
    }

    /// Server-side applies `doc` into `ns` (strict field validation).
    pub async fn apply(&self, ns: &str, doc: &serde_json::Value) {
        if let Err(e) = self.try_apply(ns, doc).await {
            panic!("{e}");
        }
    }

    /// Server-side applies `doc` into `ns` (strict field validation); the error names the
    /// object and says why the API server refused it.
    pub async fn try_apply(&self, ns: &str, doc: &serde_json::Value) -> Result<(), String> {
        let mut doc = doc.clone();
        doc["metadata"]["namespace"] = ns.into();
        // Server-side apply refuses status and generated fields.
        if let Some(m) = doc["metadata"].as_object_mut() {
            m.remove("creationTimestamp");
        }
        let name = doc["metadata"]["name"].as_str().expect("named").to_owned();
        let api: Api<DynamicObject> =
            Api::namespaced_with(self.client.clone(), ns, &api_resource(&doc));
        let params = PatchParams::apply(MANAGER).force().validation_strict();
        api.patch(&name, &params, &Patch::Apply(&doc))
            .await
            .map(|_| ())
            .map_err(|e| format!("the API server refuses {} {ns}/{name}: {e}", doc["kind"]))
    }

    /// Deletes every Ingress and HTTPRoute in `ns` that carries [`CASE_LABEL`].
    pub async fn delete_routes(&self, ns: &str) {
        for (api_version, kind) in [
            ("networking.k8s.io/v1", "Ingress"),
            ("gateway.networking.k8s.io/v1", "HTTPRoute"),
        ] {
            let doc = serde_json::json!({"apiVersion": api_version, "kind": kind});
            let api: Api<DynamicObject> =
                Api::namespaced_with(self.client.clone(), ns, &api_resource(&doc));
            let _ = api
                .delete_collection(
                    &DeleteParams::default(),
                    &ListParams::default().labels(CASE_LABEL),
                )
                .await;
        }
    }

    /// A stand-in Service (no selector) and Endpoints for each target group of `groups`: the
    /// Service is named and numbered as the routes refer to it, its one endpoint is the
    /// group's backend, which answers with the group's name.
    pub async fn stand_in_services(&self, ns: &str, groups: &[(String, i32)]) {
        for (tg, port) in groups {
            let addr = self.backends.serve_group(tg).await;
            let service = ecsplane::translate::names::target_group_service_name(tg);
            self.apply(
                ns,
                &serde_json::json!({
                    "apiVersion": "v1", "kind": "Service",
                    "metadata": {"name": service},
                    "spec": {"ports": [{"port": port, "targetPort": BACKEND_PORT, "protocol": "TCP"}]}
                }),
            )
            .await;
            self.apply(
                ns,
                &serde_json::json!({
                    "apiVersion": "v1", "kind": "Endpoints",
                    "metadata": {"name": service},
                    "subsets": [{"addresses": [{"ip": addr.ip().to_string()}],
                                 "ports": [{"port": BACKEND_PORT, "protocol": "TCP"}]}]
                }),
            )
            .await;
        }
    }

    /// A route that sends host `case-N.sentinel.test`, path [`SENTINEL_PATH`] (Exact) to the
    /// `sentinel` backend: applied after a case's routes, it answers once the proxy has taken
    /// them in (same kind, same watch, applied later), and stops answering once a deletion has
    /// been taken in. The long Exact path keeps it first also on Traefik, which does not give
    /// hostnames precedence over paths.
    pub fn sentinel(&self, profile: Profile, case: &str) -> (serde_json::Value, String) {
        let host = format!("{case}.sentinel.test");
        let service = "ecsplane-sentinel";
        let labels = serde_json::json!({ CASE_LABEL: case });
        let doc = match profile {
            Profile::Gateway => serde_json::json!({
                "apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
                "metadata": {"name": "ecsplane-sentinel", "labels": labels},
                "spec": {
                    "parentRefs": [{"name": self.settings["GATEWAY_NAME"],
                                    "namespace": self.settings["GATEWAY_NAMESPACE"]}],
                    "hostnames": [host],
                    "rules": [{
                        "matches": [{"path": {"type": "Exact", "value": SENTINEL_PATH}}],
                        "backendRefs": [{"name": service, "port": 80}]
                    }]
                }
            }),
            _ => serde_json::json!({
                "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                "metadata": {"name": "ecsplane-sentinel", "labels": labels},
                "spec": {"rules": [{"host": host, "http": {"paths": [{
                    "path": SENTINEL_PATH, "pathType": "Exact",
                    "backend": {"service": {"name": service, "port": {"number": 80}}}
                }]}}]}
            }),
        };
        (doc, host)
    }

    /// Applies `objects` (with the case label) and the sentinel, and waits until the proxy
    /// serves the sentinel. Fails, naming the object, when the API server refuses one of
    /// `objects` (a defect of the compiled routes, which the caller reports).
    pub async fn apply_routes(
        &self,
        ns: &str,
        profile: Profile,
        case: &str,
        objects: &[serde_json::Value],
    ) -> Result<(), String> {
        self.stand_in_services(ns, &[("ecsplane-sentinel".to_owned(), 80)])
            .await;
        for o in objects {
            let mut o = o.clone();
            o["metadata"]["labels"][CASE_LABEL] = case.into();
            self.try_apply(ns, &o).await?;
        }
        let (doc, host) = self.sentinel(profile, case);
        self.apply(ns, &doc).await;
        let proxy = self.proxy(profile);
        let probe = Request::get(&host, SENTINEL_PATH);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let last = send(proxy, &probe).await;
            if let Ok(a) = &last
                && a.group() == Some("ecsplane-sentinel")
            {
                return Ok(());
            }
            assert!(
                Instant::now() < deadline,
                "{}: the proxy at {proxy} did not serve {host} within 60 s; last answer: {}",
                self.data_plane,
                match &last {
                    Ok(a) => describe(a),
                    Err(e) => e.clone(),
                }
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Deletes the case's routes and waits until the proxy no longer serves its sentinel.
    pub async fn remove_routes(&self, ns: &str, profile: Profile, case: &str) {
        self.delete_routes(ns).await;
        let (_, host) = self.sentinel(profile, case);
        let proxy = self.proxy(profile);
        let probe = Request::get(&host, SENTINEL_PATH);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            match send(proxy, &probe).await {
                Ok(a) if a.group() == Some("ecsplane-sentinel") => {}
                _ => return,
            }
            assert!(
                Instant::now() < deadline,
                "{}: the proxy still serves {host} 60 s after its route was deleted",
                self.data_plane
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// The API resource of a manifest's apiVersion and kind (the kinds these tests apply).
pub fn api_resource(doc: &serde_json::Value) -> ApiResource {
    let api_version = doc["apiVersion"].as_str().expect("apiVersion");
    let kind = doc["kind"].as_str().expect("kind");
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let plural = match kind {
        "Ingress" => "ingresses".to_owned(),
        "Endpoints" => "endpoints".to_owned(),
        "HorizontalPodAutoscaler" => "horizontalpodautoscalers".to_owned(),
        other => format!("{}s", other.to_ascii_lowercase()),
    };
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), &plural)
}

/// Stand-in backends: one HTTP server per address, answering every request with the name it
/// was given, in the body and in an `x-target-group` header (so HEAD answers carry it too).
#[derive(Clone, Default)]
pub struct Backends {
    names: Arc<Mutex<HashMap<SocketAddr, String>>>,
    groups: Arc<Mutex<BTreeMap<String, SocketAddr>>>,
}

impl Backends {
    /// The address of target group `tg`'s stand-in endpoint (in `BACKEND_CIDR`), serving it.
    pub async fn serve_group(&self, tg: &str) -> SocketAddr {
        let existing = self.groups.lock().expect("lock").get(tg).copied();
        if let Some(addr) = existing {
            return addr;
        }
        let n = self.groups.lock().expect("lock").len() as u32;
        // 10.244.8.10 onwards: the second half of the namespace's lo CIDR, never a pod's.
        let ip = Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 244, 8, 10)) + n);
        let addr = SocketAddr::new(IpAddr::V4(ip), BACKEND_PORT);
        self.serve(addr, tg).await;
        self.groups
            .lock()
            .expect("lock")
            .insert(tg.to_owned(), addr);
        addr
    }

    /// Serves `name` on `addr` (starting a server there on first use).
    pub async fn serve(&self, addr: SocketAddr, name: &str) {
        let known = self.names.lock().expect("lock").contains_key(&addr);
        if !known {
            let listener = TcpListener::bind(addr)
                .await
                .unwrap_or_else(|e| panic!("bind a stand-in backend on {addr}: {e}"));
            let names = self.names.clone();
            tokio::spawn(async move {
                while let Ok((socket, _)) = listener.accept().await {
                    let names = names.clone();
                    tokio::spawn(async move {
                        let _ = answer(socket, addr, names).await;
                    });
                }
            });
        }
        self.names
            .lock()
            .expect("lock")
            .insert(addr, name.to_owned());
    }
}

async fn answer(
    mut socket: TcpStream,
    addr: SocketAddr,
    names: Arc<Mutex<HashMap<SocketAddr, String>>>,
) -> std::io::Result<()> {
    loop {
        let Some(head) = read_head(&mut socket).await? else {
            return Ok(());
        };
        let length = header_value(&head, "content-length")
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(0);
        let mut body = vec![0; length.min(1 << 20)];
        socket.read_exact(&mut body).await?;
        let name = names
            .lock()
            .expect("lock")
            .get(&addr)
            .cloned()
            .unwrap_or_default();
        // An answer to HEAD has the head only.
        let body = if head.starts_with("HEAD ") {
            ""
        } else {
            name.as_str()
        };
        let response = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nx-target-group: {name}\r\nx-backend: {addr}\r\ncontent-length: {}\r\n\r\n{body}",
            name.len()
        );
        socket.write_all(response.as_bytes()).await?;
    }
}

/// Reads one request or response head (up to the blank line); `None` at a clean EOF.
async fn read_head(socket: &mut TcpStream) -> std::io::Result<Option<String>> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if socket.read(&mut byte).await? == 0 {
            return Ok(None);
        }
        head.push(byte[0]);
        if head.len() > 64 * 1024 {
            return Err(std::io::Error::other("head longer than 64 KiB"));
        }
    }
    Ok(Some(String::from_utf8_lossy(&head).into_owned()))
}

fn header_value<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
}

/// What the proxy answered.
#[derive(Clone, Debug)]
pub struct Answer {
    /// Status code.
    pub status: u16,
    /// Head, lower-cased names.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: String,
}

impl Answer {
    /// The target group whose stand-in backend answered, if one did.
    pub fn group(&self) -> Option<&str> {
        self.header("x-target-group")
    }

    /// The address of the stand-in backend that answered, if one did.
    pub fn backend(&self) -> Option<&str> {
        self.header("x-backend")
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Sends `request` to the proxy at `proxy` over a fresh HTTP/1.1 connection.
pub async fn send(proxy: SocketAddr, request: &Request) -> Result<Answer, String> {
    let work = async {
        let mut stream = TcpStream::connect(proxy)
            .await
            .map_err(|e| format!("connect {proxy}: {e}"))?;
        let mut target = request.path.clone();
        let query = alb::query_string(request);
        if !query.is_empty() {
            target.push('?');
            target.push_str(&query);
        }
        let mut head = format!(
            "{} {target} HTTP/1.1\r\nhost: {}\r\nconnection: close\r\n",
            request.method, request.host
        );
        for (k, v) in &request.headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        stream
            .write_all(head.as_bytes())
            .await
            .map_err(|e| format!("send: {e}"))?;
        // Read the head, then exactly content-length bytes: Envoy keeps a connection it
        // answered itself (a redirect) open for its delayed-close timeout of one second.
        let head = read_head(&mut stream)
            .await
            .map_err(|e| format!("read: {e}"))?
            .ok_or_else(|| "the proxy closed the connection without answering".to_owned())?;
        let length = header_value(&head, "content-length").and_then(|v| v.parse::<usize>().ok());
        let mut raw = Vec::new();
        match length {
            _ if request.method == "HEAD" => {}
            Some(n) => {
                raw.resize(n.min(1 << 20), 0);
                stream
                    .read_exact(&mut raw)
                    .await
                    .map_err(|e| format!("read body: {e}"))?;
            }
            None => {
                stream
                    .read_to_end(&mut raw)
                    .await
                    .map_err(|e| format!("read body: {e}"))?;
            }
        }
        let body = String::from_utf8_lossy(&raw).into_owned();
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("no status line in {head:?}"))?;
        let headers = head
            .lines()
            .skip(1)
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        Ok(Answer {
            status,
            headers,
            body,
        })
    };
    tokio::time::timeout(Duration::from_secs(10), work)
        .await
        .map_err(|_| format!("no answer from {proxy} within 10 s"))?
}

/// Sends `request`, retrying for a few seconds while the proxy answers 5xx itself (a backend
/// it has not received endpoints for yet); the stand-in backends never answer 5xx.
pub async fn send_settled(proxy: SocketAddr, request: &Request) -> Result<Answer, String> {
    let start = Instant::now();
    let deadline = start + Duration::from_secs(10);
    loop {
        let answer = send(proxy, request).await;
        match &answer {
            Ok(a) if a.status >= 500 && a.group().is_none() && Instant::now() < deadline => {
                RETRIES.fetch_add(1, Ordering::Relaxed);
            }
            Err(_) if Instant::now() < deadline => {
                RETRIES.fetch_add(1, Ordering::Relaxed);
            }
            _ => {
                if std::env::var_os("ECSPLANE_DATAPLANE_DEBUG").is_some()
                    && start.elapsed() > Duration::from_millis(300)
                {
                    eprintln!("settled after {:?}: {request}", start.elapsed());
                }
                return answer;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// How often [`send_settled`] had to ask again because the proxy answered 5xx itself.
pub static RETRIES: AtomicUsize = AtomicUsize::new(0);

/// A `Location` resolved against the request it answers, as a client does (RFC 9110 allows
/// relative references): Traefik writes `//host/path` where Envoy writes `http://host/path`.
fn absolute(location: &str, request: &Request) -> String {
    if location.starts_with("//") {
        format!("http:{location}")
    } else if location.starts_with('/') {
        format!("http://{}{location}", request.host)
    } else {
        location.to_owned()
    }
}

/// `scheme://host:port/path?query` with the port made explicit and an empty query dropped.
fn normalize_location(location: &str) -> String {
    let (scheme, rest) = location.split_once("://").unwrap_or(("", location));
    let scheme = scheme.to_ascii_lowercase();
    let (authority, path_query) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, "/"),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !p.is_empty() => (h, p.to_owned()),
        Some((h, _)) => (h, default_port(&scheme)),
        None => (authority, default_port(&scheme)),
    };
    let path_query = path_query.strip_suffix('?').unwrap_or(path_query);
    format!(
        "{scheme}://{}:{port}{path_query}",
        host.to_ascii_lowercase()
    )
}

fn default_port(scheme: &str) -> String {
    if scheme == "https" { "443" } else { "80" }.to_owned()
}

/// The tally of one case or run.
#[derive(Clone, Debug, Default)]
pub struct Tally {
    /// Requests whose rule is exact and whose answer was checked (weighted: per request).
    pub checked: usize,
    /// Requests whose rule is not exact (not checked).
    pub skipped: usize,
    /// Requests sent in all.
    pub sent: usize,
    /// Weighted forwards checked over repeated requests.
    pub weighted: usize,
    /// Disagreements (and refusals).
    pub failures: Vec<String>,
    /// Per feature (condition kind, action, overlap): checked requests and disagreements.
    pub features: BTreeMap<String, (usize, usize)>,
}

impl Tally {
    /// Adds `other` to this tally.
    pub fn add(&mut self, other: Tally) {
        self.checked += other.checked;
        self.skipped += other.skipped;
        self.sent += other.sent;
        self.weighted += other.weighted;
        self.failures.extend(other.failures);
        for (k, (n, f)) in other.features {
            let e = self.features.entry(k).or_default();
            e.0 += n;
            e.1 += f;
        }
    }
}

/// Sends every request of `requests` through the proxy for `profile` and checks, for each
/// whose ALB rule `compiled` reports exact, that the answer is the ALB's: the target group the
/// model picks, the redirect it gives, or (weighted forwards, over `repeat` requests) every
/// answer from one of the groups and each group's share within tolerance.
pub async fn check_requests(
    world: &World,
    profile: Profile,
    listener: &ecsplane::api::Listener,
    compiled: &CompiledRoutes,
    requests: &[Request],
    repeat: usize,
) -> Tally {
    let proxy = world.proxy(profile);
    let (scheme, port) = alb::listener_endpoint(listener);
    let mut tally = Tally::default();
    // A weighted forward's shares are measured once per rule; later requests to it are checked
    // to reach one of its groups.
    let mut measured = BTreeSet::new();
    for r in requests {
        let routed = alb::route(listener, r);
        let exact = compiled.fate(routed.rule).is_some_and(|f| f.is_exact());
        if !exact {
            tally.skipped += 1;
            continue;
        }
        let context = || {
            format!(
                "{} ({profile}): {r} -> ALB {} ({})",
                world.data_plane, routed.target, routed.rule
            )
        };
        let failures_before = tally.failures.len();
        match &routed.target.terminal {
            Terminal::Forward(groups) if groups.len() == 1 => {
                tally.sent += 1;
                tally.checked += 1;
                match send_settled(proxy, r).await {
                    Ok(a) if a.group() == Some(groups[0].target_group.as_str()) => {}
                    Ok(a) => tally
                        .failures
                        .push(format!("{}, proxy {}", context(), describe(&a))),
                    Err(e) => tally.failures.push(format!("{}, proxy: {e}", context())),
                }
            }
            Terminal::Forward(groups) => {
                let repeat = if measured.insert(routed.rule) {
                    tally.weighted += 1;
                    repeat
                } else {
                    1
                };
                let total: u32 = groups.iter().map(|g| g.weight).sum();
                let mut counts: BTreeMap<String, usize> = BTreeMap::new();
                let mut wrong = None;
                for _ in 0..repeat {
                    tally.sent += 1;
                    tally.checked += 1;
                    match send_settled(proxy, r).await {
                        Ok(a) => match a.group() {
                            Some(g) if groups.iter().any(|w| w.target_group == g) => {
                                *counts.entry(g.to_owned()).or_default() += 1
                            }
                            _ => wrong = Some(describe(&a)),
                        },
                        Err(e) => wrong = Some(e),
                    }
                }
                if let Some(w) = &wrong {
                    tally.failures.push(format!("{}, proxy {w}", context()));
                }
                for g in groups.iter().filter(|_| repeat > 1 && wrong.is_none()) {
                    let want = f64::from(g.weight) / f64::from(total);
                    let got =
                        counts.get(&g.target_group).copied().unwrap_or(0) as f64 / repeat as f64;
                    // Four standard deviations of the binomial share, at least 0.05.
                    let tolerance = (4.0 * (want * (1.0 - want) / repeat as f64).sqrt()).max(0.05);
                    if (got - want).abs() > tolerance {
                        tally.failures.push(format!(
                            "{}: {} got {got:.3} of {repeat} requests, weight says {want:.3} (tolerance {tolerance:.3}); counts {counts:?}",
                            context(),
                            g.target_group
                        ));
                    }
                }
            }
            Terminal::Redirect {
                location,
                status_code,
            } => {
                tally.sent += 1;
                tally.checked += 1;
                let want_status = if status_code == "HTTP_302" { 302 } else { 301 };
                let want = normalize_location(&alb::redirect_location(location, r, scheme, port));
                match send_settled(proxy, r).await {
                    Ok(a)
                        if a.status == want_status
                            && a.header("location")
                                .map(|l| normalize_location(&absolute(l, r)))
                                .as_deref()
                                == Some(want.as_str()) => {}
                    Ok(a) => tally.failures.push(format!(
                        "{}, expected {want_status} to {want}, proxy {}",
                        context(),
                        describe(&a)
                    )),
                    Err(e) => tally.failures.push(format!("{}, proxy: {e}", context())),
                }
            }
            Terminal::FixedResponse { status_code, .. } => {
                tally.sent += 1;
                tally.checked += 1;
                match send_settled(proxy, r).await {
                    Ok(a) if a.status.to_string() == *status_code && a.group().is_none() => {}
                    Ok(a) => tally
                        .failures
                        .push(format!("{}, proxy {}", context(), describe(&a))),
                    Err(e) => tally.failures.push(format!("{}, proxy: {e}", context())),
                }
            }
            Terminal::Missing => {
                tally.skipped += 1;
                continue;
            }
        }
        let failed = usize::from(tally.failures.len() > failures_before);
        for feature in features(listener, r, routed.rule, &routed.target) {
            let entry = tally.features.entry(feature).or_default();
            entry.0 += 1;
            entry.1 += failed;
        }
    }
    tally
}

/// What a checked request exercised: the kinds of the matched rule's conditions, its action,
/// and whether several rules matched it (so that only the priority order decides).
fn features(
    listener: &ecsplane::api::Listener,
    request: &Request,
    rule: RuleId,
    target: &alb::Target,
) -> Vec<String> {
    let mut out = BTreeSet::new();
    let matching = alb::rules_in_order(listener)
        .into_iter()
        .filter(|r| alb::rule_matches(r, request))
        .count();
    match rule {
        RuleId::Default => {
            out.insert("default action".to_owned());
        }
        RuleId::Priority(p) => {
            let conditions = listener
                .spec
                .rules
                .iter()
                .flatten()
                .filter(|r| r.priority == p)
                .flat_map(|r| r.conditions.iter());
            for c in conditions {
                out.insert(
                    match c.field {
                        ConditionField::HostHeader => {
                            let (values, _) = alb::host_values(c);
                            if values.iter().any(|v| v.contains(['*', '?'])) {
                                "host-header with wildcards"
                            } else {
                                "host-header"
                            }
                        }
                        ConditionField::PathPattern => {
                            let (values, _) = alb::path_values(c);
                            if values.iter().any(|v| v.contains(['*', '?'])) {
                                "path-pattern with wildcards"
                            } else {
                                "path-pattern"
                            }
                        }
                        ConditionField::HttpHeader => "http-header",
                        ConditionField::HttpRequestMethod => "http-request-method",
                        ConditionField::QueryString => "query-string",
                        ConditionField::SourceIp => "source-ip",
                    }
                    .to_owned(),
                );
            }
        }
    }
    if matching >= 2 || (rule == RuleId::Default && matching >= 1) {
        out.insert("several rules match: priority decides".to_owned());
    }
    out.insert(
        match &target.terminal {
            Terminal::Forward(g) if g.len() > 1 => "weighted forward",
            Terminal::Forward(_) => "forward",
            Terminal::Redirect { .. } => "redirect",
            Terminal::FixedResponse { .. } => "fixed response",
            Terminal::Missing => "no action",
        }
        .to_owned(),
    );
    out.into_iter().collect()
}

fn describe(a: &Answer) -> String {
    match (a.group(), a.header("location")) {
        (Some(g), _) => format!("answered by {g}"),
        (None, Some(l)) => format!("answered {} to {l}", a.status),
        (None, None) => format!("answered {} {:?}", a.status, a.body.trim()),
    }
}

/// The request as the proxy sees it: from 127.0.0.1 (the model's source-ip conditions are
/// evaluated against the address the test really sends from).
pub fn local(request: Request) -> Request {
    request.with_source(IpAddr::V4(Ipv4Addr::LOCALHOST))
}
