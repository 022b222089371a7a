//! Store-settings HTTP.

use axum::{extract::State, routing::get, Json, Router};
use platform::{
    auth::Role,
    config::PlatformEnv,
    problem::{ApiJson, FieldError, Problem},
};
use serde::{de::DeserializeOwned, Deserialize, Deserializer, Serialize};

use super::{
    model::{
        parse_account_sid, parse_port, parse_sms_from, parse_smtp_host, parse_stripe_account_id,
        parse_stripe_publishable_key, parse_username, Change, NotificationSettings, NotificationUpdate,
        PaymentProvider, PaymentSettings, PaymentUpdate, PlainSecret, SealedSecret, SmsUpdate, SmtpTls, SmtpUpdate,
    },
    service::{self, Kind},
    TenantSettingsState,
};
use crate::{caller::StoreCaller, identity::model::Email, wire::rfc3339};

pub(super) mod openapi;

/// Read and change a store's payment and notification settings.
pub fn router() -> Router<TenantSettingsState> {
    Router::new()
        .route("/v1/tenants/{id}/payment-settings", get(read::<PaymentSettings>).put(put::<PaymentSettings>))
        .route(
            "/v1/tenants/{id}/notification-settings",
            get(read::<NotificationSettings>).put(put::<NotificationSettings>),
        )
}

/// Tells a field sent as `null` (`Some(None)`) from a field left out (`None`).
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

// Unknown fields are refused: a misspelt secret must not look saved.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct PaymentSettingsRequest {
    provider: String,
    #[serde(default, deserialize_with = "present")]
    stripe_secret_key: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    stripe_webhook_secret: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    stripe_account_id: Option<Option<String>>,
    /// `pk_test_…` or `pk_live_…`: what the storefront's checkout page gives
    /// Stripe.js to show the card form.
    #[serde(default, deserialize_with = "present")]
    stripe_publishable_key: Option<Option<String>>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct SmtpRequest {
    host: String,
    port: u16,
    #[serde(default, deserialize_with = "present")]
    username: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    password: Option<Option<String>>,
    /// `none`, `starttls` (the default) or `tls`.
    tls: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct SmsRequest {
    account_sid: String,
    #[serde(default, deserialize_with = "present")]
    auth_token: Option<Option<String>>,
    from: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct NotificationSettingsRequest {
    #[serde(default, deserialize_with = "present")]
    email_from: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    smtp: Option<Option<SmtpRequest>>,
    #[serde(default, deserialize_with = "present")]
    sms: Option<Option<SmsRequest>>,
}

/// What is shown of a secret: its last four characters, or `null` when unset.
#[derive(Serialize, utoipa::ToSchema)]
struct SecretResponse {
    last4: String,
}

fn secret(secret: Option<&SealedSecret>) -> Option<SecretResponse> {
    secret.map(|s| SecretResponse { last4: s.last4.clone() })
}

#[derive(Serialize, utoipa::ToSchema)]
struct PaymentSettingsResponse {
    provider: &'static str,
    stripe_secret_key: Option<SecretResponse>,
    stripe_webhook_secret: Option<SecretResponse>,
    stripe_account_id: Option<String>,
    stripe_publishable_key: Option<String>,
    /// Whether the store's checkout can take payments with these settings.
    checkout_ready: bool,
    /// What stops (or weakens) checkout, for the merchant; `null` when nothing.
    checkout_message: Option<String>,
    updated_at: Option<String>,
}

/// What a merchant is told of their payment settings: checkout answers `503`
/// until a provider it may charge through is configured.
fn checkout_readiness(s: &PaymentSettings, env: PlatformEnv) -> (bool, Option<String>) {
    match s.provider {
        PaymentProvider::Test if env == PlatformEnv::Production => (
            false,
            Some(
                "The built-in test provider takes no real payments and is refused in production: checkout is \
                  closed until you configure Stripe."
                    .into(),
            ),
        ),
        PaymentProvider::Test => (true, Some("Test mode: payments go through the built-in test provider.".into())),
        PaymentProvider::Stripe if s.stripe_secret_key.is_none() => {
            (false, Some("Stripe is selected but no secret key is set: checkout is closed until one is.".into()))
        }
        PaymentProvider::Stripe if s.stripe_webhook_secret.is_none() => (
            true,
            Some(
                "No Stripe webhook secret is set: payments confirmed after checkout (3-D Secure) are settled \
                  only by the platform's reconciliation, later."
                    .into(),
            ),
        ),
        PaymentProvider::Stripe if s.stripe_publishable_key.is_none() => (
            true,
            Some(
                "No Stripe publishable key is set: the storefront's checkout page cannot show Stripe's card form \
                  (checkout through the API, with a payment method made by your own client, works)."
                    .into(),
            ),
        ),
        PaymentProvider::Stripe => (true, None),
    }
}

impl Respond for PaymentSettings {
    type Response = PaymentSettingsResponse;

    fn respond(self, env: PlatformEnv) -> PaymentSettingsResponse {
        let (checkout_ready, checkout_message) = checkout_readiness(&self, env);
        PaymentSettingsResponse {
            provider: self.provider.as_str(),
            stripe_secret_key: secret(self.stripe_secret_key.as_ref()),
            stripe_webhook_secret: secret(self.stripe_webhook_secret.as_ref()),
            stripe_account_id: self.stripe_account_id,
            stripe_publishable_key: self.stripe_publishable_key,
            checkout_ready,
            checkout_message,
            updated_at: self.updated_at.map(rfc3339),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
struct SmtpResponse {
    host: String,
    port: u16,
    username: Option<String>,
    password: Option<SecretResponse>,
    tls: &'static str,
}

#[derive(Serialize, utoipa::ToSchema)]
struct SmsResponse {
    account_sid: String,
    auth_token: Option<SecretResponse>,
    from: String,
}

#[derive(Serialize, utoipa::ToSchema)]
struct NotificationSettingsResponse {
    email_from: Option<String>,
    smtp: Option<SmtpResponse>,
    sms: Option<SmsResponse>,
    updated_at: Option<String>,
}

impl Respond for NotificationSettings {
    type Response = NotificationSettingsResponse;

    fn respond(self, _: PlatformEnv) -> NotificationSettingsResponse {
        let s = self;
        NotificationSettingsResponse {
            email_from: s.email_from,
            smtp: s.smtp.map(|smtp| SmtpResponse {
                password: secret(smtp.password.as_ref()),
                host: smtp.host,
                port: smtp.port,
                username: smtp.username,
                tls: smtp.tls.as_str(),
            }),
            sms: s.sms.map(|sms| SmsResponse {
                auth_token: secret(Some(&sms.auth_token)),
                account_sid: sms.account_sid,
                from: sms.from,
            }),
            updated_at: s.updated_at.map(rfc3339),
        }
    }
}

/// Parses one field, collecting its error under `field`.
fn check<T, U>(
    errors: &mut Vec<FieldError>,
    field: &str,
    change: Change<T>,
    parse: impl FnOnce(T) -> Result<U, &'static str>,
) -> Change<U> {
    change.try_map(parse).unwrap_or_else(|e| {
        errors.push(FieldError::new(field, e));
        Change::Keep
    })
}

/// One kind of settings on the wire: the body of its `PUT`, what `GET` shows,
/// and how the body becomes an update (every field's problem named at once).
trait Wire: Kind + Respond {
    type Request: DeserializeOwned;

    fn update(request: Self::Request) -> Result<Self::Update, Problem>;
}

/// What `GET` shows of one kind of settings, on this platform (`PLATFORM_ENV`).
trait Respond: Sized {
    type Response: Serialize;

    fn respond(self, env: PlatformEnv) -> Self::Response;
}

impl Wire for PaymentSettings {
    type Request = PaymentSettingsRequest;

    fn update(request: PaymentSettingsRequest) -> Result<PaymentUpdate, Problem> {
        let mut errors = Vec::new();
        let provider = PaymentProvider::parse(&request.provider);
        if provider.is_none() {
            errors.push(FieldError::new("provider", "must be test or stripe"));
        }
        let update = PaymentUpdate {
            provider: provider.unwrap_or(PaymentProvider::Test),
            stripe_secret_key: check(
                &mut errors,
                "stripe_secret_key",
                Change::from_field(request.stripe_secret_key),
                |v| PlainSecret::stripe_secret_key(&v),
            ),
            stripe_webhook_secret: check(
                &mut errors,
                "stripe_webhook_secret",
                Change::from_field(request.stripe_webhook_secret),
                |v| PlainSecret::stripe_webhook_secret(&v),
            ),
            stripe_account_id: check(
                &mut errors,
                "stripe_account_id",
                Change::from_field(request.stripe_account_id),
                |v| parse_stripe_account_id(&v),
            ),
            stripe_publishable_key: check(
                &mut errors,
                "stripe_publishable_key",
                Change::from_field(request.stripe_publishable_key),
                |v| parse_stripe_publishable_key(&v),
            ),
        };
        if errors.is_empty() {
            Ok(update)
        } else {
            Err(Problem::validation(errors))
        }
    }
}

impl Wire for NotificationSettings {
    type Request = NotificationSettingsRequest;

    fn update(request: NotificationSettingsRequest) -> Result<NotificationUpdate, Problem> {
        let mut errors = Vec::new();
        let email_from = check(&mut errors, "email_from", Change::from_field(request.email_from), |v| {
            Email::parse(&v).map(|e| e.as_ref().to_owned())
        });
        let smtp = Change::from_field(request.smtp).try_map(|smtp| {
            let host = parse_smtp_host(&smtp.host).map_err(|e| errors.push(FieldError::new("smtp.host", e)));
            let port = parse_port(smtp.port).map_err(|e| errors.push(FieldError::new("smtp.port", e)));
            let username =
                check(&mut errors, "smtp.username", Change::from_field(smtp.username), |v| parse_username(&v));
            let password =
                check(&mut errors, "smtp.password", Change::from_field(smtp.password), |v| PlainSecret::opaque(&v));
            let tls = match smtp.tls.as_deref() {
                None => Ok(SmtpTls::default()),
                Some(tls) => SmtpTls::parse(tls)
                    .ok_or_else(|| errors.push(FieldError::new("smtp.tls", "must be none, starttls or tls"))),
            };
            Ok::<_, ()>(SmtpUpdate { host: host?, port: port?, username, password, tls: tls? })
        });
        let sms = Change::from_field(request.sms).try_map(|sms| {
            let account_sid =
                parse_account_sid(&sms.account_sid).map_err(|e| errors.push(FieldError::new("sms.account_sid", e)));
            let auth_token = match Change::from_field(sms.auth_token) {
                Change::Clear => {
                    errors.push(FieldError::new("sms.auth_token", "is required"));
                    Change::Keep
                }
                change => check(&mut errors, "sms.auth_token", change, |v| PlainSecret::opaque(&v)),
            };
            let from = parse_sms_from(&sms.from).map_err(|e| errors.push(FieldError::new("sms.from", e)));
            Ok::<_, ()>(SmsUpdate { account_sid: account_sid?, auth_token, from: from? })
        });
        match (smtp, sms) {
            (Ok(smtp), Ok(sms)) if errors.is_empty() => Ok(NotificationUpdate { email_from, smtp, sms }),
            _ => Err(Problem::validation(errors)),
        }
    }
}

/// `GET /v1/tenants/{id}/<kind>-settings`: owners and admins; secrets as last four.
async fn read<K: Wire>(
    State(state): State<TenantSettingsState>,
    caller: StoreCaller,
) -> Result<Json<K::Response>, Problem> {
    let tenant = caller.store(Role::Admin)?;
    Ok(Json(service::read::<K>(&state, tenant).await?.respond(state.platform_env)))
}

/// `PUT /v1/tenants/{id}/<kind>-settings`: fields left out keep their value,
/// `null` clears; answers like `GET`.
async fn put<K: Wire>(
    State(state): State<TenantSettingsState>,
    caller: StoreCaller,
    ApiJson(request): ApiJson<K::Request>,
) -> Result<Json<K::Response>, Problem> {
    let tenant = caller.store(Role::Admin)?;
    let update = K::update(request)?;
    let settings = service::put::<K>(&state, tenant, update, &caller.actor()).await?;
    Ok(Json(settings.respond(state.platform_env)))
}
