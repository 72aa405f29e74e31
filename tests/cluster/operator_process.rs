//! The real `ecsplane run` binary against the real control plane: leader election on a Lease
//! between two replicas, the endpoints, and shutdown on signals.
//!
//! Every bound below is derived from the lease settings the test passes, with generous slack
//! for a loaded two-core machine; nothing asserts how fast something happened beyond that.

use std::time::{Duration, Instant};

use ecsplane::runtime::leader::{Attempt, Elector, LeaderElection, Lost};
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::PostParams;
use kube::{Api, Client};
use tokio::sync::oneshot;

use crate::harness;
use crate::process::{self, Operator, free_port, http_get};

const LEASE: &str = "ecsplane-leader";
/// Slack on top of every bound derived from the lease settings: process start-up, API latency
/// and scheduling on a busy machine.
const SLACK: Duration = Duration::from_secs(20);

/// Lease settings passed as flags.
#[derive(Clone, Copy)]
struct Timing {
    lease_duration: u64,
    renew_deadline_ms: u64,
    retry_period_ms: u64,
}

impl Timing {
    /// Short, for tests that wait for a lease to expire; long enough that a renewal delayed by
    /// a busy machine (API latency of a second or two, seen with load 20 on two cores) does
    /// not cost a healthy leader its lease.
    const SHORT: Timing = Timing {
        lease_duration: 10,
        renew_deadline_ms: 8000,
        retry_period_ms: 1000,
    };
    /// Long, so that a takeover well within it can only come from a released lease.
    const LONG: Timing = Timing {
        lease_duration: 60,
        renew_deadline_ms: 40_000,
        retry_period_ms: 500,
    };

    fn lease_duration(self) -> Duration {
        Duration::from_secs(self.lease_duration)
    }

    fn retry_period(self) -> Duration {
        Duration::from_millis(self.retry_period_ms)
    }

    /// The longest a standby can need to take over a lease its holder stopped renewing: it
    /// notices the last renewal up to one jittered retry (2.2 periods) late, waits the lease
    /// duration, and then up to another jittered retry.
    fn takeover_bound(self) -> Duration {
        self.lease_duration() + self.retry_period().mul_f64(4.4) + SLACK
    }
}

/// One `ecsplane run` replica: with a namespace, watching it and electing a leader on a Lease
/// there with `timing`.
type Replica = Operator;

fn replica(name: &str, namespace: Option<&str>, timing: Timing) -> Replica {
    replica_with(name, namespace, timing, &[])
}

fn replica_with(name: &str, namespace: Option<&str>, timing: Timing, extra: &[&str]) -> Replica {
    let mut args: Vec<String> = Vec::new();
    if let Some(namespace) = namespace {
        args.extend([
            "--leader-elect".to_owned(),
            format!("--leader-election-namespace={namespace}"),
            format!(
                "--leader-election-lease-duration={}s",
                timing.lease_duration
            ),
            format!(
                "--leader-election-renew-deadline={}ms",
                timing.renew_deadline_ms
            ),
            format!(
                "--leader-election-retry-period={}ms",
                timing.retry_period_ms
            ),
        ]);
    }
    let args: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .chain(extra.iter().copied())
        .collect();
    process::Launch::new(name, harness::kubeconfig_path(), namespace)
        .args(&args)
        .start()
}

async fn holder(leases: &Api<Lease>) -> Option<String> {
    let lease = leases.get_opt(LEASE).await.expect("read the lease")?;
    lease.spec?.holder_identity.filter(|h| !h.is_empty())
}

/// Polls `check` every 100 ms until it returns `Some`, at most `bound`.
async fn eventually<T>(
    bound: Duration,
    what: &str,
    replicas: &[&Replica],
    mut check: impl AsyncFnMut() -> Option<T>,
) -> T {
    let start = Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        if start.elapsed() > bound {
            let logs: Vec<String> = replicas
                .iter()
                .map(|r| format!("--- pid {}:\n{}", r.pid(), r.log()))
                .collect();
            panic!("not within {bound:?}: {what}\n{}", logs.join("\n"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Which of `replicas` says it leads, once exactly one does and the Lease names a holder.
async fn sole_leader(
    leases: &Api<Lease>,
    replicas: &[&Replica],
    bound: Duration,
) -> (usize, String) {
    eventually(
        bound,
        "exactly one replica leads and the Lease has a holder",
        replicas,
        async || {
            let gauges: Vec<Option<bool>> = replicas.iter().map(|r| r.leader_gauge()).collect();
            let leading: Vec<usize> = (0..replicas.len())
                .filter(|i| gauges[*i] == Some(true))
                .collect();
            let holder = holder(leases).await?;
            (leading.len() == 1).then(|| (leading[0], holder))
        },
    )
    .await
}

async fn setup(prefix: &str) -> (Client, String, Api<Lease>) {
    let client = harness::client().await;
    // The controllers the process runs watch the ecsplane kinds.
    harness::install_crds(&client).await;
    let namespace = harness::namespace(&client, prefix).await;
    let leases = Api::namespaced(client.clone(), &namespace);
    (client, namespace, leases)
}

/// Two replicas with `--leader-elect`: exactly one leads (it holds the Lease and says so on
/// /metrics, and its /readyz is 200), the standby never claims to lead while the leader lives,
/// and after the leader is killed with SIGKILL the standby takes over within the lease
/// duration plus the retry period. Only the leader reconciles (so no object is written by
/// both): the standby's reconcile count stays 0 until it takes over.
#[tokio::test]
async fn one_of_two_replicas_leads_and_the_other_takes_over_when_the_leader_is_killed() {
    let (client, namespace, leases) = setup("run-elect").await;
    // Something to reconcile: an EcsCluster, whose status the leader writes.
    harness::apply(
        &client,
        &namespace,
        &serde_json::json!({"apiVersion": "ecsplane.io/v1alpha1", "kind": "EcsCluster",
            "metadata": {"name": "default"}, "spec": {"clusterName": "default"}}),
        false,
    )
    .await
    .expect("apply an EcsCluster");
    let timing = Timing::SHORT;
    let a = replica("a", Some(&namespace), timing);
    let b = replica("b", Some(&namespace), timing);
    let mut replicas = [a, b];

    let start_bound = timing.takeover_bound();
    let (leader, holder_before) = {
        let refs: Vec<&Replica> = replicas.iter().collect();
        sole_leader(&leases, &refs, start_bound).await
    };
    let standby = 1 - leader;
    let leader_log = replicas[leader].log();
    assert!(
        leader_log.contains(&holder_before),
        "the Lease holder {holder_before} is the replica whose /metrics says it leads:\n{leader_log}"
    );

    {
        let refs: Vec<&Replica> = replicas.iter().collect();
        let (status, body) = eventually(
            start_bound,
            "the leader's /readyz answers 200",
            &refs,
            async || replicas[leader].readyz().filter(|(s, _)| *s == 200),
        )
        .await;
        assert_eq!((status, body.trim()), (200, "ready"));
        // A standby is ready too (it has read the Lease and waits to take over).
        eventually(
            start_bound,
            "the standby's /readyz answers 200 standby",
            &refs,
            async || {
                replicas[standby]
                    .readyz()
                    .filter(|(s, b)| *s == 200 && b.trim() == "standby")
            },
        )
        .await;
    }

    {
        let refs: Vec<&Replica> = replicas.iter().collect();
        eventually(
            start_bound,
            "the leader reconciles the EcsCluster",
            &refs,
            async || replicas[leader].reconciles().filter(|n| *n > 0),
        )
        .await;
    }
    // For two lease durations, the standby never leads, never reconciles, and the holder
    // does not change.
    let watch_until = Instant::now() + 2 * timing.lease_duration();
    while Instant::now() < watch_until {
        assert_eq!(
            replicas[standby].leader_gauge(),
            Some(false),
            "two leaders at once"
        );
        assert_eq!(
            replicas[standby].reconciles(),
            Some(0),
            "the standby reconciles while the leader lives"
        );
        assert_eq!(
            holder(&leases).await.as_deref(),
            Some(holder_before.as_str())
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let killed = Instant::now();
    replicas[leader].child.kill().expect("SIGKILL the leader");
    replicas[leader].child.wait().expect("reap the leader");
    let survivor = &replicas[standby];
    let holder_after = eventually(
        timing.takeover_bound(),
        "the standby takes over",
        &[survivor],
        async || {
            let holder = holder(&leases).await?;
            (holder != holder_before && survivor.leader_gauge() == Some(true)).then_some(holder)
        },
    )
    .await;
    eprintln!(
        "took over {:?} after SIGKILL (lease duration {:?})",
        killed.elapsed(),
        timing.lease_duration()
    );
    assert!(
        survivor.log().contains(&holder_after),
        "the new holder is the survivor"
    );
    eventually(
        timing.takeover_bound(),
        "the new leader reconciles",
        &[survivor],
        async || survivor.reconciles().filter(|n| *n > 0),
    )
    .await;
    let lease = leases.get(LEASE).await.expect("lease").spec.expect("spec");
    assert!(
        lease.lease_transitions.unwrap_or(0) >= 2,
        "two acquisitions: {lease:?}"
    );

    harness::delete_namespace(&client, &namespace).await;
}

/// On SIGTERM the leader stops its controllers, releases the Lease and exits 0; the standby
/// takes the released lease at its next retry, long before the lease would have expired.
#[tokio::test]
async fn a_leader_stopped_with_sigterm_releases_its_lease_and_exits_zero() {
    let (client, namespace, leases) = setup("run-release").await;
    let timing = Timing::LONG;
    let mut first = replica("first", Some(&namespace), timing);
    let first_holder = eventually(
        Duration::from_secs(5) + SLACK,
        "the only replica leads",
        &[&first],
        async || {
            let holder = holder(&leases).await?;
            (first.leader_gauge() == Some(true)).then_some(holder)
        },
    )
    .await;
    let second = replica("second", Some(&namespace), timing);
    eventually(
        SLACK,
        "the second replica is a ready standby",
        &[&second],
        async || {
            second
                .readyz()
                .filter(|(s, b)| *s == 200 && b.trim() == "standby")
        },
    )
    .await;

    let stopped = Instant::now();
    first.signal("TERM");
    let status = first.wait_exit(SLACK);
    assert!(
        status.success(),
        "exit status {status:?}; log:\n{}",
        first.log()
    );
    let log = first.log();
    assert!(log.contains("released the leader lease"), "{log}");

    // The lease would expire only `lease_duration` after the last renewal; a takeover well
    // before that proves the release.
    let bound = timing.lease_duration() / 2;
    let second_holder = eventually(
        bound,
        "the standby takes the released lease",
        &[&second],
        async || {
            let holder = holder(&leases).await?;
            (holder != first_holder && second.leader_gauge() == Some(true)).then_some(holder)
        },
    )
    .await;
    eprintln!(
        "took over {:?} after SIGTERM (lease duration {:?})",
        stopped.elapsed(),
        timing.lease_duration()
    );
    assert!(second.log().contains(&second_holder));

    harness::delete_namespace(&client, &namespace).await;
}

/// Without leader election the process serves /healthz, /readyz and /metrics, reports itself
/// leader, stops being ready on SIGTERM and exits 0.
#[tokio::test]
async fn ecsplane_run_serves_its_endpoints_and_exits_zero_on_sigterm() {
    let (_client, namespace, _leases) = setup("run-plain").await;
    let watch = format!("--namespace={namespace}");
    let mut replica = replica_with("plain", None, Timing::SHORT, &[&watch]);
    let (status, _) = eventually(SLACK, "/readyz answers 200", &[&replica], async || {
        replica.readyz().filter(|(s, _)| *s == 200)
    })
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        http_get(replica.health, "/healthz").map(|(s, _)| s),
        Some(200)
    );
    let (status, metrics) = http_get(replica.metrics, "/metrics").expect("/metrics answers");
    assert_eq!(status, 200);
    for name in [
        "# TYPE ecsplane_reconciles counter",
        "# TYPE ecsplane_reconcile_errors counter",
        "# TYPE ecsplane_reconcile_duration_seconds histogram",
        "# TYPE ecsplane_queue_depth gauge",
        "ecsplane_leader 1",
    ] {
        assert!(
            metrics.lines().any(|l| l == name),
            "missing {name:?} in\n{metrics}"
        );
    }

    replica.signal("TERM");
    let status = replica.wait_exit(SLACK);
    assert!(
        status.success(),
        "exit status {status:?}; log:\n{}",
        replica.log()
    );
    assert!(
        replica.log().contains("SIGTERM"),
        "the log names the signal:\n{}",
        replica.log()
    );
}

/// SIGINT (Ctrl-C) is a graceful shutdown too; with `--log-format json` every log line is a
/// JSON object with a level and a message.
#[tokio::test]
async fn ecsplane_run_exits_zero_on_sigint_and_logs_json_lines() {
    let (_client, namespace, _leases) = setup("run-int").await;
    let watch = format!("--namespace={namespace}");
    let mut replica = replica_with("int", None, Timing::SHORT, &["--log-format=json", &watch]);
    eventually(SLACK, "/readyz answers 200", &[&replica], async || {
        replica.readyz().filter(|(s, _)| *s == 200)
    })
    .await;
    replica.signal("INT");
    let status = replica.wait_exit(SLACK);
    let log = replica.log();
    assert!(status.success(), "exit status {status:?}; log:\n{log}");

    let events: Vec<serde_json::Value> = log
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line:?}")))
        .collect();
    assert!(!events.is_empty(), "no log lines");
    for event in &events {
        assert!(
            event["level"].is_string() && event["message"].is_string(),
            "{event}"
        );
    }
    assert!(
        events.iter().any(
            |e| e["message"] == "shutting down: stopping the controllers"
                && e["signal"] == "SIGINT"
        ),
        "the shutdown is logged with its signal:\n{log}"
    );
}

fn election(namespace: &str, identity: &str) -> LeaderElection {
    LeaderElection {
        namespace: namespace.to_owned(),
        name: LEASE.to_owned(),
        identity: identity.to_owned(),
        lease_duration: Duration::from_secs(30),
        renew_deadline: Duration::from_secs(2),
        retry_period: Duration::from_millis(200),
    }
}

/// Of two replicas racing for a free Lease, exactly one wins, however the requests interleave:
/// writes are conditional on the resourceVersion read.
#[tokio::test]
async fn of_two_replicas_racing_for_a_free_lease_exactly_one_wins() {
    let (client, namespace, leases) = setup("lease-race").await;
    for round in 0..10 {
        let mut a = Elector::new(client.clone(), election(&namespace, &format!("a-{round}")));
        let mut b = Elector::new(client.clone(), election(&namespace, &format!("b-{round}")));
        let (ra, rb) = tokio::join!(a.try_acquire_or_renew(false), b.try_acquire_or_renew(false));
        let (ra, rb) = (ra.expect("a"), rb.expect("b"));
        let winners = [&ra, &rb]
            .iter()
            .filter(|r| ***r == Attempt::Leading)
            .count();
        assert_eq!(winners, 1, "round {round}: {ra:?} / {rb:?}");
        let (winner, loser) = if ra == Attempt::Leading {
            (&mut a, rb)
        } else {
            (&mut b, ra)
        };
        assert!(
            matches!(loser, Attempt::Conflict | Attempt::HeldBy(_)),
            "round {round}: the loser neither leads nor fails: {loser:?}"
        );
        let held_by = holder(&leases).await.expect("a holder");
        assert_eq!(held_by, winner.config().identity, "round {round}");
        assert!(
            winner.release().await.expect("release"),
            "round {round}: the winner held it"
        );
        assert_eq!(holder(&leases).await, None, "round {round}: released");
    }
    harness::delete_namespace(&client, &namespace).await;
}

/// A leader that finds the Lease held by someone else stops leading at its next renewal, even
/// if it never saw the other replica's lease expire.
#[tokio::test]
async fn a_leader_whose_lease_was_taken_loses_it_at_the_next_renewal() {
    let (client, namespace, leases) = setup("lease-taken").await;
    let mut leader = Elector::new(client.clone(), election(&namespace, "leader"));
    assert_eq!(
        leader.try_acquire_or_renew(false).await.expect("acquire"),
        Attempt::Leading
    );

    let mut lease = leases.get(LEASE).await.expect("lease");
    lease.spec.as_mut().expect("spec").holder_identity = Some("intruder".to_owned());
    leases
        .replace(LEASE, &PostParams::default(), &lease)
        .await
        .expect("hand the lease to an intruder");

    let (_stop, stop) = oneshot::channel();
    let lost = tokio::time::timeout(SLACK, leader.keep(stop))
        .await
        .expect("keep returns");
    assert_eq!(lost, Some(Lost::TakenBy("intruder".to_owned())));
    assert!(
        !leader.release().await.expect("release"),
        "nothing to release: not the holder"
    );
    assert_eq!(
        holder(&leases).await.as_deref(),
        Some("intruder"),
        "the intruder keeps it"
    );
    harness::delete_namespace(&client, &namespace).await;
}

/// A leader that cannot reach the API server stops leading once the renew deadline has passed,
/// which is before any standby could take over (the lease duration is longer).
#[tokio::test]
async fn a_leader_cut_off_from_the_api_server_gives_up_after_the_renew_deadline() {
    // An API server address where nothing listens: every request fails at once.
    let unreachable = format!("https://{}", free_port());
    let config = kube::Config::new(unreachable.parse().expect("a URL"));
    let client = Client::try_from(config).expect("client");
    let settings = election("default", "cut-off");
    let deadline = settings.renew_deadline;
    let mut leader = Elector::new(client, settings);

    let (_stop, stop) = oneshot::channel();
    let started = Instant::now();
    let lost = tokio::time::timeout(deadline + SLACK, leader.keep(stop))
        .await
        .expect("keep returns");
    let Some(Lost::RenewDeadline {
        deadline: reported,
        last_error,
    }) = lost
    else {
        panic!("expected the renew deadline to pass, got {lost:?}");
    };
    assert_eq!(reported, deadline);
    assert!(
        started.elapsed() >= deadline,
        "gave up only after the deadline"
    );
    assert!(!last_error.is_empty());
}
