//! Operator scopes. A token grants them in `scope` (a space-separated
//! string, as OAuth 2.0 writes it) or `scp` (an array, or a string: identity
//! providers differ); both are read, and anything else in them is ignored.

use serde::Deserialize;
use serde_json::Value;

/// What an operation of the operator API needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// `kyc:read`: look, read results.
    Read,
    /// `kyc:admin`: act (refresh, resend, erase); includes `kyc:read`.
    Admin,
}

impl Scope {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Read => "kyc:read",
            Self::Admin => "kyc:admin",
        }
    }
}

/// The scope claims as a token carries them.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ScopeClaims {
    #[serde(default)]
    scope: Option<Value>,
    #[serde(default)]
    scp: Option<Value>,
}

/// The operator scopes a verified token grants.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Granted {
    read: bool,
    admin: bool,
}

impl Granted {
    pub(crate) fn allows(self, needed: Scope) -> bool {
        match needed {
            Scope::Read => self.read || self.admin,
            Scope::Admin => self.admin,
        }
    }
}

impl From<&ScopeClaims> for Granted {
    fn from(claims: &ScopeClaims) -> Self {
        let mut granted = Self::default();
        let words = [&claims.scope, &claims.scp]
            .into_iter()
            .flatten()
            .flat_map(|v| match v {
                Value::String(s) => s.split_whitespace().map(str::to_owned).collect(),
                Value::Array(items) => items
                    .iter()
                    .filter_map(|i| i.as_str().map(str::to_owned))
                    .collect(),
                _ => vec![],
            });
        for word in words {
            granted.read |= word == Scope::Read.as_str();
            granted.admin |= word == Scope::Admin.as_str();
        }
        granted
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn granted(claims: Value) -> Granted {
        Granted::from(&serde_json::from_value::<ScopeClaims>(claims).unwrap())
    }

    #[test]
    fn scope_strings_and_scp_arrays_both_grant() {
        let read_only = granted(json!({"scope": "openid kyc:read profile"}));
        assert!(read_only.allows(Scope::Read) && !read_only.allows(Scope::Admin));
        let admin = granted(json!({"scp": ["kyc:admin"]}));
        assert!(
            admin.allows(Scope::Read) && admin.allows(Scope::Admin),
            "admin includes read"
        );
        assert!(granted(json!({"scp": "kyc:read kyc:admin"})).allows(Scope::Admin));
    }

    #[test]
    fn nothing_else_grants_anything() {
        for claims in [
            json!({}),
            json!({"scope": "kyc:readx kyc kyc:Admin"}),
            json!({"scp": 7}),
            json!({"scope": null}),
            json!({"scp": [1, {"kyc:admin": true}]}),
            json!({"scopes": "kyc:admin"}),
        ] {
            assert_eq!(granted(claims.clone()), Granted::default(), "{claims}");
        }
    }
}
