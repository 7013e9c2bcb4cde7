//! Sizes ("512M", "1.5G", 4096) and durations ("10m", "30s", "500ms", 90),
//! checked when the file is read so errors carry the TOML line.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// Bytes. Units are binary (K = 1024), like docker and podman.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Size(pub u64);

/// Milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Duration(pub u64);

impl Duration {
    pub fn as_std(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.0)
    }
    /// Whole seconds, rounded up (rlimits count seconds).
    pub fn secs_ceil(&self) -> u64 {
        self.0.div_ceil(1000)
    }
}

fn split_number(s: &str) -> (&str, &str) {
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    (&s[..end], s[end..].trim())
}

impl std::str::FromStr for Size {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("invalid size {s:?} (expected bytes or a number with K, M, G or T)");
        let (num, unit) = split_number(s.trim());
        let n: f64 = num.parse().map_err(|_| bad())?;
        let mult: u64 = match unit.to_ascii_uppercase().trim_end_matches(['B', 'I']) {
            "" => 1,
            "K" => 1 << 10,
            "M" => 1 << 20,
            "G" => 1 << 30,
            "T" => 1 << 40,
            _ => return Err(bad()),
        };
        let bytes = n * mult as f64;
        if !bytes.is_finite() || bytes < 0.0 || bytes > u64::MAX as f64 {
            return Err(bad());
        }
        Ok(Size(bytes as u64))
    }
}

impl std::str::FromStr for Duration {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad =
            || format!("invalid duration {s:?} (expected seconds or a number with ms, s, m or h)");
        let (num, unit) = split_number(s.trim());
        let n: f64 = num.parse().map_err(|_| bad())?;
        let mult = match unit {
            "ms" => 1.0,
            "" | "s" => 1000.0,
            "m" | "min" => 60_000.0,
            "h" => 3_600_000.0,
            _ => return Err(bad()),
        };
        let ms = n * mult;
        if !ms.is_finite() || ms < 0.0 || ms > u64::MAX as f64 {
            return Err(bad());
        }
        Ok(Duration(ms as u64))
    }
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let b = self.0;
        for (unit, shift) in [("T", 40), ("G", 30), ("M", 20), ("K", 10)] {
            if b >= 1 << shift && b.is_multiple_of(1 << shift) {
                return write!(f, "{}{unit}", b >> shift);
            }
        }
        write!(f, "{b}")
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let ms = self.0;
        if ms.is_multiple_of(3_600_000) && ms > 0 {
            write!(f, "{}h", ms / 3_600_000)
        } else if ms.is_multiple_of(60_000) && ms > 0 {
            write!(f, "{}m", ms / 60_000)
        } else if ms.is_multiple_of(1000) {
            write!(f, "{}s", ms / 1000)
        } else {
            write!(f, "{ms}ms")
        }
    }
}

macro_rules! string_or_int {
    ($t:ty, $int:expr, $what:literal) => {
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = $t;
                    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                        f.write_str($what)
                    }
                    fn visit_str<E: de::Error>(self, s: &str) -> Result<$t, E> {
                        s.parse().map_err(E::custom)
                    }
                    fn visit_i64<E: de::Error>(self, n: i64) -> Result<$t, E> {
                        u64::try_from(n)
                            .map($int)
                            .map_err(|_| E::custom(format!("{n} must not be negative")))
                    }
                    fn visit_u64<E: de::Error>(self, n: u64) -> Result<$t, E> {
                        Ok($int(n))
                    }
                }
                d.deserialize_any(V)
            }
        }
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.to_string())
            }
        }
    };
}

string_or_int!(Size, Size, "a size: bytes or a string like \"512M\"");
string_or_int!(
    Duration,
    |n: u64| Duration(n.saturating_mul(1000)),
    "a duration: seconds or a string like \"10m\""
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!("512M".parse::<Size>().unwrap(), Size(512 << 20));
        assert_eq!("1.5G".parse::<Size>().unwrap(), Size(3 << 29));
        assert_eq!("64k".parse::<Size>().unwrap(), Size(65536));
        assert_eq!("2GiB".parse::<Size>().unwrap(), Size(2 << 30));
        assert_eq!("100".parse::<Size>().unwrap(), Size(100));
        assert!("12Q".parse::<Size>().is_err());
        assert!("-1M".parse::<Size>().is_err());
        assert_eq!(Size(512 << 20).to_string(), "512M");
    }

    #[test]
    fn durations() {
        assert_eq!("10m".parse::<Duration>().unwrap(), Duration(600_000));
        assert_eq!("500ms".parse::<Duration>().unwrap(), Duration(500));
        assert_eq!("2".parse::<Duration>().unwrap(), Duration(2000));
        assert_eq!("1.5s".parse::<Duration>().unwrap().secs_ceil(), 2);
        assert!("5 days".parse::<Duration>().is_err());
        assert_eq!(Duration(90_000).to_string(), "90s");
    }
}
