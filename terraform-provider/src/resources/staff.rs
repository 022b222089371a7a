//! `commerce_store_staff`: a member of a store. The platform has no role
//! change, so a new role (or email) replaces the membership.

use async_trait::async_trait;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value as Json};
use tf_provider::{
    schema::{
        AttributeConstraint::{Computed, Required},
        Schema,
    },
    value::Value,
};

use crate::{
    api::Api,
    schema::{differs, json_string, schema, secret, split_import, string, text, Crud},
};

pub struct Staff;

#[derive(Clone, Serialize, Deserialize)]
pub struct StaffState {
    id: Value<String>,
    store_id: Value<String>,
    email: Value<String>,
    password: Value<String>,
    role: Value<String>,
    account_id: Value<String>,
}

fn members(state: &StaffState) -> String {
    format!("/v1/tenants/{}/staff", text(&state.store_id).unwrap_or(""))
}

fn from_api(mut state: StaffState, body: &Json) -> StaffState {
    state.account_id = json_string(&body["account_id"]);
    state.email = json_string(&body["email"]);
    state.role = json_string(&body["role"]);
    state.id =
        Value::Value(format!("{}/{}", text(&state.store_id).unwrap_or(""), text(&state.account_id).unwrap_or("")));
    state
}

#[async_trait]
impl Crud for Staff {
    type State = StaffState;

    fn schema() -> Schema {
        schema(
            "A staff member of a store (import id: <store id>/<account id>).",
            vec![
                ("id", string(Computed, "<store id>/<account id>.")),
                ("store_id", string(Required, "The store.")),
                ("email", string(Required, "The member's email.")),
                (
                    "password",
                    secret(Required, "Its password (a new account's, or an existing one's own); used when added."),
                ),
                ("role", string(Required, "staff or admin (an owner's token adds admins).")),
                ("account_id", string(Computed, "The member's account.")),
            ],
        )
    }

    fn plan_create(state: &mut StaffState) {
        state.id = Value::Unknown;
        state.account_id = Value::Unknown;
    }

    fn replaced_by(prior: &StaffState, proposed: &StaffState) -> Vec<&'static str> {
        let mut changed = Vec::new();
        differs(&mut changed, "store_id", &prior.store_id, &proposed.store_id);
        differs(&mut changed, "email", &prior.email, &proposed.email);
        differs(&mut changed, "role", &prior.role, &proposed.role);
        changed
    }

    async fn create(api: &Api, planned: StaffState) -> Result<StaffState, String> {
        let body =
            json!({"email": text(&planned.email), "password": text(&planned.password), "role": text(&planned.role)});
        let added = api.control(Method::POST, &members(&planned), Some(&body)).await?.expect("add staff", &[201])?;
        Ok(from_api(planned, &added))
    }

    async fn read(api: &Api, state: StaffState) -> Result<Option<StaffState>, String> {
        let Some(items) = api.control_list("list staff", &members(&state)).await? else { return Ok(None) };
        let account = text(&state.account_id).unwrap_or("").to_owned();
        Ok(items.iter().find(|m| m["account_id"].as_str() == Some(&account)).map(|m| from_api(state, m)))
    }

    async fn update(_api: &Api, _prior: StaffState, planned: StaffState) -> Result<StaffState, String> {
        // Only the password can change without a replacement, and it is used only when added.
        Ok(planned)
    }

    async fn delete(api: &Api, state: StaffState) -> Result<(), String> {
        let path = format!("{}/{}", members(&state), text(&state.account_id).unwrap_or(""));
        api.control_delete("remove staff", &path, &[204]).await
    }

    fn import(id: &str) -> Result<StaffState, String> {
        let (store, account) = split_import(id, "account id")?;
        Ok(StaffState {
            id: Value::Value(id.to_owned()),
            store_id: Value::Value(store),
            email: Value::Null,
            password: Value::Null,
            role: Value::Null,
            account_id: Value::Value(account),
        })
    }
}
