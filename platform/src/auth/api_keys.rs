//! Stores' API keys: random 256-bit strings of which only a SHA-256 is stored.

use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};

use crate::ids::{ApiKeyId, TenantId};

/// A new API key: `ck_` and 64 hex characters (256 random bits). Returns the key
/// (shown once), its display prefix and its hash (stored).
pub fn new_api_key() -> (String, String, Vec<u8>) {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    let key = format!("ck_{}", hex::encode(bytes));
    let prefix = key[..10].to_owned();
    let hash = hash_secret(&key);
    (key, prefix, hash)
}

/// SHA-256 of a high-entropy secret (API keys, refresh tokens). Unsalted on
/// purpose: the secret is random enough, and lookups go by the hash.
pub fn hash_secret(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// An active API key as the data plane resolves it.
#[derive(Clone, Debug)]
pub struct ApiKeyRecord {
    /// Names the key in audit trails, never its secret.
    pub id: ApiKeyId,
    /// The only store the key opens.
    pub tenant_id: TenantId,
    /// What it may do as stored, e.g. `catalog:write` (each a [`super::Grant`]);
    /// see [`super::StaffPrincipal::require`].
    pub scopes: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_keys_are_long_random_and_hashed() {
        let (a, prefix, hash) = new_api_key();
        let (b, _, _) = new_api_key();
        assert_ne!(a, b);
        assert_eq!(a.len(), 67);
        assert!(a.starts_with(&prefix));
        assert_eq!(hash, hash_secret(&a));
    }
}
