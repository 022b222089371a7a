//! `commerce_store`: a store (tenant) on the platform.
//!
//! Create is `POST /v1/tenants` with an `Idempotency-Key` derived from the
//! slug and the store's fields, so an apply interrupted after the platform
//! opened the store replays the first answer on the next apply instead of
//! failing on a taken slug. Destroy soft-deletes (`DELETE /v1/tenants/{id}`:
//! the store stops answering, its data stays); with `purge_on_destroy = true`
//! it also purges (`POST /v1/tenants/{id}/purge`: export, then delete its data).

use async_trait::async_trait;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value as Json};
use sha2::{Digest, Sha256};
use tf_provider::{
    schema::{
        AttributeConstraint::{Computed, Optional, OptionalComputed, Required},
        AttributeType, Schema,
    },
    value::Value,
};

use crate::{
    api::Api,
    schema::{attr, differs, json_string, schema, secret, string, text, Crud},
};

pub struct Store;

#[derive(Clone, Serialize, Deserialize)]
pub struct StoreState {
    id: Value<String>,
    slug: Value<String>,
    name: Value<String>,
    currency: Value<String>,
    plan: Value<String>,
    status: Value<String>,
    owner_email: Value<String>,
    owner_password: Value<String>,
    url: Value<String>,
    purge_on_destroy: Value<bool>,
}

/// The key of a store's creation: the same fields give the same key, so a
/// retried apply replays; changed fields give a new one (never the password,
/// which the key would otherwise expose to a guess).
fn idempotency_key(s: &StoreState) -> String {
    let fields = [&s.slug, &s.name, &s.currency, &s.plan, &s.owner_email].map(|v| text(v).unwrap_or("").to_owned());
    let digest = Sha256::digest(fields.join("\u{0}").as_bytes());
    format!("terraform-{}-{}", text(&s.slug).unwrap_or(""), &hex::encode(digest)[..16])
}

/// The state with the API's view of the store.
fn from_api(mut state: StoreState, body: &Json) -> StoreState {
    state.id = json_string(&body["id"]);
    state.slug = json_string(&body["slug"]);
    state.name = json_string(&body["name"]);
    state.currency = json_string(&body["currency"]);
    state.plan = json_string(&body["plan"]);
    state.status = json_string(&body["status"]);
    state.url = json_string(&body["url"]);
    state
}

fn path(state: &StoreState) -> String {
    format!("/v1/tenants/{}", text(&state.id).unwrap_or(""))
}

/// Moves the store to `wanted` (`active` or `suspended`) if it is not there.
async fn set_status(api: &Api, state: StoreState, wanted: Option<&str>) -> Result<StoreState, String> {
    let action = match (text(&state.status), wanted) {
        (Some("active"), Some("suspended")) => "suspend",
        (Some("suspended"), Some("active")) => "resume",
        _ => return Ok(state),
    };
    let body = api.control(Method::POST, &format!("{}/{action}", path(&state)), None).await?.expect(action, &[200])?;
    Ok(from_api(state, &body))
}

#[async_trait]
impl Crud for Store {
    type State = StoreState;

    fn schema() -> Schema {
        schema(
            "A store. Destroy soft-deletes it (it stops answering; its data stays) unless purge_on_destroy is true.",
            vec![
                ("id", string(Computed, "The store's id (import with it).")),
                ("slug", string(Required, "Its subdomain; changing it replaces the store.")),
                ("name", string(Required, "Display name.")),
                ("currency", string(Required, "ISO 4217 code; changing it replaces the store.")),
                ("plan", string(OptionalComputed, "Plan id (see data.commerce_plans); platform admins only.")),
                ("status", string(OptionalComputed, "active or suspended.")),
                (
                    "owner_email",
                    string(Optional, "The owner's email: needed to create the store, unused after (not imported)."),
                ),
                (
                    "owner_password",
                    secret(
                        Optional,
                        "The owner's password (or an existing account's own): needed to create the store.",
                    ),
                ),
                ("url", string(Computed, "Where the store answers.")),
                (
                    "purge_on_destroy",
                    attr(
                        AttributeType::Bool,
                        Optional,
                        "Destroy also purges the store's data (export, then delete). Default false.",
                    ),
                ),
            ],
        )
    }

    fn plan_create(state: &mut StoreState) {
        state.id = Value::Unknown;
        state.url = Value::Unknown;
        if state.plan.is_null() {
            state.plan = Value::Unknown;
        }
        if state.status.is_null() {
            state.status = Value::Unknown;
        }
    }

    fn replaced_by(prior: &StoreState, proposed: &StoreState) -> Vec<&'static str> {
        let mut changed = Vec::new();
        differs(&mut changed, "slug", &prior.slug, &proposed.slug);
        differs(&mut changed, "currency", &prior.currency, &proposed.currency);
        changed
    }

    async fn create(api: &Api, planned: StoreState) -> Result<StoreState, String> {
        let mut body = json!({
            "slug": text(&planned.slug), "name": text(&planned.name), "currency": text(&planned.currency),
            "owner_email": text(&planned.owner_email), "owner_password": text(&planned.owner_password),
        });
        if let Some(plan) = text(&planned.plan) {
            body["plan"] = plan.into();
        }
        let key = idempotency_key(&planned);
        let answer = api.control_keyed(Method::POST, "/v1/tenants", Some(&body), Some(&key)).await?;
        let created = answer.expect("create store", &[200, 201])?;
        let wanted = text(&planned.status).map(str::to_owned);
        let state = from_api(planned, &created);
        // The creation answers `active`; read the registry for the real state.
        let state = Self::read(api, state).await?.ok_or("the new store is not found")?;
        set_status(api, state, wanted.as_deref()).await
    }

    async fn read(api: &Api, state: StoreState) -> Result<Option<StoreState>, String> {
        let answer = api.control(Method::GET, &path(&state), None).await?;
        if answer.is_not_found() {
            return Ok(None);
        }
        let body = answer.expect("read store", &[200])?;
        // A deleted (closed) store is gone for Terraform: its slug stays taken until it is purged.
        if body["status"] == "deleted" {
            return Ok(None);
        }
        Ok(Some(from_api(state, &body)))
    }

    async fn update(api: &Api, prior: StoreState, planned: StoreState) -> Result<StoreState, String> {
        let mut patch = json!({});
        if planned.name != prior.name {
            patch["name"] = text(&planned.name).into();
        }
        if planned.plan.is_value() && planned.plan != prior.plan {
            patch["plan"] = text(&planned.plan).into();
        }
        let mut state = StoreState { owner_email: planned.owner_email.clone(), ..prior };
        state.owner_password = planned.owner_password.clone();
        state.purge_on_destroy = planned.purge_on_destroy;
        if patch.as_object().is_some_and(|o| !o.is_empty()) {
            let body = api.control(Method::PATCH, &path(&state), Some(&patch)).await?.expect("update store", &[200])?;
            state = from_api(state, &body);
        }
        set_status(api, state, text(&planned.status)).await
    }

    async fn delete(api: &Api, state: StoreState) -> Result<(), String> {
        api.control_delete("delete store", &path(&state), &[200, 204]).await?;
        if state.purge_on_destroy.as_ref_option() == Some(&true) {
            api.control(Method::POST, &format!("{}/purge", path(&state)), None).await?.expect("purge store", &[200])?;
        }
        Ok(())
    }

    fn import(id: &str) -> Result<StoreState, String> {
        Ok(StoreState {
            id: Value::Value(id.to_owned()),
            slug: Value::Null,
            name: Value::Null,
            currency: Value::Null,
            plan: Value::Null,
            status: Value::Null,
            owner_email: Value::Null,
            owner_password: Value::Null,
            url: Value::Null,
            purge_on_destroy: Value::Null,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn declared(name: &str, password: &str) -> StoreState {
        let mut state = Store::import("").unwrap();
        state.slug = Value::Value("fleet-north".into());
        state.name = Value::Value(name.into());
        state.currency = Value::Value("USD".into());
        state.owner_email = Value::Value("owner@fleet-north.example".into());
        state.owner_password = Value::Value(password.into());
        state
    }

    #[test]
    fn a_retried_declaration_sends_the_same_idempotency_key_and_a_changed_one_another() {
        let key = idempotency_key(&declared("Fleet North", "secret-one"));
        assert!(key.starts_with("terraform-fleet-north-"), "{key}");
        // The password is no part of it (the key is stored in the clear); the platform
        // still compares whole bodies, so a retry with another password gets a 422.
        assert_eq!(key, idempotency_key(&declared("Fleet North", "secret-two")));
        assert_ne!(key, idempotency_key(&declared("Fleet South", "secret-one")));
    }
}
