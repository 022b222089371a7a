//! `/admin/attention`: what the worker's jobs could not do for the store (an
//! order whose provider errs, backing off or waiting for staff), and staff's
//! retry. Under orders because every job that records attempts settles orders
//! or their payments; the records are `worker::attempts`'.

use axum::{extract::Path, Json};
use platform::{
    extract::{ApiQuery, ListResponse, Page},
    problem::Problem,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Admin, READ, WRITE};
use crate::{
    wire::timestamp,
    worker::attempts::{self, Attempt},
};

/// One job's record of failing on one subject.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct AttentionResponse {
    /// The job: `reservation-expiry`, `payment-recovery`, ….
    job: String,
    /// What it failed on: an order id (a refund id for refund jobs).
    subject: String,
    /// Failures so far.
    attempts: i32,
    /// The last failure, as the job saw it.
    last_error: String,
    /// When the job tries again (unless it needs attention).
    next_attempt_at: String,
    /// The job stopped trying: an admin must retry it.
    needs_attention: bool,
    updated_at: String,
}

impl From<Attempt> for AttentionResponse {
    fn from(a: Attempt) -> Self {
        Self {
            job: a.job,
            subject: a.subject.to_string(),
            attempts: a.attempts,
            last_error: a.last_error,
            next_attempt_at: timestamp(a.next_attempt_at),
            needs_attention: a.needs_attention,
            updated_at: timestamp(a.updated_at),
        }
    }
}

#[derive(Deserialize)]
pub(super) struct AttentionParams {
    needs_attention: Option<String>,
}

/// `GET /admin/attention?needs_attention=&limit=&cursor=`: newest first.
pub(super) async fn list(
    staff: Admin,
    params: Result<ApiQuery<AttentionParams>, Problem>,
    page: Result<Page, Problem>,
) -> Result<Json<ListResponse<AttentionResponse>>, Problem> {
    staff.allow(READ)?;
    let (ApiQuery(params), page) = (params?, page?);
    let needs_attention = match params.needs_attention.as_deref() {
        None | Some("") => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(_) => return Err(Problem::invalid_parameter("needs_attention", "must be true or false")),
    };
    let mut tx = staff.state.db.tenant_tx(&staff.tenant).await?;
    let items = attempts::list(&mut tx, needs_attention, page).await?;
    Ok(Json(page.respond(items, |a| a.job_attempt_id, AttentionResponse::from)))
}

/// `POST /admin/attention/{job}/{subject}/retry` (admins and owners): the next
/// run of the job tries the subject again.
pub(super) async fn retry(
    staff: Admin,
    Path((job, subject)): Path<(String, String)>,
) -> Result<Json<AttentionResponse>, Problem> {
    staff.allow_admin(WRITE)?;
    let not_found = || Problem::not_found("attention-not-found", "This store has no such job record.");
    let subject = Uuid::parse_str(&subject).map_err(|_| not_found())?;
    let mut tx = staff.state.db.tenant_tx(&staff.tenant).await?;
    let retried = attempts::retry(&mut tx, &job, subject).await?.ok_or_else(not_found)?;
    tx.commit().await?;
    Ok(Json(retried.into()))
}
