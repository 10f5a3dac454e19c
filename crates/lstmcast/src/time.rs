//! Timestamps and sampling frequencies: parsing ISO 8601 dates, datetimes and integer indices,
//! inferring a regular step, and continuing a series into the future (calendar-aware for months).

use chrono::{DateTime, Datelike, Duration, FixedOffset, Months, NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};
use std::fmt;

/// One point in time of a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Timestamp {
    /// An integer index (step, period number).
    Index(i64),
    /// A calendar date without time of day.
    Date(NaiveDate),
    /// A date and time; `offset` is the UTC offset in seconds when the text had one.
    DateTime {
        /// Local (wall-clock) date and time as written.
        local: NaiveDateTime,
        /// UTC offset in seconds, `None` for a naive datetime.
        offset: Option<i32>,
    },
}

impl Timestamp {
    /// Parses an ISO 8601 date (`2020-01-31`), datetime (`2020-01-31T12:00`, `2020-01-31 12:00:05`,
    /// optional fractional seconds, optional `Z` or `±HH:MM` offset) or an integer index.
    /// Returns `None` when the text is none of these.
    pub fn parse(text: &str) -> Option<Timestamp> {
        let s = text.trim();
        if s.is_empty() {
            return None;
        }
        if let Ok(i) = s.parse::<i64>() {
            return Some(Timestamp::Index(i));
        }
        if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            return Some(Timestamp::Date(d));
        }
        let with_t = s.replacen(' ', "T", 1);
        // Offsets: `Z`, `+01:00`, `+0100`.
        for fmt in [
            "%Y-%m-%dT%H:%M:%S%.f%:z",
            "%Y-%m-%dT%H:%M%:z",
            "%Y-%m-%dT%H:%M:%S%.f%z",
            "%Y-%m-%dT%H:%M%z",
        ] {
            let candidate = if let Some(stripped) = with_t.strip_suffix('Z') {
                format!("{stripped}+00:00")
            } else {
                with_t.clone()
            };
            if let Ok(dt) = DateTime::<FixedOffset>::parse_from_str(&candidate, fmt) {
                return Some(Timestamp::DateTime {
                    local: dt.naive_local(),
                    offset: Some(dt.offset().local_minus_utc()),
                });
            }
        }
        for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
            if let Ok(local) = NaiveDateTime::parse_from_str(&with_t, fmt) {
                return Some(Timestamp::DateTime {
                    local,
                    offset: None,
                });
            }
        }
        None
    }

    /// Seconds since the Unix epoch in UTC (naive times read as UTC); the index itself for
    /// [`Timestamp::Index`]. Used for ordering and spacing.
    pub fn seconds(&self) -> i64 {
        match *self {
            Timestamp::Index(i) => i,
            Timestamp::Date(d) => d
                .and_hms_opt(0, 0, 0)
                .map(|t| t.and_utc().timestamp())
                .unwrap_or(0),
            Timestamp::DateTime { local, offset } => {
                local.and_utc().timestamp() - offset.unwrap_or(0) as i64
            }
        }
    }

    fn local(&self) -> Option<NaiveDateTime> {
        match *self {
            Timestamp::Index(_) => None,
            Timestamp::Date(d) => d.and_hms_opt(0, 0, 0),
            Timestamp::DateTime { local, .. } => Some(local),
        }
    }

    fn with_local(&self, local: NaiveDateTime) -> Timestamp {
        match *self {
            Timestamp::Index(i) => Timestamp::Index(i),
            Timestamp::Date(_) => Timestamp::Date(local.date()),
            Timestamp::DateTime { offset, .. } => Timestamp::DateTime { local, offset },
        }
    }

    /// Whether the two timestamps are of the same kind (index, date, datetime).
    pub fn same_kind(&self, other: &Timestamp) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(other)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Timestamp::Index(i) => write!(f, "{i}"),
            Timestamp::Date(d) => write!(f, "{}", d.format("%Y-%m-%d")),
            Timestamp::DateTime { local, offset } => {
                write!(f, "{}", local.format("%Y-%m-%dT%H:%M:%S"))?;
                match offset {
                    None => Ok(()),
                    Some(0) => write!(f, "Z"),
                    Some(o) => {
                        let sign = if o < 0 { '-' } else { '+' };
                        let a = o.abs();
                        write!(f, "{sign}{:02}:{:02}", a / 3600, (a % 3600) / 60)
                    }
                }
            }
        }
    }
}

/// Date and datetime layouts recognised besides ISO 8601 (chrono patterns), each unambiguous on
/// its own. `%d/%m/%Y` and `%m/%d/%Y` are told apart by the values (a field above 12), and are
/// ambiguous when every value fits both.
pub const TIME_FORMATS: [&str; 14] = [
    "%Y/%m/%d",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y.%m.%d",
    "%d.%m.%Y",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%Y-%m",
    "%d/%m/%Y",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%m/%d/%Y",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
];

/// Parses `text` with a chrono pattern: a date when the pattern has no time of day, else a naive
/// datetime. `%Y-%m` (months) reads as the first day of the month.
pub fn parse_with(text: &str, pattern: &str) -> Option<Timestamp> {
    let s = text.trim();
    if pattern == "%Y-%m" {
        return NaiveDate::parse_from_str(&format!("{s}-01"), "%Y-%m-%d")
            .ok()
            .map(Timestamp::Date);
    }
    if let Ok(local) = NaiveDateTime::parse_from_str(s, pattern) {
        return Some(Timestamp::DateTime {
            local,
            offset: None,
        });
    }
    NaiveDate::parse_from_str(s, pattern)
        .ok()
        .map(Timestamp::Date)
}

/// Writes `t` in `pattern` (the input's own layout), or ISO 8601 without one.
pub fn format_with(t: &Timestamp, pattern: Option<&str>) -> String {
    match (pattern, t.local()) {
        (Some(p), Some(local)) => local.format(p).to_string(),
        _ => t.to_string(),
    }
}

/// A regular sampling step, inferred from the timestamps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "unit", content = "every", rename_all = "snake_case")]
pub enum Frequency {
    /// An integer index stepping by this amount.
    Step(i64),
    /// A fixed number of seconds (seconds, minutes, hours, days, weeks).
    Seconds(i64),
    /// A number of calendar months (1 monthly, 3 quarterly, 12 yearly), same day of month.
    Months(u32),
    /// Business days: Monday to Friday, one day apart, Friday followed by Monday.
    BusinessDays,
}

impl Frequency {
    /// Human-readable name: "monthly", "hourly", "every 30 minutes", ...
    pub fn describe(&self) -> String {
        match *self {
            Frequency::BusinessDays => "business days (Monday to Friday)".into(),
            Frequency::Step(1) => "integer index, step 1".into(),
            Frequency::Step(s) => format!("integer index, step {s}"),
            Frequency::Months(1) => "monthly".into(),
            Frequency::Months(3) => "quarterly".into(),
            Frequency::Months(12) => "yearly".into(),
            Frequency::Months(m) => format!("every {m} months"),
            Frequency::Seconds(s) => match s {
                604_800 => "weekly".into(),
                86_400 => "daily".into(),
                3_600 => "hourly".into(),
                60 => "every minute".into(),
                1 => "every second".into(),
                s if s % 86_400 == 0 => format!("every {} days", s / 86_400),
                s if s % 3_600 == 0 => format!("every {} hours", s / 3_600),
                s if s % 60 == 0 => format!("every {} minutes", s / 60),
                s => format!("every {s} seconds"),
            },
        }
    }

    /// The usual seasonal period for this frequency: 24 hourly, 48 half-hourly, 7 daily,
    /// 5 business days, 52 weekly, 12 monthly, 4 quarterly, else 1.
    pub fn default_season(&self) -> usize {
        match *self {
            Frequency::Seconds(3_600) => 24,
            Frequency::Seconds(1_800) => 48,
            Frequency::Seconds(86_400) => 7,
            Frequency::Seconds(604_800) => 52,
            Frequency::Months(1) => 12,
            Frequency::Months(3) => 4,
            Frequency::BusinessDays => 5,
            _ => 1,
        }
    }

    /// The timestamp `k` steps after `t`. Months keep the day of month (clamped to the month's end).
    pub fn advance(&self, t: &Timestamp, k: i64) -> Option<Timestamp> {
        match (*self, t) {
            (Frequency::Step(s), Timestamp::Index(i)) => Some(Timestamp::Index(i + s * k)),
            (Frequency::Seconds(s), _) => {
                let local = t.local()?;
                Some(t.with_local(local.checked_add_signed(Duration::seconds(s * k))?))
            }
            (Frequency::Months(m), _) => {
                let local = t.local()?;
                let months = Months::new(u32::try_from(m as i64 * k).ok()?);
                Some(t.with_local(local.checked_add_months(months)?))
            }
            (Frequency::BusinessDays, _) => {
                let mut local = t.local()?;
                let dir = k.signum();
                for _ in 0..k.unsigned_abs() {
                    local = local.checked_add_signed(Duration::days(dir))?;
                    while is_weekend(local) {
                        local = local.checked_add_signed(Duration::days(dir))?;
                    }
                }
                Some(t.with_local(local))
            }
            _ => None,
        }
    }

    /// Parses a frequency name: `D` (daily), `B` (business days), `H` (hourly), `W` (weekly),
    /// `M` (monthly), `Q` (quarterly), `Y` (yearly), `min` (minutes) and `s` (seconds), with an
    /// optional count (`30min`, `2H`, `6M`), or `step` / `5step` for an integer index.
    ///
    /// # Errors
    /// Any other text.
    pub fn parse(text: &str) -> Result<Frequency, String> {
        let t = text.trim();
        let digits = t.chars().take_while(char::is_ascii_digit).count();
        let n: i64 = if digits == 0 {
            1
        } else {
            t[..digits].parse().unwrap_or(0)
        };
        let bad = || {
            format!("'{text}' is not a frequency; use D, B (business days), H, W, M, Q, Y, min or s, optionally with a count (30min, 2H), or step")
        };
        if n <= 0 {
            return Err(bad());
        }
        Ok(match &t[digits..] {
            "s" | "S" => Frequency::Seconds(n),
            "min" | "T" => Frequency::Seconds(60 * n),
            "H" | "h" => Frequency::Seconds(3_600 * n),
            "D" | "d" => Frequency::Seconds(86_400 * n),
            "W" | "w" => Frequency::Seconds(604_800 * n),
            "B" | "b" if n == 1 => Frequency::BusinessDays,
            "M" | "MS" => Frequency::Months(u32::try_from(n).map_err(|_| bad())?),
            "Q" | "QS" => Frequency::Months(u32::try_from(3 * n).map_err(|_| bad())?),
            "Y" | "A" | "YS" => Frequency::Months(u32::try_from(12 * n).map_err(|_| bad())?),
            "step" => Frequency::Step(n),
            _ => return Err(bad()),
        })
    }
}

fn is_weekend(d: NaiveDateTime) -> bool {
    matches!(d.weekday(), chrono::Weekday::Sat | chrono::Weekday::Sun)
}

/// What the inference found: a regular frequency, or the first irregular gap.
#[derive(Debug, Clone, PartialEq)]
pub enum Spacing {
    /// Every consecutive pair is one step of this frequency.
    Regular(Frequency),
    /// Not regular: the most common step, and the first pair (0-based row indices) that breaks it.
    Irregular {
        /// The most common spacing, if it is itself a known frequency.
        typical: Option<Frequency>,
        /// Row index of the first timestamp of the first odd pair.
        first_odd_row: usize,
        /// Description of the odd gap.
        gap: String,
    },
}

fn month_index(d: NaiveDateTime) -> i64 {
    d.year() as i64 * 12 + d.month0() as i64
}

/// Infers the sampling frequency of strictly increasing timestamps (at least two).
pub fn infer_frequency(ts: &[Timestamp]) -> Spacing {
    if ts.len() < 2 {
        return Spacing::Irregular {
            typical: None,
            first_odd_row: 0,
            gap: "fewer than two timestamps".into(),
        };
    }
    // Index data: integer steps.
    if let Timestamp::Index(_) = ts[0] {
        let step = ts[1].seconds() - ts[0].seconds();
        return match ts
            .windows(2)
            .position(|w| w[1].seconds() - w[0].seconds() != step)
        {
            None => Spacing::Regular(Frequency::Step(step)),
            Some(i) => Spacing::Irregular {
                typical: Some(Frequency::Step(step)),
                first_odd_row: i,
                gap: format!(
                    "{} → {} (step {}, expected {step})",
                    ts[i],
                    ts[i + 1],
                    ts[i + 1].seconds() - ts[i].seconds()
                ),
            },
        };
    }
    // Calendar months: same day-of-month and time, whole month steps.
    let locals: Vec<NaiveDateTime> = ts.iter().filter_map(|t| t.local()).collect();
    let same_anchor = locals
        .iter()
        .all(|d| d.day() == locals[0].day() && d.time() == locals[0].time());
    if same_anchor && locals[0].day() <= 28 {
        let step = month_index(locals[1]) - month_index(locals[0]);
        if step > 0 {
            return match locals
                .windows(2)
                .position(|w| month_index(w[1]) - month_index(w[0]) != step)
            {
                None => Spacing::Regular(Frequency::Months(step as u32)),
                Some(i) => Spacing::Irregular {
                    typical: Some(Frequency::Months(step as u32)),
                    first_odd_row: i,
                    gap: format!("{} → {}", ts[i], ts[i + 1]),
                },
            };
        }
    }
    // Business days: every row on a weekday at the same time, each the next weekday after the
    // one before (and at least one Friday followed by a Monday, else it is plain daily).
    let business = Frequency::BusinessDays;
    let weekend_jump = locals
        .windows(2)
        .any(|w| w[0].weekday() == chrono::Weekday::Fri && (w[1] - w[0]).num_days() == 3);
    if weekend_jump
        && locals
            .iter()
            .all(|d| !is_weekend(*d) && d.time() == locals[0].time())
    {
        let odd: Vec<usize> = ts
            .windows(2)
            .enumerate()
            .filter(|(_, w)| business.advance(&w[0], 1) != Some(w[1]))
            .map(|(i, _)| i)
            .collect();
        match odd.first() {
            None => return Spacing::Regular(business),
            // Mostly business days, with gaps (holidays, missing days).
            Some(&i) if odd.len() * 4 < ts.len() => {
                return Spacing::Irregular {
                    typical: Some(business),
                    first_odd_row: i,
                    gap: format!("{} → {}, expected the next business day", ts[i], ts[i + 1]),
                }
            }
            Some(_) => {}
        }
    }
    // Fixed seconds: the most common gap among the first 1000 must hold everywhere.
    let gaps: Vec<i64> = ts
        .windows(2)
        .map(|w| w[1].seconds() - w[0].seconds())
        .collect();
    let mut sample: Vec<i64> = gaps.iter().take(1000).copied().collect();
    sample.sort_unstable();
    let mut best = (sample[0], 0usize);
    let mut run = (sample[0], 0usize);
    for &g in &sample {
        if g == run.0 {
            run.1 += 1;
        } else {
            run = (g, 1);
        }
        if run.1 > best.1 {
            best = run;
        }
    }
    let step = best.0;
    match gaps.iter().position(|&g| g != step) {
        None => Spacing::Regular(Frequency::Seconds(step)),
        Some(i) => Spacing::Irregular {
            typical: Some(Frequency::Seconds(step)),
            first_odd_row: i,
            gap: format!(
                "{} → {} is {}, expected {}",
                ts[i],
                ts[i + 1],
                Frequency::Seconds(gaps[i])
                    .describe()
                    .trim_start_matches("every "),
                Frequency::Seconds(step).describe()
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(xs: &[&str]) -> Vec<Timestamp> {
        xs.iter().map(|s| Timestamp::parse(s).unwrap()).collect()
    }

    #[test]
    fn parses_every_supported_form() {
        assert!(matches!(
            Timestamp::parse("2020-01-31"),
            Some(Timestamp::Date(_))
        ));
        assert!(matches!(Timestamp::parse("17"), Some(Timestamp::Index(17))));
        for s in [
            "2020-01-31T12:00",
            "2020-01-31 12:00",
            "2020-01-31T12:00:05",
            "2020-01-31 12:00:05.250",
        ] {
            assert!(
                matches!(
                    Timestamp::parse(s),
                    Some(Timestamp::DateTime { offset: None, .. })
                ),
                "{s}"
            );
        }
        let z = Timestamp::parse("2013-01-01T06:00:00Z").unwrap();
        let plus = Timestamp::parse("2013-01-01T07:00:00+01:00").unwrap();
        assert_eq!(z.seconds(), plus.seconds(), "same instant in two offsets");
        assert_eq!(z.to_string(), "2013-01-01T06:00:00Z");
        assert_eq!(plus.to_string(), "2013-01-01T07:00:00+01:00");
        for bad in ["", "yesterday", "2020-13-01", "2020-02-30", "1.5"] {
            assert_eq!(Timestamp::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn infers_daily_monthly_hourly_half_hourly_and_integer() {
        let daily = parse_all(&["2021-03-01", "2021-03-02", "2021-03-03"]);
        assert_eq!(
            infer_frequency(&daily),
            Spacing::Regular(Frequency::Seconds(86_400))
        );
        let monthly = parse_all(&[
            "2020-11-01",
            "2020-12-01",
            "2021-01-01",
            "2021-02-01",
            "2021-03-01",
        ]);
        assert_eq!(
            infer_frequency(&monthly),
            Spacing::Regular(Frequency::Months(1))
        );
        let quarterly = parse_all(&["2020-01-01", "2020-04-01", "2020-07-01"]);
        assert_eq!(
            infer_frequency(&quarterly),
            Spacing::Regular(Frequency::Months(3))
        );
        let hourly = parse_all(&[
            "2013-01-01T22:00:00Z",
            "2013-01-01T23:00:00Z",
            "2013-01-02T00:00:00Z",
        ]);
        assert_eq!(
            infer_frequency(&hourly),
            Spacing::Regular(Frequency::Seconds(3_600))
        );
        let half = parse_all(&["2020-01-01 00:00", "2020-01-01 00:30", "2020-01-01 01:00"]);
        let f = match infer_frequency(&half) {
            Spacing::Regular(f) => f,
            other => panic!("{other:?}"),
        };
        assert_eq!(f, Frequency::Seconds(1_800));
        assert_eq!(f.describe(), "every 30 minutes");
        assert_eq!(f.default_season(), 48);
        let ints = parse_all(&["0", "2", "4", "6"]);
        assert_eq!(infer_frequency(&ints), Spacing::Regular(Frequency::Step(2)));
    }

    #[test]
    fn irregular_spacing_names_the_first_odd_gap() {
        let ts = parse_all(&["2021-03-01", "2021-03-02", "2021-03-05", "2021-03-06"]);
        match infer_frequency(&ts) {
            Spacing::Irregular {
                typical,
                first_odd_row,
                gap,
            } => {
                assert_eq!(typical, Some(Frequency::Seconds(86_400)));
                assert_eq!(first_odd_row, 1);
                assert!(
                    gap.contains("2021-03-02") && gap.contains("2021-03-05"),
                    "{gap}"
                );
            }
            other => panic!("expected irregular, got {other:?}"),
        }
    }

    #[test]
    fn business_days_are_inferred_and_continued_and_frequencies_parse() {
        // Thu, Fri, Mon, Tue.
        let b = parse_all(&["2021-03-04", "2021-03-05", "2021-03-08", "2021-03-09"]);
        assert_eq!(
            infer_frequency(&b),
            Spacing::Regular(Frequency::BusinessDays)
        );
        let fri = Timestamp::parse("2021-03-05").unwrap();
        assert_eq!(
            Frequency::BusinessDays
                .advance(&fri, 1)
                .unwrap()
                .to_string(),
            "2021-03-08"
        );
        assert_eq!(
            Frequency::BusinessDays
                .advance(&fri, 6)
                .unwrap()
                .to_string(),
            "2021-03-15"
        );
        // A missing Monday is an irregular gap in business days.
        let mut days = vec![
            "2021-03-01",
            "2021-03-02",
            "2021-03-03",
            "2021-03-04",
            "2021-03-05",
        ];
        days.extend([
            "2021-03-09",
            "2021-03-10",
            "2021-03-11",
            "2021-03-12",
            "2021-03-15",
        ]);
        match infer_frequency(&parse_all(&days)) {
            Spacing::Irregular { typical, gap, .. } => {
                assert_eq!(typical, Some(Frequency::BusinessDays));
                assert!(gap.contains("2021-03-05 → 2021-03-09"), "{gap}");
            }
            s => panic!("{s:?}"),
        }
        assert_eq!(Frequency::parse("B"), Ok(Frequency::BusinessDays));
        assert_eq!(Frequency::parse("30min"), Ok(Frequency::Seconds(1800)));
        assert_eq!(Frequency::parse("Q"), Ok(Frequency::Months(3)));
        assert_eq!(Frequency::parse("2step"), Ok(Frequency::Step(2)));
        assert!(Frequency::parse("fortnightly")
            .unwrap_err()
            .contains("business days"));
    }

    #[test]
    fn advance_is_calendar_aware() {
        let jan31 = Timestamp::parse("2021-01-31").unwrap();
        // Month-end data is not inferred as monthly (day 31 > 28), but advancing by months clamps.
        assert_eq!(
            Frequency::Months(1).advance(&jan31, 1).unwrap().to_string(),
            "2021-02-28"
        );
        let dec = Timestamp::parse("1960-12-01").unwrap();
        assert_eq!(
            Frequency::Months(1).advance(&dec, 1).unwrap().to_string(),
            "1961-01-01"
        );
        assert_eq!(
            Frequency::Months(3).advance(&dec, 2).unwrap().to_string(),
            "1961-06-01"
        );
        let t = Timestamp::parse("2020-01-01T23:30:00Z").unwrap();
        assert_eq!(
            Frequency::Seconds(1800).advance(&t, 1).unwrap().to_string(),
            "2020-01-02T00:00:00Z"
        );
        assert_eq!(
            Frequency::Step(5).advance(&Timestamp::Index(10), 3),
            Some(Timestamp::Index(25))
        );
    }
}
