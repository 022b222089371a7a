//! Object storage for uploaded media: a local directory (development default)
//! or an S3-compatible bucket.
//!
//! Clients never stream uploads through a handler that holds a database
//! transaction. They ask for an upload URL and `PUT` the bytes to it:
//! - s3: a SigV4 presigned `PUT` URL straight to the bucket (presigning is local
//!   computation; this process never sends S3 requests);
//! - local: a URL on our own API carrying an HMAC-signed token that names the
//!   store, key, content type, exact size and expiry.
//!
//! **Invariant:** every key starts with the owning store's id (`<tenant_id>/…`).
//! [`ObjectKey`] cannot be built otherwise, and local reads check the prefix
//! against the store that asks.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use anyhow::Context;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

use crate::{
    config::{MediaBackend, Settings},
    ids::TenantId,
};

/// How long an upload URL stays valid.
pub const UPLOAD_TTL: Duration = Duration::from_secs(15 * 60);

/// The key of a stored object: `<tenant_id>/<path>`, path of `a-z0-9._-/`
/// segments, none empty, `.` or `..`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectKey(String);

impl ObjectKey {
    /// A key under the store's prefix; `None` when `path` is not a safe relative path.
    pub fn new(tenant: TenantId, path: &str) -> Option<Self> {
        let safe = !path.is_empty()
            && path.len() <= 500
            && path.split('/').all(|segment| {
                !segment.is_empty()
                    && segment != "."
                    && segment != ".."
                    && segment.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
            });
        safe.then(|| Self(format!("{}/{path}", tenant.as_uuid())))
    }

    /// Reads a stored key back; `None` unless it is a key of this store.
    pub fn parse_for(tenant: TenantId, key: &str) -> Option<Self> {
        let path = key.strip_prefix(&format!("{}/", tenant.as_uuid()))?;
        Self::new(tenant, path)
    }

    /// The whole key, store prefix included, as stored and sent to the backend.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for ObjectKey {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Where and how to upload one object.
#[derive(Clone, Debug)]
pub struct PresignedUpload {
    /// Absolute URL to send the bytes to.
    pub url: String,
    /// Always `PUT`.
    pub method: &'static str,
    /// Headers the upload must carry exactly (content type and length are signed).
    pub headers: Vec<(String, String)>,
    /// When the URL stops working.
    pub expires_at: SystemTime,
}

/// What a verified local upload token allows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadGrant {
    /// The store the object belongs to.
    pub tenant: TenantId,
    /// Where to write.
    pub key: ObjectKey,
    /// The content type the upload must declare.
    pub content_type: String,
    /// The exact size the body must have.
    pub byte_size: u64,
}

/// Why a local upload was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UploadError {
    /// The token is malformed, forged, expired or for another store.
    #[error("the upload token is not valid here")]
    BadToken,
    /// The body or its content type differ from what was granted.
    #[error("{0}")]
    Mismatch(&'static str),
}

/// The s3 backend cannot sign: its credentials could not be had (the pod's
/// identity agent is down or refuses the token). `Problem::internal` answers
/// it with a 503, as for any dependency that does not answer.
#[derive(Debug, thiserror::Error)]
#[error("object storage is unavailable: no credentials to sign with")]
pub struct StorageUnavailable(#[source] Box<dyn std::error::Error + Send + Sync>);

/// The configured media backend. Cheap to clone.
#[derive(Clone)]
pub struct MediaStore(Arc<Backend>);

enum Backend {
    Local { dir: PathBuf, signing_key: SecretString, public_url: Option<String> },
    S3 { client: aws_sdk_s3::Client, bucket: String, public_url: String },
}

impl MediaStore {
    /// Builds the backend the settings name; fails on incomplete settings.
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Self> {
        let public_url = settings.media_public_url.as_ref().map(|u| u.trim_end_matches('/').to_owned());
        let backend = match settings.media_backend {
            MediaBackend::Local => Backend::Local {
                dir: settings.media_local_dir.clone(),
                signing_key: settings.media_signing_key.clone(),
                public_url,
            },
            MediaBackend::S3 => {
                use aws_sdk_s3::config::{BehaviorVersion, Region, SharedCredentialsProvider};
                let bucket = settings.s3_bucket.clone().context("MEDIA_BACKEND=s3 needs S3_BUCKET")?;
                let credentials = match crate::aws_credentials::Source::from_settings(settings)?.context(
                    "MEDIA_BACKEND=s3 needs the pod's identity or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
                )? {
                    crate::aws_credentials::Source::Container(provider) => SharedCredentialsProvider::new(provider),
                    crate::aws_credentials::Source::WebIdentity(provider) => SharedCredentialsProvider::new(provider),
                    crate::aws_credentials::Source::Static(keys) => SharedCredentialsProvider::new(keys),
                };
                let mut config = aws_sdk_s3::Config::builder()
                    .behavior_version(BehaviorVersion::latest())
                    .region(Region::new(settings.s3_region.clone()))
                    .credentials_provider(credentials);
                let default_public = match &settings.s3_endpoint {
                    // S3-compatible servers are addressed by path: <endpoint>/<bucket>/<key>.
                    Some(endpoint) => {
                        config = config.endpoint_url(endpoint).force_path_style(true);
                        format!("{}/{bucket}", endpoint.trim_end_matches('/'))
                    }
                    None => format!("https://{bucket}.s3.{}.amazonaws.com", settings.s3_region),
                };
                Backend::S3 {
                    client: aws_sdk_s3::Client::from_conf(config.build()),
                    bucket,
                    public_url: public_url.unwrap_or(default_public),
                }
            }
        };
        Ok(Self(Arc::new(backend)))
    }

    /// An upload URL for one object of exactly `byte_size` bytes of `content_type`.
    /// `local_base` is the store's own origin (`https://shop.example.com`), where the
    /// local backend receives uploads.
    pub async fn presign_upload(
        &self,
        key: &ObjectKey,
        content_type: &str,
        byte_size: u64,
        local_base: &str,
    ) -> anyhow::Result<PresignedUpload> {
        let expires_at = SystemTime::now() + UPLOAD_TTL;
        let headers = vec![
            ("content-type".to_owned(), content_type.to_owned()),
            ("content-length".to_owned(), byte_size.to_string()),
        ];
        match &*self.0 {
            Backend::Local { signing_key, .. } => {
                let expires = expires_at.duration_since(UNIX_EPOCH)?.as_secs();
                let token = sign_token(signing_key, key, content_type, byte_size, expires);
                let url = format!("{}/media/uploads/{token}", local_base.trim_end_matches('/'));
                Ok(PresignedUpload { url, method: "PUT", headers, expires_at })
            }
            Backend::S3 { client, bucket, .. } => {
                let config = aws_sdk_s3::presigning::PresigningConfig::expires_in(UPLOAD_TTL)?;
                let request = client
                    .put_object()
                    .bucket(bucket)
                    .key(key.as_str())
                    .content_type(content_type)
                    .content_length(i64::try_from(byte_size)?)
                    .presigned(config)
                    .await
                    .map_err(|e| StorageUnavailable(Box::new(e)))?;
                Ok(PresignedUpload { url: request.uri().to_owned(), method: "PUT", headers, expires_at })
            }
        }
    }

    /// The URL a stored object is read from. For the local backend without
    /// `MEDIA_PUBLIC_URL` it is a path on the store's own host (`/media/<key>`).
    pub fn public_url(&self, key: &str) -> String {
        match &*self.0 {
            Backend::Local { public_url: Some(base), .. } | Backend::S3 { public_url: base, .. } => {
                format!("{base}/{key}")
            }
            Backend::Local { public_url: None, .. } => format!("/media/{key}"),
        }
    }

    /// Checks a local upload token for the store that received the request.
    pub fn verify_upload(&self, tenant: TenantId, token: &str) -> Result<UploadGrant, UploadError> {
        let Backend::Local { signing_key, .. } = &*self.0 else {
            return Err(UploadError::BadToken);
        };
        let (payload, signature) = token.split_once('.').ok_or(UploadError::BadToken)?;
        let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| UploadError::BadToken)?;
        let mut mac = mac(signing_key);
        mac.update(payload.as_bytes());
        mac.verify_slice(&signature).map_err(|_| UploadError::BadToken)?;
        let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| UploadError::BadToken)?;
        let payload = String::from_utf8(payload).map_err(|_| UploadError::BadToken)?;
        let mut fields = payload.splitn(4, '\n');
        let (Some(expires), Some(byte_size), Some(content_type), Some(key)) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(UploadError::BadToken);
        };
        let expires: u64 = expires.parse().map_err(|_| UploadError::BadToken)?;
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_err(|_| UploadError::BadToken)?.as_secs();
        if now > expires {
            return Err(UploadError::BadToken);
        }
        // Signed for another store: refused as if forged, naming nothing.
        let key = ObjectKey::parse_for(tenant, key).ok_or(UploadError::BadToken)?;
        Ok(UploadGrant {
            tenant,
            key,
            content_type: content_type.to_owned(),
            byte_size: byte_size.parse().map_err(|_| UploadError::BadToken)?,
        })
    }

    /// Stores the body of a granted local upload (written aside, then renamed, so a
    /// reader never sees half a file).
    pub async fn write_local(
        &self,
        grant: &UploadGrant,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<(), anyhow::Error> {
        let Backend::Local { dir, .. } = &*self.0 else {
            anyhow::bail!("not a local media backend");
        };
        if content_type != Some(grant.content_type.as_str()) {
            return Err(
                UploadError::Mismatch("the content-type differs from the one the upload URL was issued for").into()
            );
        }
        if body.len() as u64 != grant.byte_size {
            return Err(
                UploadError::Mismatch("the body size differs from the one the upload URL was issued for").into()
            );
        }
        let path = local_path(dir, &grant.key);
        let parent = path.parent().context("object path has a parent")?;
        tokio::fs::create_dir_all(parent).await.context("cannot create the media directory")?;
        let partial = path.with_extension("partial");
        tokio::fs::write(&partial, body).await.context("cannot write the object")?;
        tokio::fs::rename(&partial, &path).await.context("cannot move the object in place")?;
        Ok(())
    }

    /// Reads an object of the local backend; `None` when absent or not local.
    pub async fn read_local(&self, key: &ObjectKey) -> anyhow::Result<Option<Vec<u8>>> {
        let Backend::Local { dir, .. } = &*self.0 else {
            return Ok(None);
        };
        match tokio::fs::read(local_path(dir, key)).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).context("cannot read the object"),
        }
    }

    /// Whether this is the local-directory backend (uploads pass through our API).
    pub fn is_local(&self) -> bool {
        matches!(&*self.0, Backend::Local { .. })
    }

    /// Whether the object exists, where this process can tell without calling the
    /// backend over the network: `Some` for local, `None` for s3.
    pub async fn exists_locally(&self, key: &ObjectKey) -> Option<bool> {
        match &*self.0 {
            Backend::Local { dir, .. } => Some(tokio::fs::try_exists(local_path(dir, key)).await.unwrap_or(false)),
            Backend::S3 { .. } => None,
        }
    }
}

/// How [`MediaStore::removal`] removes a store's objects.
#[derive(Debug)]
pub enum Removal {
    /// Local backend: the store's directory was removed.
    Local {
        /// How many files it held.
        files: u64,
    },
    /// s3 backend: one presigned `DELETE` per object, for the caller's HTTP client
    /// to send (this process's SDK client has no HTTP connector: it only presigns).
    S3 {
        /// The deletes to send.
        requests: Vec<PresignedDelete>,
    },
}

/// A presigned `DELETE` of one object.
#[derive(Clone, Debug)]
pub struct PresignedDelete {
    /// The object.
    pub key: String,
    /// Absolute URL to send the `DELETE` to.
    pub url: String,
    /// Headers the request must carry.
    pub headers: Vec<(String, String)>,
}

impl MediaStore {
    /// Removes every object of `tenant`: the local backend deletes the store's
    /// directory at once; the s3 backend presigns a `DELETE` for each of `keys`
    /// (the store's recorded objects) for the caller to send. Keys of another
    /// store are skipped. Safe to repeat: nothing there is not an error.
    pub async fn removal(&self, tenant: TenantId, keys: &[String]) -> anyhow::Result<Removal> {
        match &*self.0 {
            Backend::Local { dir, .. } => {
                let root = dir.join(tenant.as_uuid().to_string());
                let files = count_files(&root).await?;
                match tokio::fs::remove_dir_all(&root).await {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e).context("cannot remove the store's media directory"),
                }
                Ok(Removal::Local { files })
            }
            Backend::S3 { client, bucket, .. } => {
                let mut requests = Vec::with_capacity(keys.len());
                for key in keys.iter().filter_map(|k| ObjectKey::parse_for(tenant, k)) {
                    let config = aws_sdk_s3::presigning::PresigningConfig::expires_in(UPLOAD_TTL)?;
                    let request = client
                        .delete_object()
                        .bucket(bucket)
                        .key(key.as_str())
                        .presigned(config)
                        .await
                        .map_err(|e| StorageUnavailable(Box::new(e)))?;
                    let headers = request.headers().map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
                    requests.push(PresignedDelete { key: key.0, url: request.uri().to_owned(), headers });
                }
                Ok(Removal::S3 { requests })
            }
        }
    }
}

/// Files under `root` (0 when it does not exist).
async fn count_files(root: &Path) -> anyhow::Result<u64> {
    let mut files = 0;
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let mut entries = match tokio::fs::read_dir(&dir).await {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e).context("cannot list the store's media directory"),
        };
        while let Some(entry) = entries.next_entry().await? {
            if entry.file_type().await?.is_dir() {
                pending.push(entry.path());
            } else {
                files += 1;
            }
        }
    }
    Ok(files)
}

fn local_path(dir: &Path, key: &ObjectKey) -> PathBuf {
    // ObjectKey admits no empty, `.` or `..` segment, so this stays under `dir`.
    dir.join(key.as_str())
}

fn mac(key: &SecretString) -> Hmac<Sha256> {
    Hmac::<Sha256>::new_from_slice(key.expose_secret().as_bytes()).expect("HMAC takes keys of any length")
}

fn sign_token(key: &SecretString, object: &ObjectKey, content_type: &str, byte_size: u64, expires: u64) -> String {
    let payload = URL_SAFE_NO_PAD.encode(format!("{expires}\n{byte_size}\n{content_type}\n{}", object.as_str()));
    let mut mac = mac(key);
    mac.update(payload.as_bytes());
    format!("{payload}.{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local() -> MediaStore {
        let mut settings = Settings::for_tests("postgres://localhost/x").unwrap();
        settings.media_local_dir = std::env::temp_dir().join("media-unit");
        MediaStore::from_settings(&settings).unwrap()
    }

    #[test]
    fn keys_start_with_the_store_and_refuse_escapes() {
        let tenant = TenantId::new();
        let key = ObjectKey::new(tenant, "products/a/b.png").unwrap();
        assert!(key.as_str().starts_with(&tenant.to_string()));
        for bad in ["", "../x", "a//b", "a/./b", "A.png", "/abs", "a/"] {
            assert!(ObjectKey::new(tenant, bad).is_none(), "{bad:?}");
        }
        assert!(ObjectKey::parse_for(TenantId::new(), key.as_str()).is_none());
    }

    #[tokio::test]
    async fn a_local_token_verifies_for_its_store_only_and_not_when_tampered() {
        let store = local();
        let tenant = TenantId::new();
        let key = ObjectKey::new(tenant, "p/1.png").unwrap();
        let upload = store.presign_upload(&key, "image/png", 3, "http://s.localhost").await.unwrap();
        let token = upload.url.rsplit('/').next().unwrap();
        let grant = store.verify_upload(tenant, token).unwrap();
        assert_eq!((grant.key, grant.byte_size, grant.content_type.as_str()), (key, 3, "image/png"));
        assert_eq!(store.verify_upload(TenantId::new(), token), Err(UploadError::BadToken));
        let mut forged = token.to_owned();
        forged.replace_range(0..1, if forged.starts_with('A') { "B" } else { "A" });
        assert_eq!(store.verify_upload(tenant, &forged), Err(UploadError::BadToken));
    }
}
