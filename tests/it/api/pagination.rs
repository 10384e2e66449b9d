//! `GET /v1/kyc/submissions`: the caller's submissions,
//! newest first, in pages linked by opaque cursors.

use std::collections::HashSet;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::app::{Reply, TestApp, spawn_app};

/// Creates `n` submissions for `user`, one after the other; their ids,
/// oldest first.
async fn create_many(app: &TestApp, user: &str, n: usize) -> Vec<String> {
    let mut ids = Vec::with_capacity(n);
    for _ in 0..n {
        let created = app.create(user).await;
        assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
        ids.push(created.body["id"].as_str().unwrap().to_owned());
    }
    ids
}

async fn list(app: &TestApp, user: &str, query: &str) -> Reply {
    app.get(user, &format!("/v1/kyc/submissions{query}")).await
}

#[track_caller]
fn ids(page: &Reply) -> Vec<String> {
    assert_eq!(page.status, StatusCode::OK, "{:?}", page.body);
    page.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect()
}

fn next_cursor(page: &Reply) -> Option<String> {
    match &page.body["nextCursor"] {
        Value::Null => None,
        Value::String(c) => Some(c.clone()),
        other => panic!("nextCursor is {other:?}"),
    }
}

/// Every page of `user`'s list at `limit` a page; `between` runs after each
/// page but the last.
async fn walk(
    app: &TestApp,
    user: &str,
    limit: usize,
    mut between: impl AsyncFnMut(),
) -> Vec<Vec<String>> {
    let mut pages = vec![];
    let mut page = list(app, user, &format!("?limit={limit}")).await;
    loop {
        pages.push(ids(&page));
        assert!(pages.last().unwrap().len() <= limit);
        let Some(cursor) = next_cursor(&page) else {
            return pages;
        };
        assert!(pages.len() <= 100, "the walk does not end");
        between().await;
        page = list(app, user, &format!("?limit={limit}&cursor={cursor}")).await;
    }
}

#[tokio::test]
async fn the_list_is_newest_first_twenty_at_a_time_by_default() {
    let app = spawn_app().await;
    let created = create_many(&app, "alice", 21).await;
    let newest_first: Vec<String> = created.iter().rev().cloned().collect();

    let page = list(&app, "alice", "").await;
    assert_eq!(ids(&page), newest_first[..20]);
    assert!(next_cursor(&page).is_some());
    let items = page.body["items"].as_array().unwrap();
    let times: Vec<&str> = items
        .iter()
        .map(|s| s["createdAt"].as_str().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");
    assert_eq!(items[0]["status"], "AWAITING_UPLOAD");

    let rest = list(
        &app,
        "alice",
        &format!("?cursor={}", next_cursor(&page).unwrap()),
    )
    .await;
    assert_eq!(ids(&rest), newest_first[20..]);
    assert_eq!(rest.body["nextCursor"], json!(null));
}

#[tokio::test]
async fn limits_outside_1_to_100_are_refused() {
    let app = spawn_app().await;
    for query in [
        "?limit=0",
        "?limit=101",
        "?limit=-1",
        "?limit=abc",
        "?limit=1.5",
    ] {
        let reply = list(&app, "alice", query).await;
        reply.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "INVALID_PARAMETER");
    }
    create_many(&app, "alice", 2).await;
    assert_eq!(ids(&list(&app, "alice", "?limit=1").await).len(), 1);
    assert_eq!(ids(&list(&app, "alice", "?limit=100").await).len(), 2);
}

#[tokio::test]
async fn walking_the_cursors_visits_every_submission_once() {
    let app = spawn_app().await;
    let created = create_many(&app, "alice", 10).await;

    let pages = walk(&app, "alice", 3, async || {}).await;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [3, 3, 3, 1]);
    let seen: Vec<String> = pages.into_iter().flatten().collect();
    let newest_first: Vec<String> = created.into_iter().rev().collect();
    assert_eq!(seen, newest_first);
}

#[tokio::test]
async fn a_page_that_ends_exactly_at_the_last_item_has_no_next_cursor() {
    let app = spawn_app().await;
    create_many(&app, "alice", 4).await;
    let pages = walk(&app, "alice", 2, async || {}).await;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [2, 2]);
}

#[tokio::test]
async fn submissions_created_during_a_walk_neither_appear_nor_shift_it() {
    let app = spawn_app().await;
    let created = create_many(&app, "alice", 7).await;

    let mut added = vec![];
    let pages = walk(&app, "alice", 2, async || {
        added.extend(create_many(&app, "alice", 2).await);
    })
    .await;

    let seen: Vec<String> = pages.into_iter().flatten().collect();
    let newest_first: Vec<String> = created.into_iter().rev().collect();
    assert_eq!(seen, newest_first, "nothing skipped, repeated or added");
    assert_eq!(added.len(), 6);
    // A new walk starts with the newest.
    let fresh = ids(&list(&app, "alice", "?limit=1").await);
    assert_eq!(fresh, [added.last().unwrap().clone()]);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 7);
}

#[tokio::test]
async fn a_tampered_or_made_up_cursor_is_refused() {
    let app = spawn_app().await;
    create_many(&app, "alice", 3).await;
    let cursor = next_cursor(&list(&app, "alice", "?limit=1").await).expect("a next page");
    assert_eq!(
        ids(&list(&app, "alice", &format!("?limit=1&cursor={cursor}")).await).len(),
        1
    );

    // Every single-character change is caught.
    for (i, c) in cursor.char_indices() {
        let replacement = if c == 'A' { 'B' } else { 'A' };
        let mut tampered = cursor.clone();
        tampered.replace_range(i..i + 1, &replacement.to_string());
        let reply = list(&app, "alice", &format!("?cursor={tampered}")).await;
        reply.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "INVALID_PARAMETER");
    }
    for made_up in ["abc", ".", "djE6MDox.AAAA", &format!("{cursor}x")] {
        let reply = list(&app, "alice", &format!("?cursor={made_up}")).await;
        reply.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "INVALID_PARAMETER");
    }
}

#[tokio::test]
async fn another_users_list_is_empty() {
    let app = spawn_app().await;
    create_many(&app, "alice", 3).await;
    let bobs = list(&app, "bob", "").await;
    assert_eq!(ids(&bobs), Vec::<String>::new());
    assert_eq!(bobs.body["nextCursor"], json!(null));
    // Alice's cursor does not open her list to Bob either.
    let cursor = next_cursor(&list(&app, "alice", "?limit=1").await).unwrap();
    let with_her_cursor = list(&app, "bob", &format!("?cursor={cursor}")).await;
    assert_eq!(ids(&with_her_cursor), Vec::<String>::new());
}
