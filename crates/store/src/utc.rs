//! UTC calendar time without a date crate: a [`SystemTime`] becomes seconds since 1970-01-01,
//! split into days and seconds of day, and the day count becomes a proleptic Gregorian date by
//! Howard Hinnant's `civil_from_days` (eras of 400 years = 146 097 days). Used for run directory
//! names (`yyyymmdd-hhmmss`) and the manifest's RFC 3339 timestamps.

use std::time::{SystemTime, UNIX_EPOCH};

/// A UTC instant broken into calendar fields (second precision).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UtcDateTime {
    /// Proleptic Gregorian year.
    pub year: i64,
    /// 1..=12.
    pub month: u32,
    /// 1..=31.
    pub day: u32,
    /// 0..=23.
    pub hour: u32,
    /// 0..=59.
    pub minute: u32,
    /// 0..=59 (the system clock does not report leap seconds).
    pub second: u32,
}

impl UtcDateTime {
    /// The calendar fields of `t`, truncated to the whole second (towards the past, also before
    /// 1970).
    pub fn from_system_time(t: SystemTime) -> Self {
        let secs: i64 = match t.duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            Err(e) => {
                let d = e.duration();
                let whole = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
                // Floor, not truncation: 0.5 s before the epoch is 1969-12-31T23:59:59.
                -whole - i64::from(d.subsec_nanos() > 0)
            }
        };
        Self::from_unix_seconds(secs)
    }

    /// The calendar fields of `secs` seconds after 1970-01-01T00:00:00Z (negative: before).
    pub fn from_unix_seconds(secs: i64) -> Self {
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        // sod < 86 400, so these casts are exact.
        UtcDateTime {
            year,
            month,
            day,
            hour: (sod / 3600) as u32,
            minute: (sod % 3600 / 60) as u32,
            second: (sod % 60) as u32,
        }
    }

    /// RFC 3339 with a `Z` offset, e.g. `2024-05-01T12:34:56Z`.
    pub fn rfc3339(&self) -> String {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }

    /// The compact form used in run directory names, e.g. `20240501-123456`.
    pub fn compact(&self) -> String {
        format!(
            "{:04}{:02}{:02}-{:02}{:02}{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

/// The current UTC time in RFC 3339 (`2024-05-01T12:34:56Z`).
pub fn utc_now_rfc3339() -> String {
    UtcDateTime::from_system_time(SystemTime::now()).rfc3339()
}

/// (year, month, day) of the day `z` days after 1970-01-01 (Hinnant's `civil_from_days`).
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    // Shift the epoch to 0000-03-01 so that leap days fall at the end of a year.
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11], March = 0
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32; // [1, 31]
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32; // [1, 12]
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn known_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(11_017), (2000, 3, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        assert_eq!(civil_from_days(-719_468), (0, 3, 1));
        // 2100 is not a leap year.
        assert_eq!(civil_from_days(47_540), (2100, 2, 28));
        assert_eq!(civil_from_days(47_541), (2100, 3, 1));
    }

    #[test]
    fn consecutive_days_advance_by_one() {
        let mut prev = civil_from_days(-800_000);
        for z in -799_999..800_000 {
            let cur = civil_from_days(z);
            let next_same_month = (prev.0, prev.1, prev.2 + 1);
            let next_month = if prev.1 == 12 {
                (prev.0 + 1, 1, 1)
            } else {
                (prev.0, prev.1 + 1, 1)
            };
            assert!(
                cur == next_same_month || cur == next_month,
                "{prev:?} -> {cur:?}"
            );
            prev = cur;
        }
    }

    #[test]
    fn formats() {
        // 2009-02-13T23:31:30Z
        let t = UNIX_EPOCH + Duration::from_secs(1_234_567_890);
        let u = UtcDateTime::from_system_time(t);
        assert_eq!(u.rfc3339(), "2009-02-13T23:31:30Z");
        assert_eq!(u.compact(), "20090213-233130");
        let before = UNIX_EPOCH - Duration::from_millis(500);
        assert_eq!(
            UtcDateTime::from_system_time(before).rfc3339(),
            "1969-12-31T23:59:59Z"
        );
        assert_eq!(utc_now_rfc3339().len(), 20);
    }
}
