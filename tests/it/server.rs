//! Clients that hold on to the server: headers sent a byte at a time,
//! oversized heads, idle connections, more connections than allowed, and
//! requests the service cannot answer in time. Spoken over raw TCP where
//! an HTTP client would hide what the server does.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::app::{TestApp, spawn_app, spawn_app_with};
use crate::support::sim_config;

const HEALTHZ: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: gtf-bff\r\n\r\n";

async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(app.base_url.trim_start_matches("http://"))
        .await
        .unwrap()
}

/// Reads one response (a `content-length` body) and returns its head and
/// body; panics if the server closes first.
async fn read_response(stream: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length: "))
                .map_or(0, |n| n.trim().parse().unwrap());
            if buf.len() >= end + 4 + length {
                return String::from_utf8_lossy(&buf).into_owned();
            }
        }
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "closed before a whole response: {buf:?}");
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Waits up to `within` for the server to close the connection; returns how
/// long it took, or `None` if it is still open.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut chunk = [0u8; 1024];
    loop {
        match tokio::time::timeout_at((started + within).into(), stream.read(&mut chunk)).await {
            Err(_) => return None,
            Ok(Ok(0) | Err(_)) => return Some(started.elapsed()),
            // Whatever it answers (408 or nothing), only the close counts.
            Ok(Ok(_)) => {}
        }
    }
}

/// Sends a request line, then header bytes one at a time, until a write
/// fails: the server has closed the connection.
async fn trickle(stream: &mut TcpStream) -> std::io::Error {
    if let Err(e) = stream.write_all(b"GET /healthz HTTP/1.1\r\n").await {
        return e;
    }
    loop {
        if let Err(e) = stream.write_all(b"x").await {
            return e;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn headers_sent_too_slowly_are_cut_off_at_the_header_timeout() {
    let app = spawn_app_with(sim_config(), |c| {
        c.server.header_timeout = Duration::from_secs(1);
    })
    .await;

    // A byte every 100 ms, never finishing the headers, until the server
    // hangs up.
    let mut slow = connect(&app).await;
    let started = Instant::now();
    let cut = tokio::time::timeout(Duration::from_secs(5), trickle(&mut slow)).await;
    let elapsed = started.elapsed();
    assert!(cut.is_ok(), "still open after {elapsed:?}");
    assert!(elapsed >= Duration::from_millis(900), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");

    // The clock starts at the first byte: a connection that waited longer
    // than the header timeout before sending its request is served.
    let mut patient = connect(&app).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    patient.write_all(HEALTHZ).await.unwrap();
    assert!(
        read_response(&mut patient)
            .await
            .starts_with("HTTP/1.1 200")
    );
    // So is a keep-alive connection between two requests.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    patient.write_all(HEALTHZ).await.unwrap();
    assert!(
        read_response(&mut patient)
            .await
            .starts_with("HTTP/1.1 200")
    );
}

#[tokio::test]
async fn a_request_head_over_32_kib_is_refused_with_431() {
    let app = spawn_app().await;
    let head = |padding: usize| {
        format!(
            "GET /healthz HTTP/1.1\r\nHost: gtf-bff\r\nX-Padding: {}\r\n\r\n",
            "a".repeat(padding)
        )
    };
    let mut big = connect(&app).await;
    big.write_all(head(40 * 1024).as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    // The server closes after its 431; a server that took the head would
    // answer 200 and keep the connection.
    let _ = tokio::time::timeout(Duration::from_secs(5), big.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.starts_with("HTTP/1.1 431"),
        "answered {:?}",
        &answer[..answer.len().min(80)]
    );

    // A large head within the limit is fine.
    let mut fits = connect(&app).await;
    fits.write_all(head(30 * 1024).as_bytes()).await.unwrap();
    assert!(read_response(&mut fits).await.starts_with("HTTP/1.1 200"));
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let app = spawn_app_with(sim_config(), |c| {
        c.server.idle_timeout = Duration::from_secs(1);
    })
    .await;
    let mut conn = connect(&app).await;
    conn.write_all(HEALTHZ).await.unwrap();
    assert!(read_response(&mut conn).await.starts_with("HTTP/1.1 200"));
    let closed = closed_within(&mut conn, Duration::from_secs(5)).await;
    let closed = closed.expect("the idle connection is still open after 5 s");
    assert!(closed >= Duration::from_millis(900), "{closed:?}");

    // A connection that never sends a byte is idle too.
    let mut silent = connect(&app).await;
    assert!(
        closed_within(&mut silent, Duration::from_secs(5))
            .await
            .is_some()
    );
}

#[tokio::test]
async fn connections_beyond_the_limit_wait_while_open_ones_keep_working() {
    let app = spawn_app_with(sim_config(), |c| c.server.max_connections = 2).await;
    let mut first = connect(&app).await;
    let mut second = connect(&app).await;
    for conn in [&mut first, &mut second] {
        conn.write_all(HEALTHZ).await.unwrap();
        assert!(read_response(conn).await.starts_with("HTTP/1.1 200"));
    }

    // The kernel completes the handshake; the service does not accept it.
    let mut third = connect(&app).await;
    third.write_all(HEALTHZ).await.unwrap();
    let waiting = tokio::spawn(async move {
        let answer = read_response(&mut third).await;
        (Instant::now(), answer)
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!waiting.is_finished(), "a third connection was served");

    // The open ones are unaffected.
    first.write_all(HEALTHZ).await.unwrap();
    assert!(read_response(&mut first).await.starts_with("HTTP/1.1 200"));

    // Closing one lets the waiting one in.
    let closed_at = Instant::now();
    drop(first);
    let (answered_at, answer) = tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .expect("the waiting connection was never served")
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answered_at >= closed_at);
}

#[tokio::test]
async fn a_request_that_outlasts_the_request_timeout_is_503() {
    let normal = spawn_app().await;
    let created = normal.create("quinn").await;
    let id = created.body["id"].as_str().unwrap().to_owned();
    // Configured directly, past the start check: a timeout this short
    // leaves no time for GTF, but these requests need none.
    let app = normal
        .sibling_with(|c| c.server.request_timeout = Duration::from_secs(1))
        .await;

    // Event streams are exempt: this one outlives the request timeout.
    let mut stream = app
        .request(
            Method::GET,
            &format!("/v1/kyc/submissions/{id}/events"),
            Some("quinn"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    assert!(stream.chunk().await.unwrap().is_some(), "the first event");
    let more = tokio::time::timeout(Duration::from_millis(1500), stream.chunk()).await;
    assert!(more.is_err(), "the stream ended or failed: {more:?}");
    drop(stream);

    // A database stall: the submissions table locked by someone else.
    let mut locker = app.db.begin().await.unwrap();
    sqlx::query("LOCK TABLE submissions IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *locker)
        .await
        .unwrap();
    let started = Instant::now();
    let r = app
        .send(
            app.request(Method::GET, "/v1/kyc/submissions", Some("quinn"))
                .timeout(Duration::from_secs(5)),
        )
        .await;
    let elapsed = started.elapsed();
    r.assert_problem(StatusCode::SERVICE_UNAVAILABLE, "REQUEST_TIMEOUT");
    assert!(r.header("retry-after").is_some());
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
    locker.rollback().await.unwrap();
    assert_eq!(
        app.get("quinn", "/v1/kyc/submissions").await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn http2_is_still_served() {
    let app = spawn_app().await;
    let h2 = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let r = h2.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(r.version(), reqwest::Version::HTTP_2);
    assert_eq!(r.status(), StatusCode::OK);
}
