mod api_keys;
mod domains;
mod health;
mod helpers;
mod identity;
mod provisioning;
mod staff;
mod tenants;
