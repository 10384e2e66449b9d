//! Keys derived from `BFF_DATA_KEY`: AES-256-GCM for KTP personal data at
//! rest, and an HMAC that makes list cursors tamper-evident.

use std::fmt;

use aes_gcm::aead::{Aead, OsRng, Payload};
use aes_gcm::{AeadCore, Aes256Gcm, Key, KeyInit};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

/// A sealed record: which key, the nonce, and ciphertext with its tag.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Sealed {
    pub(crate) key_id: String,
    pub(crate) nonce: Vec<u8>,
    pub(crate) ciphertext: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum OpenError {
    #[error("the record was sealed with a key that is not configured")]
    UnknownKey,
    #[error("the record does not decrypt: wrong key, wrong row, or tampered")]
    Corrupt,
}

struct DataKey {
    id: String,
    cipher: Aes256Gcm,
}

/// The current data key, which seals, and earlier ones, which only open, so
/// that the key can be rotated without re-encrypting first.
pub(crate) struct DataKeys {
    current: DataKey,
    previous: Vec<DataKey>,
    cursor_mac_key: [u8; 32],
}

impl fmt::Debug for DataKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataKeys")
            .field("current", &self.current.id)
            .field(
                "previous",
                &self.previous.iter().map(|k| &k.id).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl DataKeys {
    /// Each key is base64 of 32 bytes. Errors never contain key material.
    pub(crate) fn from_base64(
        current: &SecretString,
        previous: &[SecretString],
    ) -> Result<Self, String> {
        let current_bytes = decode_key(current)?;
        Ok(Self {
            cursor_mac_key: derive(b"gtf-bff cursor v1", &current_bytes),
            current: DataKey::new(&current_bytes),
            previous: previous
                .iter()
                .map(|k| decode_key(k).map(|b| DataKey::new(&b)))
                .collect::<Result<_, _>>()?,
        })
    }

    /// Whether a record sealed under `key_id` can be opened.
    pub(crate) fn knows(&self, key_id: &str) -> bool {
        std::iter::once(&self.current)
            .chain(&self.previous)
            .any(|k| k.id == key_id)
    }

    /// The id stored beside what the current key seals.
    pub(crate) fn current_id(&self) -> &str {
        &self.current.id
    }

    /// Seals `plaintext`, bound to `context` (e.g. the row id) so that a
    /// ciphertext copied to another row does not open there.
    pub(crate) fn seal(&self, plaintext: &[u8], context: &[u8]) -> Sealed {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let ciphertext = self
            .current
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad: context,
                },
            )
            // Only fails for plaintexts beyond GCM's 64 GiB limit.
            .expect("AES-GCM encrypts any record of sane size");
        Sealed {
            key_id: self.current.id.clone(),
            nonce: nonce.to_vec(),
            ciphertext,
        }
    }

    pub(crate) fn open(&self, sealed: &Sealed, context: &[u8]) -> Result<Vec<u8>, OpenError> {
        let key = std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| k.id == sealed.key_id)
            .ok_or(OpenError::UnknownKey)?;
        let nonce: [u8; 12] = sealed
            .nonce
            .as_slice()
            .try_into()
            .map_err(|_| OpenError::Corrupt)?;
        key.cipher
            .decrypt(
                &aes_gcm::Nonce::from(nonce),
                Payload {
                    msg: &sealed.ciphertext,
                    aad: context,
                },
            )
            .map_err(|_| OpenError::Corrupt)
    }

    /// A URL-safe token carrying `payload`, which [`Self::verify_token`]
    /// gives back only if nobody changed it.
    pub(crate) fn sign_token(&self, payload: &[u8]) -> String {
        let mut token = URL_SAFE_NO_PAD.encode(payload);
        token.push('.');
        token.push_str(&URL_SAFE_NO_PAD.encode(self.token_mac(payload)));
        token
    }

    pub(crate) fn verify_token(&self, token: &str) -> Option<Vec<u8>> {
        let (payload, mac) = token.split_once('.')?;
        let payload = URL_SAFE_NO_PAD.decode(payload).ok()?;
        let mac = URL_SAFE_NO_PAD.decode(mac).ok()?;
        if mac.len() != 16 {
            return None;
        }
        let mut check = <Hmac<Sha256> as Mac>::new_from_slice(&self.cursor_mac_key).ok()?;
        check.update(&payload);
        // Compared in constant time.
        check.verify_truncated_left(&mac).ok()?;
        Some(payload)
    }

    fn token_mac(&self, payload: &[u8]) -> [u8; 16] {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.cursor_mac_key)
            .expect("HMAC takes keys of any length");
        mac.update(payload);
        let full = mac.finalize().into_bytes();
        let mut short = [0; 16];
        short.copy_from_slice(&full[..16]);
        short
    }
}

impl DataKey {
    fn new(bytes: &[u8; 32]) -> Self {
        // The id names the key without revealing it: stored beside each
        // record so that rotation knows which key opens it.
        let id = hex::encode(&derive(b"gtf-bff key id v1", bytes)[..8]);
        Self {
            id,
            cipher: Aes256Gcm::new(&Key::<Aes256Gcm>::from(*bytes)),
        }
    }
}

fn decode_key(key: &SecretString) -> Result<[u8; 32], String> {
    let bytes = STANDARD
        .decode(key.expose_secret().trim())
        .map_err(|_| "expected base64 of 32 random bytes (e.g. `openssl rand -base64 32`)")?;
    bytes
        .try_into()
        .map_err(|b: Vec<u8>| format!("expected 32 bytes, got {}", b.len()))
}

fn derive(label: &[u8], key: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(label);
    h.update(key);
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> SecretString {
        SecretString::from(STANDARD.encode([byte; 32]))
    }

    #[test]
    fn sealed_records_open_only_with_their_key_and_context() {
        let keys = DataKeys::from_base64(&key(1), &[]).unwrap();
        let sealed = keys.seal(b"{\"nik\":\"3208201808850001\"}", b"row-1");
        assert!(!sealed.ciphertext.windows(4).any(|w| w == b"3208"));
        assert_eq!(
            keys.open(&sealed, b"row-1").unwrap(),
            b"{\"nik\":\"3208201808850001\"}"
        );
        assert_eq!(keys.open(&sealed, b"row-2"), Err(OpenError::Corrupt));

        let mut tampered = sealed.clone();
        tampered.ciphertext[0] ^= 1;
        assert_eq!(keys.open(&tampered, b"row-1"), Err(OpenError::Corrupt));

        let other = DataKeys::from_base64(&key(2), &[]).unwrap();
        assert_eq!(other.open(&sealed, b"row-1"), Err(OpenError::UnknownKey));
    }

    #[test]
    fn each_record_gets_a_fresh_nonce() {
        let keys = DataKeys::from_base64(&key(1), &[]).unwrap();
        assert_ne!(keys.seal(b"x", b"c").nonce, keys.seal(b"x", b"c").nonce);
    }

    #[test]
    fn a_rotated_key_still_opens_old_records() {
        let old = DataKeys::from_base64(&key(1), &[]).unwrap();
        let sealed = old.seal(b"old", b"c");
        let rotated = DataKeys::from_base64(&key(2), &[key(1)]).unwrap();
        assert_eq!(rotated.open(&sealed, b"c").unwrap(), b"old");
        assert_ne!(rotated.seal(b"new", b"c").key_id, sealed.key_id);
    }

    #[test]
    fn bad_keys_are_refused_without_echoing_them() {
        let err = DataKeys::from_base64(&SecretString::from("c2hvcnQ="), &[]).unwrap_err();
        assert_eq!(err, "expected 32 bytes, got 5");
        let err = DataKeys::from_base64(&SecretString::from("not base64!"), &[]).unwrap_err();
        assert!(!err.contains("not base64"));
    }

    #[test]
    fn tokens_detect_tampering() {
        let keys = DataKeys::from_base64(&key(1), &[]).unwrap();
        let token = keys.sign_token(b"2026-11-28T10:00:00Z|id");
        assert_eq!(
            keys.verify_token(&token).unwrap(),
            b"2026-11-28T10:00:00Z|id"
        );
        let (payload, mac) = token.split_once('.').unwrap();
        let forged = format!(
            "{}.{mac}",
            URL_SAFE_NO_PAD.encode(b"2030-01-01T00:00:00Z|id")
        );
        assert_eq!(keys.verify_token(&forged), None);
        assert_eq!(keys.verify_token(&format!("{payload}.")), None);
        assert_eq!(keys.verify_token("garbage"), None);
        assert!(!format!("{keys:?}").contains(&STANDARD.encode([1u8; 32])));
    }
}
