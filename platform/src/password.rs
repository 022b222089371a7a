//! Password hashing for staff and shoppers alike: argon2id with OWASP's minimum
//! parameters (19 MiB, 2 passes, 1 lane). Hashing runs on the blocking pool: it
//! is CPU-bound by design.

use argon2::{
    password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Algorithm, Argon2, Params, Version,
};
use rand_core::OsRng;

fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("OWASP parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password into a PHC string.
pub async fn hash(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        argon2()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("hashing failed: {e}"))
    })
    .await?
}

/// Whether `password` matches `hash`. A malformed hash never matches.
pub async fn verify(hash: String, password: String) -> anyhow::Result<bool> {
    tokio::task::spawn_blocking(move || {
        let Ok(parsed) = PasswordHash::new(&hash) else { return false };
        argon2().verify_password(password.as_bytes(), &parsed).is_ok()
    })
    .await
    .map_err(Into::into)
}

/// A hash of a random password, verified against when an account does not exist,
/// so a sign-in takes as long for an unknown email as for a wrong password.
pub async fn dummy_verify(password: String) -> anyhow::Result<bool> {
    static DUMMY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    let hash = DUMMY.get_or_try_init(|| hash("dummy password for timing".into())).await?.clone();
    verify(hash, password).await.map(|_| false)
}

/// A bound on how many argon2 hashes or verifications run at once.
///
/// Each one holds 19 MiB for tens of milliseconds of CPU: without a bound a few
/// hundred concurrent sign-ins allocate gigabytes and the pod is killed. With
/// it, past `permits` in flight a caller waits at most `wait`, then gets
/// [`HashError::Overloaded`] (a 503 with `Retry-After`) and nothing is
/// allocated. Clones share the permits.
#[derive(Clone, Debug)]
pub struct Hasher {
    permits: std::sync::Arc<tokio::sync::Semaphore>,
    size: usize,
    wait: std::time::Duration,
}

/// Why a hash or verification did not run.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// Every permit stayed taken for the whole wait.
    #[error("password hashing is saturated")]
    Overloaded,
    /// The hash itself failed (never for valid input).
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

impl Hasher {
    /// At most `permits` (at least 1) hashes at once; a caller waits up to `wait` for one.
    pub fn new(permits: usize, wait: std::time::Duration) -> Self {
        let size = permits.max(1);
        Self { permits: std::sync::Arc::new(tokio::sync::Semaphore::new(size)), size, wait }
    }

    /// The default size: two per core, at least 2.
    pub fn default_permits() -> usize {
        std::thread::available_parallelism().map_or(2, |n| n.get() * 2).max(2)
    }

    async fn permit(&self) -> Result<tokio::sync::SemaphorePermit<'_>, HashError> {
        match tokio::time::timeout(self.wait, self.permits.acquire()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(HashError::Overloaded),
        }
    }

    /// [`hash`] under a permit.
    pub async fn hash(&self, password: String) -> Result<String, HashError> {
        let _permit = self.permit().await?;
        Ok(hash(password).await?)
    }

    /// [`verify`] under a permit.
    pub async fn verify(&self, hash: String, password: String) -> Result<bool, HashError> {
        let _permit = self.permit().await?;
        Ok(verify(hash, password).await?)
    }

    /// [`dummy_verify`] under a permit: an unknown account costs the same as a known one.
    pub async fn dummy_verify(&self, password: String) -> Result<bool, HashError> {
        let _permit = self.permit().await?;
        Ok(dummy_verify(password).await?)
    }

    /// Takes every permit until the guard is dropped: for tests and drills that
    /// need the saturated state without racing real hashes.
    pub async fn saturate(&self) -> tokio::sync::OwnedSemaphorePermit {
        let size = u32::try_from(self.size).unwrap_or(u32::MAX);
        self.permits.clone().acquire_many_owned(size).await.expect("the semaphore is never closed")
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let hash = super::hash("correct horse".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(super::verify(hash.clone(), "correct horse".into()).await.unwrap());
        assert!(!super::verify(hash, "wrong horse".into()).await.unwrap());
        assert!(!super::verify("garbage".into(), "x".into()).await.unwrap());
    }

    #[tokio::test]
    async fn a_saturated_hasher_answers_overloaded_and_recovers() {
        let hasher = super::Hasher::new(1, std::time::Duration::from_millis(20));
        let guard = hasher.saturate().await;
        assert!(matches!(hasher.hash("pw".into()).await, Err(super::HashError::Overloaded)));
        drop(guard);
        let hash = hasher.hash("pw".into()).await.unwrap();
        assert!(hasher.verify(hash, "pw".into()).await.unwrap());
    }
}
