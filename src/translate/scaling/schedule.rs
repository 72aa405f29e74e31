//! Scheduled actions: `at()`, `rate()` and `cron()` schedules, their `Timezone`, `StartTime`
//! and `EndTime`, and when an action runs [aas-sched].
//!
//! - `at(yyyy-mm-ddThh:mm:ss)` runs once, at that local time in the action's time zone.
//! - `rate(value unit)` (unit `minute(s)`, `hour(s)` or `day(s)`) runs every interval: from
//!   `StartTime` (its first run) when one is set, else from when the action was first seen
//!   (its first run one interval later). The time zone does not apply.
//! - `cron(fields)` ([`super::cron`]) runs at the local times it names in the time zone.
//! - `Timezone` is an IANA name (default UTC); `StartTime` / `EndTime` are instants (RFC 3339,
//!   or a date-time without offset read as UTC, as the AAS CLI takes them): no run before the
//!   start or after the end.
//!
//! An action that would have run several times while the operator was not looking runs once,
//! as of its latest due time: each run only sets the bounds, so replaying older ones would
//! change nothing.

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use super::cron::{Cron, CronError};
use crate::api::ScheduledAction;

/// A parsed schedule expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Schedule {
    /// Once, at this local time.
    At(DateTime),
    /// Every interval.
    Rate(SignedDuration),
    /// At the times a cron expression names.
    Cron(Cron),
}

/// Why a scheduled action cannot run.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// The expression is none of at(), rate() and cron().
    #[error("schedule {0:?} is not at(yyyy-mm-ddThh:mm:ss), rate(value unit) or cron(fields)")]
    Shape(String),
    /// at() names no valid date and time.
    #[error("at({0}): not a date and time yyyy-mm-ddThh:mm:ss")]
    At(String),
    /// rate() is not a positive whole number of minutes, hours or days.
    #[error(
        "rate({0}): the value must be a positive whole number and the unit minute(s), hour(s) or day(s)"
    )]
    Rate(String),
    /// cron() does not parse.
    #[error(transparent)]
    Cron(#[from] CronError),
    /// The time zone is not an IANA name known to the system.
    #[error("timezone {0:?} is not an IANA time zone")]
    Timezone(String),
    /// StartTime or EndTime is not an instant.
    #[error("{field} {value:?} is not a date and time (RFC 3339)")]
    Time {
        /// `startTime` or `endTime`.
        field: &'static str,
        /// As given.
        value: String,
    },
}

/// Parses a schedule expression.
pub fn parse(expression: &str) -> Result<Schedule, ScheduleError> {
    let e = expression.trim();
    let inner = |prefix: &str| {
        e.strip_prefix(prefix)
            .and_then(|r| r.strip_suffix(')'))
            .map(str::trim)
    };
    if let Some(a) = inner("at(") {
        return a
            .parse::<DateTime>()
            .ok()
            .filter(|d| d.subsec_nanosecond() == 0 && a.len() == 19)
            .map(Schedule::At)
            .ok_or_else(|| ScheduleError::At(a.to_owned()));
    }
    if let Some(r) = inner("rate(") {
        let bad = || ScheduleError::Rate(r.to_owned());
        let (v, unit) = r.split_once(' ').ok_or_else(bad)?;
        let v: i64 = v.parse().map_err(|_| bad())?;
        let seconds = match unit.trim() {
            "minute" | "minutes" => 60,
            "hour" | "hours" => 3600,
            "day" | "days" => 86_400,
            _ => return Err(bad()),
        };
        if !(1..=1_000_000).contains(&v) {
            return Err(bad());
        }
        return Ok(Schedule::Rate(SignedDuration::from_secs(v * seconds)));
    }
    if let Some(c) = inner("cron(") {
        return Ok(Schedule::Cron(Cron::parse(c)?));
    }
    Err(ScheduleError::Shape(e.to_owned()))
}

/// A scheduled action made ready to run: its schedule, time zone and window.
#[derive(Clone, Debug)]
pub struct Timing {
    /// The schedule.
    pub schedule: Schedule,
    /// The time zone of at() and cron().
    pub tz: TimeZone,
    /// No run before this.
    pub start: Option<Timestamp>,
    /// No run after this.
    pub end: Option<Timestamp>,
}

fn instant(field: &'static str, value: &str) -> Result<Timestamp, ScheduleError> {
    value
        .parse::<Timestamp>()
        .ok()
        .or_else(|| {
            value
                .parse::<DateTime>()
                .ok()
                .and_then(|d| d.to_zoned(TimeZone::UTC).ok())
                .map(|z| z.timestamp())
        })
        .ok_or_else(|| ScheduleError::Time {
            field,
            value: value.to_owned(),
        })
}

impl Timing {
    /// Reads an action's schedule, time zone and window.
    pub fn of(action: &ScheduledAction) -> Result<Timing, ScheduleError> {
        let schedule = parse(&action.schedule)?;
        let tz = match action.timezone.as_deref() {
            None | Some("UTC" | "Etc/UTC") => TimeZone::UTC,
            Some(name) => {
                TimeZone::get(name).map_err(|_| ScheduleError::Timezone(name.to_owned()))?
            }
        };
        let start = action
            .start_time
            .as_deref()
            .map(|v| instant("startTime", v))
            .transpose()?;
        let end = action
            .end_time
            .as_deref()
            .map(|v| instant("endTime", v))
            .transpose()?;
        Ok(Timing {
            schedule,
            tz,
            start,
            end,
        })
    }

    /// The first run strictly after `after`; `anchor` is when the action was first seen (the
    /// origin of a rate() without StartTime). `None` when it never runs again.
    pub fn next_after(&self, anchor: Timestamp, after: Timestamp) -> Option<Timestamp> {
        let next = match &self.schedule {
            Schedule::At(dt) => {
                let t = self
                    .tz
                    .to_ambiguous_zoned(*dt)
                    .compatible()
                    .ok()?
                    .timestamp();
                (t > after && self.start.is_none_or(|s| t >= s)).then_some(t)?
            }
            Schedule::Rate(every) => {
                let (origin, first_k) = match self.start {
                    Some(s) => (s, 0),
                    None => (anchor, 1),
                };
                let step = every.as_secs().max(1);
                let elapsed = after.as_second() - origin.as_second();
                let k = if elapsed < 0 {
                    first_k
                } else {
                    (elapsed / step + 1).max(first_k)
                };
                Timestamp::from_second(origin.as_second().checked_add(k.checked_mul(step)?)?)
                    .ok()?
            }
            Schedule::Cron(c) => {
                let from = match self.start {
                    Some(s) if s > after => s.checked_sub(SignedDuration::from_secs(1)).ok()?,
                    _ => after,
                };
                c.next_after(from, &self.tz)?
            }
        };
        self.end.is_none_or(|e| next <= e).then_some(next)
    }

    /// The latest run due in (`last`, `now`]: what the scaler runs now, if anything.
    /// `last` is the action's last run, else when it was first seen (`anchor`).
    pub fn due(
        &self,
        anchor: Timestamp,
        last: Option<Timestamp>,
        now: Timestamp,
    ) -> Option<Timestamp> {
        let mut at = self.next_after(anchor, last.unwrap_or(anchor))?;
        if at > now {
            return None;
        }
        // Catch up to the latest missed run (bounded: a cron every minute missed for a week).
        for _ in 0..20_000 {
            match self.next_after(anchor, at) {
                Some(n) if n <= now => at = n,
                _ => break,
            }
        }
        Some(at)
    }
}

/// The bounds a run of `action` leaves from the current (`min`, `max`): the ones it names,
/// the others kept. Should a named bound cross a kept one (a new min above the current max),
/// the kept one follows it, so that min <= max always holds.
pub fn bounds_after(action: &ScheduledAction, (min, max): (i32, i32)) -> (i32, i32) {
    let named = &action.scalable_target_action;
    let lo = named.min_capacity.unwrap_or(min);
    let hi = named.max_capacity.unwrap_or(max);
    if lo <= hi {
        (lo, hi)
    } else if named.min_capacity.is_some() && named.max_capacity.is_none() {
        (lo, lo)
    } else {
        (hi, hi)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::ScalableTargetAction;

    fn t(s: &str) -> Timestamp {
        s.parse().expect("a timestamp")
    }

    fn action(
        schedule: &str,
        tz: Option<&str>,
        start: Option<&str>,
        end: Option<&str>,
    ) -> ScheduledAction {
        ScheduledAction {
            scheduled_action_name: "a".into(),
            schedule: schedule.into(),
            timezone: tz.map(str::to_owned),
            start_time: start.map(str::to_owned),
            end_time: end.map(str::to_owned),
            scalable_target_action: ScalableTargetAction {
                min_capacity: Some(5),
                max_capacity: None,
            },
        }
    }

    #[test]
    fn an_at_schedule_runs_once_at_its_local_time() {
        let a = Timing::of(&action(
            "at(2026-12-01T14:00:00)",
            Some("Europe/Paris"),
            None,
            None,
        ))
        .unwrap();
        let anchor = t("2026-12-01T00:00:00Z");
        assert_eq!(
            a.next_after(anchor, anchor),
            Some(t("2026-12-01T13:00:00Z"))
        );
        assert_eq!(a.next_after(anchor, t("2026-12-01T13:00:00Z")), None);
        assert_eq!(a.due(anchor, None, t("2026-12-01T12:59:59Z")), None);
        assert_eq!(
            a.due(anchor, None, t("2026-12-01T13:00:05Z")),
            Some(t("2026-12-01T13:00:00Z"))
        );
        assert_eq!(
            a.due(
                anchor,
                Some(t("2026-12-01T13:00:00Z")),
                t("2026-12-02T00:00:00Z")
            ),
            None
        );
    }

    #[test]
    fn a_rate_repeats_every_interval_from_its_start_time_or_from_when_it_was_first_seen() {
        let r = Timing::of(&action("rate(5 minutes)", None, None, None)).unwrap();
        let anchor = t("2026-12-01T10:00:00Z");
        assert_eq!(
            r.next_after(anchor, anchor),
            Some(t("2026-12-01T10:05:00Z"))
        );
        assert_eq!(
            r.next_after(anchor, t("2026-12-01T10:05:00Z")),
            Some(t("2026-12-01T10:10:00Z"))
        );
        let s = Timing::of(&action(
            "rate(1 hour)",
            None,
            Some("2026-12-01T12:00:00Z"),
            None,
        ))
        .unwrap();
        assert_eq!(
            s.next_after(anchor, anchor),
            Some(t("2026-12-01T12:00:00Z"))
        );
        assert_eq!(
            s.next_after(anchor, t("2026-12-01T12:00:00Z")),
            Some(t("2026-12-01T13:00:00Z"))
        );
    }

    #[test]
    fn no_run_happens_after_the_end_time() {
        let r = Timing::of(&action(
            "rate(1 day)",
            None,
            Some("2026-12-01T00:00:00Z"),
            Some("2026-12-02T12:00:00Z"),
        ))
        .unwrap();
        let anchor = t("2026-11-01T00:00:00Z");
        assert_eq!(
            r.next_after(anchor, t("2026-12-01T00:00:00Z")),
            Some(t("2026-12-02T00:00:00Z"))
        );
        assert_eq!(r.next_after(anchor, t("2026-12-02T00:00:00Z")), None);
    }

    #[test]
    fn a_cron_does_not_run_before_its_start_time() {
        let c = Timing::of(&action(
            "cron(0 9 * * ? *)",
            None,
            Some("2026-12-03T00:00:00Z"),
            None,
        ))
        .unwrap();
        let anchor = t("2026-12-01T00:00:00Z");
        assert_eq!(
            c.next_after(anchor, anchor),
            Some(t("2026-12-03T09:00:00Z"))
        );
    }

    #[test]
    fn missed_runs_are_run_once_as_of_the_latest() {
        let r = Timing::of(&action("rate(1 minute)", None, None, None)).unwrap();
        let anchor = t("2026-12-01T10:00:00Z");
        assert_eq!(
            r.due(anchor, None, t("2026-12-01T10:10:30Z")),
            Some(t("2026-12-01T10:10:00Z"))
        );
    }

    #[test]
    fn malformed_schedules_time_zones_and_times_are_refused_by_cause() {
        assert!(matches!(
            parse("every(5 minutes)"),
            Err(ScheduleError::Shape(_))
        ));
        assert!(matches!(
            parse("at(2026-13-01T00:00:00)"),
            Err(ScheduleError::At(_))
        ));
        assert!(matches!(parse("at(2026-12-01)"), Err(ScheduleError::At(_))));
        assert!(matches!(
            parse("rate(0 minutes)"),
            Err(ScheduleError::Rate(_))
        ));
        assert!(matches!(
            parse("rate(5 weeks)"),
            Err(ScheduleError::Rate(_))
        ));
        assert!(matches!(
            parse("cron(0 10 * * *)"),
            Err(ScheduleError::Cron(_))
        ));
        assert!(matches!(
            Timing::of(&action("rate(1 day)", Some("Mars/Olympus"), None, None)),
            Err(ScheduleError::Timezone(_))
        ));
        assert!(matches!(
            Timing::of(&action("rate(1 day)", None, Some("tomorrow"), None)),
            Err(ScheduleError::Time { .. })
        ));
    }

    #[test]
    fn a_run_sets_the_bounds_it_names_and_keeps_the_others() {
        let a = action("rate(1 day)", None, None, None);
        assert_eq!(bounds_after(&a, (1, 10)), (5, 10));
        assert_eq!(bounds_after(&a, (1, 3)), (5, 5));
    }
}
