//! Typed identifiers. Every id is a UUIDv7 (time-ordered, so keys stay
//! index-friendly and list order by id is creation order) wrapped in its own
//! type, so a tenant id cannot be passed where an order id is expected.

/// Declares a UUIDv7 id newtype with parsing, display and database encoding.
#[macro_export]
macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, sqlx::Type)]
        #[sqlx(transparent)]
        pub struct $name(::uuid::Uuid);

        impl $name {
            /// A new, time-ordered id.
            pub fn new() -> Self {
                Self(::uuid::Uuid::now_v7())
            }

            /// Wraps an id read from a trusted source (the database, a signed token).
            pub fn from_uuid(id: ::uuid::Uuid) -> Self {
                Self(id)
            }

            /// Parses an id from client input; `None` when it is not a UUID.
            pub fn parse(input: &str) -> Option<Self> {
                ::uuid::Uuid::parse_str(input).ok().map(Self)
            }

            /// The underlying UUID.
            pub fn as_uuid(&self) -> ::uuid::Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                ::std::fmt::Display::fmt(&self.0, f)
            }
        }

        impl AsRef<::uuid::Uuid> for $name {
            fn as_ref(&self) -> &::uuid::Uuid {
                &self.0
            }
        }
    };
}

id_type!(
    /// A store on the platform.
    TenantId
);

id_type!(
    /// A store's API key: its id, never its secret. The control plane issues
    /// keys; the data plane resolves them (`auth::ApiKeyRecord`).
    ApiKeyId
);
