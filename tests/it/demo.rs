//! `gtf-bff demo`: the web app's files from the binary, and a demo sign-in
//! whose tokens the service accepts, which only the demo has. The flow
//! itself is tested in a real browser (tests/browser/).

use std::collections::BTreeSet;

use gtf_bff::config::{BaseUrl, TokenIssuerConfig};
use gtf_bff::demo::{self, DemoConfig};
use reqwest::{Method, StatusCode};
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::support::app::{JWT_SECRET, spawn_app};

/// The demo on a free port, its page calling the service at `api_url`.
async fn spawn_demo(api_url: &str) -> String {
    let config = DemoConfig {
        listen_addr: "127.0.0.1:0".parse().unwrap(),
        api_url: BaseUrl::parse(api_url).unwrap(),
        issuer: TokenIssuerConfig {
            secret: SecretString::from(JWT_SECRET),
            issuer: None,
            audience: None,
        },
    };
    let listener = tokio::net::TcpListener::bind(config.listen_addr)
        .await
        .unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(axum::serve(listener, demo::router(config)).into_future());
    url
}

async fn sign_in(http: &reqwest::Client, demo: &str, user_id: &str) -> reqwest::Response {
    http.post(format!("{demo}/sign-in"))
        .json(&json!({ "userId": user_id }))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn its_sign_in_mints_tokens_the_service_accepts() {
    let app = spawn_app().await;
    let demo = spawn_demo(&app.base_url).await;

    let signed_in = sign_in(&app.http, &demo, "alice").await;
    assert_eq!(signed_in.status(), StatusCode::OK);
    assert_eq!(signed_in.headers()["cache-control"], "no-store");
    let body: Value = signed_in.json().await.unwrap();
    assert_eq!(body["userId"], "alice");
    let token = body["token"].as_str().unwrap();
    let list = app
        .send(
            app.request(Method::GET, "/v1/kyc/submissions", None)
                .bearer_auth(token),
        )
        .await;
    assert_eq!(list.status, StatusCode::OK);

    let long = "a".repeat(129);
    for refused in ["", "   ", long.as_str(), "tab\there"] {
        let response = sign_in(&app.http, &demo, refused).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{refused:?}"
        );
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], "INVALID_USER_ID");
    }
}

#[tokio::test]
async fn the_service_has_no_sign_in() {
    let app = spawn_app().await;
    let reply = app.call(Method::POST, "/sign-in", None).await;
    reply.assert_problem(StatusCode::NOT_FOUND, "NOT_FOUND");
}

/// `src="…"`, `href="…"` and `from '…'` targets that are files of the app.
fn references(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for marker in ["src=\"", "href=\"", "from '"] {
        for part in text.split(marker).skip(1) {
            let end = part.find(['"', '\'']).unwrap();
            let target = part[..end].trim_start_matches("./");
            if target.ends_with(".js") || target.ends_with(".css") {
                found.push(target.to_owned());
            }
        }
    }
    found
}

#[tokio::test]
async fn every_file_the_page_loads_comes_from_the_binary() {
    let http = reqwest::Client::new();
    let demo = spawn_demo("http://127.0.0.1:8080").await;

    let page = http.get(format!("{demo}/")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    let policy = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(policy.contains("script-src 'self';"), "{policy}");

    // Follow every reference, the modules' imports included.
    let mut pending = references(&page.text().await.unwrap());
    let mut served = BTreeSet::new();
    while let Some(name) = pending.pop() {
        if !served.insert(name.clone()) {
            continue;
        }
        let response = http.get(format!("{demo}/{name}")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{name}");
        let expected = if name.ends_with(".js") {
            "text/javascript; charset=utf-8"
        } else {
            "text/css; charset=utf-8"
        };
        assert_eq!(response.headers()["content-type"], expected, "{name}");
        pending.extend(references(&response.text().await.unwrap()));
    }
    assert!(served.len() >= 8, "{served:?}");

    let settings: Value = http
        .get(format!("{demo}/config.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(settings, json!({ "apiUrl": "http://127.0.0.1:8080" }));
    let missing = http.get(format!("{demo}/.env")).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}
