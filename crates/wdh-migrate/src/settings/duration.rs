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

#[cfg(test)]
mod tests {
    use super::*;

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
