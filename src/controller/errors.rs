//! The error policy: what happens after a reconcile fails or is blocked, decided by cause.
//!
//! | cause | what happens | what the object shows |
//! |---|---|---|
//! | API error (5xx, 409, 404, unreachable) | retried with per-object exponential backoff and jitter, [`BASE`] doubling to [`CAP`]; reset by a success | `Ready=False`, `ApiError` |
//! | 429 TooManyRequests | retried no sooner than the `Retry-After` the API server asked for (and not before the backoff) | `Ready=False`, `Throttled` |
//! | 403 Forbidden | backoff, as an API error (granting the permission needs no change of the object) | `Ready=False`, `Forbidden` |
//! | 422 on a child | waits for a change of the object or its children: the spec is wrong, retrying will not help | `Ready=False`, `ChildRejected`, naming the child and the field |
//! | invalid spec, policy violation | waits for a change of the object | the controller's own `Ready=False` (`Invalid`, `PolicyViolation`) |
//! | dangling reference | waits for a change of the object or of what it refers to (both are watched) | `Ready=False` (`TaskDefinitionNotFound`, `ReferenceNotFound`) |
//! | child conflict | looked at again after [`CONFLICT_RETRY`] (the foreign object is not watched) | `Ready=False`, `ChildConflict` |
//!
//! Each failure is also a Warning Event with the condition's reason, published once per
//! reason and message: the same failure again publishes nothing, a different one (or the same
//! after the object recovered) publishes again.
//!
//! [`decide`] is the pure decision; [`Memory`] holds, per object, the attempts and the last
//! Event published; the glue ([`guarded`], [`blocked`], [`action`]) ties them to the
//! controllers.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::Resource;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::conditions::{self, Desired};
use super::resolve::Blocked;
use super::vocabulary::{ConditionType, EventAction, Reason};
use super::{Context, ErrorCategory, FIELD_MANAGER, ReconcileError};

/// The first retry delay after an API error.
pub const BASE: Duration = Duration::from_secs(1);
/// The longest retry delay after API errors, however many attempts failed.
pub const CAP: Duration = Duration::from_secs(300);
/// How long a child conflict waits before it is looked at again.
pub const CONFLICT_RETRY: Duration = Duration::from_secs(60);
/// The longest Event note the API server accepts (events.k8s.io `note`: 1 kB).
const NOTE_MAX: usize = 1024;

/// What went wrong: a failed reconcile, or one that could not go on.
#[derive(Clone, Copy, Debug)]
pub enum Failure<'a> {
    /// The reconcile returned an error.
    Error(&'a ReconcileError),
    /// The reconcile wrote why the object cannot go on ([`Blocked`]) and ended.
    Blocked(&'a Blocked),
}

/// When to look at the object again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retry {
    /// After this long.
    After(Duration),
    /// When the object or something it watches changes (`Action::await_change()`).
    OnChange,
}

impl Retry {
    /// The kube-runtime action.
    pub fn action(self) -> Action {
        match self {
            Retry::After(after) => Action::requeue(after),
            Retry::OnChange => Action::await_change(),
        }
    }
}

/// What the error policy does about one failure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    /// The metrics category.
    pub category: ErrorCategory,
    /// The `Ready=False` reason, also the Warning Event's reason.
    pub reason: Reason,
    /// The condition message and Event note.
    pub message: String,
    /// When to look again.
    pub retry: Retry,
}

/// The metrics category of a reconcile error (what [`decide`] would say).
pub fn category(err: &ReconcileError) -> ErrorCategory {
    classify(err).0
}

/// Decides what happens after `failure`, the `attempts`-th failure in a row of this object
/// (1 for the first), at `now` (which seeds the jitter, so the decision is a pure function).
pub fn decide(failure: Failure<'_>, attempts: u32, now: Timestamp) -> Decision {
    match failure {
        Failure::Blocked(blocked) => {
            let (category, retry) = match blocked.reason {
                Reason::ChildConflict => (ErrorCategory::Conflict, Retry::After(CONFLICT_RETRY)),
                Reason::TaskDefinitionNotFound
                | Reason::ReferenceNotFound
                | Reason::TargetGroupNotFound => (ErrorCategory::Reference, Retry::OnChange),
                _ => (ErrorCategory::Invalid, Retry::OnChange),
            };
            Decision {
                category,
                reason: blocked.reason,
                message: blocked.message.clone(),
                retry,
            }
        }
        Failure::Error(err) => {
            let (category, reason, message, retry_after) = classify(err);
            let retry = match category {
                ErrorCategory::Rejected => Retry::OnChange,
                _ => {
                    let backoff = backoff(attempts, now);
                    Retry::After(retry_after.map_or(backoff, |server| server.max(backoff)))
                }
            };
            Decision {
                category,
                reason,
                message,
                retry,
            }
        }
    }
}

/// Exponential backoff with equal jitter: the `attempts`-th delay is between half and all of
/// `BASE · 2^(attempts-1)`, capped at [`CAP`]; the jitter comes from `now`'s nanoseconds.
pub fn backoff(attempts: u32, now: Timestamp) -> Duration {
    let exponent = attempts.saturating_sub(1).min(20);
    let full = BASE.saturating_mul(1u32 << exponent).min(CAP);
    let half = full / 2;
    let fraction = jitter(now);
    half + half.mul_f64(fraction)
}

/// A number in `[0, 1)` from the instant `now` (splitmix64 of its nanoseconds).
fn jitter(now: Timestamp) -> f64 {
    let mut x = now.as_nanosecond() as u64;
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^= x >> 31;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// Category, reason, message and the server's `Retry-After` of a reconcile error.
fn classify(err: &ReconcileError) -> (ErrorCategory, Reason, String, Option<Duration>) {
    match err {
        ReconcileError::Serialize { .. } => (
            ErrorCategory::Invalid,
            Reason::InternalError,
            format!("{err} (a bug in ecsplane: please report it)"),
            None,
        ),
        ReconcileError::Api { action, source } => match source {
            kube::Error::Api(status)
                if status.code == 429 || status.reason == "TooManyRequests" =>
            {
                let after = status
                    .details
                    .as_ref()
                    .map(|d| d.retry_after_seconds)
                    .filter(|s| *s > 0)
                    .map(|s| Duration::from_secs(u64::from(s)));
                (
                    ErrorCategory::Throttled,
                    Reason::Throttled,
                    format!(
                        "{action}: the API server is throttling the operator (429 TooManyRequests); retrying no sooner than it asks"
                    ),
                    after,
                )
            }
            kube::Error::Api(status) if status.is_forbidden() => (
                ErrorCategory::Forbidden,
                Reason::Forbidden,
                format!(
                    "{action}: forbidden (403): {}; grant the operator this permission",
                    status.message
                ),
                None,
            ),
            kube::Error::Api(status) if status.is_invalid() => (
                ErrorCategory::Rejected,
                Reason::ChildRejected,
                rejected(action, status),
                None,
            ),
            kube::Error::Api(status) => (
                ErrorCategory::Api,
                Reason::ApiError,
                format!(
                    "{action}: the API server answered {} {}: {}",
                    status.code, status.reason, status.message
                ),
                None,
            ),
            other => (
                ErrorCategory::Api,
                Reason::ApiError,
                format!("{action}: cannot reach the API server: {other}"),
                None,
            ),
        },
    }
}

/// The message of a 422: which child the API server refused and each field it named.
fn rejected(action: &str, status: &kube::core::Status) -> String {
    let details = status.details.as_ref();
    let child = details
        .filter(|d| !d.kind.is_empty() && !d.name.is_empty())
        .map(|d| format!("{} {}", d.kind, d.name))
        .unwrap_or_else(|| action.to_owned());
    let fields: Vec<String> = details
        .map(|d| {
            d.causes
                .iter()
                .map(|c| match (c.field.is_empty(), c.message.is_empty()) {
                    (false, false) => format!("{}: {}", c.field, c.message),
                    (false, true) => c.field.clone(),
                    _ => c.message.clone(),
                })
                .collect()
        })
        .unwrap_or_default();
    let what = if fields.is_empty() {
        status.message.clone()
    } else {
        fields.join("; ")
    };
    format!(
        "the API server refused child {child} ({action}): {what}; the spec produces an invalid object, so it is retried only when it changes"
    )
}

/// Which object an entry of [`Memory`] is about.
type Key = (&'static str, String, String);

fn key(kind: &'static str, meta: &ObjectMeta) -> Key {
    (
        kind,
        meta.namespace.clone().unwrap_or_default(),
        meta.name.clone().unwrap_or_default(),
    )
}

/// What is remembered about one failing object.
#[derive(Clone, Debug)]
struct Entry {
    /// Failed reconciles in a row.
    attempts: u32,
    /// The action the error policy returns for the last failure.
    action: Action,
    /// Until when a failed object waits whatever wakes it (its generation unchanged).
    hold_until: Option<Instant>,
    /// The generation of the object at the last failure.
    generation: Option<i64>,
    /// The reason and message of the last Warning Event published.
    emitted: Option<(Reason, String)>,
    /// The reconcile in progress ended blocked (set by [`blocked`], read by [`guarded`]).
    blocked_now: bool,
    /// When the entry last changed (entries of deleted objects are forgotten after a while).
    touched: Instant,
}

impl Entry {
    fn new(now: Instant) -> Self {
        Self {
            attempts: 0,
            action: Action::await_change(),
            hold_until: None,
            generation: None,
            emitted: None,
            blocked_now: false,
            touched: now,
        }
    }
}

/// Entries untouched for this long are forgotten once the memory grows past [`PRUNE_AT`].
const FORGET_AFTER: Duration = Duration::from_secs(3600);
/// The number of entries at which old ones are forgotten.
const PRUNE_AT: usize = 1024;

/// Per-object memory of the error policy: attempts, backoff, the last Event published, and
/// the objects of each kind in flight (for `ecsplane_queue_depth`).
#[derive(Debug, Default)]
pub struct Memory {
    entries: Mutex<HashMap<Key, Entry>>,
    in_flight: Mutex<HashMap<&'static str, i64>>,
}

impl Memory {
    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Entry>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How long a reconcile of this object must still wait after its last API failure, if
    /// it must: a watch event (a child changing, the failure's own status write) does not cut
    /// a backoff short, a change of the spec (a new generation) does.
    fn hold(&self, kind: &'static str, meta: &ObjectMeta, now: Instant) -> Option<Duration> {
        let entries = self.entries();
        let entry = entries.get(&key(kind, meta))?;
        let until = entry.hold_until?;
        (entry.generation == meta.generation && until > now).then(|| until - now)
    }

    /// Records a failure decided as `decision`; returns whether its Event is new.
    fn failed(
        &self,
        kind: &'static str,
        meta: &ObjectMeta,
        decision: &Decision,
        blocked: bool,
        now: Instant,
    ) -> bool {
        let mut entries = self.entries();
        if entries.len() >= PRUNE_AT {
            entries.retain(|_, e| now.saturating_duration_since(e.touched) < FORGET_AFTER);
        }
        let entry = entries
            .entry(key(kind, meta))
            .or_insert_with(|| Entry::new(now));
        entry.touched = now;
        entry.generation = meta.generation;
        entry.action = decision.retry.action();
        entry.blocked_now = blocked;
        entry.hold_until = match (blocked, decision.retry) {
            (false, Retry::After(after)) => Some(now + after),
            _ => None,
        };
        let event = (decision.reason, decision.message.clone());
        let new = entry.emitted.as_ref() != Some(&event);
        entry.emitted = Some(event);
        new
    }

    /// The attempts so far of this object, counting the one that just failed.
    fn next_attempt(&self, kind: &'static str, meta: &ObjectMeta) -> u32 {
        let mut entries = self.entries();
        let entry = entries
            .entry(key(kind, meta))
            .or_insert_with(|| Entry::new(Instant::now()));
        entry.attempts = entry.attempts.saturating_add(1);
        entry.attempts
    }

    /// A reconcile ended without error: a blocked one keeps its Event memory (the same block
    /// again publishes nothing), any other forgets the object.
    fn succeeded(&self, kind: &'static str, meta: &ObjectMeta) {
        let mut entries = self.entries();
        let k = key(kind, meta);
        match entries.get_mut(&k) {
            Some(e) if e.blocked_now => {
                e.blocked_now = false;
                e.attempts = 0;
                e.hold_until = None;
            }
            Some(_) => {
                entries.remove(&k);
            }
            None => {}
        }
    }

    /// The action the error policy returns for this object's last failure.
    fn action(&self, kind: &'static str, meta: &ObjectMeta) -> Action {
        self.entries()
            .get(&key(kind, meta))
            .map_or_else(|| Action::requeue(BASE), |e| e.action.clone())
    }

    /// Objects of `kind` being reconciled now or waiting for a retry after an API failure.
    fn depth(&self, kind: &'static str, now: Instant) -> i64 {
        let waiting = self
            .entries()
            .iter()
            .filter(|((k, _, _), e)| *k == kind && e.hold_until.is_some_and(|u| u > now))
            .count() as i64;
        let in_flight = self
            .in_flight
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(kind)
            .copied()
            .unwrap_or(0);
        waiting + in_flight
    }

    fn add_in_flight(&self, kind: &'static str, delta: i64) {
        *self
            .in_flight
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(kind)
            .or_insert(0) += delta;
    }
}

/// The error policy kube-runtime calls after a failed reconcile: the action [`guarded`]
/// decided for it.
pub(crate) fn action<K: Resource>(ctx: &Context, kind: &'static str, obj: &K) -> Action {
    ctx.failures.action(kind, obj.meta())
}

/// Runs one reconcile (`work`) of `obj` under the error policy: an object still backing off
/// after an API failure waits (its spec unchanged); a failure is decided ([`decide`]), shown
/// on the object (`Ready=False`) and published as a Warning Event once; a success forgets
/// the object's failures. Reports in-flight reconciles to telemetry (liveness, queue depth).
pub(crate) async fn guarded<K, F>(
    ctx: &Context,
    kind: &'static str,
    obj: &K,
    work: F,
) -> Result<Action, ReconcileError>
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
        + Serialize
        + DeserializeOwned
        + Clone
        + std::fmt::Debug,
    F: Future<Output = Result<Action, ReconcileError>>,
{
    if let Some(wait) = ctx.failures.hold(kind, obj.meta(), Instant::now()) {
        tracing::debug!(?wait, "still backing off after a failure");
        return Ok(Action::requeue(wait));
    }
    ctx.failures.add_in_flight(kind, 1);
    ctx.telemetry
        .queue_depth(kind, ctx.failures.depth(kind, Instant::now()));
    let ticket = ctx.telemetry.reconcile_started(kind);
    let result = work.await;
    ctx.telemetry.reconcile_finished(ticket);
    ctx.failures.add_in_flight(kind, -1);
    match &result {
        Ok(_) => ctx.failures.succeeded(kind, obj.meta()),
        Err(err) => {
            let attempts = ctx.failures.next_attempt(kind, obj.meta());
            let decision = decide(Failure::Error(err), attempts, Timestamp::now());
            tracing::warn!(error = %err, reason = %decision.reason, attempts, retry = ?decision.retry, "reconcile failed");
            let new = ctx
                .failures
                .failed(kind, obj.meta(), &decision, false, Instant::now());
            show(ctx, obj, &decision).await;
            if new {
                warn(ctx, obj, &decision).await;
            }
        }
    }
    ctx.telemetry
        .queue_depth(kind, ctx.failures.depth(kind, Instant::now()));
    result
}

/// What a controller returns after writing why `obj` cannot go on: publishes the Warning
/// Event once per reason and message, counts the category, and waits as [`decide`] says
/// (for a change, except child conflicts).
pub(crate) async fn blocked<K: Resource<DynamicType = ()>>(
    ctx: &Context,
    obj: &K,
    blocked: &Blocked,
) -> Action {
    let kind = super::wiring::kind_of::<K>();
    let decision = decide(Failure::Blocked(blocked), 1, Timestamp::now());
    ctx.telemetry.failed(kind, decision.category);
    if ctx
        .failures
        .failed(kind, obj.meta(), &decision, true, Instant::now())
    {
        warn(ctx, obj, &decision).await;
    }
    decision.retry.action()
}

/// Writes `Ready=False` with the decision's reason and message onto `obj`, unless it already
/// says exactly that. Best effort: when the API server cannot be reached this fails too.
async fn show<K>(ctx: &Context, obj: &K, decision: &Decision)
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
        + Serialize
        + DeserializeOwned
        + Clone
        + std::fmt::Debug,
{
    let previous: Vec<Condition> = serde_json::to_value(obj)
        .ok()
        .and_then(|v| serde_json::from_value(v["status"]["conditions"].clone()).ok())
        .unwrap_or_default();
    let Some(conditions) = failed_conditions(&previous, decision, obj.meta().generation) else {
        return;
    };
    let meta = obj.meta();
    let ns = meta.namespace.as_deref().unwrap_or_default();
    let name = meta.name.as_deref().unwrap_or_default();
    let params = PatchParams {
        field_manager: Some(FIELD_MANAGER.to_owned()),
        ..PatchParams::default()
    };
    let patch = json!({ "status": { "conditions": conditions } });
    if let Err(error) = Api::<K>::namespaced(ctx.client.clone(), ns)
        .patch_status(name, &params, &Patch::Merge(&patch))
        .await
    {
        tracing::debug!(%error, "could not write the failure to the object's status");
    }
}

/// The conditions with `Ready=False` for `decision`, every other condition kept; `None` when
/// `Ready` already says exactly that.
fn failed_conditions(
    previous: &[Condition],
    decision: &Decision,
    generation: Option<i64>,
) -> Option<Vec<Condition>> {
    let ready = ConditionType::Ready.as_str();
    let same = previous.iter().any(|c| {
        c.type_ == ready
            && c.status == "False"
            && c.reason == decision.reason.as_str()
            && c.message == decision.message
    });
    if same {
        return None;
    }
    let merged = conditions::merge(
        previous,
        vec![Desired::new(
            ConditionType::Ready,
            false,
            decision.reason,
            decision.message.clone(),
        )],
        generation,
        &conditions::now(),
    );
    let mut out: Vec<Condition> = previous
        .iter()
        .filter(|c| c.type_ != ready)
        .cloned()
        .collect();
    out.splice(0..0, merged);
    Some(out)
}

/// Publishes the decision as a Warning Event (its reason, its message cut to what the API
/// server accepts).
async fn warn<K: Resource<DynamicType = ()>>(ctx: &Context, obj: &K, decision: &Decision) {
    let event = Event {
        type_: EventType::Warning,
        reason: decision.reason.as_str().to_owned(),
        note: Some(truncate(&decision.message, NOTE_MAX)),
        action: EventAction::Reconcile.as_str().to_owned(),
        secondary: None,
    };
    if let Err(error) = ctx.recorder.publish(&event, &obj.object_ref(&())).await {
        tracing::debug!(%error, reason = %decision.reason, "could not publish the failure event");
    }
}

/// `s` cut to at most `max` bytes at a character boundary.
fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::core::Status;
    use kube::core::response::{StatusCause, StatusDetails};

    fn at(nanos: i128) -> Timestamp {
        Timestamp::from_nanosecond(1_800_000_000_000_000_000 + nanos).expect("a timestamp")
    }

    fn api(status: Status) -> ReconcileError {
        ReconcileError::Api {
            action: "apply Deployment shop/web".into(),
            source: kube::Error::Api(Box::new(status)),
        }
    }

    fn status(code: u16, reason: &str, message: &str) -> Status {
        Status::failure(message, reason).with_code(code)
    }

    fn after(d: &Decision) -> Duration {
        match d.retry {
            Retry::After(a) => a,
            Retry::OnChange => panic!("expected a timed retry, got {d:?}"),
        }
    }

    #[test]
    fn a_server_error_is_retried_with_a_backoff_that_doubles_up_to_the_cap() {
        let err = api(status(500, "InternalError", "etcd timed out"));
        let mut last = Duration::ZERO;
        for attempts in 1..=9 {
            let d = decide(Failure::Error(&err), attempts, at(0));
            assert_eq!(d.category, ErrorCategory::Api);
            assert_eq!(d.reason, Reason::ApiError);
            let delay = after(&d);
            assert!(delay >= last, "attempt {attempts}: {delay:?} < {last:?}");
            last = delay;
        }
        for attempts in [10, 30, u32::MAX] {
            let delay = after(&decide(Failure::Error(&err), attempts, at(7)));
            assert!(delay <= CAP && delay >= CAP / 2, "{delay:?}");
        }
    }

    #[test]
    fn the_jitter_keeps_each_delay_between_half_and_all_of_its_step() {
        for attempts in 1..=12 {
            let full = BASE.saturating_mul(1 << (attempts - 1)).min(CAP);
            let delays: Vec<Duration> = (0..50).map(|n| backoff(attempts, at(n * 7919))).collect();
            assert!(
                delays.iter().all(|d| *d >= full / 2 && *d <= full),
                "{delays:?}"
            );
            assert!(
                delays.iter().any(|d| *d != delays[0]),
                "attempt {attempts}: no jitter in {delays:?}"
            );
        }
    }

    #[test]
    fn the_same_failure_at_the_same_instant_decides_the_same() {
        let err = api(status(503, "ServiceUnavailable", "try later"));
        assert_eq!(
            decide(Failure::Error(&err), 4, at(42)),
            decide(Failure::Error(&err), 4, at(42))
        );
    }

    #[test]
    fn a_429_waits_at_least_the_retry_after_the_server_asked_for() {
        let mut s = status(
            429,
            "TooManyRequests",
            "too many requests, please try again later",
        );
        s.details = Some(StatusDetails {
            name: String::new(),
            group: String::new(),
            kind: String::new(),
            uid: String::new(),
            causes: vec![],
            retry_after_seconds: 30,
        });
        let err = api(s);
        let d = decide(Failure::Error(&err), 1, at(0));
        assert_eq!(d.reason, Reason::Throttled);
        assert_eq!(d.category, ErrorCategory::Throttled);
        assert!(after(&d) >= Duration::from_secs(30), "{d:?}");
        let late = decide(Failure::Error(&err), 12, at(0));
        assert!(after(&late) >= CAP / 2, "the backoff still grows: {late:?}");
    }

    #[test]
    fn a_429_without_retry_after_backs_off_like_any_api_error() {
        let err = api(status(429, "TooManyRequests", "slow down"));
        let d = decide(Failure::Error(&err), 3, at(0));
        assert_eq!(d.reason, Reason::Throttled);
        assert!(after(&d) <= BASE * 4, "{d:?}");
    }

    #[test]
    fn a_forbidden_request_is_retried_with_backoff_and_says_which_permission() {
        let err = api(status(
            403,
            "Forbidden",
            "httproutes.gateway.networking.k8s.io is forbidden: User \"ecsplane\" cannot list resource \"httproutes\"",
        ));
        let d = decide(Failure::Error(&err), 1, at(0));
        assert_eq!(d.reason, Reason::Forbidden);
        assert_eq!(d.category, ErrorCategory::Forbidden);
        assert!(
            d.message
                .contains("cannot list resource \\\"httproutes\\\"")
                || d.message.contains("httproutes"),
            "{}",
            d.message
        );
        assert!(after(&d) <= BASE);
    }

    #[test]
    fn a_422_on_a_child_names_the_child_and_the_field_and_waits_for_a_change() {
        let mut s = status(
            422,
            "Invalid",
            "Deployment.apps \"web\" is invalid: spec.template.spec.containers[0].image: Required value",
        );
        s.details = Some(StatusDetails {
            name: "web".into(),
            group: "apps".into(),
            kind: "Deployment".into(),
            uid: String::new(),
            causes: vec![StatusCause {
                reason: "FieldValueRequired".into(),
                message: "Required value".into(),
                field: "spec.template.spec.containers[0].image".into(),
            }],
            retry_after_seconds: 0,
        });
        let err = api(s);
        let d = decide(Failure::Error(&err), 1, at(0));
        assert_eq!(d.reason, Reason::ChildRejected);
        assert_eq!(d.category, ErrorCategory::Rejected);
        assert_eq!(d.retry, Retry::OnChange);
        assert!(d.message.contains("Deployment web"), "{}", d.message);
        assert!(
            d.message
                .contains("spec.template.spec.containers[0].image: Required value"),
            "{}",
            d.message
        );
    }

    #[test]
    fn a_422_without_details_still_names_what_was_being_applied() {
        let err = api(status(
            422,
            "Invalid",
            "Deployment.apps \"web\" is invalid: spec.replicas: Invalid value: -1",
        ));
        let d = decide(Failure::Error(&err), 1, at(0));
        assert_eq!(d.retry, Retry::OnChange);
        assert!(
            d.message.contains("apply Deployment shop/web"),
            "{}",
            d.message
        );
        assert!(d.message.contains("spec.replicas"), "{}", d.message);
    }

    #[test]
    fn an_unreachable_api_server_is_an_api_error_retried_with_backoff() {
        let err = ReconcileError::Api {
            action: "list Pods shop".into(),
            source: kube::Error::LinesCodecMaxLineLengthExceeded,
        };
        let d = decide(Failure::Error(&err), 2, at(0));
        assert_eq!(d.reason, Reason::ApiError);
        assert!(after(&d) <= BASE * 2);
    }

    #[test]
    fn a_dangling_reference_waits_for_a_change_instead_of_a_timer() {
        for reason in [
            Reason::TaskDefinitionNotFound,
            Reason::ReferenceNotFound,
            Reason::TargetGroupNotFound,
        ] {
            let b = Blocked {
                reason,
                message: "not registered".into(),
            };
            let d = decide(Failure::Blocked(&b), 5, at(0));
            assert_eq!(d.retry, Retry::OnChange, "{reason}");
            assert_eq!(d.category, ErrorCategory::Reference);
            assert_eq!(d.reason, reason);
        }
    }

    #[test]
    fn an_invalid_spec_waits_for_the_object_to_change() {
        for reason in [Reason::Invalid, Reason::PolicyViolation] {
            let b = Blocked {
                reason,
                message: "spec.x: bad".into(),
            };
            let d = decide(Failure::Blocked(&b), 1, at(0));
            assert_eq!(d.retry, Retry::OnChange);
            assert_eq!(d.category, ErrorCategory::Invalid);
        }
    }

    #[test]
    fn a_child_conflict_is_looked_at_again_after_a_while_since_the_holder_is_not_watched() {
        let b = Blocked {
            reason: Reason::ChildConflict,
            message: "Deployment web belongs to someone else".into(),
        };
        let d = decide(Failure::Blocked(&b), 1, at(0));
        assert_eq!(d.retry, Retry::After(CONFLICT_RETRY));
        assert_eq!(d.category, ErrorCategory::Conflict);
    }

    fn meta(name: &str, generation: i64) -> ObjectMeta {
        ObjectMeta {
            name: Some(name.into()),
            namespace: Some("shop".into()),
            generation: Some(generation),
            ..ObjectMeta::default()
        }
    }

    fn decision(reason: Reason, message: &str, retry: Retry) -> Decision {
        Decision {
            category: ErrorCategory::Api,
            reason,
            message: message.into(),
            retry,
        }
    }

    #[test]
    fn the_same_reason_and_message_is_published_once_and_a_new_one_again() {
        let memory = Memory::default();
        let now = Instant::now();
        let m = meta("web", 1);
        let d = decision(Reason::ApiError, "down", Retry::After(BASE));
        assert!(memory.failed("EcsService", &m, &d, false, now));
        assert!(!memory.failed("EcsService", &m, &d, false, now));
        let other = decision(Reason::Throttled, "slow", Retry::After(BASE));
        assert!(memory.failed("EcsService", &m, &other, false, now));
        assert!(
            memory.failed("TaskDefinition", &m, &d, false, now),
            "another kind is another object"
        );
    }

    #[test]
    fn a_success_forgets_the_failures_and_the_same_failure_later_is_published_again() {
        let memory = Memory::default();
        let now = Instant::now();
        let m = meta("web", 1);
        let d = decision(Reason::ApiError, "down", Retry::After(BASE));
        assert_eq!(memory.next_attempt("EcsService", &m), 1);
        memory.failed("EcsService", &m, &d, false, now);
        assert_eq!(memory.next_attempt("EcsService", &m), 2);
        memory.succeeded("EcsService", &m);
        assert_eq!(memory.next_attempt("EcsService", &m), 1, "attempts reset");
        assert!(memory.failed("EcsService", &m, &d, false, now));
    }

    #[test]
    fn a_block_that_persists_across_reconciles_is_published_once() {
        let memory = Memory::default();
        let now = Instant::now();
        let m = meta("web", 1);
        let d = decision(
            Reason::TaskDefinitionNotFound,
            "web:3 missing",
            Retry::OnChange,
        );
        assert!(memory.failed("EcsService", &m, &d, true, now));
        memory.succeeded("EcsService", &m);
        assert!(!memory.failed("EcsService", &m, &d, true, now));
        memory.succeeded("EcsService", &m);
        memory.succeeded("EcsService", &m);
        assert!(
            memory.failed("EcsService", &m, &d, true, now),
            "after a clean reconcile the block is news again"
        );
    }

    #[test]
    fn a_backoff_holds_against_watch_events_but_not_against_a_new_generation() {
        let memory = Memory::default();
        let now = Instant::now();
        let d = decision(
            Reason::ApiError,
            "down",
            Retry::After(Duration::from_secs(8)),
        );
        memory.failed("EcsService", &meta("web", 1), &d, false, now);
        let wait = memory.hold("EcsService", &meta("web", 1), now + Duration::from_secs(2));
        assert_eq!(wait, Some(Duration::from_secs(6)));
        assert_eq!(
            memory.hold("EcsService", &meta("web", 2), now),
            None,
            "a spec change is looked at at once"
        );
        assert_eq!(
            memory.hold("EcsService", &meta("web", 1), now + Duration::from_secs(9)),
            None
        );
        assert_eq!(
            memory.action("EcsService", &meta("web", 1)),
            Action::requeue(Duration::from_secs(8))
        );
    }

    #[test]
    fn the_queue_depth_counts_reconciles_in_flight_and_objects_backing_off() {
        let memory = Memory::default();
        let now = Instant::now();
        memory.add_in_flight("EcsTask", 2);
        let d = decision(
            Reason::ApiError,
            "down",
            Retry::After(Duration::from_secs(8)),
        );
        memory.failed("EcsTask", &meta("a", 1), &d, false, now);
        memory.failed("EcsService", &meta("b", 1), &d, false, now);
        assert_eq!(memory.depth("EcsTask", now), 3);
        memory.add_in_flight("EcsTask", -2);
        assert_eq!(memory.depth("EcsTask", now + Duration::from_secs(9)), 0);
    }

    #[test]
    fn a_failure_condition_replaces_ready_and_keeps_the_others() {
        let previous = conditions::merge(
            &[],
            vec![
                Desired::new(ConditionType::Ready, true, Reason::SteadyState, "ok"),
                Desired::new(ConditionType::Translated, true, Reason::Exact, "exact"),
            ],
            Some(1),
            &conditions::now(),
        );
        let d = decision(Reason::ApiError, "down", Retry::After(BASE));
        let out = failed_conditions(&previous, &d, Some(1)).expect("Ready changes");
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].type_, "Ready");
        assert_eq!(out[0].status, "False");
        assert_eq!(out[0].reason, "ApiError");
        assert_eq!(out[1], previous[1]);
        assert_eq!(
            failed_conditions(&out, &d, Some(1)),
            None,
            "the same failure writes nothing"
        );
    }

    #[test]
    fn an_event_note_is_cut_at_a_character_boundary() {
        let s = "é".repeat(600);
        let cut = truncate(&s, NOTE_MAX);
        assert!(cut.len() <= NOTE_MAX);
        assert!(s.starts_with(&cut));
    }
}
