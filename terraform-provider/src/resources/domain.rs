//! `commerce_store_domain`: a custom host claimed by a store. The claim
//! answers the DNS TXT record to publish; with `verify = true` the apply also
//! asks the platform to check it (and fails until the record is published).

use async_trait::async_trait;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value as Json};
use tf_provider::{
    schema::{
        AttributeConstraint::{Computed, Optional, Required},
        AttributeType, Schema,
    },
    value::Value,
};

use crate::{
    api::Api,
    schema::{attr, differs, json_string, schema, split_import, string, text, Crud},
};

pub struct Domain;

#[derive(Clone, Serialize, Deserialize)]
pub struct DomainState {
    id: Value<String>,
    store_id: Value<String>,
    host: Value<String>,
    verify: Value<bool>,
    verified: Value<bool>,
    verification_name: Value<String>,
    verification_value: Value<String>,
}

fn domains(state: &DomainState) -> String {
    format!("/v1/tenants/{}/domains", text(&state.store_id).unwrap_or(""))
}

fn from_api(mut state: DomainState, body: &Json) -> DomainState {
    state.host = json_string(&body["host"]);
    state.id = Value::Value(format!("{}/{}", text(&state.store_id).unwrap_or(""), text(&state.host).unwrap_or("")));
    state.verified = Value::Value(body["verified"].as_bool().unwrap_or(false));
    state.verification_name = json_string(&body["verification"]["name"]);
    state.verification_value = json_string(&body["verification"]["value"]);
    state
}

async fn verify(api: &Api, state: DomainState) -> Result<DomainState, String> {
    if state.verify.as_ref_option() != Some(&true) || state.verified.as_ref_option() == Some(&true) {
        return Ok(state);
    }
    let path = format!("{}/{}/verify", domains(&state), text(&state.host).unwrap_or(""));
    let body = api.control(Method::POST, &path, None).await?.expect("verify domain", &[200])?;
    Ok(from_api(state, &body))
}

#[async_trait]
impl Crud for Domain {
    type State = DomainState;

    fn schema() -> Schema {
        schema(
            "A custom domain of a store (import id: <store id>/<host>).",
            vec![
                ("id", string(Computed, "<store id>/<host>.")),
                ("store_id", string(Required, "The store.")),
                ("host", string(Required, "The host, e.g. shop.example.com.")),
                ("verify", attr(AttributeType::Bool, Optional, "Ask the platform to verify the TXT record on apply.")),
                ("verified", attr(AttributeType::Bool, Computed, "Whether the platform verified the host.")),
                ("verification_name", string(Computed, "The TXT record's name to publish.")),
                ("verification_value", string(Computed, "The TXT record's value to publish.")),
            ],
        )
    }

    fn plan_create(state: &mut DomainState) {
        state.id = Value::Unknown;
        state.verified = Value::Unknown;
        state.verification_name = Value::Unknown;
        state.verification_value = Value::Unknown;
    }

    fn replaced_by(prior: &DomainState, proposed: &DomainState) -> Vec<&'static str> {
        let mut changed = Vec::new();
        differs(&mut changed, "store_id", &prior.store_id, &proposed.store_id);
        differs(&mut changed, "host", &prior.host, &proposed.host);
        changed
    }

    async fn create(api: &Api, planned: DomainState) -> Result<DomainState, String> {
        let body = json!({"host": text(&planned.host)});
        let created =
            api.control(Method::POST, &domains(&planned), Some(&body)).await?.expect("add domain", &[200, 201])?;
        verify(api, from_api(planned, &created)).await
    }

    async fn read(api: &Api, state: DomainState) -> Result<Option<DomainState>, String> {
        let Some(items) = api.control_list("list domains", &domains(&state)).await? else { return Ok(None) };
        let host = text(&state.host).unwrap_or("").to_owned();
        Ok(items.iter().find(|d| d["host"].as_str() == Some(&host)).map(|d| from_api(state, d)))
    }

    async fn update(api: &Api, _prior: DomainState, planned: DomainState) -> Result<DomainState, String> {
        verify(api, planned).await
    }

    async fn delete(api: &Api, state: DomainState) -> Result<(), String> {
        let path = format!("{}/{}", domains(&state), text(&state.host).unwrap_or(""));
        api.control_delete("remove domain", &path, &[204]).await
    }

    fn import(id: &str) -> Result<DomainState, String> {
        let (store, host) = split_import(id, "host")?;
        Ok(DomainState {
            id: Value::Value(id.to_owned()),
            store_id: Value::Value(store),
            host: Value::Value(host),
            verify: Value::Null,
            verified: Value::Null,
            verification_name: Value::Null,
            verification_value: Value::Null,
        })
    }
}
