mod domains;
mod health;
mod helpers;
mod identity;
mod provisioning;
mod tenants;
