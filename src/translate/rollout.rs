//! ECS rolling-update bounds as Kubernetes absolute integers.
//!
//! ECS keeps at least `ceil(d·minimumHealthyPercent/100)` healthy tasks and at most
//! `floor(d·maximumPercent/100)` tasks in total during a deployment of `d` desired tasks. So
//! `maxUnavailable = d − ceil(d·min/100)` and `maxSurge = floor(d·max/100) − d`, written as
//! integers: a Kubernetes percentage for maxSurge rounds *up* where ECS rounds down
//! (d = 3, max = 150: ECS allows 1 extra task, `maxSurge: 50%` allows 2).

/// The ECS message when the bounds leave the scheduler unable to stop or start any task.
pub const STUCK_MESSAGE: &str = "was unable to stop or start tasks during a deployment because of the \
     service deployment configuration. Update the minimumHealthyPercent or maximumPercent value \
     and try again.";

/// Rolling bounds for `desired` tasks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bounds {
    /// Pods that may be unavailable during the update.
    pub max_unavailable: i32,
    /// Pods that may exist above the desired count during the update.
    pub max_surge: i32,
}

/// Why bounds cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RolloutError {
    /// Neither a task may stop nor one may start: ECS's deployment would never progress.
    #[error(
        "minimumHealthyPercent {min} and maximumPercent {max} with {desired} desired tasks allow \
         ECS neither to stop a task (maxUnavailable 0) nor to start one (maxSurge 0): the service \
         {STUCK_MESSAGE}"
    )]
    Stuck {
        /// minimumHealthyPercent.
        min: i32,
        /// maximumPercent.
        max: i32,
        /// desired tasks.
        desired: i32,
    },
}

/// `d − ceil(d·min/100)`, never negative.
pub fn max_unavailable(desired: i32, min_healthy_percent: i32) -> i32 {
    let d = i64::from(desired.max(0));
    let min_healthy = (d * i64::from(min_healthy_percent.max(0)) + 99) / 100;
    (d - min_healthy).max(0) as i32
}

/// `floor(d·max/100) − d`, never negative.
pub fn max_surge(desired: i32, maximum_percent: i32) -> i32 {
    let d = i64::from(desired.max(0));
    let max_total = d * i64::from(maximum_percent.max(0)) / 100;
    (max_total - d).max(0) as i32
}

/// The bounds ECS applies for `desired` tasks, or [`RolloutError::Stuck`] when they allow no
/// progress. With zero desired tasks there is nothing to roll, so no error.
pub fn bounds(
    desired: i32,
    min_healthy_percent: i32,
    maximum_percent: i32,
) -> Result<Bounds, RolloutError> {
    let b = Bounds {
        max_unavailable: max_unavailable(desired, min_healthy_percent),
        max_surge: max_surge(desired, maximum_percent),
    };
    if b.max_unavailable == 0 && b.max_surge == 0 && desired > 0 {
        return Err(RolloutError::Stuck {
            min: min_healthy_percent,
            max: maximum_percent,
            desired,
        });
    }
    Ok(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_worked_examples_of_the_ecs_documentation_hold() {
        // d=4, min 50 → two tasks may stop first.
        assert_eq!(max_unavailable(4, 50), 2);
        // d=2, min 75 → ceil(1.5) = 2 must stay healthy: none may stop.
        assert_eq!(max_unavailable(2, 75), 0);
        // d=3, max 125 → floor(3.75) = 3: none may start.
        assert_eq!(max_surge(3, 125), 0);
        // d=3, max 150 → floor(4.5) = 4: one may start (a 50% maxSurge would allow two).
        assert_eq!(max_surge(3, 150), 1);
    }

    #[test]
    fn replica_defaults_surge_a_full_copy_without_stopping_any() {
        assert_eq!(
            bounds(3, 100, 200),
            Ok(Bounds {
                max_unavailable: 0,
                max_surge: 3
            })
        );
    }

    #[test]
    fn bounds_that_allow_no_progress_are_refused_with_the_ecs_message() {
        let err = bounds(3, 100, 125).unwrap_err();
        assert!(
            err.to_string()
                .contains("Update the minimumHealthyPercent or maximumPercent")
        );
    }

    #[test]
    fn zero_desired_tasks_never_count_as_stuck() {
        assert_eq!(
            bounds(0, 100, 100),
            Ok(Bounds {
                max_unavailable: 0,
                max_surge: 0
            })
        );
    }

    proptest! {
        #[test]
        fn bounds_follow_the_ecs_formulas(d in 0i32..=10_000, min in 0i32..=100, max in 100i32..=400) {
            let mu = max_unavailable(d, min);
            let ms = max_surge(d, max);
            let min_healthy = (f64::from(d) * f64::from(min) / 100.0).ceil() as i32;
            let max_total = (f64::from(d) * f64::from(max) / 100.0).floor() as i32;
            prop_assert_eq!(mu, d - min_healthy);
            prop_assert_eq!(ms, max_total - d);
            prop_assert!(mu >= 0 && mu <= d);
            prop_assert!(ms >= 0);
        }

        #[test]
        fn only_configurations_that_block_both_directions_are_refused(d in 1i32..=1000, min in 0i32..=100, max in 100i32..=400) {
            let result = bounds(d, min, max);
            let stuck = max_unavailable(d, min) == 0 && max_surge(d, max) == 0;
            prop_assert_eq!(result.is_err(), stuck);
        }
    }
}
