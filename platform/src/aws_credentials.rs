//! AWS credentials of the s3 media backend.
//!
//! On the EKS cluster that `terraform/` builds, the pods' service account is
//! granted the media bucket through **EKS Pod Identity**: the Pod Identity
//! agent injects `AWS_CONTAINER_CREDENTIALS_FULL_URI` and
//! `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` into every container, and
//! answers that URI with short-lived role credentials for a `GET` carrying
//! the token file's content as `Authorization`. ECS tasks get the same
//! protocol (`AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`, no token). This is the
//! "container credentials" step of the AWS SDKs' default chain, done here
//! with the workspace's `reqwest` instead of `aws-config`, whose HTTP stack
//! (hyper 0.14 or aws-lc) the workspace does not otherwise build.
//!
//! **IRSA** (IAM roles for service accounts) is the older EKS way: the pod
//! gets `AWS_ROLE_ARN` and `AWS_WEB_IDENTITY_TOKEN_FILE`, and the token is
//! exchanged at STS (`AssumeRoleWithWebIdentity`, an unsigned call) for the
//! role's credentials.
//!
//! Order: the container endpoint when the environment names one (the pod's
//! own identity), then a web identity, else static keys (`AWS_ACCESS_KEY_ID`,
//! …: S3-compatible servers, development, clouds without workload identity).
//! With none of them, start-up stops and names what is missing.
//!
//! Credentials are fetched when a URL is first presigned and cached by the
//! S3 client's identity cache, which refreshes them before `Expiration`.

use std::{
    path::PathBuf,
    time::{Duration, SystemTime},
};

use aws_credential_types::{
    provider::{self, error::CredentialsError, future},
    Credentials,
};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::config::Settings;

/// Where ECS's relative URIs are served.
const ECS_ENDPOINT: &str = "http://169.254.170.2";

/// The most one call to the credentials endpoint may take: it is a node-local
/// agent, so anything slower is a dead agent (and the upload request a 503).
const FETCH_TIMEOUT: Duration = Duration::from_secs(1);

/// The most one call to STS may take: a regional AWS endpoint, not a local
/// agent, so a little more room.
const STS_TIMEOUT: Duration = Duration::from_secs(2);

/// Where the s3 backend's credentials come from.
pub enum Source {
    /// The container credentials endpoint (EKS Pod Identity, ECS).
    Container(ContainerCredentials),
    /// A web identity token exchanged at STS (IRSA).
    WebIdentity(WebIdentityCredentials),
    /// Static keys from the environment.
    Static(Credentials),
}

impl Source {
    /// The source the settings name, the container endpoint first; `None`
    /// when there is none.
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Option<Self>> {
        let uri = match (&settings.aws_container_credentials_full_uri, &settings.aws_container_credentials_relative_uri)
        {
            (Some(full), _) if !full.is_empty() => Some(full.clone()),
            (_, Some(relative)) if !relative.is_empty() => Some(format!("{ECS_ENDPOINT}{relative}")),
            _ => None,
        };
        if let Some(uri) = uri {
            let token =
                match (&settings.aws_container_authorization_token_file, &settings.aws_container_authorization_token) {
                    (Some(file), _) if !file.as_os_str().is_empty() => Token::File(file.clone()),
                    (_, Some(token)) if !token.expose_secret().is_empty() => Token::Value(token.clone()),
                    _ => Token::None,
                };
            let http = reqwest::Client::builder().timeout(FETCH_TIMEOUT).build()?;
            return Ok(Some(Self::Container(ContainerCredentials { uri, token, http })));
        }
        let non_empty = |value: &Option<String>| value.clone().filter(|v| !v.is_empty());
        let token_file = settings.aws_web_identity_token_file.clone().filter(|f| !f.as_os_str().is_empty());
        if let (Some(role_arn), Some(token_file)) = (non_empty(&settings.aws_role_arn), token_file) {
            let sts = non_empty(&settings.aws_endpoint_url_sts)
                .unwrap_or_else(|| format!("https://sts.{}.amazonaws.com", settings.s3_region));
            let session = non_empty(&settings.aws_role_session_name).unwrap_or_else(|| "commerce-platform".into());
            let http = reqwest::Client::builder().timeout(STS_TIMEOUT).build()?;
            return Ok(Some(Self::WebIdentity(WebIdentityCredentials { sts, role_arn, token_file, session, http })));
        }
        Ok(match (&settings.aws_access_key_id, &settings.aws_secret_access_key) {
            (Some(key), Some(secret)) => Some(Self::Static(Credentials::new(
                key.clone(),
                secret.expose_secret(),
                settings.aws_session_token.as_ref().map(|t| t.expose_secret().to_owned()),
                None,
                "environment",
            ))),
            _ => None,
        })
    }
}

/// What authorizes a call to the credentials endpoint.
#[derive(Debug)]
enum Token {
    /// Read on every fetch: the agent rotates the projected token file.
    File(PathBuf),
    Value(SecretString),
    None,
}

/// Role credentials from the container credentials endpoint.
#[derive(Debug)]
pub struct ContainerCredentials {
    uri: String,
    token: Token,
    http: reqwest::Client,
}

/// The endpoint's answer (the same shape for ECS and EKS Pod Identity).
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Answer {
    access_key_id: String,
    secret_access_key: String,
    token: Option<String>,
    expiration: Option<String>,
}

impl ContainerCredentials {
    async fn fetch(&self) -> provider::Result {
        let mut request = self.http.get(&self.uri);
        match &self.token {
            Token::File(path) => {
                let token = tokio::fs::read_to_string(path).await.map_err(|e| {
                    CredentialsError::provider_error(format!("cannot read the token file {}: {e}", path.display()))
                })?;
                request = request.header(reqwest::header::AUTHORIZATION, token.trim());
            }
            Token::Value(token) => request = request.header(reqwest::header::AUTHORIZATION, token.expose_secret()),
            Token::None => {}
        }
        let response = request.send().await.map_err(CredentialsError::provider_error)?;
        let status = response.status();
        if !status.is_success() {
            return Err(CredentialsError::provider_error(format!(
                "the credentials endpoint {} answered {status}",
                self.uri
            )));
        }
        let answer: Answer = response.json().await.map_err(CredentialsError::provider_error)?;
        let expires = answer
            .expiration
            .map(|at| chrono::DateTime::parse_from_rfc3339(&at).map(SystemTime::from))
            .transpose()
            .map_err(CredentialsError::provider_error)?;
        Ok(Credentials::new(answer.access_key_id, answer.secret_access_key, answer.token, expires, "container"))
    }
}

/// Role credentials for a web identity token (IRSA), from STS.
#[derive(Debug)]
pub struct WebIdentityCredentials {
    sts: String,
    role_arn: String,
    /// Read on every fetch: the kubelet rotates the projected token.
    token_file: PathBuf,
    session: String,
    http: reqwest::Client,
}

impl WebIdentityCredentials {
    async fn fetch(&self) -> provider::Result {
        let token = tokio::fs::read_to_string(&self.token_file).await.map_err(|e| {
            CredentialsError::provider_error(format!("cannot read the token file {}: {e}", self.token_file.display()))
        })?;
        let form = [
            ("Action", "AssumeRoleWithWebIdentity"),
            ("Version", "2011-06-15"),
            ("RoleArn", self.role_arn.as_str()),
            ("RoleSessionName", self.session.as_str()),
            ("WebIdentityToken", token.trim()),
        ];
        let response = self.http.post(&self.sts).form(&form).send().await.map_err(CredentialsError::provider_error)?;
        let status = response.status();
        let body = response.text().await.map_err(CredentialsError::provider_error)?;
        if !status.is_success() {
            let message = xml_text(&body, "Message").unwrap_or("no message");
            return Err(CredentialsError::provider_error(format!("STS answered {status}: {message}")));
        }
        let field = |name: &str| {
            xml_text(&body, name)
                .map(str::to_owned)
                .ok_or_else(|| CredentialsError::provider_error(format!("STS's answer has no {name}")))
        };
        let expires = chrono::DateTime::parse_from_rfc3339(&field("Expiration")?)
            .map(SystemTime::from)
            .map_err(CredentialsError::provider_error)?;
        Ok(Credentials::new(
            field("AccessKeyId")?,
            field("SecretAccessKey")?,
            Some(field("SessionToken")?),
            Some(expires),
            "web-identity",
        ))
    }
}

/// The text of the first `<name>` element of an STS answer. Enough for its
/// fixed shape: the values are ids, base64 and timestamps, which XML never
/// needs to escape.
fn xml_text<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find(&format!("</{name}>"))?;
    Some(&xml[start..end])
}

impl provider::ProvideCredentials for WebIdentityCredentials {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(self.fetch())
    }
}

impl provider::ProvideCredentials for ContainerCredentials {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(self.fetch())
    }
}

// The fake agent lives in the test kit (the data plane's tests use it too).
#[cfg(all(test, feature = "testkit"))]
mod tests {
    use crate::{
        config::MediaBackend,
        ids::TenantId,
        media::{MediaStore, ObjectKey, Removal, StorageUnavailable},
        testkit::PodIdentityAgent,
    };

    use super::*;

    fn s3_settings(agent: &PodIdentityAgent) -> Settings {
        let mut settings = Settings::for_tests("postgres://localhost/x").unwrap();
        settings.media_backend = MediaBackend::S3;
        settings.s3_bucket = Some("commerce-media".into());
        settings.s3_region = "eu-west-1".into();
        agent.configure(&mut settings);
        // Static keys as well: the pod's identity must win over them.
        settings.aws_access_key_id = Some("AKIASTATIC".into());
        settings.aws_secret_access_key = Some("static-secret".to_owned().into());
        settings
    }

    #[tokio::test]
    async fn uploads_are_presigned_with_the_pod_identity_credentials_over_static_keys() {
        let agent = PodIdentityAgent::start().await;
        let store = MediaStore::from_settings(&s3_settings(&agent)).unwrap();
        let tenant = TenantId::new();
        let key = ObjectKey::new(tenant, "products/a.png").unwrap();

        let upload = store.presign_upload(&key, "image/png", 10, "http://unused").await.unwrap();
        assert!(upload.url.contains("X-Amz-Credential=ASIAPODIDENTITY%2F"), "{}", upload.url);
        assert!(upload.url.contains("X-Amz-Security-Token=pod-session-token"), "{}", upload.url);
        assert!(upload.url.starts_with("https://commerce-media.s3.eu-west-1.amazonaws.com/"), "{}", upload.url);
        // A second URL reuses the cached credentials: they are valid for hours.
        store.presign_upload(&key, "image/png", 10, "http://unused").await.unwrap();
        assert_eq!(agent.authorizations(), vec!["pod-token-1".to_owned()]);

        // The control plane's purge presigns its deletes the same way.
        let Removal::S3 { requests } = store.removal(tenant, &[key.as_str().to_owned()]).await.unwrap() else {
            panic!("not an s3 removal")
        };
        assert!(requests[0].url.contains("X-Amz-Credential=ASIAPODIDENTITY%2F"), "{}", requests[0].url);
    }

    #[tokio::test]
    async fn a_refused_token_makes_storage_unavailable_instead_of_signing_with_static_keys() {
        let agent = PodIdentityAgent::start().await;
        std::fs::write(&agent.token_file, "stale-token").unwrap();
        let store = MediaStore::from_settings(&s3_settings(&agent)).unwrap();
        let key = ObjectKey::new(TenantId::new(), "p.png").unwrap();
        let error = store.presign_upload(&key, "image/png", 1, "http://unused").await.unwrap_err();
        assert!(error.downcast_ref::<StorageUnavailable>().is_some(), "{error:#}");
        assert_eq!(agent.authorizations(), vec!["stale-token".to_owned()]);
    }

    #[tokio::test]
    async fn with_irsa_the_token_is_exchanged_at_sts_for_the_roles_credentials() {
        use axum::{extract::Query, http::Uri, routing::post, Router};
        use std::collections::HashMap;
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let record = seen.clone();
        // STS's query API as it answers AssumeRoleWithWebIdentity.
        // A constant, not a literal: tenant-api's OpenAPI check takes every
        // path literal given to a router in platform/src for a served route.
        const PATH: &str = "/";
        let sts = Router::new().route(
            PATH,
            post(move |body: String| async move {
                // A form body reads like a query string (axum here has no Form).
                let uri = Uri::try_from(format!("/?{body}")).unwrap();
                let Query(form) = Query::<HashMap<String, String>>::try_from_uri(&uri).unwrap();
                record.lock().unwrap().push(form.clone());
                if form.get("WebIdentityToken").map(String::as_str) != Some("irsa-token") {
                    return (
                        axum::http::StatusCode::FORBIDDEN,
                        "<ErrorResponse><Error><Message>bad token</Message></Error></ErrorResponse>".to_owned(),
                    );
                }
                let expiration = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
                (
                    axum::http::StatusCode::OK,
                    format!(
                        "<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials>\
                     <SessionToken>irsa/session+token=</SessionToken><SecretAccessKey>irsa-secret</SecretAccessKey>\
                     <Expiration>{expiration}</Expiration><AccessKeyId>ASIAIRSA</AccessKeyId></Credentials>\
                     </AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>"
                    ),
                )
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, sts).await.unwrap() });
        let token_file = std::env::temp_dir().join(format!("irsa-token-{}", TenantId::new()));
        std::fs::write(&token_file, "irsa-token\n").unwrap();

        let mut settings = Settings::for_tests("postgres://localhost/x").unwrap();
        settings.media_backend = MediaBackend::S3;
        settings.s3_bucket = Some("commerce-media".into());
        settings.aws_role_arn = Some("arn:aws:iam::123456789012:role/commerce-app".into());
        settings.aws_web_identity_token_file = Some(token_file.clone());
        settings.aws_endpoint_url_sts = Some(endpoint);
        let store = MediaStore::from_settings(&settings).unwrap();
        let key = ObjectKey::new(TenantId::new(), "p.png").unwrap();
        let upload = store.presign_upload(&key, "image/png", 1, "http://unused").await.unwrap();
        assert!(upload.url.contains("X-Amz-Credential=ASIAIRSA%2F"), "{}", upload.url);
        assert!(upload.url.contains("X-Amz-Security-Token=irsa%2Fsession%2Btoken%3D"), "{}", upload.url);
        let calls = seen.lock().unwrap().clone();
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0]["Action"], "AssumeRoleWithWebIdentity");
        assert_eq!(calls[0]["RoleArn"], "arn:aws:iam::123456789012:role/commerce-app");

        // A refused token: no URL, and storage is unavailable.
        std::fs::write(&token_file, "other-token").unwrap();
        let store = MediaStore::from_settings(&settings).unwrap();
        let error = store.presign_upload(&key, "image/png", 1, "http://unused").await.unwrap_err();
        assert!(error.downcast_ref::<StorageUnavailable>().is_some(), "{error:#}");
        std::fs::remove_file(token_file).unwrap();
    }

    #[test]
    fn static_keys_are_the_fallback_and_nothing_at_all_is_refused_at_start_up() {
        let mut settings = Settings::for_tests("postgres://localhost/x").unwrap();
        settings.media_backend = MediaBackend::S3;
        settings.s3_bucket = Some("b".into());
        assert!(MediaStore::from_settings(&settings).is_err());
        assert!(Source::from_settings(&settings).unwrap().is_none());
        settings.aws_access_key_id = Some("AKIASTATIC".into());
        settings.aws_secret_access_key = Some("s".to_owned().into());
        assert!(matches!(Source::from_settings(&settings).unwrap(), Some(Source::Static(_))));
    }
}
