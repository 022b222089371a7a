//! Tokens and keys: how both services know who is calling.
//!
//! Staff and platform admins carry short-lived EdDSA JWTs signed by the control
//! plane; shoppers carry storefront JWTs signed by the data plane. Each audience
//! has signing keys of its own (`control.signing_key.audience`): the data plane
//! never holds a key that can sign a staff token, and a key verifies only tokens
//! of its own audience. Public keys are published as JWKS (with `aud` per key);
//! the data plane reads them from there (`JWKS_URL`) or from the control database.
//! Stores' API keys are random 256-bit strings stored as SHA-256.
//! Verification only ever accepts `EdDSA` with a known, unretired `kid` of the
//! token's audience, the platform's issuer and audience, and an unexpired `exp`:
//! `alg: none`, HMAC tokens made with a public key, expired, foreign-audience,
//! other-audience-key, retired-key and unknown-key tokens all fail.
//!
//! One file per concept, all re-exported here (callers name `platform::auth::X`):
//! `claims` and `role` (what a token says, for whom), `scopes` (what an
//! action needs and an API key holds, for both planes), `key_ring` (verifying),
//! `signer` (issuing, and creating keys), `api_keys` (creating and hashing stores' keys),
//! `authenticator` (the data plane's verifier of both), and the two principals
//! of a store, `staff` and `customer`, extracted as `principal` describes.

mod api_keys;
mod authenticator;
mod claims;
mod customer;
mod key_ring;
mod principal;
mod role;
mod scopes;
mod signer;
mod staff;

pub use api_keys::{hash_secret, new_api_key, ApiKeyRecord};
pub use authenticator::{bearer, keys_unavailable, Authenticator};
pub use claims::{Claims, AUDIENCE, STOREFRONT_AUDIENCE};
pub use customer::CustomerPrincipal;
pub use key_ring::{jwks, AuthError, KeyRing, JWKS_TIMEOUT, KEYS_MAX_AGE, KEYS_STALE_LIMIT};
pub use role::Role;
pub use scopes::{Access, Area, Grant, Scope};
pub use signer::{insert_key, Signer, SIGNER_RELOAD_INTERVAL, SIGNING_KEY_LOCK};
pub use staff::{Actor, StaffPrincipal};
