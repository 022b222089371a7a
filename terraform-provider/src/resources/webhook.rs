//! `commerce_store_webhook`: a merchant webhook. Webhooks live on the data
//! plane (`/admin/webhooks` on the store's host), which takes a store API key,
//! not a platform token: the resource takes an `api_key` with `webhooks:read`
//! and `webhooks:write` (declare a `commerce_store_api_key` for it) and sends
//! it to the provider's `data_plane_url` with the store's `Host` (from the
//! store's URL the control plane answers), or to the store's URL itself.
//! The data plane has no webhook update, so a new URL or events replace it.

use std::collections::BTreeSet;

use async_trait::async_trait;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value as Json};
use tf_provider::{
    schema::{
        AttributeConstraint::{Computed, Required},
        AttributeType, Schema,
    },
    value::Value,
};

use crate::{
    api::Api,
    schema::{attr, differs, json_string, schema, secret, string, text, Crud},
};

pub struct Webhook;

#[derive(Clone, Serialize, Deserialize)]
pub struct WebhookState {
    id: Value<String>,
    store_id: Value<String>,
    api_key: Value<String>,
    url: Value<String>,
    events: Value<BTreeSet<String>>,
    secret: Value<String>,
}

/// The store's URL, from the control plane; `None` when the store is gone.
async fn store_url(api: &Api, state: &WebhookState) -> Result<Option<String>, String> {
    let path = format!("/v1/tenants/{}", text(&state.store_id).unwrap_or(""));
    let answer = api.control(Method::GET, &path, None).await?;
    if answer.is_not_found() {
        return Ok(None);
    }
    let body = answer.expect("read store", &[200])?;
    Ok(body["url"].as_str().map(str::to_owned))
}

fn from_api(mut state: WebhookState, body: &Json) -> WebhookState {
    state.id = json_string(&body["id"]);
    state.url = json_string(&body["url"]);
    let events = body["events"].as_array().into_iter().flatten().filter_map(|s| s.as_str().map(str::to_owned));
    state.events = Value::Value(events.collect());
    state
}

#[async_trait]
impl Crud for Webhook {
    type State = WebhookState;

    fn schema() -> Schema {
        schema(
            "A merchant webhook, on the data plane (no import: its API key is not readable).",
            vec![
                ("id", string(Computed, "The webhook's id.")),
                ("store_id", string(Required, "The store.")),
                ("api_key", secret(Required, "A store API key with webhooks:read and webhooks:write.")),
                ("url", string(Required, "Where events are sent (https).")),
                (
                    "events",
                    attr(
                        AttributeType::Set(AttributeType::String.into()),
                        Required,
                        "Events to send, e.g. order.paid.",
                    ),
                ),
                ("secret", secret(Computed, "The signing secret (whsec_…), shown only at creation.")),
            ],
        )
    }

    fn plan_create(state: &mut WebhookState) {
        state.id = Value::Unknown;
        state.secret = Value::Unknown;
    }

    fn replaced_by(prior: &WebhookState, proposed: &WebhookState) -> Vec<&'static str> {
        let mut changed = Vec::new();
        differs(&mut changed, "store_id", &prior.store_id, &proposed.store_id);
        differs(&mut changed, "url", &prior.url, &proposed.url);
        differs(&mut changed, "events", &prior.events, &proposed.events);
        changed
    }

    async fn create(api: &Api, planned: WebhookState) -> Result<WebhookState, String> {
        let url = store_url(api, &planned).await?.ok_or("the webhook's store is not found")?;
        let events: Vec<&String> = planned.events.iter().flatten().collect();
        let body = json!({"url": text(&planned.url), "events": events});
        let key = text(&planned.api_key).unwrap_or("").to_owned();
        let answer = api.store_admin(&url, &key, Method::POST, "/admin/webhooks", Some(&body)).await?;
        let created = answer.expect("create webhook", &[201])?;
        let mut state = from_api(planned, &created);
        state.secret = json_string(&created["secret"]);
        Ok(state)
    }

    async fn read(api: &Api, state: WebhookState) -> Result<Option<WebhookState>, String> {
        let Some(url) = store_url(api, &state).await? else { return Ok(None) };
        let key = text(&state.api_key).unwrap_or("").to_owned();
        let answer = api.store_admin(&url, &key, Method::GET, "/admin/webhooks", None).await?;
        if answer.status == reqwest::StatusCode::LOCKED {
            // A suspended store answers nothing; its webhooks are as they were.
            return Ok(Some(state));
        }
        let body = answer.expect("list webhooks", &[200])?;
        let id = text(&state.id).unwrap_or("").to_owned();
        let found = body["items"].as_array().into_iter().flatten().find(|w| w["id"].as_str() == Some(&id)).cloned();
        Ok(found.map(|w| from_api(state, &w)))
    }

    async fn update(_api: &Api, _prior: WebhookState, planned: WebhookState) -> Result<WebhookState, String> {
        // Only the API key changes in place: it is how the provider calls, not part of the webhook.
        Ok(planned)
    }

    async fn delete(api: &Api, state: WebhookState) -> Result<(), String> {
        // A deleted store's webhooks went with it.
        let Some(url) = store_url(api, &state).await? else { return Ok(()) };
        let key = text(&state.api_key).unwrap_or("").to_owned();
        let path = format!("/admin/webhooks/{}", text(&state.id).unwrap_or(""));
        let answer = api.store_admin(&url, &key, Method::DELETE, &path, None).await?;
        if answer.status == reqwest::StatusCode::LOCKED {
            return Err("the store is suspended: resume it (status = \"active\") before removing its webhooks".into());
        }
        if !answer.is_not_found() {
            answer.expect("delete webhook", &[204])?;
        }
        Ok(())
    }

    fn import(_id: &str) -> Result<WebhookState, String> {
        Err("commerce_store_webhook cannot be imported: its API key is not readable; declare it again".into())
    }
}
