//! EventBridge schedule expressions → Kubernetes CronJob schedules.
//!
//! EventBridge rules and EventBridge Scheduler write schedules as `rate(N unit)`,
//! `cron(minutes hours day-of-month month day-of-week year)` (six fields, Quartz-like: `?`,
//! `L`, `W`, `#`, day-of-week 1–7 from Sunday) or, for Scheduler only, a one-time `at(…)`.
//! A CronJob's `schedule` is a five-field cron as Kubernetes parses it (robfig/cron's
//! standard parser: day-of-week 0–6 from Sunday, no year, no `L`/`W`/`#`).
//!
//! [`to_kubernetes`] is pure. It converts what has an exact equivalent, returns every
//! [`Difference`] where the Kubernetes schedule fires at other times than EventBridge would
//! (a `rate()` counted from the clock rather than from the rule's creation, a year field),
//! and refuses ([`ScheduleError`]) what no single five-field schedule can express (`L`, `W`,
//! `#`, `at()`, a rate that does not divide into the clock). Time zones are not part of the
//! expression: EventBridge rules run in UTC and Scheduler in `ScheduleExpressionTimezone`,
//! which the caller writes to the CronJob's `timeZone`.

use std::fmt;

/// A Kubernetes schedule and where it fires differently from the EventBridge expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cron {
    /// The five-field schedule (`minute hour day-of-month month day-of-week`).
    pub schedule: String,
    /// Every way the schedule differs from the expression; empty when it is exact.
    pub differences: Vec<Difference>,
}

/// One way the Kubernetes schedule fires at other times than EventBridge would.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Difference {
    /// The part of the expression that differs: `rate`, `year`.
    pub part: &'static str,
    /// What differs, in a sentence.
    pub message: String,
}

/// Why an expression has no Kubernetes schedule.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// Not `rate(…)`, `cron(…)` or `at(…)`.
    #[error(
        "{expression:?} is not a schedule expression: expected rate(N minutes|hours|days), cron(minutes hours day-of-month month day-of-week year) or at(yyyy-mm-ddThh:mm:ss)"
    )]
    Syntax {
        /// The expression as given.
        expression: String,
    },
    /// A field EventBridge itself refuses.
    #[error("{field} {value:?} is not valid: {why}")]
    Invalid {
        /// The field (`minutes`, `hours`, `day-of-month`, `month`, `day-of-week`, `year`,
        /// `rate`).
        field: &'static str,
        /// Its text.
        value: String,
        /// Why EventBridge refuses it.
        why: String,
    },
    /// A valid EventBridge field with no five-field Kubernetes equivalent.
    #[error("{field} {value:?} has no Kubernetes cron equivalent: {why}")]
    NotExpressible {
        /// The field, as in [`ScheduleError::Invalid`].
        field: &'static str,
        /// Its text.
        value: String,
        /// What it means and what to write instead.
        why: String,
    },
    /// `at(…)`: a one-time schedule, while a CronJob repeats.
    #[error(
        "{expression:?} is a one-time schedule and a CronJob repeats: run an EcsTask at that time instead"
    )]
    OneTime {
        /// The expression as given.
        expression: String,
    },
}

/// The Kubernetes schedule of an EventBridge `rate()`, `cron()` or `at()` expression, with
/// every difference, or why there is none.
pub fn to_kubernetes(expression: &str) -> Result<Cron, ScheduleError> {
    let e = expression.trim();
    let syntax = || ScheduleError::Syntax {
        expression: expression.to_owned(),
    };
    let inner = |prefix: &str| {
        e.strip_prefix(prefix)
            .and_then(|r| r.trim_start().strip_prefix('('))
            .and_then(|r| r.strip_suffix(')'))
            .map(str::trim)
    };
    if let Some(body) = inner("rate") {
        rate(body)
    } else if let Some(body) = inner("cron") {
        cron(body)
    } else if inner("at").is_some() {
        Err(ScheduleError::OneTime {
            expression: expression.to_owned(),
        })
    } else {
        Err(syntax())
    }
}

/// The clock-alignment difference every `rate()` has.
fn rate_alignment(every: &str, when: &str) -> Difference {
    Difference {
        part: "rate",
        message: format!(
            "EventBridge runs a rate every {every} counted from when the rule was created; the CronJob runs {when} by the clock"
        ),
    }
}

fn rate(body: &str) -> Result<Cron, ScheduleError> {
    let invalid = |why: &str| ScheduleError::Invalid {
        field: "rate",
        value: body.to_owned(),
        why: why.to_owned(),
    };
    let not_expressible = |why: String| ScheduleError::NotExpressible {
        field: "rate",
        value: body.to_owned(),
        why,
    };
    let mut parts = body.split_whitespace();
    let (Some(n), Some(unit), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(invalid(
            "expected a value and a unit, such as rate(5 minutes)",
        ));
    };
    let n: u32 = n
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| invalid("the value must be a positive whole number"))?;
    let (singular, minutes_per) = match unit {
        "minute" => (true, 1),
        "minutes" => (false, 1),
        "hour" => (true, 60),
        "hours" => (false, 60),
        "day" => (true, 1440),
        "days" => (false, 1440),
        _ => return Err(invalid("the unit must be minute(s), hour(s) or day(s)")),
    };
    if singular != (n == 1) {
        return Err(invalid(
            "the unit is singular for a value of 1 and plural otherwise",
        ));
    }
    let total = u64::from(n) * minutes_per;
    let mut differences = Vec::new();
    let schedule = if total < 60 {
        if 60 % total != 0 {
            differences.push(Difference {
                part: "rate",
                message: format!(
                    "{total} does not divide an hour: the CronJob restarts at minute 0 of every hour, so the last interval of each hour is {} minutes",
                    60 % total
                ),
            });
        }
        differences.push(rate_alignment(
            &format!("{total} minutes"),
            &format!("at minute 0 of every hour and every {total} minutes after"),
        ));
        if total == 1 {
            "* * * * *".to_owned()
        } else {
            format!("*/{total} * * * *")
        }
    } else if total < 1440 {
        if total % 60 != 0 {
            return Err(not_expressible(format!(
                "{total} minutes is not a whole number of hours and longer than an hour: write a cron() that lists the times, or a rate of whole hours"
            )));
        }
        let h = total / 60;
        if 24 % h != 0 {
            differences.push(Difference {
                part: "rate",
                message: format!(
                    "{h} does not divide a day: the CronJob restarts at 00:00 every day, so the last interval of each day is {} hours",
                    24 % h
                ),
            });
        }
        differences.push(rate_alignment(
            &format!("{h} hours"),
            &format!("at 00:00 and every {h} hours after, on the hour"),
        ));
        if h == 1 {
            "0 * * * *".to_owned()
        } else {
            format!("0 */{h} * * *")
        }
    } else {
        if total % 1440 != 0 {
            return Err(not_expressible(format!(
                "{total} minutes is not a whole number of days and longer than a day: write a cron() instead"
            )));
        }
        let d = total / 1440;
        if d > 31 {
            return Err(not_expressible(format!(
                "a Kubernetes schedule counts days within a month, and {d} days is longer than any month: write a cron() instead"
            )));
        }
        if d > 1 {
            differences.push(Difference {
                part: "rate",
                message: format!(
                    "the CronJob counts every {d} days from the 1st of each month, so the interval across the end of a month is shorter"
                ),
            });
        }
        differences.push(rate_alignment(
            &format!("{d} days"),
            if d == 1 {
                "every day at 00:00"
            } else {
                "at 00:00"
            },
        ));
        if d == 1 {
            "0 0 * * *".to_owned()
        } else {
            format!("0 0 */{d} * *")
        }
    };
    Ok(Cron {
        schedule,
        differences,
    })
}

/// One of the six fields of an EventBridge cron.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    Minutes,
    Hours,
    DayOfMonth,
    Month,
    DayOfWeek,
    Year,
}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

impl Field {
    fn name(self) -> &'static str {
        match self {
            Field::Minutes => "minutes",
            Field::Hours => "hours",
            Field::DayOfMonth => "day-of-month",
            Field::Month => "month",
            Field::DayOfWeek => "day-of-week",
            Field::Year => "year",
        }
    }

    /// The EventBridge bounds.
    fn bounds(self) -> (u32, u32) {
        match self {
            Field::Minutes => (0, 59),
            Field::Hours => (0, 23),
            Field::DayOfMonth => (1, 31),
            Field::Month => (1, 12),
            Field::DayOfWeek => (1, 7),
            Field::Year => (1970, 2199),
        }
    }

    /// A number or, in month and day-of-week, a three-letter name.
    fn value(self, text: &str) -> Option<u32> {
        let names: &[&str] = match self {
            Field::Month => &MONTHS,
            Field::DayOfWeek => &DAYS,
            _ => &[],
        };
        let (min, max) = self.bounds();
        if let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(text)) {
            return u32::try_from(i).ok().map(|i| i + min);
        }
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) || text.len() > 4 {
            return None;
        }
        text.parse().ok().filter(|v| (min..=max).contains(v))
    }

    /// How a value is written for Kubernetes: day-of-week counts from 0.
    fn kubernetes(self, v: u32) -> u32 {
        if self == Field::DayOfWeek { v - 1 } else { v }
    }
}

/// One comma-separated item of a field: `*`, `a`, `a-b`, with an optional `/step`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Item {
    /// `None` for `*`.
    range: Option<(u32, u32)>,
    /// Whether the item was `a/step` (from `a` to the end of the field).
    open: bool,
    step: u32,
}

fn cron(body: &str) -> Result<Cron, ScheduleError> {
    let fields: Vec<&str> = body.split_whitespace().collect();
    let [minutes, hours, dom, month, dow, year] = fields[..] else {
        return Err(ScheduleError::Invalid {
            field: "cron",
            value: body.to_owned(),
            why: format!(
                "EventBridge cron has six fields (minutes hours day-of-month month day-of-week year), not {}",
                fields.len()
            ),
        });
    };
    let dom_any = dom == "?";
    let dow_any = dow == "?";
    if dom_any == dow_any {
        return Err(ScheduleError::Invalid {
            field: "day-of-month",
            value: format!("{dom} {dow}"),
            why: "exactly one of day-of-month and day-of-week must be ?".into(),
        });
    }
    let mut out = Vec::with_capacity(5);
    for (field, text) in [
        (Field::Minutes, minutes),
        (Field::Hours, hours),
        (Field::DayOfMonth, dom),
        (Field::Month, month),
        (Field::DayOfWeek, dow),
    ] {
        out.push(if text == "?" {
            "*".to_owned()
        } else {
            field_to_kubernetes(field, text)?
        });
    }
    let mut differences = Vec::new();
    let years = parse_items(Field::Year, year)?;
    if !years.iter().any(|i| i.range.is_none() && i.step == 1) {
        differences.push(Difference {
            part: "year",
            message: format!(
                "Kubernetes cron has no year: the CronJob fires in every year, not only in {year}; suspend or delete it when the years are over"
            ),
        });
    }
    Ok(Cron {
        schedule: out.join(" "),
        differences,
    })
}

/// One field (not `?`) in Kubernetes syntax.
fn field_to_kubernetes(field: Field, text: &str) -> Result<String, ScheduleError> {
    // `L` alone in day-of-week is its last day, Saturday.
    if field == Field::DayOfWeek && text.eq_ignore_ascii_case("L") {
        return Ok("6".to_owned());
    }
    let items = parse_items(field, text)?;
    let (min, max) = field.bounds();
    let mut parts = Vec::new();
    for item in items {
        let step = |s: u32| {
            if s == 1 {
                String::new()
            } else {
                format!("/{s}")
            }
        };
        match item.range {
            None => parts.push(format!("*{}", step(item.step))),
            Some((a, b)) if a <= b => {
                let k = |v| field.kubernetes(v);
                parts.push(match (item.open, a == b) {
                    (true, _) => format!("{}{}", k(a), format_args!("/{}", item.step)),
                    (false, true) => k(a).to_string(),
                    (false, false) => format!("{}-{}{}", k(a), k(b), step(item.step)),
                });
            }
            Some((a, b)) => {
                // A range that wraps past the end of the field (`22-2` in hours): the values
                // up to the end, then from the start, the step carried across.
                let k = |v| field.kubernetes(v);
                let span = max - min + 1;
                let last = a + (max - a) / item.step * item.step;
                parts.push(if last == a {
                    k(a).to_string()
                } else {
                    format!("{}-{}{}", k(a), k(max), step(item.step))
                });
                let first = last + item.step - span;
                if first <= b {
                    parts.push(if first == b {
                        k(b).to_string()
                    } else {
                        format!("{}-{}{}", k(first), k(b), step(item.step))
                    });
                }
            }
        }
    }
    Ok(parts.join(","))
}

/// The items of a field, checked as EventBridge checks them; `L`, `W` and `#` are refused
/// as having no Kubernetes equivalent.
fn parse_items(field: Field, text: &str) -> Result<Vec<Item>, ScheduleError> {
    let invalid = |why: String| ScheduleError::Invalid {
        field: field.name(),
        value: text.to_owned(),
        why,
    };
    if matches!(field, Field::DayOfMonth | Field::DayOfWeek) {
        let upper = text.to_ascii_uppercase();
        // No day name contains L, W or #.
        let special = if field == Field::DayOfWeek {
            upper.contains('#') || upper.contains('L')
        } else {
            upper.contains('L') || upper.contains('W')
        };
        if special {
            let why = match field {
                Field::DayOfMonth if upper == "L" => "L is the last day of each month",
                Field::DayOfMonth if upper.contains('W') => {
                    "W is the weekday nearest a day of the month"
                }
                Field::DayOfMonth => "L is counted back from the last day of each month",
                _ if upper.contains('#') => {
                    "# is the nth weekday of the month (3#2: the second Tuesday)"
                }
                _ => "nL is the last such weekday of the month",
            };
            return Err(ScheduleError::NotExpressible {
                field: field.name(),
                value: text.to_owned(),
                why: format!(
                    "{why}, which five-field cron cannot say; list the days it falls on, or run the job on candidate days and let it decide"
                ),
            });
        }
    }
    if text.is_empty() {
        return Err(invalid("the field is empty".into()));
    }
    let (min, max) = field.bounds();
    let mut items = Vec::new();
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => {
                let s: u32 = s
                    .parse()
                    .ok()
                    .filter(|s| (1..=max - min + 1).contains(s))
                    .ok_or_else(|| {
                        invalid(format!(
                            "the step {s:?} must be a whole number from 1 to {}",
                            max - min + 1
                        ))
                    })?;
                (r, s)
            }
            None => (part, 1),
        };
        let value = |t: &str| {
            field
                .value(t)
                .ok_or_else(|| invalid(format!("{t:?} is not a value from {min} to {max}")))
        };
        let item = if range == "*" {
            Item {
                range: None,
                open: false,
                step,
            }
        } else if let Some((a, b)) = range.split_once('-') {
            Item {
                range: Some((value(a)?, value(b)?)),
                open: false,
                step,
            }
        } else {
            let a = value(range)?;
            let open = part.contains('/');
            Item {
                range: Some((a, if open { max } else { a })),
                open,
                step,
            }
        };
        items.push(item);
    }
    Ok(items)
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.part, self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn schedule(e: &str) -> String {
        to_kubernetes(e).unwrap().schedule
    }

    /// The examples of the EventBridge user guide ("Cron expressions", "Examples"), each with
    /// the Kubernetes schedule that fires at the same minutes.
    #[test]
    fn the_documented_eventbridge_examples_become_these_kubernetes_schedules() {
        for (aws, k8s) in [
            ("cron(0 10 * * ? *)", "0 10 * * *"),
            ("cron(15 12 * * ? *)", "15 12 * * *"),
            ("cron(0 18 ? * MON-FRI *)", "0 18 * * 1-5"),
            ("cron(0 8 1 * ? *)", "0 8 1 * *"),
            ("cron(0/15 * * * ? *)", "0/15 * * * *"),
            ("cron(0/10 * ? * MON-FRI *)", "0/10 * * * 1-5"),
            ("cron(0/5 8-17 ? * MON-FRI *)", "0/5 8-17 * * 1-5"),
            ("cron(0/30 20-2 ? * MON-FRI *)", "0/30 20-23,0-2 * * 1-5"),
            ("cron(0 12 * * ? *)", "0 12 * * *"),
            ("cron(0 20 * * ? *)", "0 20 * * *"),
        ] {
            let c = to_kubernetes(aws).unwrap();
            assert_eq!(c.schedule, k8s, "{aws}");
            assert_eq!(c.differences, [], "{aws} is exact");
        }
    }

    #[test]
    fn day_of_week_numbers_count_from_sunday_as_one_in_eventbridge_and_zero_in_kubernetes() {
        assert_eq!(schedule("cron(0 9 ? * 1 *)"), "0 9 * * 0");
        assert_eq!(schedule("cron(0 9 ? * 2-6 *)"), "0 9 * * 1-5");
        assert_eq!(schedule("cron(0 9 ? * 7,1 *)"), "0 9 * * 6,0");
        assert_eq!(schedule("cron(0 9 ? * 2/2 *)"), "0 9 * * 1/2");
        assert_eq!(schedule("cron(0 9 ? * L *)"), "0 9 * * 6");
    }

    #[test]
    fn rates_run_by_the_clock_and_say_so() {
        let c = to_kubernetes("rate(5 minutes)").unwrap();
        assert_eq!(c.schedule, "*/5 * * * *");
        assert_eq!(c.differences.len(), 1);
        assert_eq!(c.differences[0].part, "rate");
        assert!(
            c.differences[0]
                .message
                .contains("counted from when the rule was created")
        );
        assert_eq!(schedule("rate(1 minute)"), "* * * * *");
        assert_eq!(schedule("rate(1 hour)"), "0 * * * *");
        assert_eq!(schedule("rate(6 hours)"), "0 */6 * * *");
        assert_eq!(schedule("rate(120 minutes)"), "0 */2 * * *");
        assert_eq!(schedule("rate(1 day)"), "0 0 * * *");
        assert_eq!(schedule("rate(24 hours)"), "0 0 * * *");
    }

    #[test]
    fn a_rate_that_does_not_divide_the_hour_or_month_reports_the_short_interval() {
        let c = to_kubernetes("rate(7 minutes)").unwrap();
        assert_eq!(c.schedule, "*/7 * * * *");
        assert!(c.differences[0].message.contains("is 4 minutes"), "{c:?}");
        let c = to_kubernetes("rate(5 hours)").unwrap();
        assert!(c.differences[0].message.contains("is 4 hours"), "{c:?}");
        let c = to_kubernetes("rate(3 days)").unwrap();
        assert_eq!(c.schedule, "0 0 */3 * *");
        assert!(c.differences[0].message.contains("end of a month"), "{c:?}");
    }

    #[test]
    fn a_rate_no_five_field_cron_can_express_is_refused_saying_what_to_write() {
        for e in ["rate(90 minutes)", "rate(25 hours)", "rate(40 days)"] {
            assert!(
                matches!(
                    to_kubernetes(e),
                    Err(ScheduleError::NotExpressible { field: "rate", .. })
                ),
                "{e}"
            );
        }
    }

    #[test]
    fn rates_eventbridge_refuses_are_refused() {
        for e in [
            "rate(1 minutes)",
            "rate(5 minute)",
            "rate(0 minutes)",
            "rate(-1 minutes)",
            "rate(5 weeks)",
            "rate(5)",
        ] {
            assert!(
                matches!(to_kubernetes(e), Err(ScheduleError::Invalid { .. })),
                "{e}"
            );
        }
    }

    #[test]
    fn a_year_field_is_reported_because_kubernetes_fires_every_year() {
        let c = to_kubernetes("cron(0 12 1 1 ? 2027)").unwrap();
        assert_eq!(c.schedule, "0 12 1 1 *");
        assert_eq!(c.differences[0].part, "year");
        assert!(c.differences[0].message.contains("only in 2027"));
        assert_eq!(
            to_kubernetes("cron(0 12 1 1 ? 2027)")
                .unwrap()
                .differences
                .len(),
            1
        );
    }

    #[test]
    fn last_weekday_and_nth_day_have_no_kubernetes_cron_and_are_refused_by_field() {
        for (e, field) in [
            ("cron(0 0 L * ? *)", "day-of-month"),
            ("cron(0 0 15W * ? *)", "day-of-month"),
            ("cron(0 0 LW * ? *)", "day-of-month"),
            ("cron(0 9 ? * 2#1 *)", "day-of-week"),
            ("cron(0 9 ? * 6L *)", "day-of-week"),
        ] {
            match to_kubernetes(e) {
                Err(ScheduleError::NotExpressible { field: f, .. }) => assert_eq!(f, field, "{e}"),
                other => panic!("{e}: {other:?}"),
            }
        }
    }

    #[test]
    fn one_time_schedules_are_refused_as_such() {
        assert!(matches!(
            to_kubernetes("at(2027-01-01T09:00:00)"),
            Err(ScheduleError::OneTime { .. })
        ));
    }

    #[test]
    fn crons_eventbridge_refuses_are_refused_naming_the_field() {
        for (e, field) in [
            ("cron(0 10 * * *)", "cron"),
            ("cron(0 10 * * * *)", "day-of-month"),
            ("cron(0 10 ? * ? *)", "day-of-month"),
            ("cron(60 10 * * ? *)", "minutes"),
            ("cron(0 24 * * ? *)", "hours"),
            ("cron(0 0 0 * ? *)", "day-of-month"),
            ("cron(0 0 * 13 ? *)", "month"),
            ("cron(0 0 ? * 8 *)", "day-of-week"),
            ("cron(0 0 * * ? 1969)", "year"),
            ("cron(0/0 0 * * ? *)", "minutes"),
            ("cron(a 0 * * ? *)", "minutes"),
            ("cron(0 0 * FOO ? *)", "month"),
        ] {
            match to_kubernetes(e) {
                Err(ScheduleError::Invalid { field: f, .. }) => assert_eq!(f, field, "{e}"),
                other => panic!("{e}: {other:?}"),
            }
        }
        assert!(matches!(
            to_kubernetes("every day"),
            Err(ScheduleError::Syntax { .. })
        ));
    }

    // The property: for any cron() without L/W/#, EventBridge and Kubernetes fire at the same
    // minutes. Both sides are evaluated field by field by independent matchers below: the
    // EventBridge one reads the six-field text as the user guide describes it, the Kubernetes
    // one reads the five-field text as robfig/cron's standard parser does.

    /// Whether `v` is in an EventBridge field (`?` matches all; ranges may wrap).
    fn aws_matches(text: &str, v: u32, min: u32, max: u32, names: &[&str]) -> bool {
        if text == "?" || text == "*" {
            return true;
        }
        let num = |t: &str| {
            names
                .iter()
                .position(|n| n.eq_ignore_ascii_case(t))
                .map(|i| i as u32 + min)
                .unwrap_or_else(|| t.parse().unwrap())
        };
        text.split(',').any(|part| {
            let (r, step) = part
                .split_once('/')
                .map_or((part, 1), |(r, s)| (r, s.parse().unwrap()));
            let (a, b) = if r == "*" {
                (min, max)
            } else if let Some((a, b)) = r.split_once('-') {
                (num(a), num(b))
            } else if part.contains('/') {
                (num(r), max)
            } else {
                (num(r), num(r))
            };
            // Walk from a, step by step, wrapping past max, until b is passed.
            let span = max - min + 1;
            let len = if a <= b { b - a } else { b + span - a };
            (0..=len)
                .step_by(step as usize)
                .any(|off| min + (a - min + off) % span == v)
        })
    }

    /// Whether `v` is in a robfig/cron standard field, and whether the field is a `*`.
    fn k8s_matches(text: &str, v: u32, min: u32, max: u32, names: &[&str]) -> (bool, bool) {
        let num = |t: &str| {
            names
                .iter()
                .position(|n| n.eq_ignore_ascii_case(t))
                .map(|i| i as u32 + min)
                .unwrap_or_else(|| t.parse().unwrap())
        };
        let mut star = false;
        let hit = text.split(',').fold(false, |hit, part| {
            let (r, step) = part
                .split_once('/')
                .map_or((part, 1), |(r, s)| (r, s.parse().unwrap()));
            let (a, b) = if r == "*" || r == "?" {
                if step == 1 {
                    star = true;
                }
                (min, max)
            } else if let Some((a, b)) = r.split_once('-') {
                (num(a), num(b))
            } else if part.contains('/') {
                (num(r), max)
            } else {
                (num(r), num(r))
            };
            assert!(a <= b && a >= min && b <= max, "robfig refuses {part}");
            hit || (a..=b).step_by(step as usize).any(|x| x == v)
        });
        (hit, star)
    }

    fn aws_fires(e: &str, t: [u32; 5]) -> bool {
        let body = e.strip_prefix("cron(").unwrap().strip_suffix(')').unwrap();
        let f: Vec<&str> = body.split(' ').collect();
        aws_matches(f[0], t[0], 0, 59, &[])
            && aws_matches(f[1], t[1], 0, 23, &[])
            && aws_matches(f[2], t[2], 1, 31, &[])
            && aws_matches(f[3], t[3], 1, 12, &MONTHS)
            && aws_matches(f[4], t[4] + 1, 1, 7, &DAYS)
    }

    fn k8s_fires(s: &str, t: [u32; 5]) -> bool {
        let f: Vec<&str> = s.split(' ').collect();
        assert_eq!(f.len(), 5);
        let (m, _) = k8s_matches(f[0], t[0], 0, 59, &[]);
        let (h, _) = k8s_matches(f[1], t[1], 0, 23, &[]);
        let (dom, dom_star) = k8s_matches(f[2], t[2], 1, 31, &[]);
        let (mon, _) = k8s_matches(f[3], t[3], 1, 12, &MONTHS);
        let (dow, dow_star) = k8s_matches(f[4], t[4], 0, 6, &DAYS);
        // robfig: when either day field is a star, both must match; otherwise either.
        let day = if dom_star || dow_star {
            dom && dow
        } else {
            dom || dow
        };
        m && h && mon && day
    }

    /// One item of a field in EventBridge syntax, within `min..=max`.
    fn item(min: u32, max: u32, names: &'static [&'static str]) -> BoxedStrategy<String> {
        let v = move || {
            (min..=max).prop_flat_map(move |x| {
                if names.is_empty() {
                    Just(x.to_string()).boxed()
                } else {
                    prop_oneof![
                        Just(x.to_string()),
                        Just(names[(x - min) as usize].to_owned())
                    ]
                    .boxed()
                }
            })
        };
        let step = 1..=(max - min + 1);
        prop_oneof![
            Just("*".to_owned()),
            v(),
            (v(), v()).prop_map(|(a, b)| format!("{a}-{b}")),
            (v(), v(), step.clone()).prop_map(|(a, b, s)| format!("{a}-{b}/{s}")),
            (v(), step.clone()).prop_map(|(a, s)| format!("{a}/{s}")),
            step.prop_map(|s| format!("*/{s}")),
        ]
        .boxed()
    }

    fn field(min: u32, max: u32, names: &'static [&'static str]) -> BoxedStrategy<String> {
        prop::collection::vec(item(min, max, names), 1..4)
            .prop_map(|v| v.join(","))
            .boxed()
    }

    fn expression() -> impl Strategy<Value = String> {
        (
            field(0, 59, &[]),
            field(0, 23, &[]),
            field(1, 31, &[]),
            field(1, 12, &MONTHS),
            field(1, 7, &DAYS),
            any::<bool>(),
        )
            .prop_map(|(mi, h, dom, mon, dow, dom_given)| {
                let (dom, dow) = if dom_given {
                    (dom, "?".to_owned())
                } else {
                    ("?".to_owned(), dow)
                };
                format!("cron({mi} {h} {dom} {mon} {dow} *)")
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        #[test]
        fn every_cron_without_l_w_or_hash_fires_at_the_same_minutes_in_kubernetes(
            e in expression(),
            times in prop::collection::vec((0u32..60, 0u32..24, 1u32..32, 1u32..13, 0u32..7), 64),
        ) {
            let c = to_kubernetes(&e).unwrap();
            prop_assert_eq!(&c.differences, &vec![]);
            for (mi, h, dom, mon, dow) in times {
                let t = [mi, h, dom, mon, dow];
                prop_assert_eq!(aws_fires(&e, t), k8s_fires(&c.schedule, t), "{} → {} at {:?}", e, c.schedule, t);
            }
        }

        #[test]
        fn no_text_makes_the_conversion_panic(s in ".{0,40}", fields in "[0-9A-Z*?/,#LW -]{0,30}") {
            let _ = to_kubernetes(&s);
            let _ = to_kubernetes(&format!("cron({fields})"));
            let _ = to_kubernetes(&format!("rate({fields})"));
        }
    }
}
