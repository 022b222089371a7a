//! Secrets at rest: AES-256-GCM under a master key from the environment.
//!
//! A sealed value is `<key id>:<base64(nonce ‖ ciphertext)>`. The key id lets
//! keys rotate: new values are sealed with the current key, old ones open with
//! any key still listed in `MASTER_KEYS_PREVIOUS`.

use aes_gcm::{
    aead::{Aead, AeadCore, KeyInit, OsRng},
    Aes256Gcm, Key, Nonce,
};
use anyhow::Context;
use base64::{engine::general_purpose::STANDARD, Engine};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

/// The keys that seal and open secrets.
#[derive(Clone)]
pub struct MasterKeys {
    current_id: String,
    keys: Vec<(String, Aes256Gcm)>,
    /// HMAC-SHA256 keyed by the current key's bytes: the root of [`MasterKeys::derive`].
    deriver: Hmac<Sha256>,
}

impl std::fmt::Debug for MasterKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MasterKeys").field("current_id", &self.current_id).finish_non_exhaustive()
    }
}

impl MasterKeys {
    /// `current`: base64 of 32 bytes; `previous`: `id:base64,id:base64` (may be empty).
    pub fn from_config(current_id: &str, current: &SecretString, previous: &str) -> anyhow::Result<Self> {
        anyhow::ensure!(
            !current_id.is_empty() && !current_id.contains(':'),
            "MASTER_KEY_ID must be non-empty without ':'"
        );
        let bytes = key_bytes(current.expose_secret()).context("MASTER_KEY")?;
        let mut keys = vec![(current_id.to_owned(), Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&bytes)))];
        let deriver = <Hmac<Sha256> as Mac>::new_from_slice(&bytes).expect("HMAC takes any key length");
        for entry in previous.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (id, key) = entry.split_once(':').context("MASTER_KEYS_PREVIOUS entries are id:base64")?;
            keys.push((id.to_owned(), cipher(key).with_context(|| format!("MASTER_KEYS_PREVIOUS {id}"))?));
        }
        Ok(Self { current_id: current_id.to_owned(), keys, deriver })
    }

    /// A random key, for tests.
    pub fn random() -> Self {
        let key = Aes256Gcm::generate_key(OsRng);
        let deriver = <Hmac<Sha256> as Mac>::new_from_slice(&key).expect("HMAC takes any key length");
        Self { current_id: "test".into(), keys: vec![("test".into(), Aes256Gcm::new(&key))], deriver }
    }

    /// A 32-byte key for `purpose` (HMAC-SHA256 of the label under the current
    /// key): signing keys that need no secret of their own. Different labels
    /// give unrelated keys; none reveals the master key. Rotating the master
    /// key changes every derived key.
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        let mut mac = self.deriver.clone();
        mac.update(purpose.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// Encrypts a secret under the current key.
    pub fn seal(&self, plaintext: &str) -> anyhow::Result<String> {
        let (id, cipher) = &self.keys[0];
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let ciphertext =
            cipher.encrypt(&nonce, plaintext.as_bytes()).map_err(|_| anyhow::anyhow!("encryption failed"))?;
        let mut blob = nonce.to_vec();
        blob.extend_from_slice(&ciphertext);
        Ok(format!("{id}:{}", STANDARD.encode(blob)))
    }

    /// Decrypts a value sealed under any known key.
    pub fn open(&self, sealed: &str) -> anyhow::Result<SecretString> {
        let (id, blob) = sealed.split_once(':').context("sealed value without key id")?;
        let (_, cipher) = self
            .keys
            .iter()
            .find(|(known, _)| known == id)
            .with_context(|| format!("sealed with unknown master key {id}"))?;
        let blob = STANDARD.decode(blob).context("sealed value is not base64")?;
        anyhow::ensure!(blob.len() > 12, "sealed value too short");
        let (nonce, ciphertext) = blob.split_at(12);
        let plaintext = cipher
            .decrypt(Nonce::from_slice(nonce), ciphertext)
            .map_err(|_| anyhow::anyhow!("sealed value does not authenticate"))?;
        Ok(String::from_utf8(plaintext).context("sealed value is not UTF-8")?.into())
    }

    /// Whether a sealed value should be re-sealed under the current key.
    pub fn is_stale(&self, sealed: &str) -> bool {
        sealed.split_once(':').is_none_or(|(id, _)| id != self.current_id)
    }
}

fn cipher(base64_key: &str) -> anyhow::Result<Aes256Gcm> {
    Ok(Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&key_bytes(base64_key)?)))
}

fn key_bytes(base64_key: &str) -> anyhow::Result<Vec<u8>> {
    let bytes = STANDARD.decode(base64_key.trim()).context("must be base64")?;
    anyhow::ensure!(bytes.len() == 32, "must be 32 bytes (AES-256), got {}", bytes.len());
    Ok(bytes)
}

/// The last four characters of a secret: all the API ever shows of it.
pub fn last4(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    chars[chars.len().saturating_sub(4)..].iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SecretString {
        STANDARD.encode([7u8; 32]).into()
    }

    #[test]
    fn sealed_values_open_and_differ_each_time() {
        let keys = MasterKeys::from_config("k1", &key(), "").unwrap();
        let a = keys.seal("sk_test_123").unwrap();
        let b = keys.seal("sk_test_123").unwrap();
        assert_ne!(a, b, "nonces must differ");
        assert!(a.starts_with("k1:"));
        assert!(!a.contains("sk_test"));
        assert_eq!(keys.open(&a).unwrap().expose_secret(), "sk_test_123");
    }

    #[test]
    fn a_rotated_key_still_opens_old_values() {
        let old = MasterKeys::from_config("k1", &key(), "").unwrap();
        let sealed = old.seal("whsec_abc").unwrap();
        let new_key: SecretString = STANDARD.encode([9u8; 32]).into();
        let rotated = MasterKeys::from_config("k2", &new_key, &format!("k1:{}", key().expose_secret())).unwrap();
        assert_eq!(rotated.open(&sealed).unwrap().expose_secret(), "whsec_abc");
        assert!(rotated.is_stale(&sealed));
        assert!(rotated.seal("x").unwrap().starts_with("k2:"));
    }

    #[test]
    fn tampering_and_wrong_keys_are_refused() {
        let keys = MasterKeys::from_config("k1", &key(), "").unwrap();
        let sealed = keys.seal("secret").unwrap();
        let mut tampered = sealed.clone();
        tampered.pop();
        tampered.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert!(keys.open(&tampered).is_err());
        assert!(MasterKeys::random().open(&sealed).is_err());
        assert!(MasterKeys::from_config("k1", &"c2hvcnQ=".to_owned().into(), "").is_err());
    }

    #[test]
    fn derived_keys_depend_on_the_purpose_and_the_key() {
        let keys = MasterKeys::from_config("k1", &key(), "").unwrap();
        assert_eq!(keys.derive("a"), MasterKeys::from_config("k1", &key(), "").unwrap().derive("a"));
        assert_ne!(keys.derive("a"), keys.derive("b"));
        assert_ne!(keys.derive("a"), MasterKeys::random().derive("a"));
    }

    #[test]
    fn last4_shows_only_the_tail() {
        assert_eq!(last4("sk_live_abcdef1234"), "1234");
        assert_eq!(last4("ab"), "ab");
    }
}
