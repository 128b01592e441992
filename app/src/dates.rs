//! Calendar dates from unix seconds, the same on server and browser (no time-zone data:
//! dates are shown by UTC day, which is precise enough for "last active" and ages).

/// Days since 1970-01-01 to a (year, month, day) civil date (Howard Hinnant's algorithm).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The UTC calendar date of a unix time.
pub fn date_of(unix: i64) -> (i64, u32, u32) {
    civil_from_days(unix.div_euclid(86_400))
}

/// “2026-11-22”: the UTC day as stored in per-day tables.
pub fn iso_day(unix: i64) -> String {
    let (year, month, day) = date_of(unix);
    format!("{year:04}-{month:02}-{day:02}")
}

/// “22 Nov 2026”.
pub fn format_day(unix: i64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (year, month, day) = date_of(unix);
    format!("{day} {} {year}", MONTHS[(month - 1) as usize])
}

/// “22 Nov 2026, 14:05 UTC”: for times that matter to the minute, such as when a link stops
/// working.
pub fn format_day_time(unix: i64) -> String {
    let seconds = unix.rem_euclid(86_400);
    format!(
        "{}, {:02}:{:02} UTC",
        format_day(unix),
        seconds / 3600,
        seconds % 3600 / 60
    )
}

/// Parses `YYYY-MM-DD` (what `<input type="date">` submits) into a real calendar date.
pub fn parse_iso_date(raw: &str) -> Option<(i64, u32, u32)> {
    let mut parts = raw.trim().splitn(3, '-');
    let year: i64 = parts.next()?.parse().ok()?;
    let month: u32 = parts.next()?.parse().ok()?;
    let day: u32 = parts.next()?.parse().ok()?;
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    (1..=days_in_month).contains(&day).then_some((year, month, day))
}

/// Whole years between a birth date and `today` (a birthday counts on its day).
pub fn age_on(birth: (i64, u32, u32), today: (i64, u32, u32)) -> i64 {
    let had_birthday = (today.1, today.2) >= (birth.1, birth.2);
    today.0 - birth.0 - i64::from(!had_birthday)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_414), (2025, 11, 22));
        assert_eq!(format_day(1_795_305_600), "22 Nov 2026");
        assert_eq!(
            format_day_time(1_795_305_600 + 14 * 3600 + 5 * 60 + 59),
            "22 Nov 2026, 14:05 UTC"
        );
    }

    #[test]
    fn iso_dates_must_exist() {
        assert_eq!(parse_iso_date("2012-02-29"), Some((2012, 2, 29)));
        assert_eq!(parse_iso_date("2013-02-29"), None);
        assert_eq!(parse_iso_date("2013-13-01"), None);
        assert_eq!(parse_iso_date("yesterday"), None);
        assert_eq!(parse_iso_date(""), None);
    }

    #[test]
    fn ages_count_whole_years() {
        assert_eq!(age_on((2013, 11, 22), (2026, 11, 22)), 13);
        assert_eq!(age_on((2013, 11, 23), (2026, 11, 22)), 12);
        assert_eq!(age_on((1990, 1, 1), (2026, 11, 22)), 36);
    }
}
