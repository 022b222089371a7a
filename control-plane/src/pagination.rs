//! `?limit=&cursor=` as every list of the control plane reads them: limit 1–100
//! (default 20), cursor = base64url of the last item's UUIDv7.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use platform::problem::Problem;
use uuid::Uuid;

/// The page size, or a 400 naming `limit`.
pub fn limit(raw: Option<&str>) -> Result<i64, Problem> {
    match raw {
        None => Ok(20),
        Some(raw) => raw
            .parse::<i64>()
            .ok()
            .filter(|l| (1..=100).contains(l))
            .ok_or_else(|| Problem::invalid_parameter("limit", "must be an integer from 1 to 100")),
    }
}

/// The id to continue after, or a 400 naming `cursor`.
pub fn cursor(raw: Option<&str>) -> Result<Option<Uuid>, Problem> {
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

/// The cursor of an id.
pub fn encode(id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(id.as_bytes())
}
