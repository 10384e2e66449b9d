//! List cursors: the last item's `(time, id)`, signed so that a client
//! cannot forge one, and tagged with the listing it belongs to.

use std::fmt::Display;
use std::str::FromStr;

use time::OffsetDateTime;

use super::KycError;
use crate::crypto::DataKeys;

/// A listing's tag, so that a cursor of one listing is refused by another.
#[derive(Debug, Clone, Copy)]
pub(super) enum Listing {
    /// Submissions, by `(created_at, id)`: a user's own, or an operator's
    /// search (the same order, so the same cursors).
    Submissions,
    /// The access audit log, by `(at, id)`.
    Audit,
}

impl Listing {
    fn tag(self) -> &'static str {
        match self {
            Self::Submissions => "v1",
            Self::Audit => "audit1",
        }
    }
}

pub(super) fn encode(
    keys: &DataKeys,
    listing: Listing,
    at: OffsetDateTime,
    id: impl Display,
) -> String {
    let micros = at.unix_timestamp_nanos() / 1000;
    keys.sign_token(format!("{}:{micros}:{id}", listing.tag()).as_bytes())
}

pub(super) fn decode<Id: FromStr>(
    keys: &DataKeys,
    listing: Listing,
    cursor: &str,
) -> Result<(OffsetDateTime, Id), KycError> {
    let payload = keys.verify_token(cursor).ok_or(KycError::InvalidCursor)?;
    let text = String::from_utf8(payload).map_err(|_| KycError::InvalidCursor)?;
    let mut parts = text.splitn(3, ':');
    let (Some(tag), Some(micros), Some(id)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(KycError::InvalidCursor);
    };
    if tag != listing.tag() {
        return Err(KycError::InvalidCursor);
    }
    let micros: i128 = micros.parse().map_err(|_| KycError::InvalidCursor)?;
    let at = OffsetDateTime::from_unix_timestamp_nanos(micros * 1000)
        .map_err(|_| KycError::InvalidCursor)?;
    Ok((at, id.parse().map_err(|_| KycError::InvalidCursor)?))
}

/// Pages by fetching one item more than asked: its presence says there is a
/// next page, whose cursor is the last kept item's.
pub(super) fn page<T>(
    mut items: Vec<T>,
    limit: usize,
    cursor_of: impl Fn(&T) -> String,
) -> (Vec<T>, Option<String>) {
    if items.len() <= limit {
        return (items, None);
    }
    items.truncate(limit);
    let next = items.last().map(cursor_of);
    (items, next)
}

/// What to fetch for a page of `limit`: one more.
pub(super) fn fetch_for(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX - 1) + 1
}
