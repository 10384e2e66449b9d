//! A snapshot of the environment (process variables over `.env`) with typed,
//! named look-ups. Every failure names the variable and never echoes a secret.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use secrecy::SecretString;

/// A configuration problem: which variable, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub(crate) var: &'static str,
    pub(crate) problem: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.var, self.problem)
    }
}

impl std::error::Error for ConfigError {}

impl ConfigError {
    pub fn new(var: &'static str, problem: impl Into<String>) -> Self {
        Self {
            var,
            problem: problem.into(),
        }
    }
}

/// The variables visible to this process. Tests build one from pairs, so they
/// never mutate the process environment (which is `unsafe` in edition 2024).
#[derive(Debug, Clone, Default)]
pub struct Env {
    vars: HashMap<String, String>,
    /// Every variable looked up, so a test can prove `.env.example` lists
    /// all the variables the code reads.
    read: Arc<Mutex<BTreeSet<&'static str>>>,
}

impl Env {
    /// Process variables, with `.env` (when present) filling in the gaps.
    pub fn from_process() -> Self {
        let mut vars: HashMap<String, String> = dotenvy::dotenv_iter()
            .map(|iter| iter.filter_map(Result::ok).collect())
            .unwrap_or_default();
        vars.extend(std::env::vars());
        Self {
            vars,
            read: Arc::default(),
        }
    }

    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Self {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
            read: Arc::default(),
        }
    }

    /// The value, treating an empty or blank value as unset.
    pub(crate) fn optional(&self, var: &'static str) -> Option<&str> {
        if let Ok(mut read) = self.read.lock() {
            read.insert(var);
        }
        self.vars
            .get(var)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// The names of the variables looked up so far.
    pub fn names_read(&self) -> Vec<&'static str> {
        self.read
            .lock()
            .map(|read| read.iter().copied().collect())
            .unwrap_or_default()
    }

    pub(crate) fn required(&self, var: &'static str) -> Result<&str, ConfigError> {
        self.optional(var)
            .ok_or_else(|| ConfigError::new(var, "is required but not set"))
    }

    pub(crate) fn required_secret(&self, var: &'static str) -> Result<SecretString, ConfigError> {
        self.required(var).map(SecretString::from)
    }

    /// Parses an optional value with `FromStr`; `expected` describes the format
    /// in the error message.
    pub(crate) fn parse_or<T: FromStr>(
        &self,
        var: &'static str,
        default: T,
        expected: &str,
    ) -> Result<T, ConfigError> {
        match self.optional(var) {
            None => Ok(default),
            Some(raw) => raw
                .parse()
                .map_err(|_| ConfigError::new(var, format!("expected {expected}, got {raw:?}"))),
        }
    }

    pub(crate) fn millis_or(
        &self,
        var: &'static str,
        default_ms: u64,
    ) -> Result<Duration, ConfigError> {
        let ms = self.parse_or(var, default_ms, "a whole number of milliseconds")?;
        positive(var, Duration::from_millis(ms))
    }

    pub(crate) fn secs_or(
        &self,
        var: &'static str,
        default_secs: u64,
    ) -> Result<Duration, ConfigError> {
        let secs = self.parse_or(var, default_secs, "a whole number of seconds")?;
        positive(var, Duration::from_secs(secs))
    }

    /// A comma-separated list; blank items are dropped.
    pub(crate) fn list(&self, var: &'static str) -> Vec<String> {
        self.optional(var)
            .map(|raw| {
                raw.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn positive(var: &'static str, d: Duration) -> Result<Duration, ConfigError> {
    if d.is_zero() {
        Err(ConfigError::new(var, "must be greater than zero"))
    } else {
        Ok(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_values_count_as_unset() {
        let env = Env::from_pairs([("A", "  "), ("B", "x")]);
        assert_eq!(env.optional("A"), None);
        assert_eq!(env.required("A").unwrap_err().var, "A");
        assert_eq!(env.required("B").unwrap(), "x");
    }

    #[test]
    fn malformed_numbers_name_the_variable_and_the_value() {
        let env = Env::from_pairs([("GTF_TIMEOUT_MS", "ten")]);
        let err = env.millis_or("GTF_TIMEOUT_MS", 10_000).unwrap_err();
        assert_eq!(
            err.to_string(),
            "GTF_TIMEOUT_MS: expected a whole number of milliseconds, got \"ten\""
        );
    }

    #[test]
    fn zero_durations_are_refused() {
        let env = Env::from_pairs([("X", "0")]);
        assert!(env.secs_or("X", 5).is_err());
        assert_eq!(
            Env::default().secs_or("X", 5).unwrap(),
            Duration::from_secs(5)
        );
    }

    #[test]
    fn lists_drop_blank_items() {
        let env = Env::from_pairs([("L", " a, ,b ,")]);
        assert_eq!(env.list("L"), vec!["a", "b"]);
        assert!(env.list("MISSING").is_empty());
    }
}
