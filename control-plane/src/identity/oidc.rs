//! Platform-admin sign-in with OpenID Connect: authorization code flow with
//! PKCE; `state` and `nonce` are single-use and kept in Redis for ten minutes.
//!
//! **Invariant:** only an identity whose verified email is on
//! `OIDC_ALLOWED_EMAILS` (empty: OIDC sign-in is off) becomes a platform
//! admin, as a new account of its own bound to (issuer, subject) — its first
//! sign-in is the audited grant. An OIDC identity is never linked to, and
//! never promotes, an existing account found by email.

use axum::{
    extract::{Query, State},
    response::{IntoResponse, Redirect, Response},
    routing::get,
    Json, Router,
};
use openidconnect::{
    core::{CoreAuthenticationFlow, CoreClient, CoreJwsSigningAlgorithm, CoreProviderMetadata},
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};
use platform::{auth::Role, problem::Problem};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

use super::{
    model::TokenFamilyId,
    routes::TokenResponse as TokenBody,
    service::{self, IdentityState},
};

const LOGIN_TTL_SECS: u64 = 600;

pub(super) fn router() -> Router<IdentityState> {
    Router::new().route("/v1/auth/oidc/login", get(login)).route("/v1/auth/oidc/callback", get(callback))
}

/// What the login step leaves for the callback.
#[derive(Serialize, Deserialize)]
struct PendingLogin {
    nonce: String,
    pkce_verifier: String,
}

struct OidcConfig {
    issuer: IssuerUrl,
    client_id: ClientId,
    client_secret: Option<ClientSecret>,
    redirect: RedirectUrl,
}

/// The emails allowed to be platform admins through OIDC. Empty: nobody (OIDC
/// sign-in is off), never "everybody".
fn allowed_emails(state: &IdentityState) -> Vec<&str> {
    state.settings.oidc_allowed_emails.split(',').map(str::trim).filter(|e| !e.is_empty()).collect()
}

fn config(state: &IdentityState) -> Result<OidcConfig, Problem> {
    let c = &state.settings;
    let (Some(issuer), Some(client_id), Some(redirect)) = (&c.oidc_issuer_url, &c.oidc_client_id, &c.oidc_redirect_url)
    else {
        return Err(Problem::not_found("oidc-not-configured", "OIDC sign-in is not configured on this platform."));
    };
    if allowed_emails(state).is_empty() {
        return Err(Problem::not_found(
            "oidc-not-configured",
            "OIDC sign-in is off on this platform: no email is allowed (OIDC_ALLOWED_EMAILS).",
        ));
    }
    Ok(OidcConfig {
        issuer: IssuerUrl::new(issuer.clone()).map_err(|e| Problem::internal(e.into()))?,
        client_id: ClientId::new(client_id.clone()),
        client_secret: c.oidc_client_secret.as_ref().map(|s| ClientSecret::new(s.expose_secret().to_owned())),
        redirect: RedirectUrl::new(redirect.clone()).map_err(|e| Problem::internal(e.into()))?,
    })
}

fn http_client() -> anyhow::Result<openidconnect::reqwest::Client> {
    // No redirects: following them would open the token exchange to SSRF.
    Ok(openidconnect::reqwest::ClientBuilder::new()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()?)
}

fn key(state: &str) -> String {
    format!("oidc:login:{state}")
}

/// `GET /v1/auth/oidc/login`: redirects the browser to the identity provider.
async fn login(State(state): State<IdentityState>) -> Result<Response, Problem> {
    let config = config(&state)?;
    let http = http_client()?;
    let metadata = CoreProviderMetadata::discover_async(config.issuer.clone(), &http).await.map_err(|e| {
        tracing::warn!(error = %e, "OIDC discovery failed");
        Problem::unavailable("The identity provider cannot be reached.")
    })?;
    let client = CoreClient::from_provider_metadata(metadata, config.client_id, config.client_secret)
        .set_redirect_uri(config.redirect);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf, nonce) = client
        .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
        .add_scope(Scope::new("email".into()))
        .set_pkce_challenge(challenge)
        .url();
    let pending = PendingLogin { nonce: nonce.secret().clone(), pkce_verifier: verifier.secret().clone() };
    let mut redis = state.redis.clone();
    redis::cmd("SET")
        .arg(key(csrf.secret()))
        .arg(serde_json::to_string(&pending).map_err(anyhow::Error::from)?)
        .arg("EX")
        .arg(LOGIN_TTL_SECS)
        .query_async::<()>(&mut redis)
        .await
        .map_err(anyhow::Error::from)?;
    Ok(Redirect::to(url.as_str()).into_response())
}

#[derive(Deserialize)]
struct CallbackParams {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// `GET /v1/auth/oidc/callback`: checks `state`, exchanges the code with the PKCE
/// verifier, verifies the ID token (signature, issuer, audience, expiry, nonce)
/// and answers with platform-admin tokens.
async fn callback(
    State(state): State<IdentityState>,
    Query(params): Query<CallbackParams>,
) -> Result<Json<TokenBody>, Problem> {
    if let Some(error) = params.error {
        return Err(Problem::unauthorized(format!("The identity provider refused the sign-in: {error}.")));
    }
    let (Some(code), Some(csrf)) = (params.code, params.state) else {
        return Err(Problem::invalid_parameter("state", "code and state are required"));
    };
    let config = config(&state)?;
    // GETDEL: a state is good for one callback only.
    let mut redis = state.redis.clone();
    let pending: Option<String> =
        redis::cmd("GETDEL").arg(key(&csrf)).query_async(&mut redis).await.map_err(anyhow::Error::from)?;
    let pending: PendingLogin = match pending {
        Some(p) => serde_json::from_str(&p).map_err(anyhow::Error::from)?,
        None => return Err(Problem::invalid_parameter("state", "is unknown, used or expired")),
    };

    let refused = |what: &str, e: &dyn std::fmt::Display| {
        tracing::warn!(error = %e, "OIDC sign-in refused: {what}");
        Problem::unauthorized("The sign-in could not be verified.")
    };
    let http = http_client()?;
    let metadata = CoreProviderMetadata::discover_async(config.issuer.clone(), &http)
        .await
        .map_err(|e| refused("discovery", &e))?;
    let client = CoreClient::from_provider_metadata(metadata, config.client_id, config.client_secret)
        .set_redirect_uri(config.redirect);
    let response = client
        .exchange_code(AuthorizationCode::new(code))
        .map_err(|e| refused("configuration", &e))?
        .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier))
        .request_async(&http)
        .await
        .map_err(|e| refused("code exchange", &e))?;
    let id_token = response.id_token().ok_or_else(|| refused("response", &"no id_token"))?;
    let verifier = client.id_token_verifier().set_allowed_algs([
        CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        CoreJwsSigningAlgorithm::EcdsaP256Sha256,
        CoreJwsSigningAlgorithm::EdDsa,
    ]);
    let claims = id_token.claims(&verifier, &Nonce::new(pending.nonce)).map_err(|e| refused("id token", &e))?;
    if let Some(expected) = claims.access_token_hash() {
        let alg = id_token.signing_alg().map_err(|e| refused("alg", &e))?;
        let key = id_token.signing_key(&verifier).map_err(|e| refused("key", &e))?;
        let actual =
            AccessTokenHash::from_token(response.access_token(), alg, key).map_err(|e| refused("at_hash", &e))?;
        if actual != *expected {
            return Err(refused("at_hash", &"mismatch"));
        }
    }
    let email = claims.email().map(|e| e.as_str().to_owned()).ok_or_else(|| refused("claims", &"no email"))?;
    // An unverified email proves nothing about who signs in.
    if claims.email_verified() != Some(true) {
        return Err(refused("email_verified", &email));
    }
    if !allowed_emails(&state).iter().any(|a| a.eq_ignore_ascii_case(&email)) {
        return Err(refused("allow list", &email));
    }
    let account = service::oidc_admin(&state, claims.issuer().as_str(), claims.subject().as_str(), &email).await?;
    let mut conn = state.db.control().acquire().await.map_err(anyhow::Error::from)?;
    let pair =
        service::issue_pair(&mut conn, &state.tokens, account, None, Role::PlatformAdmin, TokenFamilyId::new()).await?;
    Ok(Json(pair.into()))
}
