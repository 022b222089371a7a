mod health;
mod helpers;
mod identity;
mod oidc;
mod provisioning;
mod tenants;
