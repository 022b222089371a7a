//! Tenant HTTP: onboarding, listing, lifecycle, plans.

use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post, MethodRouter},
    Json, Router,
};
use platform::{
    auth::Role,
    extract::{ApiQuery, ListResponse, Page},
    http::RequestIdHeader,
    ids::TenantId,
    money::Currency,
    problem::{parse_json, ApiJson, FieldError, Problem},
    tenancy::TenantStatus,
};
use serde::{Deserialize, Serialize};

use super::{
    idempotency::{self, Claim, IdempotencyKey},
    model::{Locale, NewTenant, PlanId, Slug, TenantRecord, TimeZone},
    repo,
    service::{self, Actor, Patch},
    TenantsState,
};
use crate::{
    audit::Action,
    caller::StoreCaller,
    identity::{
        model::{Email, Password},
        Principal, TokenResponse,
    },
    wire::rfc3339,
};

pub(super) mod openapi;

/// The registry: lists, lifecycle, plans ([`sign_up_router`] opens stores).
pub fn router() -> Router<TenantsState> {
    Router::new()
        .route("/v1/tenants", get(list))
        .route("/v1/tenants/{id}", get(read).patch(update).delete(delete))
        .route(
            "/v1/tenants/{id}/suspend",
            admin_transition(TenantStatus::Active, TenantStatus::Suspended, Action::TenantSuspend),
        )
        .route(
            "/v1/tenants/{id}/resume",
            admin_transition(TenantStatus::Suspended, TenantStatus::Active, Action::TenantResume),
        )
        .route("/v1/tenants/{id}/purge", post(purge))
        .route("/v1/plans", get(plans))
}

/// `POST /v1/tenants`, sign-up: apart from [`router`] so that start-up can
/// hold it to the per-client limit (`EDGE_AUTH_PER_MINUTE`).
pub fn sign_up_router() -> Router<TenantsState> {
    Router::new().route("/v1/tenants", post(create))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct CreateTenantRequest {
    slug: String,
    name: String,
    owner_email: String,
    owner_password: String,
    currency: String,
    plan: Option<String>,
    locale: Option<String>,
    timezone: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct TenantResponse {
    id: String,
    slug: String,
    name: String,
    status: &'static str,
    url: String,
    plan: String,
    currency: String,
    locale: String,
    timezone: String,
    branding: serde_json::Value,
    cell_id: String,
    created_at: String,
}

fn tenant_response(state: &TenantsState, record: &TenantRecord) -> TenantResponse {
    TenantResponse {
        id: record.id.to_string(),
        slug: record.slug.clone(),
        name: record.name.clone(),
        status: record.status.as_str(),
        url: state.control.store_url_template.replace("{slug}", &record.slug),
        plan: record.plan.as_ref().to_owned(),
        currency: record.currency.as_str().to_owned(),
        locale: record.locale.clone(),
        timezone: record.timezone.clone(),
        branding: record.branding.clone(),
        cell_id: record.cell_id.clone(),
        created_at: rfc3339(record.created_at),
    }
}

fn actor(principal: Option<&Principal>, request_id: Option<String>) -> Actor {
    match principal {
        Some(p) => Actor::of(p, request_id),
        None => Actor::unauthenticated("anonymous", request_id),
    }
}

/// `POST /v1/tenants`: self-service sign-up (unless disabled) or a platform admin.
/// One call opens the store: registry, cell, settings, templates, owner, tokens.
async fn create(
    State(state): State<TenantsState>,
    principal: Option<Principal>,
    RequestIdHeader(request_id): RequestIdHeader,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    let is_admin = principal.as_ref().is_some_and(Principal::is_platform_admin);
    if !state.control.signup_enabled && !is_admin {
        return Err(Problem::forbidden("Self-service sign-up is disabled on this platform."));
    }
    let request: CreateTenantRequest = parse_json(&body)?;
    let (tenant, email, password) = validate(request, is_admin)?;
    let key = idempotency_key(&headers)?;
    let actor = actor(principal.as_ref(), request_id);

    let mut tx = state.db.control().begin().await?;
    let scope = format!("POST /v1/tenants|{}", actor.account_id.map_or("anonymous".into(), |a| a.to_string()));
    if let Some(key) = &key {
        match idempotency::claim(&mut tx, &state.master, &scope, key, &idempotency::request_hash(&body)).await? {
            Claim::New => {}
            Claim::Replay { status, body } => {
                drop(tx);
                // The first attempt may have died between the registry and the cell step.
                if let Some(id) = body["id"].as_str().and_then(TenantId::parse) {
                    let record = service::get(&state.db, id).await?;
                    if record.status == TenantStatus::Provisioning {
                        service::finish_provisioning(&state, &record).await?;
                    }
                }
                let status = StatusCode::from_u16(status).map_err(anyhow::Error::from)?;
                return Ok((status, Json(body)).into_response());
            }
            Claim::Mismatch => {
                return Err(Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "idempotency-key-reused",
                    "Idempotency key reused",
                    "This Idempotency-Key was used with a different request body.",
                ))
            }
        }
    }
    let onboarded = service::onboard(&mut tx, &state, tenant, &email, &password, &actor).await?;
    let mut response = serde_json::to_value(tenant_response(&state, &onboarded.record)).map_err(anyhow::Error::from)?;
    // The response describes the store as it is once the cell step below is done.
    response["status"] = "active".into();
    response["owner"] =
        serde_json::json!({"account_id": onboarded.owner.id.to_string(), "email": onboarded.owner.email});
    response["credentials"] =
        serde_json::to_value(TokenResponse::from(onboarded.tokens)).map_err(anyhow::Error::from)?;
    if let Some(key) = &key {
        idempotency::complete(&mut tx, &state.master, &scope, key, 201, &response).await?;
    }
    tx.commit().await?;
    service::finish_provisioning(&state, &onboarded.record).await?;
    Ok((StatusCode::CREATED, Json(response)).into_response())
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<IdempotencyKey>, Problem> {
    let Some(value) = headers.get("idempotency-key") else { return Ok(None) };
    IdempotencyKey::parse(value.to_str().unwrap_or_default())
        .map(Some)
        .map_err(|e| Problem::invalid_parameter("Idempotency-Key", e))
}

/// The plan of every self-service store; only a platform admin opens a store on another.
const DEFAULT_PLAN: &str = "starter";

fn validate(request: CreateTenantRequest, is_admin: bool) -> Result<(NewTenant, Email, Password), Problem> {
    let mut errors = Vec::new();
    let slug = Slug::parse(request.slug.trim()).map_err(|e| errors.push(FieldError::new("slug", e))).ok();
    let name = request.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 200 {
        errors.push(FieldError::new("name", "must be 1 to 200 characters"));
    }
    let email = Email::parse(&request.owner_email).map_err(|e| errors.push(FieldError::new("owner_email", e))).ok();
    let password =
        Password::parse(&request.owner_password).map_err(|e| errors.push(FieldError::new("owner_password", e))).ok();
    let currency = Currency::parse(&request.currency)
        .ok_or_else(|| errors.push(FieldError::new("currency", "must be an ISO 4217 code such as USD")))
        .ok();
    let locale = match request.locale {
        Some(raw) => Locale::parse(&raw).map_err(|e| errors.push(FieldError::new("locale", e))).ok(),
        None => Some(Locale::default()),
    };
    let timezone = match request.timezone {
        Some(raw) => TimeZone::parse(&raw).map_err(|e| errors.push(FieldError::new("timezone", e))).ok(),
        None => Some(TimeZone::default()),
    };
    // Self-service sign-up may name the default plan (the contract lets a client
    // send `plan`), never another: a plan is granted, not chosen.
    let plan = match request.plan {
        Some(plan) if !is_admin && plan != DEFAULT_PLAN => {
            errors.push(FieldError::new(
                "plan",
                format!("only a platform admin may open a store on another plan than {DEFAULT_PLAN}"),
            ));
            PlanId::new(DEFAULT_PLAN)
        }
        plan => PlanId::new(plan.unwrap_or_else(|| DEFAULT_PLAN.into())),
    };
    match (slug, email, password, currency, locale, timezone) {
        (Some(slug), Some(email), Some(password), Some(currency), Some(locale), Some(timezone))
            if errors.is_empty() =>
        {
            Ok((NewTenant { slug, name, plan, currency, locale, timezone }, email, password))
        }
        _ => Err(Problem::validation(errors)),
    }
}

#[derive(Deserialize)]
struct Filter {
    status: Option<String>,
    plan: Option<String>,
    /// Part of the slug or name, any case.
    q: Option<String>,
}

/// `GET /v1/tenants`: platform admins list every store; staff see their own.
async fn list(
    State(state): State<TenantsState>,
    principal: Principal,
    ApiQuery(filter): ApiQuery<Filter>,
    page: Result<Page, Problem>,
) -> Result<Json<ListResponse<TenantResponse>>, Problem> {
    let status = match filter.status.as_deref() {
        Some(raw) => Some(TenantStatus::parse(raw).ok_or_else(|| {
            Problem::invalid_parameter("status", "must be provisioning, active, suspended or deleted")
        })?),
        None => None,
    };
    // Read after the filter, so a bad status is named before a bad page.
    let page = page?;
    let plan = filter.plan.map(PlanId::new);
    let only = if principal.is_platform_admin() { None } else { principal.tenant_id };
    let after = page.after.map(TenantId::from_uuid);
    let mut conn = state.db.control().acquire().await?;
    let search = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    if search.is_some_and(|q| q.chars().count() > 100) {
        return Err(Problem::invalid_parameter("q", "must be at most 100 characters"));
    }
    let records = repo::list(&mut conn, only, status, plan.as_ref(), search, after, page.limit).await?;
    Ok(Json(page.respond(records, |r| r.id.as_uuid(), |r| tenant_response(&state, &r))))
}

/// `GET /v1/tenants/{id}`.
async fn read(State(state): State<TenantsState>, caller: StoreCaller) -> Result<Json<TenantResponse>, Problem> {
    let id = caller.store(Role::Staff)?;
    let record = service::get(&state.db, id).await?;
    Ok(Json(tenant_response(&state, &record)))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct PatchRequest {
    name: Option<String>,
    plan: Option<String>,
    branding: Option<serde_json::Value>,
}

/// `PATCH /v1/tenants/{id}`: name and branding (store admins and owners), plan
/// (platform admins only: a plan is what the store pays for, so its own staff
/// cannot grant it; the audit entry's before/after show the old and new plan).
async fn update(
    State(state): State<TenantsState>,
    caller: StoreCaller,
    ApiJson(request): ApiJson<PatchRequest>,
) -> Result<Json<TenantResponse>, Problem> {
    // The store first, so another store's caller gets 404 whatever the body says.
    let id = caller.store(Role::Admin)?;
    if request.plan.is_some() {
        caller.principal.require_platform_admin()?;
    }
    let mut errors = Vec::new();
    if let Some(name) = &request.name {
        if name.trim().is_empty() || name.chars().count() > 200 {
            errors.push(FieldError::new("name", "must be 1 to 200 characters"));
        }
    }
    if let Some(branding) = &request.branding {
        if !branding.is_object() || branding.to_string().len() > 16 * 1024 {
            errors.push(FieldError::new("branding", "must be a JSON object of at most 16 KiB"));
        } else {
            // The storefront's theme keys (`primary_color`, `logo_url`) must be usable as they are.
            errors.extend(platform::web::Theme::errors(branding));
        }
    }
    if !errors.is_empty() {
        return Err(Problem::validation(errors));
    }
    let name = request.name.map(|n| n.trim().to_owned());
    let patch = Patch { name, plan: request.plan.map(PlanId::new), branding: request.branding };
    let record = service::patch(&state, id, patch, &caller.actor()).await?;
    Ok(Json(tenant_response(&state, &record)))
}

/// `DELETE /v1/tenants/{id}`: soft delete by the owner or a platform admin; the
/// store stops answering at once; `purge` removes its data later.
async fn delete(State(state): State<TenantsState>, caller: StoreCaller) -> Result<Json<TenantResponse>, Problem> {
    let id = caller.store(Role::Owner)?;
    let from = [TenantStatus::Active, TenantStatus::Suspended, TenantStatus::Provisioning];
    let record =
        service::transition(&state, id, &from, TenantStatus::Deleted, Action::TenantDelete, &caller.actor()).await?;
    Ok(Json(tenant_response(&state, &record)))
}

/// `POST /v1/tenants/{id}/suspend` and `…/resume`: platform admins move a store
/// from `from` to `to`.
fn admin_transition(from: TenantStatus, to: TenantStatus, action: Action) -> MethodRouter<TenantsState> {
    post(move |State(state): State<TenantsState>, caller: StoreCaller| async move {
        let id = caller.store_as_platform_admin()?;
        let record = service::transition(&state, id, &[from], to, action, &caller.actor()).await?;
        Ok::<_, Problem>(Json(tenant_response(&state, &record)))
    })
}

/// `POST /v1/tenants/{id}/purge`: platform admins only, deleted stores only.
/// Repeating it answers the first purge's result and changes nothing.
async fn purge(State(state): State<TenantsState>, caller: StoreCaller) -> Result<Json<serde_json::Value>, Problem> {
    let id = caller.store_as_platform_admin()?;
    let purged = service::purge(&state, id, &caller.actor()).await?;
    Ok(Json(serde_json::json!({
        "id": id.to_string(),
        "export_path": purged.export_path,
        "rows": purged.rows,
        "control_rows": purged.control_rows,
        "media_objects": purged.media_objects,
        "redis_keys": purged.redis_keys,
    })))
}

#[derive(Serialize, sqlx::FromRow, utoipa::ToSchema)]
struct PlanResponse {
    id: String,
    name: String,
    requests_per_second: i32,
    max_products: i32,
    max_staff: i32,
}

/// `GET /v1/plans`: public, so sign-up forms can offer them.
async fn plans(State(state): State<TenantsState>) -> Result<Json<ListResponse<PlanResponse>>, Problem> {
    let plans: Vec<PlanResponse> = sqlx::query_as(
        "select plan_id as id, name, requests_per_second, max_products, max_staff from control.plan order by requests_per_second",
    )
    .fetch_all(state.db.control())
    .await?;
    Ok(Json(ListResponse::all(plans)))
}
