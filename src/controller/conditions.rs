//! Conditions that only change when their meaning does: a condition keeps its
//! `lastTransitionTime` while its status stays the same, so recomputing status on a converged
//! object gives an identical status and nothing is written.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

/// A condition to set: type, status, reason and message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Desired {
    /// `Ready`, `Progressing`, `Degraded`, ...
    pub type_: &'static str,
    /// `True` or `False`.
    pub status: bool,
    /// CamelCase reason.
    pub reason: String,
    /// Human-readable message.
    pub message: String,
}

impl Desired {
    /// A condition.
    pub fn new(
        type_: &'static str,
        status: bool,
        reason: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            type_,
            status,
            reason: reason.into(),
            message: message.into(),
        }
    }
}

/// The conditions to write: `desired` in order, each keeping the previous
/// `lastTransitionTime` when its status did not change, else `now`.
pub fn merge(
    previous: &[Condition],
    desired: Vec<Desired>,
    generation: Option<i64>,
    now: &Time,
) -> Vec<Condition> {
    desired
        .into_iter()
        .map(|d| {
            let status = if d.status { "True" } else { "False" }.to_owned();
            let last_transition_time = previous
                .iter()
                .find(|p| p.type_ == d.type_ && p.status == status)
                .map(|p| p.last_transition_time.clone())
                .unwrap_or_else(|| now.clone());
            Condition {
                type_: d.type_.to_owned(),
                status,
                reason: d.reason,
                message: d.message,
                observed_generation: generation,
                last_transition_time,
            }
        })
        .collect()
}

/// Whether condition `type_` is `True`.
pub fn is_true(conditions: &[Condition], type_: &str) -> bool {
    conditions
        .iter()
        .any(|c| c.type_ == type_ && c.status == "True")
}

/// The current time, for conditions and events.
pub fn now() -> Time {
    Time(k8s_openapi::jiff::Timestamp::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Time {
        Time(s.parse().unwrap())
    }

    #[test]
    fn an_unchanged_condition_keeps_its_transition_time() {
        let before = merge(
            &[],
            vec![Desired::new("Ready", true, "SteadyState", "ok")],
            Some(1),
            &at("2026-01-01T00:00:00Z"),
        );
        let after = merge(
            &before,
            vec![Desired::new("Ready", true, "SteadyState", "ok")],
            Some(1),
            &at("2026-01-02T00:00:00Z"),
        );
        assert_eq!(before, after);
    }

    #[test]
    fn a_condition_that_flips_takes_the_new_transition_time() {
        let before = merge(
            &[],
            vec![Desired::new("Ready", true, "SteadyState", "ok")],
            Some(1),
            &at("2026-01-01T00:00:00Z"),
        );
        let after = merge(
            &before,
            vec![Desired::new("Ready", false, "Deploying", "rolling")],
            Some(2),
            &at("2026-01-02T00:00:00Z"),
        );
        assert_eq!(after[0].last_transition_time, at("2026-01-02T00:00:00Z"));
        assert_eq!(after[0].observed_generation, Some(2));
    }
}
