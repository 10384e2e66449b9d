//! HMAC-SHA256 under a random per-process key: signs storage URLs and lets
//! secrets be compared in constant time.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

pub(crate) struct Signer {
    key: [u8; 32],
}

impl Signer {
    pub(crate) fn random() -> Self {
        Self {
            key: rand::random(),
        }
    }

    fn mac(&self, message: &[u8]) -> HmacSha256 {
        let mut mac =
            HmacSha256::new_from_slice(&self.key).expect("HMAC accepts keys of any length");
        mac.update(message);
        mac
    }

    pub(crate) fn tag(&self, message: &[u8]) -> Vec<u8> {
        self.mac(message).finalize().into_bytes().to_vec()
    }

    /// Constant-time: the comparison leaks neither where nor whether the
    /// inputs first differ.
    pub(crate) fn verify(&self, message: &[u8], tag: &[u8]) -> bool {
        self.mac(message).verify_slice(tag).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tag_verifies_only_its_own_message_under_its_own_key() {
        let signer = Signer::random();
        let tag = signer.tag(b"PUT\n/storage/x\n1");
        assert!(signer.verify(b"PUT\n/storage/x\n1", &tag));
        assert!(!signer.verify(b"PUT\n/storage/y\n1", &tag));
        assert!(!signer.verify(b"PUT\n/storage/x\n1", &tag[..31]));
        assert!(!Signer::random().verify(b"PUT\n/storage/x\n1", &tag));
    }
}
