//! Tokens and keys: how both services know who is calling.
//!
//! Staff and platform admins carry short-lived EdDSA JWTs signed by the control
//! plane (`kid` in the header, public keys in `control.signing_key`, published as
//! JWKS). Stores' API keys are random 256-bit strings stored as SHA-256.
//! Verification only ever accepts `EdDSA` with a known `kid`, the platform's
//! issuer and audience, and an unexpired `exp`: `alg: none`, HMAC tokens made
//! with a public key, expired, foreign-audience and unknown-key tokens all fail.
//!
//! One file per concept, all re-exported here (callers name `platform::auth::X`):
//! `claims` and `role` (what a token says, for whom), `scopes` (what an
//! action needs and an API key holds, for both planes), `key_ring` (verifying),
//! `signer` (issuing), `api_keys` (creating and hashing stores' keys),
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
pub use authenticator::{bearer, Authenticator};
pub use claims::{Claims, AUDIENCE, STOREFRONT_AUDIENCE};
pub use customer::CustomerPrincipal;
pub use key_ring::{jwks, AuthError, KeyRing};
pub use role::Role;
pub use scopes::{Access, Area, Grant, Scope};
pub use signer::Signer;
pub use staff::{Actor, StaffPrincipal};
