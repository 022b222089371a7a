//! Standard Webhooks signing (<https://www.standardwebhooks.com>): secrets are
//! `whsec_<base64 of 24 random bytes>`; a request carries `webhook-id`,
//! `webhook-timestamp` (Unix seconds) and `webhook-signature:
//! v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, keyed by the
//! secret's decoded bytes.

use base64::{engine::general_purpose::STANDARD, Engine};
use hmac::{Hmac, Mac};
use rand_core::RngCore;
use sha2::Sha256;

/// The prefix of every webhook secret.
pub const PREFIX: &str = "whsec_";

/// A new random secret, `whsec_…`.
pub fn new_secret() -> String {
    let mut key = [0u8; 24];
    rand_core::OsRng.fill_bytes(&mut key);
    format!("{PREFIX}{}", STANDARD.encode(key))
}

/// The `webhook-signature` header's value for one request.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> anyhow::Result<String> {
    let key = STANDARD
        .decode(secret.strip_prefix(PREFIX).unwrap_or(secret))
        .map_err(|_| anyhow::anyhow!("a stored webhook secret is not base64"))?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|_| anyhow::anyhow!("unusable webhook key"))?;
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    Ok(format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_as_the_standard_webhooks_example() {
        // The example of the Standard Webhooks reference libraries.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
        let body = r#"{"test": 2432232314}"#;
        assert_eq!(sign(secret, id, 1614265330, body).unwrap(), "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        assert!(new_secret().starts_with(PREFIX));
    }
}
