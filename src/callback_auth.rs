//! The `CALLBACK_AUTH` syntax: how GTF proves a callback comes from it. The
//! simulator sends one credential; the service accepts several (rotation).

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::header::{AUTHORIZATION, HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};

/// One credential: `bearer:<secret>`, `basic:<user>:<password>` or
/// `header:<Header-Name>:<value>`.
#[derive(Clone)]
pub enum CallbackCredential {
    Bearer(SecretString),
    Basic {
        user: String,
        password: SecretString,
    },
    Header {
        name: HeaderName,
        value: SecretString,
    },
}

impl fmt::Debug for CallbackCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Bearer(_) => f.write_str("bearer:[redacted]"),
            Self::Basic { user, .. } => write!(f, "basic:{user}:[redacted]"),
            Self::Header { name, .. } => write!(f, "header:{name}:[redacted]"),
        }
    }
}

impl CallbackCredential {
    /// Parses one credential. Errors never include the secret part.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        let (scheme, rest) = raw
            .split_once(':')
            .ok_or("expected bearer:<secret>, basic:<user>:<password> or header:<Name>:<value>")?;
        let cred = match scheme.to_ascii_lowercase().as_str() {
            "bearer" => Self::Bearer(SecretString::from(non_empty(rest, "the bearer secret")?)),
            "basic" => {
                let (user, password) = rest
                    .split_once(':')
                    .ok_or("expected basic:<user>:<password>")?;
                Self::Basic {
                    user: non_empty(user, "the basic user")?.to_owned(),
                    password: SecretString::from(non_empty(password, "the basic password")?),
                }
            }
            "header" => {
                let (name, value) = rest
                    .split_once(':')
                    .ok_or("expected header:<Header-Name>:<value>")?;
                Self::Header {
                    name: HeaderName::from_bytes(non_empty(name, "the header name")?.as_bytes())
                        .map_err(|_| format!("{name:?} is not a valid header name"))?,
                    value: SecretString::from(non_empty(value, "the header value")?),
                }
            }
            other => {
                return Err(format!(
                    "unknown scheme {other:?}: expected bearer, basic or header"
                ));
            }
        };
        // Every form ends up in a header: refuse what a header cannot carry.
        cred.header()?;
        Ok(cred)
    }

    /// How many characters the secret part has (the bearer token, the
    /// basic password, the header value).
    pub(crate) fn secret_chars(&self) -> usize {
        match self {
            Self::Bearer(secret) => secret.expose_secret().chars().count(),
            Self::Basic { password, .. } => password.expose_secret().chars().count(),
            Self::Header { value, .. } => value.expose_secret().chars().count(),
        }
    }

    /// The header that carries this credential, marked sensitive so that
    /// HTTP tooling never prints it.
    pub(crate) fn header(&self) -> Result<(HeaderName, HeaderValue), String> {
        let (name, value) = match self {
            Self::Bearer(secret) => (AUTHORIZATION, format!("Bearer {}", secret.expose_secret())),
            Self::Basic { user, password } => (
                AUTHORIZATION,
                format!(
                    "Basic {}",
                    STANDARD.encode(format!("{user}:{}", password.expose_secret()))
                ),
            ),
            Self::Header { name, value } => (name.clone(), value.expose_secret().to_owned()),
        };
        let mut value = HeaderValue::from_str(&value)
            .map_err(|_| "the credential must be printable ASCII".to_owned())?;
        value.set_sensitive(true);
        Ok((name, value))
    }
}

fn non_empty<'a>(s: &'a str, what: &str) -> Result<&'a str, String> {
    if s.is_empty() {
        Err(format!("{what} is empty"))
    } else {
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_scheme_becomes_its_header() {
        let (name, value) = CallbackCredential::parse("bearer:s3cret")
            .unwrap()
            .header()
            .unwrap();
        assert_eq!(
            (name.as_str(), value.to_str().unwrap()),
            ("authorization", "Bearer s3cret")
        );

        let (name, value) = CallbackCredential::parse("basic:gtf:pa:ss")
            .unwrap()
            .header()
            .unwrap();
        assert_eq!(name, AUTHORIZATION);
        assert_eq!(
            value.to_str().unwrap(),
            format!("Basic {}", STANDARD.encode("gtf:pa:ss"))
        );

        let (name, value) = CallbackCredential::parse("header:X-Api-Key:k1")
            .unwrap()
            .header()
            .unwrap();
        assert_eq!(
            (name.as_str(), value.to_str().unwrap()),
            ("x-api-key", "k1")
        );
        assert!(value.is_sensitive());
    }

    #[test]
    fn malformed_credentials_are_refused_without_echoing_secrets() {
        for raw in [
            "none",
            "bearer:",
            "basic:user",
            "header:Bad Name:v",
            "token:abc",
        ] {
            assert!(CallbackCredential::parse(raw).is_err(), "{raw}");
        }
        let err = CallbackCredential::parse("bearer:top\nsecret").unwrap_err();
        assert!(!err.contains("secret"), "{err}");
    }

    #[test]
    fn debug_redacts_the_secret() {
        let cred = CallbackCredential::parse("basic:gtf:hunter2").unwrap();
        assert_eq!(format!("{cred:?}"), "basic:gtf:[redacted]");
    }
}
