mod health;
mod helpers;
mod provisioning;
