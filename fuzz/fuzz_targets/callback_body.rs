//! `POST /coe/submissions-callback`: arbitrary bytes through what the
//! endpoint does before it stores a callback.
//!
//! - The credential and source-address checks are the service's own public
//!   code (`gtf_bff::http::CallbackGuard`): the input's first two lines become the
//!   `Authorization` and `X-Forwarded-For` values, and the first line is
//!   also parsed as a `CALLBACK_AUTH` value.
//! - The body goes through the service's own parser
//!   (`gtf_bff::kyc::parse_callback`), which the endpoint calls.
//!
//! The property: whatever the parsing accepts can be stored. PostgreSQL's
//! `text` and `jsonb` refuse U+0000, so a body holding it anywhere
//! (`"reasonCode":"\u0000"`) must be refused as `400 INVALID_CALLBACK`, not
//! accepted and then answered `503 CALLBACK_NOT_STORED` (which GTF retries).
//! scripts/contract-fuzz found that bug and this target found it again in
//! seconds; seeds/callback_body/regression_nul_reason_code.json keeps it.
#![no_main]

use std::net::{IpAddr, Ipv4Addr};
use std::sync::LazyLock;

use gtf_bff::callback_auth::CallbackCredential;
use gtf_bff::config::{CallbackConfig, parse_networks};
use gtf_bff::http::CallbackGuard;
use gtf_bff::kyc::parse_callback as parse;
use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

static GUARD: LazyLock<CallbackGuard> = LazyLock::new(|| {
    let credentials = ["bearer:s3cret", "basic:gtf:pa:ss", "header:X-Api-Key:k1"]
        .iter()
        .map(|c| CallbackCredential::parse(c).expect("a valid credential"))
        .collect();
    let nets = |v: &[&str]| parse_networks(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    CallbackGuard::new(&CallbackConfig {
        credentials,
        allowed_ips: nets(&["10.0.0.0/8", "2001:db8::/32"]).unwrap(),
        trusted_proxies: nets(&["127.0.0.1", "192.168.0.0/16"]).unwrap(),
    })
});

/// PostgreSQL stores it: no U+0000 in any string or key (the oracle,
/// written apart from the code it checks).
fn storable(v: &Value) -> bool {
    match v {
        Value::String(s) => !s.contains('\0'),
        Value::Array(items) => items.iter().all(storable),
        Value::Object(map) => map.iter().all(|(k, v)| !k.contains('\0') && storable(v)),
        Value::Null | Value::Bool(_) | Value::Number(_) => true,
    }
}

fuzz_target!(|data: &[u8]| {
    // The guard, on header values taken from the input.
    let mut lines = data.split(|b| *b == b'\n');
    let first = lines.next().unwrap_or_default();
    let second = lines.next().unwrap_or_default();
    if let Ok(text) = std::str::from_utf8(first) {
        if let Ok(cred) = CallbackCredential::parse(text) {
            // Whatever parses must make a header (that is the promise).
            cred.header().expect("a parsed credential makes a header");
        }
    }
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_bytes(first) {
        headers.insert(http::header::AUTHORIZATION, v.clone());
        headers.insert("x-api-key", v);
    }
    if let Ok(v) = HeaderValue::from_bytes(second) {
        headers.append("x-forwarded-for", v);
    }
    let _ = GUARD.authenticates(&headers);
    let _ = GUARD.source_allowed(IpAddr::V4(Ipv4Addr::LOCALHOST), &headers);
    let _ = GUARD.source_allowed(IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3)), &headers);

    // The body.
    if let Ok(parsed) = parse(data) {
        assert!(
            storable(&parsed.raw),
            "accepted a callback that PostgreSQL cannot store (U+0000): {:?}",
            parsed.fields
        );
    }
});
