//! CloudWatch metric alarms: the datapoint of a period from its samples (the alarm's
//! statistic), and the alarm's state from its most recent datapoints ("M out of N", with
//! `TreatMissingData`).
//!
//! CloudWatch's rules, as this module applies them [cw-alarms]:
//! - the alarm looks at the last `evaluationPeriods` (N) periods and goes to ALARM when at
//!   least `datapointsToAlarm` (M, default N) of them breach; otherwise OK;
//! - `missing` (the default): periods without data are left out; when every period of the
//!   range is missing the alarm goes to INSUFFICIENT_DATA;
//! - `notBreaching` / `breaching`: a missing period counts as within / beyond the threshold;
//! - `ignore`: when every period is missing the alarm keeps its state, else as `missing`.

use crate::api::{AlarmStatistic, ComparisonOperator, MetricAlarm, TreatMissingData};

/// A CloudWatch alarm state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlarmState {
    /// The metric is within the threshold.
    Ok,
    /// The metric breached the threshold in enough periods.
    Alarm,
    /// Not enough data to decide.
    InsufficientData,
}

impl AlarmState {
    /// CloudWatch's name of the state.
    pub fn as_str(self) -> &'static str {
        match self {
            AlarmState::Ok => "OK",
            AlarmState::Alarm => "ALARM",
            AlarmState::InsufficientData => "INSUFFICIENT_DATA",
        }
    }

    /// The state named as CloudWatch names it (`INSUFFICIENT_DATA` for anything else).
    pub fn parse(s: &str) -> Self {
        match s {
            "OK" => AlarmState::Ok,
            "ALARM" => AlarmState::Alarm,
            _ => AlarmState::InsufficientData,
        }
    }
}

/// The datapoint of one period: the alarm's statistic over the period's samples, `None` when
/// the period has none.
pub fn datapoint(statistic: AlarmStatistic, samples: &[f64]) -> Option<f64> {
    if samples.is_empty() {
        return None;
    }
    let n = samples.len() as f64;
    Some(match statistic {
        AlarmStatistic::SampleCount => n,
        AlarmStatistic::Sum => samples.iter().sum(),
        AlarmStatistic::Average => samples.iter().sum::<f64>() / n,
        AlarmStatistic::Minimum => samples.iter().copied().fold(f64::INFINITY, f64::min),
        AlarmStatistic::Maximum => samples.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    })
}

/// Whether `value` breaches `threshold` under `op`.
pub fn breaches(op: ComparisonOperator, value: f64, threshold: f64) -> bool {
    match op {
        ComparisonOperator::GreaterThanOrEqualToThreshold => value >= threshold,
        ComparisonOperator::GreaterThanThreshold => value > threshold,
        ComparisonOperator::LessThanThreshold => value < threshold,
        ComparisonOperator::LessThanOrEqualToThreshold => value <= threshold,
    }
}

/// Whether the alarm breaches above its threshold (a scale-out alarm, usually): step bounds
/// then read lower-inclusive, upper-exclusive.
pub fn breaches_above(op: ComparisonOperator) -> bool {
    matches!(
        op,
        ComparisonOperator::GreaterThanOrEqualToThreshold
            | ComparisonOperator::GreaterThanThreshold
    )
}

/// What one evaluation of an alarm gives.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    /// The new state.
    pub state: AlarmState,
    /// CloudWatch-style reason, e.g. `Threshold Crossed: 2 out of the last 3 datapoints
    /// [90.0, 85.0] were greater than or equal to the threshold (70.0).`
    pub reason: String,
}

fn operator_words(op: ComparisonOperator) -> &'static str {
    match op {
        ComparisonOperator::GreaterThanOrEqualToThreshold => "greater than or equal to",
        ComparisonOperator::GreaterThanThreshold => "greater than",
        ComparisonOperator::LessThanThreshold => "less than",
        ComparisonOperator::LessThanOrEqualToThreshold => "less than or equal to",
    }
}

/// The alarm's state from its datapoints (oldest first; only the last `evaluationPeriods`
/// are looked at; `None` is a period without data), given its `current` state.
pub fn evaluate(
    alarm: &MetricAlarm,
    datapoints: &[Option<f64>],
    current: AlarmState,
) -> Evaluation {
    let n = alarm.evaluation_periods.max(1) as usize;
    let m = alarm
        .datapoints_to_alarm
        .unwrap_or(alarm.evaluation_periods)
        .clamp(1, alarm.evaluation_periods.max(1)) as usize;
    let window = &datapoints[datapoints.len().saturating_sub(n)..];
    // Periods not yet observed count as missing.
    let missing = n - window.iter().filter(|d| d.is_some()).count();
    let treat = alarm.treat_missing_data.unwrap_or_default();
    let present: Vec<f64> = window.iter().flatten().copied().collect();
    let op = alarm.comparison_operator;
    let mut breaching = present
        .iter()
        .filter(|v| breaches(op, **v, alarm.threshold))
        .count();
    if present.is_empty() {
        match treat {
            TreatMissingData::Missing => {
                return Evaluation {
                    state: AlarmState::InsufficientData,
                    reason: format!("Insufficient Data: no datapoint in the last {n} periods."),
                };
            }
            TreatMissingData::Ignore => {
                return Evaluation {
                    state: current,
                    reason: format!(
                        "no datapoint in the last {n} periods: the state is kept (treatMissingData ignore)."
                    ),
                };
            }
            TreatMissingData::Breaching | TreatMissingData::NotBreaching => {}
        }
    }
    if treat == TreatMissingData::Breaching {
        breaching += missing;
    }
    let shown: Vec<String> = present.iter().map(|v| format!("{v:.1}")).collect();
    let words = operator_words(op);
    if breaching >= m {
        Evaluation {
            state: AlarmState::Alarm,
            reason: format!(
                "Threshold Crossed: {breaching} out of the last {n} datapoints [{}] were {words} the threshold ({:.1}).",
                shown.join(", "),
                alarm.threshold
            ),
        }
    } else {
        Evaluation {
            state: AlarmState::Ok,
            reason: format!(
                "Threshold Crossed: {breaching} out of the last {n} datapoints [{}] were {words} the threshold ({:.1}) ({m} needed).",
                shown.join(", "),
                alarm.threshold
            ),
        }
    }
}

/// The value a step scaling policy reads from its alarm's datapoints to choose a step: their
/// `MetricAggregationType` (`Average`, the default, `Minimum` or `Maximum`) over the last
/// `evaluationPeriods` datapoints present.
pub fn aggregate(
    alarm: &MetricAlarm,
    datapoints: &[Option<f64>],
    aggregation: Option<&str>,
) -> Option<f64> {
    let n = alarm.evaluation_periods.max(1) as usize;
    let window: Vec<f64> = datapoints[datapoints.len().saturating_sub(n)..]
        .iter()
        .flatten()
        .copied()
        .collect();
    match aggregation {
        Some("Minimum") => datapoint(AlarmStatistic::Minimum, &window),
        Some("Maximum") => datapoint(AlarmStatistic::Maximum, &window),
        _ => datapoint(AlarmStatistic::Average, &window),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cpu_high(n: i32, m: Option<i32>, treat: Option<TreatMissingData>) -> MetricAlarm {
        MetricAlarm {
            alarm_name: "cpu-high".into(),
            namespace: "AWS/ECS".into(),
            metric_name: "CPUUtilization".into(),
            statistic: AlarmStatistic::Average,
            period: 60,
            evaluation_periods: n,
            datapoints_to_alarm: m,
            threshold: 70.0,
            comparison_operator: ComparisonOperator::GreaterThanOrEqualToThreshold,
            treat_missing_data: treat,
            ..MetricAlarm::default()
        }
    }

    #[test]
    fn a_period_datapoint_is_the_alarms_statistic_over_its_samples() {
        let s = [10.0, 20.0, 60.0];
        assert_eq!(datapoint(AlarmStatistic::Average, &s), Some(30.0));
        assert_eq!(datapoint(AlarmStatistic::Sum, &s), Some(90.0));
        assert_eq!(datapoint(AlarmStatistic::Minimum, &s), Some(10.0));
        assert_eq!(datapoint(AlarmStatistic::Maximum, &s), Some(60.0));
        assert_eq!(datapoint(AlarmStatistic::SampleCount, &s), Some(3.0));
        assert_eq!(datapoint(AlarmStatistic::Average, &[]), None);
    }

    #[test]
    fn three_out_of_three_needs_every_period_to_breach() {
        let a = cpu_high(3, None, None);
        let ok = [Some(80.0), Some(69.9), Some(90.0)];
        assert_eq!(evaluate(&a, &ok, AlarmState::Ok).state, AlarmState::Ok);
        let alarm = [Some(80.0), Some(70.0), Some(90.0)];
        assert_eq!(
            evaluate(&a, &alarm, AlarmState::Ok).state,
            AlarmState::Alarm
        );
    }

    #[test]
    fn two_out_of_three_alarms_on_two_breaching_datapoints_anywhere_in_the_window() {
        let a = cpu_high(3, Some(2), None);
        let d = [Some(80.0), Some(10.0), Some(75.0)];
        let e = evaluate(&a, &d, AlarmState::Ok);
        assert_eq!(e.state, AlarmState::Alarm);
        assert!(
            e.reason
                .starts_with("Threshold Crossed: 2 out of the last 3"),
            "{}",
            e.reason
        );
    }

    #[test]
    fn only_the_last_evaluation_periods_count() {
        let a = cpu_high(2, None, None);
        let d = [Some(99.0), Some(99.0), Some(10.0), Some(99.0)];
        assert_eq!(evaluate(&a, &d, AlarmState::Alarm).state, AlarmState::Ok);
    }

    #[test]
    fn an_alarm_without_any_datapoint_has_insufficient_data_unless_told_otherwise() {
        let d = [None, None, None];
        assert_eq!(
            evaluate(&cpu_high(3, None, None), &d, AlarmState::Ok).state,
            AlarmState::InsufficientData
        );
        assert_eq!(
            evaluate(
                &cpu_high(3, None, Some(TreatMissingData::Ignore)),
                &d,
                AlarmState::Alarm
            )
            .state,
            AlarmState::Alarm
        );
        assert_eq!(
            evaluate(
                &cpu_high(3, None, Some(TreatMissingData::Breaching)),
                &d,
                AlarmState::Ok
            )
            .state,
            AlarmState::Alarm
        );
        assert_eq!(
            evaluate(
                &cpu_high(3, None, Some(TreatMissingData::NotBreaching)),
                &d,
                AlarmState::Alarm
            )
            .state,
            AlarmState::Ok
        );
    }

    #[test]
    fn missing_periods_are_left_out_by_default_so_three_of_three_cannot_alarm_on_two() {
        let d = [Some(90.0), None, Some(90.0)];
        assert_eq!(
            evaluate(&cpu_high(3, None, None), &d, AlarmState::Ok).state,
            AlarmState::Ok
        );
        assert_eq!(
            evaluate(
                &cpu_high(3, None, Some(TreatMissingData::Breaching)),
                &d,
                AlarmState::Ok
            )
            .state,
            AlarmState::Alarm
        );
    }

    #[test]
    fn a_low_alarm_breaches_below_its_threshold() {
        assert!(breaches(ComparisonOperator::LessThanThreshold, 29.9, 30.0));
        assert!(!breaches(ComparisonOperator::LessThanThreshold, 30.0, 30.0));
        assert!(breaches(
            ComparisonOperator::LessThanOrEqualToThreshold,
            30.0,
            30.0
        ));
        assert!(!breaches(
            ComparisonOperator::GreaterThanThreshold,
            70.0,
            70.0
        ));
    }

    #[test]
    fn the_step_value_is_the_policys_aggregation_of_the_window() {
        let a = cpu_high(3, None, None);
        let d = [Some(1.0), Some(60.0), Some(80.0), Some(100.0)];
        assert_eq!(aggregate(&a, &d, None), Some(80.0));
        assert_eq!(aggregate(&a, &d, Some("Maximum")), Some(100.0));
        assert_eq!(aggregate(&a, &d, Some("Minimum")), Some(60.0));
    }
}
