//! The real `ecsplane run` binary as the tests run it, and what they need around it: its
//! HTTP endpoints (`/readyz`, `/metrics`), signals, an identity of its own (a ServiceAccount
//! it impersonates, with the permissions granted to it), the API server's audit log that
//! tells its writes apart from everybody else's, and a control plane of the tests' own for the
//! scenarios that stop or restart the API server.
//!
//! Shared by faults.rs, operator_process.rs and chaos.rs.

use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use kube::api::{Api, DeleteParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use serde_json::json;

use crate::harness;

/// A loopback address nothing listens on (yet).
pub fn free_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address")
}

/// A plain HTTP/1.1 GET: the status and the body, `None` when nothing listens (yet).
pub fn http_get(address: SocketAddr, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(2)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.get(9..12)?.parse().ok()?;
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned())?;
    Some((status, body))
}

/// How one `ecsplane run` process is started: which cluster, which namespace, which flags.
#[derive(Clone, Debug)]
pub struct Launch {
    /// A short name for its log file.
    pub name: String,
    /// The kubeconfig it runs with (the admin's, or one that impersonates an identity).
    pub kubeconfig: PathBuf,
    /// `--namespace`, if any.
    pub namespace: Option<String>,
    /// Every other flag.
    pub args: Vec<String>,
}

impl Launch {
    /// A process watching `namespace` with `kubeconfig`, no other flag.
    pub fn new(name: &str, kubeconfig: &Path, namespace: Option<&str>) -> Launch {
        Launch {
            name: name.to_owned(),
            kubeconfig: kubeconfig.to_owned(),
            namespace: namespace.map(str::to_owned),
            args: Vec::new(),
        }
    }

    /// The same with more flags.
    pub fn args(mut self, args: &[&str]) -> Launch {
        self.args.extend(args.iter().map(|a| (*a).to_owned()));
        self
    }

    /// Starts it.
    pub fn start(&self) -> Operator {
        Operator::start(self.clone())
    }
}

/// One `ecsplane run` process; killed (SIGKILL) when dropped. Its log (stderr) is removed
/// then too, unless the test is failing.
pub struct Operator {
    /// The child process.
    pub child: Child,
    /// `--metrics-bind-address`.
    pub metrics: SocketAddr,
    /// `--health-probe-bind-address`.
    pub health: SocketAddr,
    log: PathBuf,
    launch: Launch,
}

impl Operator {
    fn start(launch: Launch) -> Operator {
        let metrics = free_port();
        let health = free_port();
        let log = std::env::temp_dir().join(format!(
            "ecsplane-run-{}-{}-{}.log",
            launch.name,
            std::process::id(),
            metrics.port()
        ));
        let mut command = Command::new(env!("CARGO_BIN_EXE_ecsplane"));
        command
            .arg("run")
            .arg(format!("--metrics-bind-address={metrics}"))
            .arg(format!("--health-probe-bind-address={health}"))
            .arg(format!("--kubeconfig={}", launch.kubeconfig.display()));
        if let Some(ns) = &launch.namespace {
            command.arg(format!("--namespace={ns}"));
        }
        command.args(&launch.args);
        // Nothing from the ambient environment chooses the cluster or the settings.
        for (key, _) in std::env::vars() {
            if key.starts_with("ECSPLANE_") || key == "KUBECONFIG" {
                command.env_remove(key);
            }
        }
        let child = command
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("create the log file"))
            .spawn()
            .expect("start ecsplane run");
        Operator {
            child,
            metrics,
            health,
            log,
            launch,
        }
    }

    /// Another process with the same settings (the operator restarted after a crash).
    pub fn again(&self) -> Operator {
        Operator::start(self.launch.clone())
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL: no shutdown, no lease release, in-flight writes cut off.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends `signal` (`TERM`, `STOP`, `CONT`, ...).
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{signal} {}", self.pid());
    }

    /// Whether it is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits for the process to exit, at most `bound`.
    pub fn wait_exit(&mut self, bound: Duration) -> ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                start.elapsed() < bound,
                "ecsplane run (pid {}) still running after {bound:?}; its log:\n{}",
                self.pid(),
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `GET /readyz`.
    pub fn readyz(&self) -> Option<(u16, String)> {
        http_get(self.health, "/readyz")
    }

    /// `GET /metrics`.
    pub fn metrics_text(&self) -> Option<(u16, String)> {
        http_get(self.metrics, "/metrics")
    }

    /// The value of one metric line (`name{labels}`) from `/metrics`.
    pub fn metric(&self, series: &str) -> Option<f64> {
        let (_, body) = self.metrics_text()?;
        body.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
            .and_then(|v| v.trim().parse().ok())
    }

    /// The sum of every series of a metric (`name{...} value` lines starting with `prefix`).
    pub fn metric_sum(&self, prefix: &str) -> Option<f64> {
        let (status, body) = self.metrics_text()?;
        assert_eq!(status, 200, "GET /metrics: {body}");
        Some(
            body.lines()
                .filter(|l| l.starts_with(prefix))
                .filter_map(|l| l.rsplit_once(' ')?.1.parse::<f64>().ok())
                .sum(),
        )
    }

    /// `ecsplane_leader` from `/metrics`, or `None` while the endpoint does not answer.
    pub fn leader_gauge(&self) -> Option<bool> {
        let (status, body) = self.metrics_text()?;
        assert_eq!(status, 200, "GET /metrics: {body}");
        let value = body
            .lines()
            .find_map(|l| l.strip_prefix("ecsplane_leader "))
            .unwrap_or_else(|| panic!("no ecsplane_leader in /metrics:\n{body}"));
        Some(value.trim() == "1")
    }

    /// Reconciles of every kind so far, from /metrics.
    pub fn reconciles(&self) -> Option<u64> {
        self.metric_sum("ecsplane_reconciles_total{")
            .map(|n| n as u64)
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        self.kill9();
        if !std::thread::panicking() {
            let _ = std::fs::remove_file(&self.log);
        }
    }
}

/// Writes a kubeconfig that acts as ServiceAccount `sa` of `ns` (impersonation by the admin of
/// the control plane whose kubeconfig is `admin`), for an operator process with only the
/// permissions given to it and an identity of its own in the audit log.
pub fn impersonating_kubeconfig(admin: &Path, ns: &str, sa: &str) -> PathBuf {
    let text = std::fs::read_to_string(admin).expect("read the kubeconfig");
    let mut out = String::new();
    for line in text.lines() {
        out.push_str(line);
        out.push('\n');
        if line.trim_start().starts_with("client-key-data:") {
            out.push_str(&format!(
                "    as: system:serviceaccount:{ns}:{sa}\n    as-groups:\n    - system:serviceaccounts\n    - system:serviceaccounts:{ns}\n    - system:authenticated\n"
            ));
        }
    }
    assert!(out.contains("    as: "), "the admin user has a client key");
    let path = std::env::temp_dir().join(format!(
        "ecsplane-{ns}-{sa}-{}.kubeconfig",
        std::process::id()
    ));
    std::fs::write(&path, out).expect("write the kubeconfig");
    path
}

/// Grants ServiceAccounts `accounts` of `ns` everything the operator needs except the Gateway
/// API group (a ClusterRole and a binding named after `ns`, both returned by name for
/// [`revoke`]), creating the accounts.
pub async fn grant_all_but_gateway(client: &Client, ns: &str, accounts: &[&str]) -> String {
    let name = format!("ecsplane-faults-{ns}");
    let roles: Api<ClusterRole> = Api::all(client.clone());
    let role: ClusterRole = serde_json::from_value(json!({
        "metadata": {"name": name},
        "rules": [{
            "apiGroups": ["", "apps", "autoscaling", "batch", "policy", "networking.k8s.io",
                          "discovery.k8s.io", "events.k8s.io", "coordination.k8s.io",
                          "ecsplane.io"],
            "resources": ["*"],
            "verbs": ["*"],
        }],
    }))
    .expect("a ClusterRole");
    roles
        .create(&PostParams::default(), &role)
        .await
        .expect("create the ClusterRole");
    let subjects: Vec<serde_json::Value> = accounts
        .iter()
        .map(|sa| json!({"kind": "ServiceAccount", "name": sa, "namespace": ns}))
        .collect();
    let bindings: Api<ClusterRoleBinding> = Api::all(client.clone());
    let binding: ClusterRoleBinding = serde_json::from_value(json!({
        "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
        "subjects": subjects,
    }))
    .expect("a ClusterRoleBinding");
    bindings
        .create(&PostParams::default(), &binding)
        .await
        .expect("create the ClusterRoleBinding");
    let sas: Api<ServiceAccount> = Api::namespaced(client.clone(), ns);
    for sa in accounts {
        let account: ServiceAccount =
            serde_json::from_value(json!({"metadata": {"name": sa}})).expect("a ServiceAccount");
        sas.create(&PostParams::default(), &account)
            .await
            .expect("create the ServiceAccount");
    }
    name
}

/// Deletes what [`grant_all_but_gateway`] created cluster-wide (best effort).
pub async fn revoke(client: &Client, role: &str) {
    let _ = Api::<ClusterRole>::all(client.clone())
        .delete(role, &DeleteParams::default())
        .await;
    let _ = Api::<ClusterRoleBinding>::all(client.clone())
        .delete(role, &DeleteParams::default())
        .await;
}

/// A client for the control plane of `kubeconfig`.
pub async fn client_of(kubeconfig: &Path) -> Client {
    let kubeconfig = Kubeconfig::read_from(kubeconfig).expect("read the kubeconfig");
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .expect("load the kubeconfig");
    Client::try_from(config).expect("a client")
}

/// One completed write from the API server's audit log.
#[derive(Clone, Debug)]
pub struct Write {
    /// Who asked: the impersonated user if any, else the authenticated one.
    pub user: String,
    /// `create`, `update`, `patch`, `delete`, `deletecollection`.
    pub verb: String,
    /// The resource (`deployments`, `leases`, ...), with `/subresource` when there is one.
    pub resource: String,
    /// The object's namespace and name.
    pub object: String,
    /// The response code.
    pub code: u16,
    /// When the API server received it.
    pub received: jiff::Timestamp,
    /// When the API server completed it.
    pub completed: jiff::Timestamp,
}

impl std::fmt::Display for Write {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} {} {} → {} ({} … {})",
            self.user,
            self.verb,
            self.resource,
            self.object,
            self.code,
            self.received,
            self.completed
        )
    }
}

/// The API server's audit log (`controlplane.sh` writes one line per completed write to
/// `DIR/logs/audit.log`), read from where the reader last stopped.
pub struct AuditLog {
    reader: BufReader<std::fs::File>,
    partial: String,
}

impl AuditLog {
    /// The audit log of the control plane whose kubeconfig is `kubeconfig`, from its current
    /// end (only writes from now on are read).
    pub fn from_end(kubeconfig: &Path) -> AuditLog {
        let path = kubeconfig
            .parent()
            .expect("the kubeconfig's directory")
            .join("logs/audit.log");
        let file = std::fs::File::open(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (the control plane predates the harness's audit log: start it again \
                 with tests/harness/controlplane.sh up)",
                path.display()
            )
        });
        let mut reader = BufReader::new(file);
        reader.seek(SeekFrom::End(0)).expect("seek the audit log");
        AuditLog {
            reader,
            partial: String::new(),
        }
    }

    /// The writes logged since the last call (complete lines only).
    pub fn read(&mut self) -> Vec<Write> {
        let mut out = Vec::new();
        loop {
            let mut line = String::new();
            match self.reader.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            if !line.ends_with('\n') {
                // The API server is still writing it: keep the start for the next call.
                self.partial.push_str(&line);
                break;
            }
            let line = std::mem::take(&mut self.partial) + &line;
            if let Some(write) = parse_audit(&line) {
                out.push(write);
            }
        }
        out
    }
}

fn parse_audit(line: &str) -> Option<Write> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    if v["stage"] != "ResponseComplete" {
        return None;
    }
    let user = v["impersonatedUser"]["username"]
        .as_str()
        .or_else(|| v["user"]["username"].as_str())?
        .to_owned();
    let r = &v["objectRef"];
    let mut resource = r["resource"].as_str().unwrap_or_default().to_owned();
    if let Some(sub) = r["subresource"].as_str() {
        resource = format!("{resource}/{sub}");
    }
    Some(Write {
        user,
        verb: v["verb"].as_str()?.to_owned(),
        resource,
        object: format!(
            "{}/{}",
            r["namespace"].as_str().unwrap_or_default(),
            r["name"].as_str().unwrap_or_default()
        ),
        code: v["responseStatus"]["code"].as_u64().unwrap_or(0) as u16,
        received: v["requestReceivedTimestamp"].as_str()?.parse().ok()?,
        completed: v["stageTimestamp"].as_str()?.parse().ok()?,
    })
}

/// The user name of ServiceAccount `sa` of `ns`, as the audit log names it.
pub fn service_account_user(ns: &str, sa: &str) -> String {
    format!("system:serviceaccount:{ns}:{sa}")
}

/// A control plane of the tests' own (not the suite's), for the scenarios that stop or
/// restart its API server: started once per test process on first use (about 20 s from the
/// cache) and stopped by a detached watcher once the test process has exited, like the
/// suite's. Tests that use it hold [`OwnControlPlane::exclusive`] so that one API-server
/// restart never lands in another's scenario.
pub struct OwnControlPlane {
    /// Its state directory.
    pub dir: PathBuf,
    // The detached watcher that runs `down` once this process has exited. It outlives us on
    // purpose, so it is kept, never waited on.
    _watcher: Child,
}

static OWN: OnceLock<OwnControlPlane> = OnceLock::new();
static OWN_LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

impl OwnControlPlane {
    /// The shared one, started on first use (blocking: call from `spawn_blocking`).
    pub fn get() -> &'static OwnControlPlane {
        OWN.get_or_init(|| {
            let script = harness::repo_root().join("tests/harness/controlplane.sh");
            let dir = std::env::temp_dir().join(format!("ecsplane-own-cp.{}", std::process::id()));
            let status = Command::new("bash")
                .arg(&script)
                .arg("up")
                .arg(&dir)
                .stdout(Stdio::null())
                .status()
                .expect("run controlplane.sh up");
            assert!(status.success(), "controlplane.sh up {}", dir.display());
            let watcher = harness::stop_when_this_process_exits(&script, &dir);
            OwnControlPlane {
                dir,
                _watcher: watcher,
            }
        })
    }

    /// The shared one, for one test at a time: the guard is held for the whole scenario.
    pub async fn exclusive() -> (
        &'static OwnControlPlane,
        tokio::sync::MutexGuard<'static, ()>,
    ) {
        let guard = OWN_LOCK.lock().await;
        let cp = tokio::task::spawn_blocking(OwnControlPlane::get)
            .await
            .expect("start a control plane");
        (cp, guard)
    }

    /// Its kubeconfig.
    pub fn kubeconfig(&self) -> PathBuf {
        self.dir.join("kubeconfig")
    }

    /// A client for it.
    pub async fn client(&self) -> Client {
        client_of(&self.kubeconfig()).await
    }

    /// Runs `controlplane.sh restart-apiserver` with `gap` seconds of the API server away, on a
    /// thread of its own; its result is whether the restart succeeded.
    pub fn restart_apiserver(&self, gap: u64) -> std::thread::JoinHandle<bool> {
        let dir = self.dir.clone();
        std::thread::spawn(move || {
            Command::new("bash")
                .arg(harness::repo_root().join("tests/harness/controlplane.sh"))
                .arg("restart-apiserver")
                .arg(&dir)
                .arg(gap.to_string())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
    }

    /// The etcd client URL its API server uses (read from the API server's command line).
    pub fn etcd_url(&self) -> String {
        let pid = std::fs::read_to_string(self.dir.join("pids/kube-apiserver.pid"))
            .expect("the API server's pid file");
        let cmdline = std::fs::read(format!("/proc/{}/cmdline", pid.trim()))
            .expect("the API server's command line");
        let args: Vec<String> = cmdline
            .split(|b| *b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        let at = args
            .iter()
            .position(|a| a == "--etcd-servers")
            .expect("--etcd-servers");
        args[at + 1].clone()
    }
}
