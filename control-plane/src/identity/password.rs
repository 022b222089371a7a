//! Password hashing lives in the platform: store customers use the same argon2id.

pub use platform::password::{HashError, Hasher};
