//! ECS's capacity provider strategy, exactly: how many of a service's tasks each provider
//! runs ([`split`]), and how a service's rolling bounds are shared among the per-provider
//! Deployments so that they hold for the service as a whole ([`share_bounds`]).
//!
//! The rules, each from the ECS documentation of `CapacityProviderStrategyItem`
//! (<https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CapacityProviderStrategyItem.html>,
//! and CloudFormation's
//! <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-ecs-clustercapacityproviderassociations-capacityproviderstrategy.html>):
//!
//! 1. "The base value designates how many tasks, at a minimum, to run on the specified
//!    capacity provider. Only one capacity provider in a capacity provider strategy can have
//!    a base defined": the base is placed first. Fewer desired tasks than the base all run
//!    on the base's provider. (The API server refuses two bases; given them anyway, they are
//!    met in strategy order.)
//! 2. "The weight value designates the relative percentage of the total number of tasks
//!    launched that should use the specified capacity provider. The weight value is taken
//!    into consideration after the base value, if defined, is satisfied": the tasks beyond
//!    the base are shared in proportion to the weights ("a weight of 1 for
//!    capacityProviderA and a weight of 4 for capacityProviderB, then for every one task
//!    that's run using capacityProviderA, four tasks would use capacityProviderB").
//! 3. "If no weight value is specified, the default value of 0 is used ... any capacity
//!    providers with a weight of 0 can't be used to place tasks": a weight-0 provider runs
//!    its base and nothing more.
//! 4. "If you specify multiple capacity providers in a strategy that all have a weight of 0,
//!    any RunTask or CreateService actions using the capacity provider strategy will fail"
//!    (the API server refuses it too); a single provider's weight does not matter, ECS runs
//!    every task on it. So when no weight is above 0, the tasks beyond the base go to the
//!    first provider (the only one, in any strategy ECS accepts).
//!
//! ECS does not document how it rounds a share that is not whole. [`split`] gives each
//! provider the whole part of its share, then the tasks left over one each to the largest
//! fractions (ties in strategy order): every provider ends within one task of its exact
//! share, the total is the desired count, and the same strategy and count always give the
//! same split, so nothing moves while nothing changes. With two weighted providers (the
//! FARGATE / FARGATE_SPOT case) a larger count never takes a task from either.

use crate::api::CapacityProviderStrategyItem;

use super::rollout::Bounds;

/// How many of `desired` tasks each provider of `strategy` runs, in strategy order (see the
/// module documentation for the rules). A negative `desired` counts as 0.
pub fn split(strategy: &[CapacityProviderStrategyItem], desired: i32) -> Vec<i32> {
    let mut out = vec![0i32; strategy.len()];
    if strategy.is_empty() {
        return out;
    }
    let mut left = desired.max(0);
    // Rule 1: bases first, in strategy order.
    for (i, item) in strategy.iter().enumerate() {
        let base = item.base.unwrap_or(0).max(0).min(left);
        out[i] += base;
        left -= base;
    }
    if left == 0 {
        return out;
    }
    // Rules 2 and 3: the rest by weight; weight 0 takes nothing.
    let weights: Vec<i64> = strategy
        .iter()
        .map(|s| i64::from(s.weight.unwrap_or(0).max(0)))
        .collect();
    let total: i64 = weights.iter().sum();
    if total == 0 {
        // Rule 4: only a single provider may have no weight; it runs everything.
        out[0] += left;
        return out;
    }
    let rest = i64::from(left);
    let shares = largest_remainder(rest, &weights);
    for (o, s) in out.iter_mut().zip(shares) {
        *o += s as i32;
    }
    out
}

/// `amount` shared in proportion to `weights` (not all 0): the whole part of each share, then
/// what is left one each to the largest fractions, ties to the earlier entry.
fn largest_remainder(amount: i64, weights: &[i64]) -> Vec<i64> {
    let total: i64 = weights.iter().sum();
    if total <= 0 || amount <= 0 {
        return vec![0; weights.len()];
    }
    let mut shares: Vec<i64> = weights.iter().map(|w| amount * w / total).collect();
    let mut left = amount - shares.iter().sum::<i64>();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    // The fraction of share i is (amount·w_i mod total) / total: compare the numerators.
    order.sort_by_key(|&i| std::cmp::Reverse((amount * weights[i]) % total));
    for i in order {
        if left == 0 {
            break;
        }
        if weights[i] > 0 {
            shares[i] += 1;
            left -= 1;
        }
    }
    shares
}

/// The service-wide rolling bounds `service` shared among Deployments of `replicas` pods
/// each, so that the Deployments rolling at once never exceed them together: the
/// maxUnavailable and maxSurge values add up to the service's, each in proportion to the
/// Deployment's replicas. Kubernetes refuses a Deployment whose two bounds are 0, so every
/// Deployment with pods gets at least one unit, taken from a Deployment that has two or more;
/// when there are not enough units for that (more Deployments with pods than the service's
/// maxUnavailable + maxSurge), one extra pod of surge is given to each that lacks one, and
/// the second value returned says how many pods above the service's bounds that allows.
/// A Deployment without pods gets (0, 0): [`super::rollout::deployment_strategy`] writes it
/// as maxUnavailable 1, which lets no pod run.
pub fn share_bounds(service: Bounds, replicas: &[i32]) -> (Vec<Bounds>, i32) {
    let weights: Vec<i64> = replicas.iter().map(|r| i64::from((*r).max(0))).collect();
    let unavailable = largest_remainder(i64::from(service.max_unavailable.max(0)), &weights);
    let surge = largest_remainder(i64::from(service.max_surge.max(0)), &weights);
    let mut out: Vec<Bounds> = unavailable
        .iter()
        .zip(&surge)
        .map(|(u, s)| Bounds {
            max_unavailable: *u as i32,
            max_surge: *s as i32,
        })
        .collect();
    let mut extra = 0;
    for i in 0..out.len() {
        if replicas[i] <= 0 || out[i].max_unavailable + out[i].max_surge > 0 {
            continue;
        }
        let donor = (0..out.len())
            .filter(|&j| out[j].max_unavailable + out[j].max_surge >= 2)
            .max_by_key(|&j| {
                (
                    out[j].max_unavailable + out[j].max_surge,
                    std::cmp::Reverse(j),
                )
            });
        match donor {
            Some(j) if out[j].max_surge > 0 => {
                out[j].max_surge -= 1;
                out[i].max_surge += 1;
            }
            Some(j) => {
                out[j].max_unavailable -= 1;
                out[i].max_unavailable += 1;
            }
            None => {
                out[i].max_surge += 1;
                extra += 1;
            }
        }
    }
    (out, extra)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn item(
        provider: &str,
        base: Option<i32>,
        weight: Option<i32>,
    ) -> CapacityProviderStrategyItem {
        CapacityProviderStrategyItem {
            capacity_provider: provider.into(),
            base,
            weight,
        }
    }

    fn fargate_and_spot() -> Vec<CapacityProviderStrategyItem> {
        vec![
            item("FARGATE", Some(2), Some(1)),
            item("FARGATE_SPOT", None, Some(3)),
        ]
    }

    /// Issue 17's example: base 2 on FARGATE, then 8 tasks 1:3 → 2 + 2 on FARGATE, 6 on
    /// FARGATE_SPOT.
    #[test]
    fn base_2_and_weights_1_to_3_at_10_tasks_give_4_on_fargate_and_6_on_spot() {
        assert_eq!(split(&fargate_and_spot(), 10), [4, 6]);
        // 14: 2 + 12 · 1/4 = 5, 12 · 3/4 = 9.
        assert_eq!(split(&fargate_and_spot(), 14), [5, 9]);
    }

    /// The ECS documentation's example: weights 1 and 4, one task on A for every four on B.
    #[test]
    fn weights_1_and_4_put_one_task_on_a_for_every_four_on_b() {
        let s = [item("A", None, Some(1)), item("B", None, Some(4))];
        assert_eq!(split(&s, 5), [1, 4]);
        assert_eq!(split(&s, 50), [10, 40]);
    }

    #[test]
    fn fewer_tasks_than_the_base_all_run_on_the_bases_provider() {
        assert_eq!(split(&fargate_and_spot(), 1), [1, 0]);
        assert_eq!(split(&fargate_and_spot(), 2), [2, 0]);
        assert_eq!(split(&fargate_and_spot(), 0), [0, 0]);
    }

    /// Issue 19 point 7: a weight-0 provider takes its base and no task beyond it.
    #[test]
    fn a_weight_0_provider_runs_its_base_and_nothing_more() {
        let s = [
            item("FARGATE", Some(2), Some(0)),
            item("FARGATE_SPOT", None, Some(1)),
        ];
        assert_eq!(split(&s, 10), [2, 8]);
        let s = [
            item("FARGATE", None, Some(1)),
            item("FARGATE_SPOT", None, None),
        ];
        assert_eq!(split(&s, 10), [10, 0]);
    }

    #[test]
    fn a_single_provider_runs_every_task_whatever_its_weight() {
        assert_eq!(split(&[item("FARGATE", None, None)], 7), [7]);
        assert_eq!(split(&[item("FARGATE", Some(3), Some(0))], 7), [7]);
    }

    #[test]
    fn the_service_bounds_are_shared_in_proportion_to_the_replicas() {
        // 10 tasks at 50/150: 5 may stop, 5 may start; 4 and 6 replicas.
        let b = Bounds {
            max_unavailable: 5,
            max_surge: 5,
        };
        let (shared, extra) = share_bounds(b, &[4, 6]);
        assert_eq!(
            shared,
            [
                Bounds {
                    max_unavailable: 2,
                    max_surge: 2
                },
                Bounds {
                    max_unavailable: 3,
                    max_surge: 3
                }
            ]
        );
        assert_eq!(extra, 0);
    }

    #[test]
    fn a_deployment_left_without_room_borrows_a_unit_or_says_how_far_it_goes_beyond() {
        // 4 tasks at 100/125: none may stop, 1 may start, split 2/2: one gets the surge, the
        // other cannot have 0/0, so it gets one more than ECS allows.
        let b = Bounds {
            max_unavailable: 0,
            max_surge: 1,
        };
        let (shared, extra) = share_bounds(b, &[2, 2]);
        assert_eq!(
            shared.iter().map(|b| b.max_surge).collect::<Vec<_>>(),
            [1, 1]
        );
        assert_eq!(extra, 1);
        // 10 tasks, 2 may start, split 9/1: the 1-replica Deployment takes one from the other.
        let b = Bounds {
            max_unavailable: 0,
            max_surge: 2,
        };
        let (shared, extra) = share_bounds(b, &[9, 1]);
        assert_eq!(
            shared.iter().map(|b| b.max_surge).collect::<Vec<_>>(),
            [1, 1]
        );
        assert_eq!(extra, 0);
    }

    fn strategy() -> impl Strategy<Value = Vec<CapacityProviderStrategyItem>> {
        (
            prop::collection::vec(0i32..=1000, 1..=6),
            0usize..6,
            0i32..=50,
        )
            .prop_map(|(mut weights, base_at, base)| {
                // ECS accepts several providers only with one weight above 0.
                if weights.len() > 1 && weights.iter().all(|w| *w == 0) {
                    weights[0] = 1;
                }
                let base_at = base_at % weights.len();
                weights
                    .iter()
                    .enumerate()
                    .map(|(i, w)| {
                        item(
                            &format!("P{i}"),
                            (i == base_at && base > 0).then_some(base),
                            Some(*w),
                        )
                    })
                    .collect()
            })
    }

    proptest! {
        #[test]
        fn the_split_adds_up_to_the_desired_count(s in strategy(), desired in 0i32..=5000) {
            prop_assert_eq!(split(&s, desired).iter().sum::<i32>(), desired);
        }

        #[test]
        fn the_base_is_met_before_any_weight(s in strategy(), desired in 0i32..=5000) {
            let out = split(&s, desired);
            let (at, base) = s.iter().enumerate()
                .find_map(|(i, x)| x.base.map(|b| (i, b)))
                .unwrap_or((0, 0));
            prop_assert!(out[at] >= base.min(desired));
            if desired <= base {
                prop_assert_eq!(out[at], desired);
            }
        }

        #[test]
        fn every_provider_is_within_one_task_of_its_weighted_share(s in strategy(), desired in 0i32..=5000) {
            let out = split(&s, desired);
            let base: i32 = s.iter().filter_map(|x| x.base).sum::<i32>().min(desired);
            let rest = f64::from(desired - base);
            let total: f64 = s.iter().map(|x| f64::from(x.weight.unwrap_or(0))).sum();
            for (x, n) in s.iter().zip(&out) {
                let own_base = f64::from(x.base.unwrap_or(0).min(desired));
                let share = if total > 0.0 {
                    rest * f64::from(x.weight.unwrap_or(0)) / total
                } else {
                    rest
                };
                prop_assert!((f64::from(*n) - own_base - share).abs() < 1.0,
                    "{} got {n}, base {own_base}, share {share}", x.capacity_provider);
                if x.weight == Some(0) && total > 0.0 {
                    prop_assert_eq!(f64::from(*n), own_base);
                }
            }
        }

        #[test]
        fn the_same_strategy_and_count_always_give_the_same_split(s in strategy(), desired in 0i32..=5000) {
            prop_assert_eq!(split(&s, desired), split(&s.clone(), desired));
        }

        #[test]
        fn two_weighted_providers_never_lose_a_task_when_the_count_grows(
            a in 0i32..=1000, b in 1i32..=1000, base in 0i32..=20, desired in 0i32..=2000,
        ) {
            let s = [item("A", Some(base), Some(a)), item("B", None, Some(b))];
            let (now, next) = (split(&s, desired), split(&s, desired + 1));
            prop_assert!(next[0] >= now[0] && next[1] >= now[1], "{now:?} → {next:?}");
        }

        #[test]
        fn shared_bounds_add_up_to_the_services_plus_what_is_reported(
            replicas in prop::collection::vec(0i32..=200, 1..=6), u in 0i32..=200, s in 0i32..=200,
        ) {
            // ECS's maxUnavailable never exceeds the desired count.
            let total: i32 = replicas.iter().sum();
            let u = u.min(total);
            let (shared, extra) = share_bounds(Bounds { max_unavailable: u, max_surge: s }, &replicas);
            prop_assert_eq!(shared.iter().map(|b| b.max_unavailable).sum::<i32>(), u);
            let surge = if total > 0 { s } else { 0 };
            prop_assert_eq!(shared.iter().map(|b| b.max_surge).sum::<i32>(), surge + extra);
            for (b, r) in shared.iter().zip(&replicas) {
                prop_assert!(b.max_unavailable <= *r);
                if *r > 0 {
                    prop_assert!(b.max_unavailable + b.max_surge > 0);
                }
            }
        }
    }
}
