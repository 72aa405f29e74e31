//! Conditions that only change when their meaning does: a condition keeps its
//! `lastTransitionTime` while its status stays the same, so recomputing status on a converged
//! object gives an identical status and nothing is written.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

use super::vocabulary::{ConditionType, Reason};
use crate::translate::report::Report;

/// A condition to set: type, status, reason and message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Desired {
    /// `Ready`, `Progressing`, `Degraded`, ...
    pub type_: ConditionType,
    /// `True` or `False`.
    pub status: bool,
    /// CamelCase reason.
    pub reason: Reason,
    /// Human-readable message.
    pub message: String,
}

impl Desired {
    /// A condition.
    pub fn new(
        type_: ConditionType,
        status: bool,
        reason: Reason,
        message: impl Into<String>,
    ) -> Self {
        Self {
            type_,
            status,
            reason,
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
                .find(|p| p.type_ == d.type_.as_str() && p.status == status)
                .map(|p| p.last_transition_time.clone())
                .unwrap_or_else(|| now.clone());
            Condition {
                type_: d.type_.as_str().to_owned(),
                status,
                reason: d.reason.as_str().to_owned(),
                message: d.message,
                observed_generation: generation,
                last_transition_time,
            }
        })
        .collect()
}

/// Whether condition `type_` is `True`.
pub fn is_true(conditions: &[Condition], type_: ConditionType) -> bool {
    conditions
        .iter()
        .any(|c| c.type_ == type_.as_str() && c.status == "True")
}

/// The `Translated` condition of an object whose (finished) translation report is `report`.
pub fn translated(report: &Report) -> Desired {
    // `counts()` is (exact, approximated, not carried); exact findings are notes.
    let (_, approximated, not_carried) = report.counts();
    Desired::new(
        ConditionType::Translated,
        true,
        if approximated + not_carried == 0 {
            Reason::Exact
        } else {
            Reason::WithDifferences
        },
        format!(
            "{approximated} field(s) approximated, {not_carried} not carried; `ecsplane render` lists them"
        ),
    )
}

/// The current time, for conditions and events.
pub fn now() -> Time {
    Time(k8s_openapi::jiff::Timestamp::now())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::vocabulary::{ConditionType::Ready, Reason};
    use crate::translate::report::{Fidelity, ObjectRef};

    #[test]
    fn translated_counts_approximations_and_fields_not_carried_and_ignores_notes() {
        let object = ObjectRef::new("EcsService", Some("team-a"), "web");
        let mut report = Report::default();
        report.note(&object, "spec.a", "exact, a note");
        assert_eq!(translated(&report).reason, Reason::Exact);
        report.push(&object, "spec.b", Fidelity::Approximated, "close");
        report.push(&object, "spec.c", Fidelity::NotCarried, "gone");
        report.push(&object, "spec.d", Fidelity::NotCarried, "gone too");
        let t = translated(&report);
        assert_eq!(t.reason, Reason::WithDifferences);
        assert!(
            t.message
                .starts_with("1 field(s) approximated, 2 not carried"),
            "{}",
            t.message
        );
    }

    fn at(s: &str) -> Time {
        Time(s.parse().unwrap())
    }

    #[test]
    fn an_unchanged_condition_keeps_its_transition_time() {
        let before = merge(
            &[],
            vec![Desired::new(Ready, true, Reason::SteadyState, "ok")],
            Some(1),
            &at("2026-01-01T00:00:00Z"),
        );
        let after = merge(
            &before,
            vec![Desired::new(Ready, true, Reason::SteadyState, "ok")],
            Some(1),
            &at("2026-01-02T00:00:00Z"),
        );
        assert_eq!(before, after);
    }

    #[test]
    fn a_condition_that_flips_takes_the_new_transition_time() {
        let before = merge(
            &[],
            vec![Desired::new(Ready, true, Reason::SteadyState, "ok")],
            Some(1),
            &at("2026-01-01T00:00:00Z"),
        );
        let after = merge(
            &before,
            vec![Desired::new(Ready, false, Reason::Deploying, "rolling")],
            Some(2),
            &at("2026-01-02T00:00:00Z"),
        );
        assert_eq!(after[0].last_transition_time, at("2026-01-02T00:00:00Z"));
        assert_eq!(after[0].observed_generation, Some(2));
    }
}
