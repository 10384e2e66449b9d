//! Who may deliver callbacks: GTF does not sign them, so the credential the
//! partner registered with GTF, and optionally GTF's source addresses, are
//! all that tell a callback from a forgery.

use std::net::IpAddr;

use http::HeaderMap;
use ipnet::IpNet;
use subtle::ConstantTimeEq;

use crate::callback_auth::CallbackCredential;
use crate::config::CallbackConfig;

#[derive(Debug, Clone)]
pub struct CallbackGuard {
    /// Every credential currently accepted (several during a rotation).
    credentials: Vec<CallbackCredential>,
    /// Empty: any source address.
    allowed: Vec<IpNet>,
    /// Proxies whose `X-Forwarded-For` is believed.
    trusted_proxies: Vec<IpNet>,
}

impl CallbackGuard {
    pub fn new(config: &CallbackConfig) -> Self {
        Self {
            credentials: config.credentials.clone(),
            allowed: config.allowed_ips.clone(),
            trusted_proxies: config.trusted_proxies.clone(),
        }
    }

    /// Whether the request carries an accepted credential. Every configured
    /// credential is compared, each in constant time, so timing tells an
    /// attacker neither which nor how much matched.
    pub fn authenticates(&self, headers: &HeaderMap) -> bool {
        let mut ok = subtle::Choice::from(0);
        for credential in &self.credentials {
            let Ok((name, expected)) = credential.header() else {
                continue;
            };
            for got in headers.get_all(&name) {
                ok |= expected.as_bytes().ct_eq(got.as_bytes());
            }
        }
        ok.into()
    }

    /// Whether the callback comes from an allowed address: the peer's, or,
    /// when the peer is a trusted proxy, the nearest untrusted address in
    /// `X-Forwarded-For`.
    pub fn source_allowed(&self, peer: IpAddr, headers: &HeaderMap) -> bool {
        if self.allowed.is_empty() {
            return true;
        }
        let sender = self.sender(peer, headers);
        self.allowed.iter().any(|net| net.contains(&sender))
    }

    /// Who sent the callback: the peer, or, when the peer is a trusted
    /// proxy, the nearest untrusted address in `X-Forwarded-For`.
    pub fn sender(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let trusted = |ip: &IpAddr| self.trusted_proxies.iter().any(|net| net.contains(ip));
        if !trusted(&peer) {
            return peer;
        }
        let hops: Vec<IpAddr> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .map(|hop| hop.parse::<IpAddr>())
            .collect::<Result<_, _>>()
            // A garbled header is believed no further than the proxy.
            .unwrap_or_default();
        hops.into_iter()
            .rev()
            .find(|ip| !trusted(ip))
            .unwrap_or(peer)
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;
    use crate::config::parse_networks;

    fn guard(creds: &[&str], allowed: &[&str], trusted: &[&str]) -> CallbackGuard {
        let owned = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        CallbackGuard::new(&CallbackConfig {
            credentials: creds
                .iter()
                .map(|c| CallbackCredential::parse(c).unwrap())
                .collect(),
            allowed_ips: parse_networks(&owned(allowed)).unwrap(),
            trusted_proxies: parse_networks(&owned(trusted)).unwrap(),
        })
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn any_active_credential_is_accepted_during_a_rotation() {
        let g = guard(
            &["bearer:old", "bearer:new", "header:X-Api-Key:k"],
            &[],
            &[],
        );
        assert!(g.authenticates(&headers(&[("authorization", "Bearer old")])));
        assert!(g.authenticates(&headers(&[("authorization", "Bearer new")])));
        assert!(g.authenticates(&headers(&[("x-api-key", "k")])));
        assert!(!g.authenticates(&headers(&[("authorization", "Bearer older")])));
        assert!(!g.authenticates(&headers(&[("authorization", "Bearer ol")])));
        assert!(!g.authenticates(&headers(&[])));
    }

    #[test]
    fn forwarded_addresses_count_only_through_trusted_proxies() {
        let g = guard(&["bearer:x"], &["203.0.113.0/24"], &["10.0.0.0/8"]);
        let gtf = "203.0.113.7".parse().unwrap();
        let proxy = "10.1.2.3".parse().unwrap();
        let stranger = "198.51.100.9".parse().unwrap();
        assert!(g.source_allowed(gtf, &headers(&[])));
        assert!(!g.source_allowed(stranger, &headers(&[])));
        // A stranger cannot claim to be GTF.
        assert!(!g.source_allowed(stranger, &headers(&[("x-forwarded-for", "203.0.113.7")])));
        // Through the proxy, the nearest untrusted hop is the client.
        assert!(g.source_allowed(
            proxy,
            &headers(&[("x-forwarded-for", "198.51.100.9, 203.0.113.7")])
        ));
        assert!(!g.source_allowed(
            proxy,
            &headers(&[("x-forwarded-for", "203.0.113.7, 198.51.100.9")])
        ));
        assert!(!g.source_allowed(proxy, &headers(&[("x-forwarded-for", "garbage")])));
    }

    #[test]
    fn no_allow_list_means_any_address() {
        assert!(
            guard(&["bearer:x"], &[], &[])
                .source_allowed("198.51.100.9".parse().unwrap(), &headers(&[]))
        );
    }
}
