//! A signing secret, `whsec_` + base64 of 24 to 64 random bytes, and the
//! signature the specification defines: base64 of HMAC-SHA256 over
//! `{id}.{timestamp}.{body}`.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretBox};
use sha2::Sha256;

const PREFIX: &str = "whsec_";

pub struct WebhookSecret(SecretBox<Vec<u8>>);

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("whsec_[redacted]")
    }
}

impl Clone for WebhookSecret {
    fn clone(&self) -> Self {
        Self(SecretBox::new(Box::new(self.0.expose_secret().clone())))
    }
}

impl WebhookSecret {
    /// Parses one secret. Errors never include it.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let encoded = raw
            .trim()
            .strip_prefix(PREFIX)
            .ok_or("expected whsec_ followed by base64")?;
        let key = STANDARD
            .decode(encoded)
            .map_err(|_| "the part after whsec_ is not base64")?;
        if !(24..=64).contains(&key.len()) {
            return Err(format!(
                "expected 24 to 64 random bytes after whsec_, got {}",
                key.len()
            ));
        }
        Ok(Self(SecretBox::new(Box::new(key))))
    }

    /// `v1,<signature>` of one message.
    pub(crate) fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        format!("v1,{}", STANDARD.encode(self.mac(id, timestamp, body)))
    }

    /// Whether `signature` (one `v1,<base64>` entry) is this secret's, in
    /// constant time.
    pub(crate) fn verifies(&self, id: &str, timestamp: i64, body: &[u8], signature: &str) -> bool {
        let Some(given) = signature
            .strip_prefix("v1,")
            .and_then(|s| STANDARD.decode(s).ok())
        else {
            return false;
        };
        let mut mac = self.hmac();
        mac.update(&content(id, timestamp, body));
        mac.verify_slice(&given).is_ok()
    }

    fn mac(&self, id: &str, timestamp: i64, body: &[u8]) -> Vec<u8> {
        let mut mac = self.hmac();
        mac.update(&content(id, timestamp, body));
        mac.finalize().into_bytes().to_vec()
    }

    fn hmac(&self) -> Hmac<Sha256> {
        <Hmac<Sha256> as Mac>::new_from_slice(self.0.expose_secret())
            .expect("HMAC takes a key of any length")
    }
}

fn content(id: &str, timestamp: i64, body: &[u8]) -> Vec<u8> {
    let mut signed = format!("{id}.{timestamp}.").into_bytes();
    signed.extend_from_slice(body);
    signed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_checked_and_never_echoed() {
        let ok = format!("whsec_{}", STANDARD.encode([7u8; 32]));
        assert!(WebhookSecret::parse(&ok).is_ok());
        for bad in [
            STANDARD.encode([7u8; 32]),
            "whsec_not*base64".to_owned(),
            format!("whsec_{}", STANDARD.encode([7u8; 16])),
            format!("whsec_{}", STANDARD.encode([7u8; 65])),
        ] {
            let err = WebhookSecret::parse(&bad).unwrap_err();
            assert!(!err.contains(&bad), "{err}");
        }
        assert_eq!(
            format!("{:?}", WebhookSecret::parse(&ok).unwrap()),
            "whsec_[redacted]"
        );
    }

    #[test]
    fn a_signature_verifies_only_what_was_signed() {
        let secret =
            WebhookSecret::parse(&format!("whsec_{}", STANDARD.encode([1u8; 24]))).unwrap();
        let sig = secret.sign("evt_1", 1_700_000_000, b"{}");
        assert!(secret.verifies("evt_1", 1_700_000_000, b"{}", &sig));
        assert!(!secret.verifies("evt_1", 1_700_000_001, b"{}", &sig));
        assert!(!secret.verifies("evt_2", 1_700_000_000, b"{}", &sig));
        assert!(!secret.verifies("evt_1", 1_700_000_000, b"{ }", &sig));
    }
}
