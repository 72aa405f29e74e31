//! Step scaling: which step of a policy applies to a metric value, what capacity the step
//! asks for, and whether the policy's cooldown lets it act [aas-step].
//!
//! - **Bounds** are relative to the alarm threshold. When the alarm breaches above its
//!   threshold, a step's lower bound is inclusive and its upper bound exclusive (threshold
//!   50, bounds 0 and 10: 50 ≤ metric < 60); when it breaches below, the lower bound is
//!   exclusive and the upper inclusive (bounds −10 and 0: 40 < metric ≤ 50). A missing bound
//!   is infinite.
//! - **Adjustment**: `ChangeInCapacity` adds the adjustment, `ExactCapacity` sets it,
//!   `PercentChangeInCapacity` adds that percentage of the current capacity, rounded as AAS
//!   does: a change above 1 rounds down (12.7 → 12), one between 0 and 1 becomes 1, one
//!   between −1 and 0 becomes −1, one below −1 rounds up (−6.67 → −6), so a non-zero
//!   percentage always changes the count by at least one task, never by more than the
//!   percentage; `MinAdjustmentMagnitude` raises the magnitude of a percent change to at least
//!   that many tasks (25 % of 4 is 1; with a magnitude of 2, 2 are added).
//! - **Bounds of the target**: the result is clamped to the scalable target's [min, max].
//! - **Cooldown** (default 300 s): after a scale-out, the policy scales out again inside the
//!   cooldown only for a larger scale-out, computed from the capacity before the first one
//!   (the capacity it added counts as already there); after a scale-in it does not scale in
//!   again until the cooldown ends.

use crate::api::{AdjustmentType, StepAdjustment, StepScalingConfiguration};

/// Application Auto Scaling's step scaling cooldown when a policy sets none, in seconds.
pub const DEFAULT_COOLDOWN_SECONDS: i64 = 300;

/// The step whose interval holds `value`, for an alarm with `threshold` that breaches above
/// it (`above`) or below it.
pub fn select(
    steps: &[StepAdjustment],
    threshold: f64,
    value: f64,
    above: bool,
) -> Option<&StepAdjustment> {
    let d = value - threshold;
    steps.iter().find(|s| {
        let lower_ok = match s.metric_interval_lower_bound {
            None => true,
            Some(lo) if above => d >= lo,
            Some(lo) => d > lo,
        };
        let upper_ok = match s.metric_interval_upper_bound {
            None => true,
            Some(up) if above => d < up,
            Some(up) => d <= up,
        };
        lower_ok && upper_ok
    })
}

/// What is wrong with a policy's steps that CEL cannot say (AAS refuses them): gaps or
/// overlaps between the intervals, or a negative lower bound without an open-ended step below
/// (and a positive upper bound without one above). `None` when the steps are sound.
pub fn check_steps(steps: &[StepAdjustment]) -> Option<String> {
    let mut intervals: Vec<(f64, f64)> = steps
        .iter()
        .map(|s| {
            (
                s.metric_interval_lower_bound.unwrap_or(f64::NEG_INFINITY),
                s.metric_interval_upper_bound.unwrap_or(f64::INFINITY),
            )
        })
        .collect();
    if intervals.is_empty() {
        return Some("a step scaling policy needs at least one step adjustment".into());
    }
    intervals.sort_by(|a, b| a.0.total_cmp(&b.0));
    for w in intervals.windows(2) {
        if let [a, b] = w {
            if a.1 < b.0 {
                return Some(format!(
                    "the step intervals leave a gap between {} and {}",
                    a.1, b.0
                ));
            }
            if a.1 > b.0 {
                return Some(format!(
                    "the step intervals overlap between {} and {}",
                    b.0, a.1
                ));
            }
        }
    }
    let (first, last) = (intervals[0], intervals[intervals.len() - 1]);
    if first.0 < 0.0 && first.0.is_finite() {
        return Some("a negative lower bound needs a step without a lower bound".into());
    }
    if last.1 > 0.0 && last.1.is_finite() {
        return Some("a positive upper bound needs a step without an upper bound".into());
    }
    None
}

/// The change a percentage asks for, rounded as AAS rounds it, then raised to
/// `min_magnitude` tasks.
pub fn percent_change(current: i32, percent: i32, min_magnitude: Option<i32>) -> i64 {
    let raw = f64::from(current) * f64::from(percent) / 100.0;
    let mut change = if raw > 1.0 {
        raw.floor()
    } else if raw > 0.0 {
        1.0
    } else if raw < -1.0 {
        raw.ceil()
    } else if raw < 0.0 {
        -1.0
    } else {
        0.0
    } as i64;
    if let Some(m) = min_magnitude.filter(|m| *m > 0)
        && percent != 0
        && change.abs() < i64::from(m)
    {
        change = i64::from(m) * percent.signum() as i64;
    }
    change
}

/// The capacity a step asks for from `from`, before the scalable target's bounds.
pub fn target(kind: AdjustmentType, adjustment: i32, from: i32, min_magnitude: Option<i32>) -> i64 {
    match kind {
        AdjustmentType::ChangeInCapacity => i64::from(from) + i64::from(adjustment),
        AdjustmentType::ExactCapacity => i64::from(adjustment),
        AdjustmentType::PercentChangeInCapacity => {
            i64::from(from) + percent_change(from, adjustment, min_magnitude)
        }
    }
}

/// `capacity` within [min, max].
pub fn clamp(capacity: i64, min: i32, max: i32) -> i32 {
    capacity.clamp(i64::from(min), i64::from(max.max(min))) as i32
}

/// A policy's cooldown in progress: the capacity before the activity that started it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cooldown {
    /// The desired count before the policy's last change.
    pub capacity_before: i32,
    /// Whether that change was a scale-out.
    pub scaled_out: bool,
}

/// What a policy invocation decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Set the desired count to this.
    Set {
        /// The new desired count.
        to: i32,
        /// The desired count the cooldown this starts remembers as "before".
        capacity_before: i32,
    },
    /// Leave it, and why.
    Keep(String),
}

/// One invocation of a step scaling policy whose alarm is in ALARM with `value`: the step,
/// the adjustment, the bounds [min, max] and the cooldown (`cooldown`: `Some` while one runs),
/// as AAS applies them; `suspended_in` / `suspended_out` are the scalable target's suspended
/// dynamic scaling.
#[allow(clippy::too_many_arguments)]
pub fn invoke(
    cfg: &StepScalingConfiguration,
    threshold: f64,
    above: bool,
    value: f64,
    current: i32,
    (min, max): (i32, i32),
    cooldown: Option<Cooldown>,
    (suspended_in, suspended_out): (bool, bool),
) -> Decision {
    let steps = cfg.step_adjustments.as_deref().unwrap_or_default();
    let Some(step) = select(steps, threshold, value, above) else {
        return Decision::Keep(format!(
            "no step adjustment covers the metric value {value} (threshold {threshold})"
        ));
    };
    let kind = cfg
        .adjustment_type
        .unwrap_or(AdjustmentType::ChangeInCapacity);
    let mam = cfg.min_adjustment_magnitude;
    let fresh = clamp(
        target(kind, step.scaling_adjustment, current, mam),
        min,
        max,
    );
    let (to, before) = match cooldown {
        None => (fresh, current),
        Some(c) => {
            // Inside the cooldown only a larger scale-out acts, computed from the capacity
            // before the activity that started it.
            let from_before = clamp(
                target(kind, step.scaling_adjustment, c.capacity_before, mam),
                min,
                max,
            );
            if from_before > current && c.scaled_out {
                (from_before, c.capacity_before)
            } else if fresh > current && !c.scaled_out {
                // A scale-out is not held back by a scale-in's cooldown.
                (fresh, current)
            } else {
                return Decision::Keep("the policy is in its cooldown".into());
            }
        }
    };
    if to == current {
        return Decision::Keep(format!(
            "the desired count is already {current} (within [{min}, {max}])"
        ));
    }
    if to > current && suspended_out {
        return Decision::Keep("dynamic scale-out is suspended".into());
    }
    if to < current && suspended_in {
        return Decision::Keep("dynamic scale-in is suspended".into());
    }
    Decision::Set {
        to,
        capacity_before: before,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn step(lo: Option<f64>, up: Option<f64>, adj: i32) -> StepAdjustment {
        StepAdjustment {
            metric_interval_lower_bound: lo,
            metric_interval_upper_bound: up,
            scaling_adjustment: adj,
        }
    }

    fn cfg(
        kind: AdjustmentType,
        steps: Vec<StepAdjustment>,
        mam: Option<i32>,
    ) -> StepScalingConfiguration {
        StepScalingConfiguration {
            adjustment_type: Some(kind),
            step_adjustments: Some(steps),
            min_adjustment_magnitude: mam,
            ..StepScalingConfiguration::default()
        }
    }

    #[test]
    fn with_threshold_50_bounds_0_and_10_take_50_up_to_but_not_60_above_the_threshold() {
        let steps = [step(Some(0.0), Some(10.0), 1), step(Some(10.0), None, 3)];
        assert_eq!(
            select(&steps, 50.0, 50.0, true).map(|s| s.scaling_adjustment),
            Some(1)
        );
        assert_eq!(
            select(&steps, 50.0, 59.99, true).map(|s| s.scaling_adjustment),
            Some(1)
        );
        assert_eq!(
            select(&steps, 50.0, 60.0, true).map(|s| s.scaling_adjustment),
            Some(3)
        );
        assert_eq!(select(&steps, 50.0, 49.0, true), None);
    }

    #[test]
    fn with_threshold_50_bounds_minus_10_and_0_take_above_40_up_to_and_including_50_below_it() {
        let steps = [
            step(Some(-10.0), Some(0.0), -1),
            step(None, Some(-10.0), -2),
        ];
        assert_eq!(
            select(&steps, 50.0, 50.0, false).map(|s| s.scaling_adjustment),
            Some(-1)
        );
        assert_eq!(
            select(&steps, 50.0, 40.01, false).map(|s| s.scaling_adjustment),
            Some(-1)
        );
        assert_eq!(
            select(&steps, 50.0, 40.0, false).map(|s| s.scaling_adjustment),
            Some(-2)
        );
    }

    #[test]
    fn aas_rounds_percent_changes_as_its_documentation_shows() {
        // 10 % of 10 is 1; 30 % of 11 is 3.3 → 3; −10 % of 14 is −1.4 → −1.
        assert_eq!(percent_change(10, 10, None), 1);
        assert_eq!(percent_change(11, 30, None), 3);
        assert_eq!(percent_change(14, -10, None), -1);
        // Between 0 and 1 → 1, between −1 and 0 → −1; 12.7 → 12, −6.67 → −6.
        assert_eq!(percent_change(3, 20, None), 1);
        assert_eq!(percent_change(3, -20, None), -1);
        assert_eq!(percent_change(127, 10, None), 12);
        assert_eq!(percent_change(667, -1, None), -6);
    }

    #[test]
    fn min_adjustment_magnitude_2_makes_25_percent_of_4_tasks_add_2() {
        assert_eq!(percent_change(4, 25, None), 1);
        assert_eq!(percent_change(4, 25, Some(2)), 2);
        assert_eq!(
            target(AdjustmentType::PercentChangeInCapacity, 25, 4, Some(2)),
            6
        );
        assert_eq!(percent_change(4, -25, Some(2)), -2);
    }

    #[test]
    fn change_and_exact_capacity_add_or_set_and_the_target_stays_within_its_bounds() {
        assert_eq!(target(AdjustmentType::ChangeInCapacity, 2, 3, None), 5);
        assert_eq!(target(AdjustmentType::ExactCapacity, 7, 3, None), 7);
        assert_eq!(clamp(12, 1, 10), 10);
        assert_eq!(clamp(-1, 1, 10), 1);
    }

    #[test]
    fn inside_the_cooldown_only_a_larger_scale_out_acts_counting_what_the_first_one_added() {
        let c = cfg(
            AdjustmentType::ChangeInCapacity,
            vec![step(Some(0.0), Some(20.0), 1), step(Some(20.0), None, 3)],
            None,
        );
        // 2 → 3 at 75 % (threshold 70); still 75 % in the cooldown: nothing.
        let first = invoke(&c, 70.0, true, 75.0, 2, (1, 10), None, (false, false));
        assert_eq!(
            first,
            Decision::Set {
                to: 3,
                capacity_before: 2
            }
        );
        let cd = Some(Cooldown {
            capacity_before: 2,
            scaled_out: true,
        });
        assert!(matches!(
            invoke(&c, 70.0, true, 75.0, 3, (1, 10), cd, (false, false)),
            Decision::Keep(_)
        ));
        // 95 % in the cooldown asks for 2 + 3 = 5 > 3: it acts, from the capacity before.
        assert_eq!(
            invoke(&c, 70.0, true, 95.0, 3, (1, 10), cd, (false, false)),
            Decision::Set {
                to: 5,
                capacity_before: 2
            }
        );
    }

    #[test]
    fn inside_a_scale_in_cooldown_nothing_scales_in_but_a_scale_out_may() {
        let c = cfg(
            AdjustmentType::ChangeInCapacity,
            vec![step(None, Some(0.0), -1)],
            None,
        );
        let cd = Some(Cooldown {
            capacity_before: 4,
            scaled_out: false,
        });
        assert!(matches!(
            invoke(&c, 30.0, false, 10.0, 3, (1, 10), cd, (false, false)),
            Decision::Keep(_)
        ));
        assert_eq!(
            invoke(&c, 30.0, false, 10.0, 3, (1, 10), None, (false, false)),
            Decision::Set {
                to: 2,
                capacity_before: 3
            }
        );
        let out = cfg(
            AdjustmentType::ChangeInCapacity,
            vec![step(Some(0.0), None, 2)],
            None,
        );
        assert_eq!(
            invoke(&out, 70.0, true, 90.0, 3, (1, 10), cd, (false, false)),
            Decision::Set {
                to: 5,
                capacity_before: 3
            }
        );
    }

    #[test]
    fn at_max_capacity_or_while_suspended_the_count_is_kept() {
        let c = cfg(
            AdjustmentType::ChangeInCapacity,
            vec![step(Some(0.0), None, 2)],
            None,
        );
        assert!(matches!(
            invoke(&c, 70.0, true, 90.0, 10, (1, 10), None, (false, false)),
            Decision::Keep(_)
        ));
        assert!(matches!(
            invoke(&c, 70.0, true, 90.0, 3, (1, 10), None, (false, true)),
            Decision::Keep(_)
        ));
    }

    #[test]
    fn steps_with_a_gap_an_overlap_or_a_bounded_end_are_found() {
        assert_eq!(
            check_steps(&[step(Some(0.0), Some(10.0), 1), step(Some(10.0), None, 2)]),
            None
        );
        assert!(
            check_steps(&[step(Some(0.0), Some(10.0), 1), step(Some(15.0), None, 2)])
                .is_some_and(|m| m.contains("gap"))
        );
        assert!(
            check_steps(&[step(Some(0.0), Some(10.0), 1), step(Some(5.0), None, 2)])
                .is_some_and(|m| m.contains("overlap"))
        );
        assert!(
            check_steps(&[step(Some(0.0), Some(10.0), 1)])
                .is_some_and(|m| m.contains("positive upper bound"))
        );
        assert!(
            check_steps(&[step(Some(-10.0), Some(0.0), -1)])
                .is_some_and(|m| m.contains("negative lower bound"))
        );
    }

    proptest! {
        #[test]
        fn a_percent_change_is_never_larger_than_asked_and_never_zero_for_a_nonzero_percent(
            current in 0i32..5000, percent in -100i32..=1000,
        ) {
            let change = percent_change(current, percent, None);
            let raw = f64::from(current) * f64::from(percent) / 100.0;
            if raw != 0.0 {
                prop_assert!(change != 0);
                prop_assert!((change as f64).abs() <= raw.abs().max(1.0));
                prop_assert_eq!(change.signum(), percent.signum() as i64);
            } else {
                prop_assert_eq!(change, 0);
            }
        }

        #[test]
        fn a_decision_always_stays_within_min_and_max(
            current in 0i32..100, adj in -50i32..50, min in 0i32..20, span in 0i32..50,
            kind in prop_oneof![Just(AdjustmentType::ChangeInCapacity), Just(AdjustmentType::ExactCapacity), Just(AdjustmentType::PercentChangeInCapacity)],
        ) {
            let max = min + span;
            let c = cfg(kind, vec![step(Some(0.0), None, adj)], Some(2));
            if let Decision::Set { to, .. } = invoke(&c, 0.0, true, 1.0, current, (min, max), None, (false, false)) {
                prop_assert!((min..=max).contains(&to));
            }
        }
    }
}
