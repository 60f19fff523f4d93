//! Durations on the command line and in `wdh.toml`.

use std::time::Duration;

use anyhow::{anyhow, bail, Result};

/// `500ms`, `30s`, `2m`, `1h`; a bare number is seconds.
pub fn parse_duration(text: &str) -> Result<Duration> {
    let t = text.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| anyhow!("`{text}` is not a duration (e.g. 500ms, 30s, 2m)"))?;
    let secs = match unit.trim() {
        "ms" => n / 1000.0,
        "" | "s" => n,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        other => bail!("`{other}` is not a duration unit in `{text}` (use ms, s, m or h)"),
    };
    // PostgreSQL takes whole milliseconds up to i32::MAX, and 0 would mean "no limit".
    let max_ms = f64::from(i32::MAX);
    if secs * 1000.0 < 1.0 || secs * 1000.0 > max_ms {
        bail!("`{text}` is out of range: give at least 1ms and at most 596h (2^31 - 1 ms)");
    }
    Duration::try_from_secs_f64(secs).map_err(|_| anyhow!("`{text}` is not a duration"))
}

/// A duration that may be zero (`0`, `0s`, `0ms`, …), else as
/// [`parse_duration`].
pub fn parse_duration_or_zero(text: &str) -> Result<Duration> {
    let t = text.trim();
    let num = t.trim_end_matches(|c: char| c.is_ascii_alphabetic()).trim();
    if num.parse::<f64>().is_ok_and(|n| n == 0.0)
        && parse_duration(&format!("1{}", &t[num.len()..])).is_ok()
    {
        return Ok(Duration::ZERO);
    }
    parse_duration(text)
}

/// `--lock-timeout`: `FIRST..MAX` (doubling from FIRST to MAX), one
/// duration (the same for every attempt), or zero (none: the server's
/// `lock_timeout`, no retries).
pub fn parse_lock_timeout(text: &str) -> Result<Option<(Duration, Duration)>> {
    if let Some((first, max)) = text.split_once("..") {
        let first = parse_duration(first)?;
        let max = parse_duration(max)?;
        if first > max {
            bail!("`{text}` runs backwards: give the first attempt's lock_timeout first, e.g. 100ms..1s");
        }
        return Ok(Some((first, max)));
    }
    let d = parse_duration_or_zero(text)?;
    Ok((!d.is_zero()).then_some((d, d)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_timeouts() {
        let ms = Duration::from_millis;
        assert_eq!(
            parse_lock_timeout("100ms..1s").unwrap(),
            Some((ms(100), ms(1000)))
        );
        assert_eq!(
            parse_lock_timeout(" 2s ").unwrap(),
            Some((ms(2000), ms(2000)))
        );
        assert_eq!(parse_lock_timeout("0").unwrap(), None);
        assert_eq!(parse_lock_timeout("0ms").unwrap(), None);
        assert!(parse_lock_timeout("1s..100ms").is_err());
        assert!(
            parse_lock_timeout("0..1s").is_err(),
            "an attempt has a timeout"
        );
        assert!(parse_lock_timeout("100ms..").is_err());
        assert!(parse_lock_timeout("0 weeks").is_err());
        assert!(parse_lock_timeout("soon").is_err());
        assert_eq!(parse_duration_or_zero("0s").unwrap(), Duration::ZERO);
        assert_eq!(parse_duration_or_zero("60s").unwrap(), ms(60_000));
        assert!(parse_duration_or_zero("-1s").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("3").unwrap(), Duration::from_secs(3));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("3 weeks").is_err());
        assert!(
            parse_duration("0").is_err(),
            "0 would mean no limit to the server"
        );
        assert!(parse_duration("0.1ms").is_err());
        assert!(parse_duration("99999999999999999999999h").is_err());
        assert!(parse_duration("25d").is_err());
    }
}
