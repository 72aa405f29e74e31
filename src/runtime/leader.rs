//! Leader election on a `coordination.k8s.io/v1` Lease, with the protocol and timing of
//! client-go's `leaderelection` package (which controller-runtime uses), so that two replicas
//! never run the controllers at once:
//!
//! - Every replica reads the Lease each retry period. A holder's lease counts as expired only
//!   when its record has not changed for the lease duration *as measured on the reader's own
//!   monotonic clock* since the reader first saw that record, so clock skew between machines
//!   does not matter.
//! - Writes replace the Lease at the resourceVersion that was read, so of two replicas racing
//!   for a free lease exactly one wins; the other gets a conflict.
//! - The leader renews each retry period and gives up when no renewal succeeded within the
//!   renew deadline, which is shorter than the lease duration: it stops before any other
//!   replica may take over.
//! - On shutdown the leader releases the lease (empty holder), so a standby takes over at its
//!   next retry instead of waiting for the lease to expire.
//!
//! The decisions are pure functions ([`decide`], [`released`]); [`Elector`] does the I/O.

use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::Timestamp;
use kube::api::{ObjectMeta, PostParams};
use kube::{Api, Client};
use tokio::sync::{oneshot, watch};

/// client-go's jitter factor: the renew deadline must exceed this multiple of the retry period,
/// and a standby waits between one and `1 + JITTER_FACTOR` retry periods between attempts.
pub const JITTER_FACTOR: f64 = 1.2;

/// The settings of leader election.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaderElection {
    /// Namespace of the Lease.
    pub namespace: String,
    /// Name of the Lease.
    pub name: String,
    /// This replica's identity, written as the Lease's holder; unique per process.
    pub identity: String,
    /// How long standbys wait after the last renewal they saw before taking over (whole
    /// seconds: the Lease stores it as `leaseDurationSeconds`).
    pub lease_duration: Duration,
    /// How long the leader keeps trying to renew before it gives up leading.
    pub renew_deadline: Duration,
    /// How often every replica reads (and the leader renews) the Lease.
    pub retry_period: Duration,
}

/// Settings that cannot work together.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The Lease stores its duration in whole seconds.
    #[error("the lease duration must be a whole number of seconds, at least 1 (got {0:?})")]
    LeaseDuration(Duration),
    /// The leader must give up before standbys may take over.
    #[error(
        "the renew deadline ({renew_deadline:?}) must be shorter than the lease duration ({lease_duration:?})"
    )]
    RenewDeadline {
        /// The renew deadline given.
        renew_deadline: Duration,
        /// The lease duration given.
        lease_duration: Duration,
    },
    /// The leader must get several tries at renewing before its deadline.
    #[error(
        "the renew deadline ({renew_deadline:?}) must be longer than {JITTER_FACTOR} × the retry period ({retry_period:?})"
    )]
    RetryPeriod {
        /// The renew deadline given.
        renew_deadline: Duration,
        /// The retry period given.
        retry_period: Duration,
    },
    /// The Lease must be named.
    #[error("the lease name and the identity must not be empty")]
    Empty,
}

impl LeaderElection {
    /// Checks the settings the way client-go does.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let ld = self.lease_duration;
        if ld.subsec_nanos() != 0 || ld.as_secs() == 0 || ld.as_secs() > i32::MAX as u64 {
            return Err(ConfigError::LeaseDuration(ld));
        }
        if self.renew_deadline >= ld {
            return Err(ConfigError::RenewDeadline {
                renew_deadline: self.renew_deadline,
                lease_duration: ld,
            });
        }
        if self.renew_deadline.as_secs_f64() <= JITTER_FACTOR * self.retry_period.as_secs_f64()
            || self.retry_period.is_zero()
        {
            return Err(ConfigError::RetryPeriod {
                renew_deadline: self.renew_deadline,
                retry_period: self.retry_period,
            });
        }
        if self.name.is_empty() || self.identity.is_empty() {
            return Err(ConfigError::Empty);
        }
        Ok(())
    }

    fn lease_duration_seconds(&self) -> i32 {
        i32::try_from(self.lease_duration.as_secs()).unwrap_or(i32::MAX)
    }
}

/// What a replica does after reading the Lease.
#[derive(Clone, Debug, PartialEq)]
pub enum Decision {
    /// Write this spec: acquire the lease, or renew it when this replica holds it already.
    Write(LeaseSpec),
    /// Another replica holds the lease and it has not expired.
    Wait {
        /// The holder's identity.
        holder: String,
        /// How long, on the reader's clock, until it expires unless renewed.
        expires_in: Duration,
    },
}

/// The holder of a lease spec; an empty or missing holder means the lease is free.
pub fn holder(spec: &LeaseSpec) -> Option<&str> {
    spec.holder_identity.as_deref().filter(|h| !h.is_empty())
}

/// Decides what `identity` does with the lease `current`, whose record this replica first saw
/// unchanged at `observed_at`; `now` is the reader's monotonic clock and `wall_now` the time
/// written into the lease. `lease_duration` is this replica's setting (a holder's expiry uses
/// the duration the holder wrote).
pub fn decide(
    current: &LeaseSpec,
    observed_at: Instant,
    now: Instant,
    wall_now: Timestamp,
    identity: &str,
    lease_duration_seconds: i32,
) -> Decision {
    let held_by_me = holder(current) == Some(identity);
    if let Some(other) = holder(current).filter(|_| !held_by_me) {
        let their_duration = current
            .lease_duration_seconds
            .filter(|d| *d > 0)
            .unwrap_or(lease_duration_seconds);
        let expiry = observed_at + Duration::from_secs(their_duration.unsigned_abs().into());
        if expiry > now {
            return Decision::Wait {
                holder: other.to_owned(),
                expires_in: expiry - now,
            };
        }
    }
    Decision::Write(acquired(
        current,
        wall_now,
        identity,
        lease_duration_seconds,
    ))
}

/// The spec `identity` writes to hold the lease `current`: a renewal when it holds it already
/// (acquire time and transition count kept), else an acquisition (one more transition).
pub fn acquired(
    current: &LeaseSpec,
    wall_now: Timestamp,
    identity: &str,
    lease_duration_seconds: i32,
) -> LeaseSpec {
    let stamp = MicroTime(wall_now);
    let (acquire_time, transitions) = if holder(current) == Some(identity) {
        (
            current
                .acquire_time
                .clone()
                .unwrap_or_else(|| stamp.clone()),
            current.lease_transitions.unwrap_or(0),
        )
    } else {
        (
            stamp.clone(),
            current.lease_transitions.unwrap_or(0).saturating_add(1),
        )
    };
    LeaseSpec {
        holder_identity: Some(identity.to_owned()),
        lease_duration_seconds: Some(lease_duration_seconds),
        acquire_time: Some(acquire_time),
        renew_time: Some(stamp),
        lease_transitions: Some(transitions),
        ..current.clone()
    }
}

/// The spec a leader writes to give the lease up: no holder, so any standby takes it at once;
/// the transition count is kept (client-go writes the same).
pub fn released(current: &LeaseSpec, wall_now: Timestamp) -> LeaseSpec {
    LeaseSpec {
        holder_identity: None,
        lease_duration_seconds: Some(1),
        acquire_time: Some(MicroTime(wall_now)),
        renew_time: Some(MicroTime(wall_now)),
        ..current.clone()
    }
}

/// The outcome of one attempt to acquire or renew.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Attempt {
    /// This replica holds the lease now.
    Leading,
    /// Another replica holds it (or took it, when renewing).
    HeldBy(String),
    /// Another replica wrote the lease between our read and write; try again.
    Conflict,
}

/// Why a leader stopped leading.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Lost {
    /// Another replica holds the lease now.
    #[error("the lease is held by {0}")]
    TakenBy(String),
    /// No renewal succeeded within the renew deadline.
    #[error(
        "no renewal succeeded within the renew deadline of {deadline:?} (last error: {last_error})"
    )]
    RenewDeadline {
        /// The renew deadline.
        deadline: Duration,
        /// The last failure seen.
        last_error: String,
    },
}

/// One replica's side of the election: reads and writes the Lease.
pub struct Elector {
    api: Api<Lease>,
    config: LeaderElection,
    /// The last record seen and when (monotonic) it was first seen unchanged.
    observed: Option<(LeaseSpec, Instant)>,
    /// When the request that last acquired or renewed the lease was started: the lease on the
    /// server can only be fresher than this.
    last_write: Option<Instant>,
}

impl Elector {
    /// An elector for `config` (which [`LeaderElection::validate`] accepted).
    pub fn new(client: Client, config: LeaderElection) -> Self {
        let api = Api::namespaced(client, &config.namespace);
        Elector {
            api,
            config,
            observed: None,
            last_write: None,
        }
    }

    /// The settings.
    pub fn config(&self) -> &LeaderElection {
        &self.config
    }

    fn observe(&mut self, spec: &LeaseSpec, now: Instant) -> Instant {
        match &self.observed {
            Some((seen, at)) if seen == spec => *at,
            _ => {
                self.observed = Some((spec.clone(), now));
                now
            }
        }
    }

    /// Reads the lease and acquires or renews it if [`decide`] says so. With `renew_only`, a
    /// lease this replica does not hold is never taken: a leader that finds another holder has
    /// lost, even if that holder's lease has expired since.
    pub async fn try_acquire_or_renew(&mut self, renew_only: bool) -> Result<Attempt, kube::Error> {
        let started = Instant::now();
        let identity = self.config.identity.clone();
        let duration = self.config.lease_duration_seconds();
        let Some(mut lease) = self.api.get_opt(&self.config.name).await? else {
            if renew_only {
                return Ok(Attempt::HeldBy("nobody (the lease was deleted)".to_owned()));
            }
            let spec = acquired(&LeaseSpec::default(), Timestamp::now(), &identity, duration);
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.config.name.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(spec.clone()),
            };
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(_) => {
                    self.observed = Some((spec, started));
                    self.last_write = Some(started);
                    Ok(Attempt::Leading)
                }
                Err(kube::Error::Api(status)) if status.code == 409 => Ok(Attempt::Conflict),
                Err(e) => Err(e),
            };
        };
        let current = lease.spec.clone().unwrap_or_default();
        let now = Instant::now();
        let observed_at = self.observe(&current, now);
        if renew_only && holder(&current) != Some(identity.as_str()) {
            return Ok(Attempt::HeldBy(
                holder(&current).unwrap_or("nobody").to_owned(),
            ));
        }
        match decide(
            &current,
            observed_at,
            now,
            Timestamp::now(),
            &identity,
            duration,
        ) {
            Decision::Wait { holder, .. } => Ok(Attempt::HeldBy(holder)),
            Decision::Write(spec) => {
                lease.spec = Some(spec.clone());
                // `lease` carries the resourceVersion we read: a concurrent write makes this a
                // 409 Conflict instead of a second holder.
                match self
                    .api
                    .replace(&self.config.name, &PostParams::default(), &lease)
                    .await
                {
                    Ok(_) => {
                        self.observed = Some((spec, now));
                        self.last_write = Some(started);
                        Ok(Attempt::Leading)
                    }
                    Err(kube::Error::Api(status)) if status.code == 409 => Ok(Attempt::Conflict),
                    Err(e) => Err(e),
                }
            }
        }
    }

    /// Tries to acquire the lease every retry period (jittered) until this replica leads
    /// (`true`) or `shutdown` turns true (`false`). `standby` is told whenever the replica
    /// waits for a live holder (`true`) or cannot tell (`false`, after an error).
    pub async fn acquire(
        &mut self,
        shutdown: &mut watch::Receiver<bool>,
        standby: impl Fn(bool),
    ) -> bool {
        let mut last_holder: Option<String> = None;
        loop {
            if *shutdown.borrow() {
                return false;
            }
            match self.try_acquire_or_renew(false).await {
                Ok(Attempt::Leading) => {
                    tracing::info!(
                        lease = %self.config.name,
                        namespace = %self.config.namespace,
                        identity = %self.config.identity,
                        "acquired the leader lease"
                    );
                    return true;
                }
                Ok(Attempt::HeldBy(holder)) => {
                    standby(true);
                    if last_holder.as_deref() != Some(holder.as_str()) {
                        tracing::info!(
                            lease = %self.config.name,
                            namespace = %self.config.namespace,
                            %holder,
                            "waiting for the leader lease, held by another replica"
                        );
                        last_holder = Some(holder);
                    }
                }
                Ok(Attempt::Conflict) => {
                    tracing::debug!(lease = %self.config.name, "another replica wrote the lease first");
                }
                Err(error) => {
                    standby(false);
                    tracing::warn!(lease = %self.config.name, %error, "reading or writing the leader lease failed");
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(jittered(self.config.retry_period)) => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    /// Renews the lease every retry period until it is lost (the reason is returned) or `stop`
    /// fires or is dropped (`None`; the lease is still held).
    pub async fn keep(&mut self, mut stop: oneshot::Receiver<()>) -> Option<Lost> {
        let deadline = self.config.renew_deadline;
        let mut last_renewal = self.last_write.unwrap_or_else(Instant::now);
        loop {
            tokio::select! {
                _ = tokio::time::sleep(self.config.retry_period) => {}
                _ = &mut stop => return None,
            }
            let started = Instant::now();
            let left = deadline.saturating_sub(started - last_renewal);
            let error = tokio::select! {
                attempt = tokio::time::timeout(left, self.try_acquire_or_renew(true)) => match attempt {
                    Ok(Ok(Attempt::Leading)) => {
                        last_renewal = self.last_write.unwrap_or(started);
                        continue;
                    }
                    Ok(Ok(Attempt::HeldBy(holder))) => return Some(Lost::TakenBy(holder)),
                    Ok(Ok(Attempt::Conflict)) => "conflict: another replica wrote the lease".to_owned(),
                    Ok(Err(error)) => error.to_string(),
                    Err(_) => "the renewal did not finish before the deadline".to_owned(),
                },
                _ = &mut stop => return None,
            };
            tracing::warn!(lease = %self.config.name, %error, "renewing the leader lease failed");
            if last_renewal.elapsed() >= deadline {
                return Some(Lost::RenewDeadline {
                    deadline,
                    last_error: error,
                });
            }
        }
    }

    /// Gives the lease up if this replica holds it, so a standby takes over at once. Returns
    /// whether it was held.
    pub async fn release(&mut self) -> Result<bool, kube::Error> {
        let Some(mut lease) = self.api.get_opt(&self.config.name).await? else {
            return Ok(false);
        };
        let current = lease.spec.clone().unwrap_or_default();
        if holder(&current) != Some(self.config.identity.as_str()) {
            return Ok(false);
        }
        lease.spec = Some(released(&current, Timestamp::now()));
        self.api
            .replace(&self.config.name, &PostParams::default(), &lease)
            .await?;
        tracing::info!(lease = %self.config.name, namespace = %self.config.namespace, "released the leader lease");
        Ok(true)
    }
}

/// `period` stretched by a random factor in `[1, 1 + JITTER_FACTOR)`, so standbys do not retry
/// in lockstep.
fn jittered(period: Duration) -> Duration {
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    let fraction = (random >> 11) as f64 / (1u64 << 53) as f64;
    period.mul_f64(1.0 + JITTER_FACTOR * fraction)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ME: &str = "replica-a";
    const OTHER: &str = "replica-b";

    fn wall(seconds: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + seconds).expect("a valid time")
    }

    fn held_by(holder: &str, transitions: i32) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(holder.to_owned()),
            lease_duration_seconds: Some(15),
            acquire_time: Some(MicroTime(wall(0))),
            renew_time: Some(MicroTime(wall(10))),
            lease_transitions: Some(transitions),
            ..LeaseSpec::default()
        }
    }

    fn config() -> LeaderElection {
        LeaderElection {
            namespace: "ecsplane-system".into(),
            name: "ecsplane-leader".into(),
            identity: ME.into(),
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
        }
    }

    #[test]
    fn a_free_lease_is_acquired_with_one_more_transition() {
        let t0 = Instant::now();
        let free = LeaseSpec {
            lease_transitions: Some(4),
            ..LeaseSpec::default()
        };
        let Decision::Write(spec) = decide(&free, t0, t0, wall(20), ME, 15) else {
            panic!("a free lease is taken");
        };
        assert_eq!(spec.holder_identity.as_deref(), Some(ME));
        assert_eq!(spec.lease_duration_seconds, Some(15));
        assert_eq!(spec.acquire_time, Some(MicroTime(wall(20))));
        assert_eq!(spec.renew_time, Some(MicroTime(wall(20))));
        assert_eq!(spec.lease_transitions, Some(5));
    }

    #[test]
    fn an_empty_holder_counts_as_free_like_client_go_writes_it() {
        let t0 = Instant::now();
        let released_by_go = LeaseSpec {
            holder_identity: Some(String::new()),
            ..held_by(OTHER, 2)
        };
        assert!(matches!(
            decide(&released_by_go, t0, t0, wall(20), ME, 15),
            Decision::Write(_)
        ));
    }

    #[test]
    fn another_holders_lease_is_respected_until_it_went_unrenewed_for_its_duration() {
        let seen = Instant::now();
        let lease = held_by(OTHER, 1);
        let just_before = seen + Duration::from_millis(14_999);
        assert_eq!(
            decide(&lease, seen, just_before, wall(30), ME, 15),
            Decision::Wait {
                holder: OTHER.into(),
                expires_in: Duration::from_millis(1)
            }
        );
        let at_expiry = seen + Duration::from_secs(15);
        let Decision::Write(spec) = decide(&lease, seen, at_expiry, wall(30), ME, 15) else {
            panic!("an expired lease is taken over");
        };
        assert_eq!(spec.holder_identity.as_deref(), Some(ME));
        assert_eq!(spec.acquire_time, Some(MicroTime(wall(30))));
        assert_eq!(spec.lease_transitions, Some(2));
    }

    #[test]
    fn expiry_uses_the_duration_the_holder_wrote_not_ours() {
        let seen = Instant::now();
        let lease = LeaseSpec {
            lease_duration_seconds: Some(60),
            ..held_by(OTHER, 1)
        };
        assert!(matches!(
            decide(
                &lease,
                seen,
                seen + Duration::from_secs(30),
                wall(0),
                ME,
                15
            ),
            Decision::Wait { .. }
        ));
    }

    #[test]
    fn expiry_ignores_the_holders_wall_clock_renew_time() {
        // A renewTime far in the past (a skewed clock) does not expire a lease we just saw.
        let seen = Instant::now();
        let lease = LeaseSpec {
            renew_time: Some(MicroTime(wall(-86_400))),
            ..held_by(OTHER, 1)
        };
        assert!(matches!(
            decide(&lease, seen, seen, wall(0), ME, 15),
            Decision::Wait { .. }
        ));
    }

    #[test]
    fn the_holder_renews_keeping_its_acquire_time_and_transitions() {
        let seen = Instant::now();
        let lease = held_by(ME, 3);
        let Decision::Write(spec) = decide(
            &lease,
            seen,
            seen + Duration::from_secs(60),
            wall(40),
            ME,
            15,
        ) else {
            panic!("the holder renews");
        };
        assert_eq!(spec.acquire_time, Some(MicroTime(wall(0))));
        assert_eq!(spec.renew_time, Some(MicroTime(wall(40))));
        assert_eq!(spec.lease_transitions, Some(3));
    }

    #[test]
    fn a_released_lease_has_no_holder_and_keeps_its_transitions() {
        let spec = released(&held_by(ME, 3), wall(50));
        assert_eq!(holder(&spec), None);
        assert_eq!(spec.lease_transitions, Some(3));
        assert_eq!(spec.lease_duration_seconds, Some(1));
        let t0 = Instant::now();
        assert!(
            matches!(
                decide(&spec, t0, t0, wall(51), OTHER, 15),
                Decision::Write(_)
            ),
            "a standby takes a released lease at once"
        );
    }

    #[test]
    fn settings_like_controller_runtimes_defaults_are_valid() {
        assert_eq!(config().validate(), Ok(()));
    }

    #[test]
    fn a_renew_deadline_not_shorter_than_the_lease_duration_is_refused() {
        let c = LeaderElection {
            renew_deadline: Duration::from_secs(15),
            ..config()
        };
        assert!(matches!(
            c.validate(),
            Err(ConfigError::RenewDeadline { .. })
        ));
    }

    #[test]
    fn a_retry_period_too_close_to_the_renew_deadline_is_refused() {
        let c = LeaderElection {
            retry_period: Duration::from_secs(9),
            ..config()
        };
        assert!(matches!(c.validate(), Err(ConfigError::RetryPeriod { .. })));
        let c = LeaderElection {
            retry_period: Duration::ZERO,
            ..config()
        };
        assert!(matches!(c.validate(), Err(ConfigError::RetryPeriod { .. })));
    }

    #[test]
    fn a_lease_duration_in_fractions_of_a_second_is_refused() {
        let c = LeaderElection {
            lease_duration: Duration::from_millis(15_500),
            ..config()
        };
        assert_eq!(
            c.validate(),
            Err(ConfigError::LeaseDuration(Duration::from_millis(15_500)))
        );
    }

    #[test]
    fn jitter_stays_within_one_and_two_point_two_periods() {
        let period = Duration::from_millis(100);
        for _ in 0..200 {
            let d = jittered(period);
            assert!(
                d >= period && d < period.mul_f64(1.0 + JITTER_FACTOR),
                "{d:?}"
            );
        }
    }
}
