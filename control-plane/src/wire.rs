//! How the control plane writes values that have more than one textual form.

use chrono::{DateTime, SecondsFormat, Utc};

/// A timestamp in responses: RFC 3339, UTC (`Z`), milliseconds.
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}
