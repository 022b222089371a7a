//! Request extractors every handler of both services shares, so that body,
//! query and page parsing are written once and always reject with a
//! [`Problem`] that names the field at fault.
//!
//! - [`ApiJson`] (re-exported from [`crate::problem`]): a required JSON body.
//! - [`OptionalJson`]: a JSON body that may be absent (`POST …/cancel`).
//! - [`ApiQuery`]: a query string whose rejection is a 400 problem.
//! - [`Page`]: `?limit=&cursor=` of a list keyed by UUIDv7 ids, and
//!   [`ListResponse`], the `{"items", "next_cursor"}` envelope it answers with.

use axum::{
    extract::{FromRequest, FromRequestParts, Query, Request},
    http::request::Parts,
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use uuid::Uuid;

pub use crate::problem::ApiJson;
use crate::problem::{parse_json, Problem};

/// Items per page when the client names no `limit`.
pub const DEFAULT_LIMIT: i64 = 20;
/// The largest `limit` a list accepts.
pub const MAX_LIMIT: i64 = 100;

/// A JSON body that may be left out: no body (or only white space) is
/// `T::default()`; anything else is parsed as [`ApiJson`] parses it, except
/// that the content type is not checked (clients send `{}` without one).
pub struct OptionalJson<T>(pub T);

impl<T, S> FromRequest<S> for OptionalJson<T>
where
    T: DeserializeOwned + Default,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request(request: Request, state: &S) -> Result<Self, Problem> {
        let bytes = axum::body::Bytes::from_request(request, state)
            .await
            .map_err(|e| Problem::bad_request(format!("cannot read the body: {e}")))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self(T::default()));
        }
        parse_json(&bytes).map(Self)
    }
}

/// A query string deserialized into `T`; a value of the wrong shape is a 400
/// problem instead of axum's plain-text rejection.
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(value)| Self(value))
            .map_err(|e| Problem::bad_request(e.body_text()))
    }
}

/// `limit`: 1–[`MAX_LIMIT`], [`DEFAULT_LIMIT`] when absent; anything else is a
/// 400 naming `limit`. For lists whose cursor is not a plain id (keyset sorts).
pub fn parse_limit(raw: Option<&str>) -> Result<i64, Problem> {
    match raw {
        None => Ok(DEFAULT_LIMIT),
        Some(raw) => raw
            .parse::<i64>()
            .ok()
            .filter(|l| (1..=MAX_LIMIT).contains(l))
            .ok_or_else(|| Problem::invalid_parameter("limit", "must be an integer from 1 to 100")),
    }
}

/// The opaque cursor of a UUIDv7 id: base64url of its 16 bytes.
pub fn encode_cursor(id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(id.as_bytes())
}

/// The id a cursor of [`encode_cursor`] names; empty is none, anything else a
/// 400 naming `cursor`.
pub fn decode_cursor(raw: Option<&str>) -> Result<Option<Uuid>, Problem> {
    match raw {
        None | Some("") => Ok(None),
        Some(raw) => URL_SAFE_NO_PAD
            .decode(raw)
            .ok()
            .and_then(|b| Uuid::from_slice(&b).ok())
            .map(Some)
            .ok_or_else(|| Problem::invalid_parameter("cursor", "is not a cursor this API issued")),
    }
}

/// `?limit=&cursor=` of a list ordered by UUIDv7 id (newest first), parsed
/// from the query; other query parameters are left to other extractors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Page {
    /// Items per page.
    pub limit: i64,
    /// Continue after this id (exclusive); `None` for the first page.
    pub after: Option<Uuid>,
}

/// The raw strings, so that bad values become problems naming them.
#[derive(Deserialize)]
struct RawPage {
    limit: Option<String>,
    cursor: Option<String>,
}

impl Page {
    /// Parses raw `limit` and `cursor` values.
    pub fn parse(limit: Option<&str>, cursor: Option<&str>) -> Result<Self, Problem> {
        Ok(Self { limit: parse_limit(limit)?, after: decode_cursor(cursor)? })
    }

    /// The envelope of one page: `next_cursor` is the last item's id when the
    /// page is full (there may be more), null otherwise.
    pub fn respond<T, D>(self, items: Vec<T>, id: impl Fn(&T) -> Uuid, dto: impl Fn(T) -> D) -> ListResponse<D> {
        let next_cursor =
            (items.len() as i64 == self.limit).then(|| items.last().map(|i| encode_cursor(id(i)))).flatten();
        ListResponse { items: items.into_iter().map(dto).collect(), next_cursor }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Page {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        let ApiQuery(raw) = ApiQuery::<RawPage>::from_request_parts(parts, state).await?;
        Page::parse(raw.limit.as_deref(), raw.cursor.as_deref())
    }
}

/// `{"items": [...], "next_cursor": "<opaque>" | null}`: every list of both services.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ListResponse<T> {
    /// The page.
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; null on the last.
    pub next_cursor: Option<String>,
}

impl<T> ListResponse<T> {
    /// A list that is never paged: everything, no cursor.
    pub fn all(items: impl IntoIterator<Item = impl Into<T>>) -> Self {
        Self { items: items.into_iter().map(Into::into).collect(), next_cursor: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_defaults_and_bounds() {
        assert_eq!(parse_limit(None).unwrap(), 20);
        assert_eq!(parse_limit(Some("100")).unwrap(), 100);
        for bad in ["0", "101", "-1", "ten", ""] {
            let p = parse_limit(Some(bad)).unwrap_err();
            assert_eq!(p.body()["errors"][0]["field"], "limit", "{bad}");
        }
    }

    #[test]
    fn a_cursor_round_trips_and_a_foreign_one_is_a_400() {
        let id = Uuid::now_v7();
        assert_eq!(decode_cursor(Some(&encode_cursor(id))).unwrap(), Some(id));
        assert_eq!(decode_cursor(Some("")).unwrap(), None);
        let p = decode_cursor(Some("not-a-cursor")).unwrap_err();
        assert_eq!(p.status(), axum::http::StatusCode::BAD_REQUEST);
        assert_eq!(p.body()["errors"][0]["field"], "cursor");
    }

    #[test]
    fn only_a_full_page_has_a_next_cursor() {
        let ids: Vec<Uuid> = (0..3).map(|_| Uuid::now_v7()).collect();
        let full = Page { limit: 3, after: None }.respond(ids.clone(), |i| *i, |i| i);
        assert_eq!(full.next_cursor, Some(encode_cursor(ids[2])));
        let short = Page { limit: 4, after: None }.respond(ids, |i| *i, |i| i);
        assert_eq!(short.next_cursor, None);
    }
}
