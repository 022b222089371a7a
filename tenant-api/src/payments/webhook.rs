//! Stripe's webhook signatures: `Stripe-Signature: t=<unix time>,v1=<hex>[,v1=…]`,
//! each `v1` an HMAC-SHA256 under the endpoint's secret (`whsec_…`, used as
//! is) over `<t>.<raw body>`. Several `v1` appear while a secret rolls over.
//! See <https://docs.stripe.com/webhooks#verify-manually>.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How far a signature's time may be from ours: replays of a captured
/// delivery are refused after this.
pub const TOLERANCE_SECS: i64 = 300;

/// Whether `header` signs `payload` under `secret` at a time within
/// [`TOLERANCE_SECS`] of `now` (unix seconds).
pub fn verify(secret: &[u8], header: &str, payload: &[u8], now: i64) -> bool {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", v)) => signatures.extend(hex::decode(v).ok()),
            _ => {}
        }
    }
    let Some(timestamp) = timestamp else { return false };
    if (now - timestamp).abs() > TOLERANCE_SECS {
        return false;
    }
    signatures.iter().any(|signature| {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else { return false };
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(payload);
        // Constant time, so the comparison reveals nothing of the expected value.
        mac.verify_slice(signature).is_ok()
    })
}

/// The header Stripe would send for `payload` at `timestamp` (tests, tools).
pub fn sign(secret: &[u8], payload: &[u8], timestamp: i64) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    format!("t={timestamp},v1={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_only_with_its_secret_body_and_time() {
        let header = sign(b"whsec_a", b"{}", 1_000);
        assert!(verify(b"whsec_a", &header, b"{}", 1_000));
        assert!(verify(b"whsec_a", &format!("{header},v1=00"), b"{}", 1_000 + TOLERANCE_SECS));
        assert!(!verify(b"whsec_b", &header, b"{}", 1_000));
        assert!(!verify(b"whsec_a", &header, b"{ }", 1_000));
        assert!(!verify(b"whsec_a", &header, b"{}", 1_001 + TOLERANCE_SECS));
        assert!(!verify(b"whsec_a", "v1=00", b"{}", 1_000));
        assert!(!verify(b"whsec_a", "", b"{}", 1_000));
    }
}
