//! AWS's `cron()` expressions for scheduled scaling: six fields, `Minutes Hours
//! Day-of-month Month Day-of-week Year` [aas-sched], [eventbridge-cron]
//! <https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html#cron-based>.
//!
//! | field | values | wildcards |
//! |---|---|---|
//! | Minutes | 0–59 | `, - * /` |
//! | Hours | 0–23 | `, - * /` |
//! | Day-of-month | 1–31 | `, - * ? / L W` |
//! | Month | 1–12 or JAN–DEC | `, - * /` |
//! | Day-of-week | 1–7 or SUN–SAT (1 is Sunday) | `, - * ? L #` |
//! | Year | 1970–2199 | `, - * /` |
//!
//! One of Day-of-month and Day-of-week must be `?` (and only one). `L` alone is the last day
//! of the month (Day-of-month) or Saturday (Day-of-week); `5L` is the last Thursday; `LW` the
//! last weekday of the month; `15W` the weekday nearest the 15th within the month; `3#2` the
//! second Tuesday. No crate on crates.io parses this dialect (the common ones take five or
//! seven fields with seconds, and number Sunday 0), so it is parsed here.

use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

/// A parsed `cron()` expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cron {
    minutes: Vec<bool>,
    hours: Vec<bool>,
    days: DayOfMonth,
    months: Vec<bool>,
    weekdays: DayOfWeek,
    years: Vec<bool>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum DayOfMonth {
    Any,
    Set(Vec<bool>),
    Last,
    LastWeekday,
    NearestWeekday(i8),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum DayOfWeek {
    Any,
    Set(Vec<bool>),
    Last(i8),
    Nth(i8, i8),
}

/// Why a cron expression does not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("cron({expression}): {why}")]
pub struct CronError {
    /// The fields as given.
    pub expression: String,
    /// What is wrong.
    pub why: String,
}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const WEEKDAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
const FIRST_YEAR: i16 = 1970;
const LAST_YEAR: i16 = 2199;

fn value(s: &str, min: i32, max: i32, names: &[&str]) -> Result<i32, String> {
    let upper = s.to_ascii_uppercase();
    if let Some(i) = names.iter().position(|n| *n == upper) {
        return Ok(min + i as i32);
    }
    let v: i32 = s.parse().map_err(|_| format!("{s:?} is not a value"))?;
    if v < min || v > max {
        return Err(format!("{v} is outside {min}-{max}"));
    }
    Ok(v)
}

/// A list field (`,` of `*`, `a`, `a-b`, with an optional `/step`) as a set over min..=max.
fn set(field: &str, min: i32, max: i32, names: &[&str]) -> Result<Vec<bool>, String> {
    let mut out = vec![false; (max - min + 1) as usize];
    for item in field.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => {
                let s: i32 = s
                    .parse()
                    .map_err(|_| format!("{s:?} is not an increment"))?;
                if s < 1 {
                    return Err(format!("increment {s} must be at least 1"));
                }
                (r, s)
            }
            None => (item, 1),
        };
        let (a, b) = if range == "*" {
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            (value(a, min, max, names)?, value(b, min, max, names)?)
        } else {
            let a = value(range, min, max, names)?;
            // `a/n` runs from a to the end of the range.
            (a, if item.contains('/') { max } else { a })
        };
        // A range may wrap around (FRI-MON, 22-2).
        let len = if a <= b { b - a } else { max - a + 1 + b - min };
        let mut k = 0;
        while k <= len {
            let v = min + (a - min + k).rem_euclid(max - min + 1);
            out[(v - min) as usize] = true;
            k += step;
        }
    }
    Ok(out)
}

fn day_of_month(field: &str) -> Result<DayOfMonth, String> {
    Ok(match field {
        "?" => DayOfMonth::Any,
        "L" => DayOfMonth::Last,
        "LW" => DayOfMonth::LastWeekday,
        f if f.len() > 1 && f.ends_with('W') => {
            DayOfMonth::NearestWeekday(value(&f[..f.len() - 1], 1, 31, &[])? as i8)
        }
        f => DayOfMonth::Set(set(f, 1, 31, &[])?),
    })
}

fn day_of_week(field: &str) -> Result<DayOfWeek, String> {
    Ok(match field {
        "?" => DayOfWeek::Any,
        "L" => DayOfWeek::Last(7),
        f if f.len() > 1 && f.ends_with('L') => {
            DayOfWeek::Last(value(&f[..f.len() - 1], 1, 7, &WEEKDAYS)? as i8)
        }
        f if f.contains('#') => {
            let (d, n) = f.split_once('#').unwrap_or((f, ""));
            let n = value(n, 1, 5, &[])?;
            DayOfWeek::Nth(value(d, 1, 7, &WEEKDAYS)? as i8, n as i8)
        }
        f => DayOfWeek::Set(set(f, 1, 7, &WEEKDAYS)?),
    })
}

impl Cron {
    /// Parses the six fields inside `cron(...)`.
    pub fn parse(expression: &str) -> Result<Cron, CronError> {
        let err = |why: String| CronError {
            expression: expression.to_owned(),
            why,
        };
        let fields: Vec<&str> = expression.split_whitespace().collect();
        let [mi, h, dom, mo, dow, y] = fields[..] else {
            return Err(err(format!(
                "{} fields; AWS cron takes 6 (Minutes Hours Day-of-month Month Day-of-week Year)",
                fields.len()
            )));
        };
        if (dom == "?") == (dow == "?") {
            return Err(err(
                "exactly one of Day-of-month and Day-of-week must be ?".into()
            ));
        }
        let field =
            |name: &str, r: Result<Vec<bool>, String>| r.map_err(|w| err(format!("{name}: {w}")));
        Ok(Cron {
            minutes: field("Minutes", set(mi, 0, 59, &[]))?,
            hours: field("Hours", set(h, 0, 23, &[]))?,
            days: day_of_month(dom).map_err(|w| err(format!("Day-of-month: {w}")))?,
            months: field("Month", set(mo, 1, 12, &MONTHS))?,
            weekdays: day_of_week(dow).map_err(|w| err(format!("Day-of-week: {w}")))?,
            years: field(
                "Year",
                set(y, i32::from(FIRST_YEAR), i32::from(LAST_YEAR), &[]),
            )?,
        })
    }

    fn day_matches(&self, d: Date) -> bool {
        let last = d.days_in_month();
        let weekday = |d: Date| d.weekday().to_sunday_one_offset();
        let is_weekday = |d: Date| (2..=6).contains(&weekday(d));
        let dom = match &self.days {
            DayOfMonth::Any => true,
            DayOfMonth::Set(s) => s[(d.day() - 1) as usize],
            DayOfMonth::Last => d.day() == last,
            DayOfMonth::LastWeekday => {
                let mut x = d.last_of_month();
                while !is_weekday(x) {
                    x = match x.yesterday() {
                        Ok(y) => y,
                        Err(_) => return false,
                    };
                }
                x == d
            }
            DayOfMonth::NearestWeekday(n) => {
                if *n > last {
                    return false;
                }
                let Ok(target) = d.first_of_month().checked_add((i64::from(*n) - 1).days()) else {
                    return false;
                };
                let nearest = match weekday(target) {
                    // Saturday: the Friday before, or the Monday after the 1st.
                    7 if *n == 1 => target.checked_add(2.days()),
                    7 => target.checked_sub(1.days()),
                    // Sunday: the Monday after, or the Friday before the last day.
                    1 if *n == last => target.checked_sub(2.days()),
                    1 => target.checked_add(1.days()),
                    _ => Ok(target),
                };
                nearest.is_ok_and(|x| x == d)
            }
        };
        let dow = match &self.weekdays {
            DayOfWeek::Any => true,
            DayOfWeek::Set(s) => s[(weekday(d) - 1) as usize],
            DayOfWeek::Last(w) => weekday(d) == *w && d.day() + 7 > last,
            DayOfWeek::Nth(w, n) => weekday(d) == *w && (d.day() - 1) / 7 + 1 == *n,
        };
        dom && dow
    }

    /// The first time strictly after `after` that the expression names, read in `tz` (a
    /// local time skipped by a daylight-saving change runs at the instant the clocks move
    /// past it, one repeated by it runs once, at its first occurrence); `None` when there is
    /// none before the end of 2199.
    pub fn next_after(&self, after: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        let mut date = after.to_zoned(tz.clone()).date();
        loop {
            let year = date.year();
            if !(FIRST_YEAR..=LAST_YEAR).contains(&year) {
                return None;
            }
            if !self.years[(year - FIRST_YEAR) as usize] {
                date = Date::new(year.checked_add(1)?, 1, 1).ok()?;
                continue;
            }
            if !self.months[(date.month() - 1) as usize] {
                date = date.last_of_month().tomorrow().ok()?;
                continue;
            }
            if self.day_matches(date) {
                for h in (0..24).filter(|h| self.hours[*h as usize]) {
                    for m in (0..60).filter(|m| self.minutes[*m as usize]) {
                        let dt: DateTime = date.at(h, m, 0, 0);
                        let Ok(z) = tz.to_ambiguous_zoned(dt).compatible() else {
                            continue;
                        };
                        if z.timestamp() > after {
                            return Some(z.timestamp());
                        }
                    }
                }
            }
            date = date.tomorrow().ok()?;
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().expect("a timestamp")
    }

    fn next(expr: &str, after: &str) -> String {
        Cron::parse(expr)
            .expect("parses")
            .next_after(at(after), &TimeZone::UTC)
            .map(|t| t.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn the_documented_examples_parse() {
        for e in [
            "0 10 * * ? *",
            "15 12 * * ? *",
            "0 18 ? * MON-FRI *",
            "0 8 1 * ? *",
            "0/15 * * * ? *",
            "0/10 * ? * MON-FRI *",
            "0/5 8-17 ? * MON-FRI *",
            "0 9 ? * 2#1 *",
            "0 0 L * ? *",
            "0 0 LW * ? *",
            "0 0 15W * ? *",
            "0 0 ? * 6L *",
            "30 2 * JAN,JUL ? 2027-2030",
        ] {
            assert!(Cron::parse(e).is_ok(), "{e}: {:?}", Cron::parse(e));
        }
    }

    #[test]
    fn five_fields_both_question_marks_or_out_of_range_values_are_refused() {
        assert!(Cron::parse("0 10 * * ?").is_err());
        assert!(Cron::parse("0 10 * * * *").is_err());
        assert!(Cron::parse("0 10 ? * ? *").is_err());
        assert!(Cron::parse("60 10 * * ? *").is_err());
        assert!(Cron::parse("0 24 * * ? *").is_err());
        assert!(Cron::parse("0 10 ? * 0 *").is_err(), "Sunday is 1, not 0");
        assert!(Cron::parse("0 10 * * ? 2200").is_err());
        assert!(Cron::parse("0/0 10 * * ? *").is_err());
    }

    #[test]
    fn ten_every_morning_utc_is_next_at_ten() {
        assert_eq!(
            next("0 10 * * ? *", "2026-12-01T09:59:00Z"),
            "2026-12-01T10:00:00Z"
        );
        assert_eq!(
            next("0 10 * * ? *", "2026-12-01T10:00:00Z"),
            "2026-12-02T10:00:00Z"
        );
    }

    #[test]
    fn six_pm_monday_to_friday_skips_the_weekend() {
        // 2026-12-04 is a Friday.
        assert_eq!(
            next("0 18 ? * MON-FRI *", "2026-12-04T18:00:00Z"),
            "2026-12-07T18:00:00Z"
        );
    }

    #[test]
    fn every_fifteen_minutes_runs_at_the_quarter_hours() {
        assert_eq!(
            next("0/15 * * * ? *", "2026-12-01T10:07:30Z"),
            "2026-12-01T10:15:00Z"
        );
        assert_eq!(
            next("0/15 * * * ? *", "2026-12-01T10:45:00Z"),
            "2026-12-01T11:00:00Z"
        );
    }

    #[test]
    fn last_day_last_weekday_nearest_weekday_and_nth_weekday_land_on_the_right_dates() {
        // February 2027 ends on Sunday the 28th; its last weekday is Friday the 26th.
        assert_eq!(
            next("0 0 L * ? *", "2027-02-01T00:00:00Z"),
            "2027-02-28T00:00:00Z"
        );
        assert_eq!(
            next("0 0 LW * ? *", "2027-02-01T00:00:00Z"),
            "2027-02-26T00:00:00Z"
        );
        // 2027-05-15 is a Saturday: the nearest weekday is Friday the 14th.
        assert_eq!(
            next("0 0 15W * ? *", "2027-05-01T00:00:00Z"),
            "2027-05-14T00:00:00Z"
        );
        // The first Monday of December 2026 is the 7th; the last Friday is the 25th.
        assert_eq!(
            next("0 9 ? * 2#1 *", "2026-12-01T00:00:00Z"),
            "2026-12-07T09:00:00Z"
        );
        assert_eq!(
            next("0 0 ? * 6L *", "2026-12-01T00:00:00Z"),
            "2026-12-25T00:00:00Z"
        );
    }

    #[test]
    fn a_year_field_limits_the_runs_and_a_past_year_never_runs() {
        assert_eq!(
            next("0 0 1 JAN ? 2028", "2026-12-01T00:00:00Z"),
            "2028-01-01T00:00:00Z"
        );
        assert_eq!(next("0 0 1 JAN ? 2026", "2026-12-01T00:00:00Z"), "");
    }

    #[test]
    fn ten_in_new_york_is_fifteen_utc_in_winter_and_fourteen_in_summer() {
        let tz = TimeZone::get("America/New_York").expect("zoneinfo");
        let c = Cron::parse("0 10 * * ? *").unwrap();
        assert_eq!(
            c.next_after(at("2026-12-01T00:00:00Z"), &tz)
                .unwrap()
                .to_string(),
            "2026-12-01T15:00:00Z"
        );
        assert_eq!(
            c.next_after(at("2026-07-01T00:00:00Z"), &tz)
                .unwrap()
                .to_string(),
            "2026-07-01T14:00:00Z"
        );
    }

    #[test]
    fn a_local_time_skipped_by_daylight_saving_runs_when_the_clocks_move_past_it() {
        // 2027-03-14 02:30 does not exist in New York (02:00 → 03:00).
        let tz = TimeZone::get("America/New_York").expect("zoneinfo");
        let c = Cron::parse("30 2 * * ? *").unwrap();
        let t = c.next_after(at("2027-03-14T05:00:00Z"), &tz).unwrap();
        assert_eq!(t.to_string(), "2027-03-14T07:30:00Z");
    }

    proptest! {
        #[test]
        fn the_next_run_is_after_the_instant_and_matches_its_fields(
            secs in 1_700_000_000i64..2_000_000_000, minute in 0u8..60, hour in 0u8..24,
        ) {
            let after = Timestamp::from_second(secs).unwrap();
            let c = Cron::parse(&format!("{minute} {hour} * * ? *")).unwrap();
            let n = c.next_after(after, &TimeZone::UTC).unwrap();
            prop_assert!(n > after);
            prop_assert!(n.as_second() - after.as_second() <= 86_400);
            let dt = n.to_zoned(TimeZone::UTC).datetime();
            prop_assert_eq!((dt.minute(), dt.hour(), dt.second()), (minute as i8, hour as i8, 0));
        }

        #[test]
        fn no_input_makes_the_parser_panic(s in "[0-9A-Z*?/,#LW -]{0,40}") {
            let _ = Cron::parse(&s);
        }
    }
}
