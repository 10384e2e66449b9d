//! The GTF client and its token manager, over real HTTP: against the
//! simulator for the flow, against a scripted fake GTF for faults.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use gtf_bff::gtf::{GtfClient, GtfError, GtfResult, GtfStatus};

use crate::support::fake_gtf::{
    DETAILS_PATH, FakeGtf, TOKEN_PATH, URLS_PATH, after, json, ready, status_ok, status_path,
    token_ok,
};
use crate::support::wait::wait_until;
use crate::support::{
    JPEG, client, fast_retries, gtf_config, new_user, session, sim_config, start_sim,
};

// ---------------------------------------------------------------- the flow

#[tokio::test]
async fn a_whole_flow_against_the_simulator() {
    // Processing takes long enough to see IN_PROGRESS even on a busy machine.
    let sim = start_sim(gtf_bff::sim::SimConfig {
        processing: Duration::from_secs(1),
        ..sim_config()
    })
    .await;
    let gtf = client(&sim.base_url());
    let user = new_user("");
    let session = session();

    let presigned = gtf.presign(&user, &session, "KTP_SCAN").await.unwrap();
    assert_eq!(presigned.status, Some(GtfStatus::Initiated));
    assert_eq!(presigned.uploads.len(), 1);
    let upload = &presigned.uploads[0];
    assert_eq!(upload.document, "KTP");
    assert_eq!(upload.expires_in, Some(Duration::from_secs(600)));

    // Confirming before the upload is refused as GTF documents.
    let err = gtf
        .confirm(&user, &session, &presigned.submission_id)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(422));
    assert_eq!(err.cause(), Some("INVALID_UPLOAD_ARTIFACT"));

    gtf.upload(&upload.url, "image/jpeg", Bytes::from_static(JPEG))
        .await
        .unwrap();
    gtf.confirm(&user, &session, &presigned.submission_id)
        .await
        .unwrap();
    // A repeated confirm is answered like the first (the simulator's default).
    gtf.confirm(&user, &session, &presigned.submission_id)
        .await
        .unwrap();

    let status = gtf
        .status(&user, &session, &presigned.submission_id)
        .await
        .unwrap();
    assert_eq!(status.status, GtfStatus::InProgress);
    let status = poll_until_final(&gtf, &user, &session, &presigned.submission_id).await;
    assert_eq!(status, GtfStatus::Completed);

    let details = gtf
        .details(&user, &session, &presigned.submission_id)
        .await
        .unwrap();
    assert_eq!(details.status, Some(GtfStatus::Completed));
    assert_eq!(details.result, Some(GtfResult::Valid));
    assert_eq!(
        details.reason_code, None,
        "GTF's empty reasonCode means none"
    );
    let ktp = details
        .ktp
        .as_ref()
        .expect("a VALID KTP scan carries ktpData");
    assert_eq!(ktp["nik"].as_str().map(str::len), Some(16));
    assert!(ktp["name"].is_string() && ktp["dateOfBirth"].is_string());
    assert!(!format!("{details:?}").contains(ktp["nik"].as_str().unwrap()));
    // One token served the whole flow.
    assert_eq!(sim.mints(user.as_str()), 1);
}

#[tokio::test]
async fn invalid_and_error_outcomes_come_through() {
    let sim = start_sim(sim_config()).await;
    let gtf = client(&sim.base_url());
    for (suffix, status, result, reason) in [
        (
            "-invalid",
            GtfStatus::Completed,
            Some(GtfResult::Invalid),
            Some("NOT_EKTP"),
        ),
        (
            "-error",
            GtfStatus::Error,
            None,
            Some("VERIFICATION_FAILED"),
        ),
    ] {
        let user = new_user(suffix);
        let session = session();
        let presigned = gtf.presign(&user, &session, "KTP_SCAN").await.unwrap();
        gtf.upload(
            &presigned.uploads[0].url,
            "image/jpeg",
            Bytes::from_static(JPEG),
        )
        .await
        .unwrap();
        gtf.confirm(&user, &session, &presigned.submission_id)
            .await
            .unwrap();
        assert_eq!(
            poll_until_final(&gtf, &user, &session, &presigned.submission_id).await,
            status
        );
        let details = gtf
            .details(&user, &session, &presigned.submission_id)
            .await
            .unwrap();
        assert_eq!(details.status, Some(status), "{suffix}");
        assert_eq!(details.result, result, "{suffix}");
        assert_eq!(details.reason_code.as_deref(), reason, "{suffix}");
        assert_eq!(details.ktp, None, "{suffix}");
    }
}

#[tokio::test]
async fn every_document_of_a_two_document_profile_is_passed_on() {
    let sim = start_sim(gtf_bff::sim::SimConfig {
        documents: vec!["KTP_FRONT".into(), "KTP_BACK".into()],
        ..sim_config()
    })
    .await;
    let gtf = client(&sim.base_url());
    let (user, session) = (new_user(""), session());
    let presigned = gtf.presign(&user, &session, "KTP_SCAN").await.unwrap();
    let docs: Vec<_> = presigned
        .uploads
        .iter()
        .map(|u| u.document.as_str())
        .collect();
    assert_eq!(docs, ["KTP_BACK", "KTP_FRONT"]);
    gtf.upload(
        &presigned.uploads[0].url,
        "image/jpeg",
        Bytes::from_static(JPEG),
    )
    .await
    .unwrap();
    let err = gtf
        .confirm(&user, &session, &presigned.submission_id)
        .await
        .unwrap_err();
    assert_eq!(
        err.cause(),
        Some("INVALID_UPLOAD_ARTIFACT"),
        "one of two documents is not enough"
    );
    gtf.upload(
        &presigned.uploads[1].url,
        "image/jpeg",
        Bytes::from_static(JPEG),
    )
    .await
    .unwrap();
    gtf.confirm(&user, &session, &presigned.submission_id)
        .await
        .unwrap();
}

#[tokio::test]
async fn storage_refuses_tampered_and_expired_urls() {
    // The URL's expiry is whole seconds: with 2 s it is valid for more than
    // one second whenever it was presigned (with 1 s, for as little as what
    // remained of the current second, and the checks below could find it
    // expired already).
    let sim = start_sim(gtf_bff::sim::SimConfig {
        upload_ttl: Duration::from_secs(2),
        ..sim_config()
    })
    .await;
    let gtf = client(&sim.base_url());
    let (user, session) = (new_user(""), session());
    let presigned = gtf.presign(&user, &session, "KTP_SCAN").await.unwrap();
    let url = presigned.uploads[0].url.clone();

    // Change the last character of the signature.
    let mut tampered = url.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == '0' { '1' } else { '0' });
    let err = gtf
        .upload(&tampered, "image/jpeg", Bytes::from_static(JPEG))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(403), "{err:?}");
    assert_eq!(err.cause(), Some("SignatureDoesNotMatch"));

    let err = gtf
        .upload(&url, "image/jpeg", Bytes::from_static(b"not an image"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400), "{err:?}");

    // Time passing is the point: the URL's 2 s lifetime, counted in whole
    // seconds, runs out.
    tokio::time::sleep(Duration::from_millis(3100)).await;
    let err = gtf
        .upload(&url, "image/jpeg", Bytes::from_static(JPEG))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(403), "{err:?}");
    assert_eq!(err.cause(), Some("AccessDenied"));
}

async fn poll_until_final(
    gtf: &GtfClient,
    user: &gtf_bff::domain::PartnerUserId,
    session: &gtf_bff::gtf::Session,
    id: &str,
) -> GtfStatus {
    wait_until(
        &format!("submission {id} to finish"),
        Duration::from_secs(10),
        || async {
            let status = gtf.status(user, session, id).await.unwrap().status;
            status.is_final().then_some(status)
        },
    )
    .await
}

// ------------------------------------------------------ the token manager

#[tokio::test]
async fn one_user_is_minted_once_and_two_users_twice() {
    let sim = start_sim(sim_config()).await;
    let gtf = client(&sim.base_url());
    let (alice, bob) = (new_user(""), new_user(""));
    for _ in 0..3 {
        gtf.presign(&alice, &session(), "KTP_SCAN").await.unwrap();
    }
    assert_eq!(sim.mints(alice.as_str()), 1);
    gtf.presign(&bob, &session(), "KTP_SCAN").await.unwrap();
    assert_eq!(sim.mints(bob.as_str()), 1);
    assert_eq!(sim.total_mints(), 2);
}

#[tokio::test]
async fn a_thousand_concurrent_first_calls_cause_one_mint() {
    let sim = start_sim(sim_config()).await;
    let gtf = client(&sim.base_url());
    let user = new_user("");
    let (session, id) = {
        let s = session();
        let p = gtf.presign(&user, &s, "KTP_SCAN").await.unwrap();
        (s, p.submission_id)
    };
    // A second client: a new process, with an empty cache.
    let fresh = client(&sim.base_url());
    let calls = (0..1000).map(|_| {
        let (gtf, user, session, id) = (fresh.clone(), user.clone(), session.clone(), id.clone());
        tokio::spawn(async move { gtf.status(&user, &session, &id).await })
    });
    for call in futures::future::join_all(calls).await {
        assert_eq!(call.unwrap().unwrap().status, GtfStatus::Initiated);
    }
    assert_eq!(
        sim.mints(user.as_str()),
        2,
        "one mint per client, whatever the concurrency"
    );
}

#[tokio::test]
async fn an_expiring_token_is_replaced_before_it_expires() {
    // 2 s tokens are used for 1 s (never more than half the lifetime).
    let sim = start_sim(gtf_bff::sim::SimConfig {
        token_ttl: Duration::from_secs(2),
        ..sim_config()
    })
    .await;
    let gtf = client(&sim.base_url());
    let user = new_user("");
    gtf.presign(&user, &session(), "KTP_SCAN").await.unwrap();
    gtf.presign(&user, &session(), "KTP_SCAN").await.unwrap();
    assert_eq!(sim.mints(user.as_str()), 1);
    // Time passing is the point: half the token's lifetime goes by.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    gtf.presign(&user, &session(), "KTP_SCAN").await.unwrap();
    assert_eq!(sim.mints(user.as_str()), 2);
}

#[tokio::test]
async fn a_revoked_token_is_replaced_once_and_the_call_retried() {
    let sim = start_sim(sim_config()).await;
    let gtf = client(&sim.base_url());
    let user = new_user("");
    let s = session();
    let id = gtf
        .presign(&user, &s, "KTP_SCAN")
        .await
        .unwrap()
        .submission_id;
    sim.revoke_tokens(user.as_str());

    // Fifty requests fail with the same revoked token at once: one new mint.
    let calls = (0..50).map(|_| {
        let (gtf, user, s, id) = (gtf.clone(), user.clone(), s.clone(), id.clone());
        tokio::spawn(async move { gtf.status(&user, &s, &id).await })
    });
    for call in futures::future::join_all(calls).await {
        assert_eq!(call.unwrap().unwrap().status, GtfStatus::Initiated);
    }
    assert_eq!(sim.mints(user.as_str()), 2);
}

#[tokio::test]
async fn a_late_401_with_an_old_token_does_not_evict_its_replacement() {
    // Request A is sent with token-1 and refused slowly; meanwhile request B
    // is refused at once, so B replaces token-1 with token-2. A's late 401
    // must not throw token-2 away.
    let unauthorized = r#"{"success":false,"errors":[{"code":"110","cause":"UNAUTHORIZED"}]}"#;
    let fake = FakeGtf::start(move |path, n| match (path.as_str(), n) {
        (TOKEN_PATH, _) => ready(token_ok(n, 3600)),
        (_, 1) => after(Duration::from_millis(500), json(401, unauthorized)),
        (_, 2) => ready(json(401, unauthorized)),
        _ => ready(status_ok("IN_PROGRESS")),
    })
    .await;
    let gtf = client(&fake.base_url);
    let user = new_user("");
    let slow = {
        let (gtf, user) = (gtf.clone(), user.clone());
        tokio::spawn(async move { gtf.status(&user, &session(), "S").await })
    };
    // A is the first status request GTF sees (the slow one) once it is there.
    wait_until("request A to reach GTF", Duration::from_secs(5), || async {
        (fake.hits(&status_path("S")) == 1).then_some(())
    })
    .await;
    gtf.status(&user, &session(), "S").await.unwrap();
    slow.await.unwrap().unwrap();
    assert_eq!(
        fake.hits(TOKEN_PATH),
        2,
        "token-1, then token-2 for both requests"
    );
    assert_eq!(fake.hits(&status_path("S")), 4);
}

#[tokio::test]
async fn a_gateway_that_always_says_401_gets_one_retry_and_no_loop() {
    let fake = FakeGtf::start(|path, n| match path.as_str() {
        TOKEN_PATH => ready(token_ok(n, 3600)),
        _ => ready(json(
            401,
            r#"{"success":false,"errors":[{"code":"110","cause":"UNAUTHORIZED"}]}"#,
        )),
    })
    .await;
    let gtf = client(&fake.base_url);
    let err = gtf
        .status(&new_user(""), &session(), "S")
        .await
        .unwrap_err();
    assert_eq!(err, GtfError::Unauthorized);
    assert_eq!(fake.hits(&status_path("S")), 2, "the call and one retry");
    assert_eq!(
        fake.hits(TOKEN_PATH),
        2,
        "the first token and one replacement"
    );
}

#[tokio::test]
async fn a_failed_mint_is_not_cached() {
    let fake = FakeGtf::start(|path, n| match (path.as_str(), n) {
        (TOKEN_PATH, 1) => ready(json(
            400,
            r#"{"success":false,"errors":[{"code":1539,"cause":"MISSING_CLIENT_ID_OR_PASS_KEY"}]}"#,
        )),
        (TOKEN_PATH, _) => ready(token_ok(n, 3600)),
        _ => ready(status_ok("IN_PROGRESS")),
    })
    .await;
    let gtf = client(&fake.base_url);
    let user = new_user("");
    let err = gtf.status(&user, &session(), "S").await.unwrap_err();
    assert_eq!(err.cause(), Some("MISSING_CLIENT_ID_OR_PASS_KEY"));
    assert_eq!(fake.hits(&status_path("S")), 0, "no call without a token");
    gtf.status(&user, &session(), "S").await.unwrap();
    assert_eq!(fake.hits(TOKEN_PATH), 2);
}

#[tokio::test]
async fn a_failed_refresh_keeps_the_still_valid_token() {
    // The first token lives 4 s and is due for refresh after 2 s; every
    // later mint fails.
    let fake = FakeGtf::start(|path, n| match (path.as_str(), n) {
        (TOKEN_PATH, 1) => ready(token_ok(n, 4)),
        (TOKEN_PATH, _) => ready(json(
            500,
            r#"{"success":false,"errors":[{"code":900,"cause":"GENERIC_SERVICE_ERROR"}]}"#,
        )),
        _ => ready(status_ok("IN_PROGRESS")),
    })
    .await;
    let gtf = client(&fake.base_url);
    let user = new_user("");
    gtf.status(&user, &session(), "S").await.unwrap();
    // Time passing is the point: the token becomes due for refresh.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    // Ten concurrent requests: one refresh attempt (retried as a read), then
    // all of them go on with the old token.
    let calls = (0..10).map(|_| {
        let (gtf, user) = (gtf.clone(), user.clone());
        tokio::spawn(async move { gtf.status(&user, &session(), "S").await })
    });
    for call in futures::future::join_all(calls).await {
        call.unwrap().unwrap();
    }
    assert_eq!(
        fake.hits(TOKEN_PATH),
        1 + 3,
        "one mint, then one refresh with its 3 attempts"
    );
    assert_eq!(fake.hits(&status_path("S")), 11);
}

// ---------------------------------------------------------------- faults

#[tokio::test]
async fn a_hanging_gtf_is_a_timeout() {
    let fake = FakeGtf::start(|path, n| match path.as_str() {
        TOKEN_PATH => ready(token_ok(n, 3600)),
        _ => after(Duration::from_secs(5), status_ok("IN_PROGRESS")),
    })
    .await;
    let gtf = GtfClient::with_options(
        gtf_config(&fake.base_url, Duration::from_millis(300)),
        fast_retries(),
    )
    .unwrap();
    let started = std::time::Instant::now();
    let err = gtf
        .status(&new_user(""), &session(), "S")
        .await
        .unwrap_err();
    assert_eq!(err, GtfError::Timeout);
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(fake.hits(&status_path("S")), 1, "a timeout is not retried");
}

#[tokio::test]
async fn server_errors_on_reads_are_retried_a_bounded_number_of_times() {
    let fake = FakeGtf::start(|path, n| match path.as_str() {
        TOKEN_PATH => ready(token_ok(n, 3600)),
        _ => ready(json(
            500,
            r#"{"success":false,"errors":[{"code":"900","cause":"SOMETHING_WENT_WRONG"}]}"#,
        )),
    })
    .await;
    let gtf = client(&fake.base_url);
    let err = gtf
        .status(&new_user(""), &session(), "S")
        .await
        .unwrap_err();
    assert_eq!(
        err,
        GtfError::Rejected {
            status: 500,
            code: Some("900".into()),
            cause: Some("SOMETHING_WENT_WRONG".into())
        }
    );
    assert_eq!(fake.hits(&status_path("S")), 3);
}

#[tokio::test]
async fn a_transient_503_is_retried_after_retry_after() {
    let fake = FakeGtf::start(|path, n| match (path.as_str(), n) {
        (TOKEN_PATH, _) => ready(token_ok(n, 3600)),
        (_, 1) => {
            let mut r = json(
                503,
                r#"{"success":false,"errors":[{"code":"903","cause":"SERVICE_UNAVAILABLE"}]}"#,
            );
            r.headers_mut().insert("retry-after", "1".parse().unwrap());
            ready(r)
        }
        _ => ready(status_ok("COMPLETED")),
    })
    .await;
    let gtf = client(&fake.base_url);
    let started = std::time::Instant::now();
    let status = gtf.status(&new_user(""), &session(), "S").await.unwrap();
    assert_eq!(status.status, GtfStatus::Completed);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After was honoured"
    );
    assert_eq!(fake.hits(&status_path("S")), 2);
}

#[tokio::test]
async fn confirm_is_never_sent_twice_by_the_client() {
    let fake = FakeGtf::start(|path, n| match path.as_str() {
        TOKEN_PATH => ready(token_ok(n, 3600)),
        _ => ready(json(
            503,
            r#"{"success":false,"errors":[{"code":"903","cause":"SERVICE_UNAVAILABLE"}]}"#,
        )),
    })
    .await;
    let gtf = client(&fake.base_url);
    let err = gtf
        .confirm(&new_user(""), &session(), "S")
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            GtfError::Unavailable {
                status: Some(503),
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(fake.hits(URLS_PATH), 1);
}

#[tokio::test]
async fn presign_is_not_repeated_after_an_answer_that_may_have_created_a_submission() {
    let fake = FakeGtf::start(|path, n| match path.as_str() {
        TOKEN_PATH => ready(token_ok(n, 3600)),
        _ => ready(json(
            500,
            r#"{"success":false,"errors":[{"code":"900","cause":"SOMETHING_WENT_WRONG"}]}"#,
        )),
    })
    .await;
    let gtf = client(&fake.base_url);
    let err = gtf
        .presign(&new_user(""), &session(), "KTP_SCAN")
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(500));
    assert_eq!(fake.hits(URLS_PATH), 1);
}

#[tokio::test]
async fn an_unreachable_gtf_is_unavailable() {
    // Bind and drop a listener: nothing answers on that port.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let gtf = client(&format!("http://{addr}"));
    let err = gtf
        .status(&new_user(""), &session(), "S")
        .await
        .unwrap_err();
    assert_eq!(
        err,
        GtfError::Unavailable {
            status: None,
            retry_after: None
        }
    );
}

#[tokio::test]
async fn malformed_success_bodies_are_reported_as_such() {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let fake = FakeGtf::start(move |path, n| match path.as_str() {
        TOKEN_PATH => ready(token_ok(n, 3600)),
        _ => {
            counter.fetch_add(1, Ordering::SeqCst);
            ready(json(
                200,
                r#"{"success":true,"data":{"nik":"3208201808850001""#,
            ))
        }
    })
    .await;
    let gtf = client(&fake.base_url);
    let err = gtf
        .status(&new_user(""), &session(), "S")
        .await
        .unwrap_err();
    let GtfError::MalformedResponse(why) = &err else {
        panic!("{err:?}")
    };
    assert!(
        !why.contains("3208201808850001"),
        "the body is never quoted: {why}"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

/// Every error body GTF documents, on the endpoint that documents it,
/// parsed into the error callers branch on.
#[tokio::test]
async fn every_documented_error_body_is_understood() {
    type Case = (&'static str, u16, &'static str, GtfError);
    let rejected = |status: u16, code: &str, cause: &str| GtfError::Rejected {
        status,
        code: Some(code.into()),
        cause: Some(cause.into()),
    };
    let cases: Vec<Case> = vec![
        // Get User Token: integer codes.
        (
            TOKEN_PATH,
            400,
            r#"{"success":false,"errors":[{"code":1539,"entity":"ONEKYC_TOKEN_SERVICE","cause":"MISSING_CLIENT_ID_OR_PASS_KEY"}]}"#,
            rejected(400, "1539", "MISSING_CLIENT_ID_OR_PASS_KEY"),
        ),
        (
            TOKEN_PATH,
            401,
            r#"{"success":false,"data":null,"errors":[{"code":110,"entity":"ONEKYC_TOKEN_SERVICE","cause":"UNAUTHORIZED"}]}"#,
            GtfError::Unauthorized,
        ),
        (
            TOKEN_PATH,
            500,
            r#"{"success":false,"errors":[{"code":900,"cause":"GENERIC_SERVICE_ERROR"}]}"#,
            rejected(500, "900", "GENERIC_SERVICE_ERROR"),
        ),
        // Presign: string codes.
        (
            URLS_PATH,
            400,
            r#"{"success":false,"errors":[{"code":"1539","cause":"COE_PARTNER_CAN_NOT_BE_EMPTY"}]}"#,
            rejected(400, "1539", "COE_PARTNER_CAN_NOT_BE_EMPTY"),
        ),
        (
            URLS_PATH,
            400,
            r#"{"success":false,"errors":[{"code":"1542","cause":"INVALID_SUBMISSION_TYPE"}]}"#,
            rejected(400, "1542", "INVALID_SUBMISSION_TYPE"),
        ),
        (
            URLS_PATH,
            429,
            r#"{"success":false,"errors":[{"code":"429","cause":"SUBMISSION_QUOTA_EXCEEDED"}]}"#,
            GtfError::QuotaExceeded { retry_after: None },
        ),
        (
            URLS_PATH,
            500,
            r#"{"success":false,"errors":[{"code":"900","cause":"SOMETHING_WENT_WRONG"}]}"#,
            rejected(500, "900", "SOMETHING_WENT_WRONG"),
        ),
        // Status: string codes.
        (
            "status",
            400,
            r#"{"success":false,"errors":[{"code":"1541","cause":"INVALID_SUBMISSION_ID"}]}"#,
            rejected(400, "1541", "INVALID_SUBMISSION_ID"),
        ),
        (
            "status",
            404,
            r#"{"success":false,"errors":[{"code":"1543","cause":"SUBMISSION_DOES_NOT_EXIST"}]}"#,
            rejected(404, "1543", "SUBMISSION_DOES_NOT_EXIST"),
        ),
        // Details: integer codes, "not found" as a 400.
        (
            DETAILS_PATH,
            400,
            r#"{"success":false,"errors":[{"code":1550,"cause":"PARTNER_USER_ID_CAN_NOT_BE_EMPTY"}]}"#,
            rejected(400, "1550", "PARTNER_USER_ID_CAN_NOT_BE_EMPTY"),
        ),
        (
            DETAILS_PATH,
            400,
            r#"{"success":false,"errors":[{"code":1552,"cause":"SUBMISSION_DOES_NOT_EXIST"}]}"#,
            rejected(400, "1552", "SUBMISSION_DOES_NOT_EXIST"),
        ),
        (
            DETAILS_PATH,
            400,
            r#"{"success":false,"errors":[{"code":1553,"cause":"PARTNER_SESSION_ID_DOES_NOT_BELONG_TO_THE_USER"}]}"#,
            rejected(
                400,
                "1553",
                "PARTNER_SESSION_ID_DOES_NOT_BELONG_TO_THE_USER",
            ),
        ),
        (
            DETAILS_PATH,
            403,
            r#"{"success":false,"data":null,"errors":[{"code":903,"cause":"FORBIDDEN"}]}"#,
            rejected(403, "903", "FORBIDDEN"),
        ),
    ];
    // Confirm: string codes (the same path as presign, method PUT).
    let confirm_cases: Vec<(u16, &str, GtfError)> = vec![
        (
            400,
            r#"{"success":false,"errors":[{"code":"1539","cause":"X_SDK_SESSION_ID_CAN_NOT_BE_EMPTY"}]}"#,
            rejected(400, "1539", "X_SDK_SESSION_ID_CAN_NOT_BE_EMPTY"),
        ),
        (
            400,
            r#"{"success":false,"errors":[{"code":"1542","cause":"INVALID_CONFIRM_UPLOAD_REQUEST"}]}"#,
            rejected(400, "1542", "INVALID_CONFIRM_UPLOAD_REQUEST"),
        ),
        (
            403,
            r#"{"success":false,"errors":[{"code":"110","cause":"FORBIDDEN"}]}"#,
            rejected(403, "110", "FORBIDDEN"),
        ),
        (
            404,
            r#"{"success":false,"errors":[{"code":"404","cause":"SUBMISSION_DOES_NOT_EXIST"}]}"#,
            rejected(404, "404", "SUBMISSION_DOES_NOT_EXIST"),
        ),
        (
            409,
            r#"{"success":false,"errors":[{"code":"409","cause":"SUBMISSION_STATE_CONFLICT"}]}"#,
            rejected(409, "409", "SUBMISSION_STATE_CONFLICT"),
        ),
        (
            422,
            r#"{"success":false,"errors":[{"code":"422","cause":"INVALID_UPLOAD_ARTIFACT"}]}"#,
            rejected(422, "422", "INVALID_UPLOAD_ARTIFACT"),
        ),
        (
            429,
            r#"{"success":false,"errors":[{"code":"429","cause":"TOO_MANY_REQUESTS"}]}"#,
            GtfError::Unavailable {
                status: Some(429),
                retry_after: None,
            },
        ),
        (
            500,
            r#"{"success":false,"errors":[{"code":"900","cause":"GENERIC_SERVICE_ERROR"}]}"#,
            rejected(500, "900", "GENERIC_SERVICE_ERROR"),
        ),
        (
            503,
            r#"{"success":false,"errors":[{"code":"903","cause":"SERVICE_UNAVAILABLE"}]}"#,
            GtfError::Unavailable {
                status: Some(503),
                retry_after: None,
            },
        ),
    ];

    for (endpoint, status, body, expected) in cases {
        let fake = FakeGtf::start(move |path, n| match path.as_str() {
            TOKEN_PATH if endpoint != TOKEN_PATH => ready(token_ok(n, 3600)),
            _ => ready(json(status, body)),
        })
        .await;
        let gtf = GtfClient::with_options(
            gtf_config(&fake.base_url, Duration::from_secs(5)),
            gtf_bff::gtf::ClientOptions {
                retry: gtf_bff::gtf::RetryPolicy {
                    max_attempts: 1,
                    ..Default::default()
                },
                ..Default::default()
            },
        )
        .unwrap();
        let (user, s) = (new_user(""), session());
        let got = match endpoint {
            URLS_PATH => gtf.presign(&user, &s, "KTP_SCAN").await.map(drop),
            DETAILS_PATH => gtf.details(&user, &s, "S").await.map(drop),
            _ => gtf.status(&user, &s, "S").await.map(drop),
        };
        assert_eq!(got.unwrap_err(), expected, "{endpoint} {status} {body}");
    }
    for (status, body, expected) in confirm_cases {
        let fake = FakeGtf::start(move |path, n| match path.as_str() {
            TOKEN_PATH => ready(token_ok(n, 3600)),
            _ => ready(json(status, body)),
        })
        .await;
        let gtf = client(&fake.base_url);
        let got = gtf.confirm(&new_user(""), &session(), "S").await;
        assert_eq!(got.unwrap_err(), expected, "confirm {status} {body}");
    }
}

#[tokio::test]
async fn a_circuit_breaker_stops_calling_a_gtf_that_is_down_then_tries_again() {
    // GTF fails twice, then recovers.
    let fake = FakeGtf::start(|path, n| match (path.as_str(), n) {
        (TOKEN_PATH, _) => ready(token_ok(n, 3600)),
        (_, 1 | 2) => ready(json(
            503,
            r#"{"success":false,"errors":[{"code":"903","cause":"SERVICE_UNAVAILABLE"}]}"#,
        )),
        _ => ready(status_ok("IN_PROGRESS")),
    })
    .await;
    let gtf = GtfClient::with_options(
        gtf_config(&fake.base_url, Duration::from_secs(5)),
        gtf_bff::gtf::ClientOptions {
            breaker_failures: 2,
            breaker_open_for: Duration::from_millis(800),
            ..fast_retries()
        },
    )
    .unwrap();
    let (user, s) = (new_user(""), session());
    // Two failures open the circuit; the third attempt is never sent.
    let err = gtf.status(&user, &s, "S").await.unwrap_err();
    assert_eq!(
        err,
        GtfError::Unavailable {
            status: None,
            retry_after: Some(Duration::from_millis(800))
        }
    );
    assert_eq!(fake.hits(&status_path("S")), 2);
    // While open, nothing reaches GTF.
    for _ in 0..5 {
        assert!(gtf.status(&user, &s, "S").await.is_err());
    }
    assert_eq!(fake.hits(&status_path("S")), 2);
    // Once the open period is over, a call goes through and closes it.
    // Time passing is the point: the 800 ms open period ends.
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert_eq!(
        gtf.status(&user, &s, "S").await.unwrap().status,
        GtfStatus::InProgress
    );
    assert_eq!(
        gtf.status(&user, &s, "S").await.unwrap().status,
        GtfStatus::InProgress
    );
    assert_eq!(fake.hits(&status_path("S")), 4);
}
