use std::fmt;

/// The partner's id for an end user (the JWT `sub`), as sent to GTF in
/// `x-partner-user-id`. Parsing refuses anything a header cannot carry
/// verbatim, so no user-supplied byte can inject a header.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartnerUserId(String);

impl PartnerUserId {
    pub(crate) const MAX_LEN: usize = 128;

    pub fn parse(raw: &str) -> Result<Self, InvalidUserId> {
        let printable = raw.bytes().all(|b| (0x20..0x7f).contains(&b));
        let trimmed = raw.trim() == raw;
        if raw.is_empty() || raw.len() > Self::MAX_LEN || !printable || !trimmed {
            return Err(InvalidUserId);
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

// User ids are not secrets, but they identify a person: keep them out of
// casual debug output all the same.
impl fmt::Debug for PartnerUserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PartnerUserId(..)")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a user id must be 1 to 128 printable ASCII characters without surrounding spaces")]
pub struct InvalidUserId;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_ids() {
        for id in [
            "u1",
            "user@example.com",
            "a b",
            &"x".repeat(128),
            "alice-invalid",
        ] {
            assert_eq!(PartnerUserId::parse(id).unwrap().as_str(), id);
        }
    }

    #[test]
    fn refuses_what_could_break_a_header() {
        for id in [
            "",
            " a",
            "a ",
            "a\r\nx-evil: 1",
            "tab\there",
            "nul\0",
            "é",
            &"x".repeat(129),
        ] {
            assert_eq!(PartnerUserId::parse(id), Err(InvalidUserId), "{id:?}");
        }
    }
}
