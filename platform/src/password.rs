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
}
