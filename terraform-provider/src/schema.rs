//! Building schemas and the plumbing every resource shares: [`Crud`], the
//! small trait each resource implements, and [`Managed`], which turns it into a
//! `tf_provider::Resource` (plans, replacement, import, diagnostics).

use std::{
    collections::HashMap,
    sync::{Arc, OnceLock},
};

use async_trait::async_trait;
use serde::{de::DeserializeOwned, Serialize};
use tf_provider::{
    schema::{Attribute, AttributeConstraint, AttributeType, Block, Description, Schema},
    value::{Value, ValueEmpty},
    AttributePath, Diagnostics, Resource,
};

use crate::api::Api;

/// The client, set once the provider is configured.
pub type ApiCell = Arc<OnceLock<Api>>;

/// An attribute: `kind`, how it is set, its description.
pub fn attr(kind: AttributeType, constraint: AttributeConstraint, description: &str) -> Attribute {
    Attribute { attr_type: kind, description: Description::plain(description), constraint, ..Default::default() }
}

/// A string attribute.
pub fn string(constraint: AttributeConstraint, description: &str) -> Attribute {
    attr(AttributeType::String, constraint, description)
}

/// A sensitive string attribute.
pub fn secret(constraint: AttributeConstraint, description: &str) -> Attribute {
    Attribute { sensitive: true, ..string(constraint, description) }
}

/// A schema of these attributes.
pub fn schema(description: &str, attributes: Vec<(&str, Attribute)>) -> Schema {
    Schema {
        version: 1,
        block: Block {
            version: 1,
            description: Description::plain(description),
            attributes: attributes.into_iter().map(|(k, v)| (k.to_owned(), v)).collect::<HashMap<_, _>>(),
            ..Default::default()
        },
    }
}

/// A known string, or `None`.
pub fn text(value: &Value<String>) -> Option<&str> {
    value.as_ref_option().map(String::as_str)
}

/// A JSON string (or null) as a value.
pub fn json_string(value: &serde_json::Value) -> Value<String> {
    value.as_str().map_or(Value::Null, |s| Value::Value(s.to_owned()))
}

/// What a resource does against the API; [`Managed`] does the rest.
#[async_trait]
pub trait Crud: Send + Sync + 'static {
    type State: Serialize + DeserializeOwned + Send + Clone;

    fn schema() -> Schema;
    /// Computed attributes become unknown in a create's plan.
    fn plan_create(state: &mut Self::State);
    /// The attributes whose change replaces the resource.
    fn replaced_by(prior: &Self::State, proposed: &Self::State) -> Vec<&'static str>;
    async fn create(api: &Api, planned: Self::State) -> Result<Self::State, String>;
    /// The resource as the API has it; `None` when it is gone.
    async fn read(api: &Api, state: Self::State) -> Result<Option<Self::State>, String>;
    async fn update(api: &Api, prior: Self::State, planned: Self::State) -> Result<Self::State, String>;
    async fn delete(api: &Api, state: Self::State) -> Result<(), String>;
    /// The state an import id names (then read fills it in).
    fn import(id: &str) -> Result<Self::State, String>;
}

/// A [`Crud`] as a Terraform resource.
pub struct Managed<C> {
    api: ApiCell,
    _crud: std::marker::PhantomData<C>,
}

impl<C> Managed<C> {
    pub fn new(api: ApiCell) -> Self {
        Self { api, _crud: std::marker::PhantomData }
    }
}

/// The configured client, or an error diagnostic.
pub fn configured<'a>(api: &'a ApiCell, diags: &mut Diagnostics) -> Option<&'a Api> {
    let api = api.get();
    if api.is_none() {
        diags.root_error_short("the commerce provider is not configured (endpoint and token)");
    }
    api
}

/// The value, or the error as a diagnostic.
pub fn report<T>(diags: &mut Diagnostics, result: Result<T, String>) -> Option<T> {
    result.map_err(|e| diags.root_error("commerce API call failed", e)).ok()
}

#[async_trait]
impl<C: Crud> Resource for Managed<C> {
    type State<'a> = C::State;
    type PrivateState<'a> = ValueEmpty;
    type ProviderMetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        Some(C::schema())
    }

    async fn read<'a>(
        &self,
        diags: &mut Diagnostics,
        state: C::State,
        private: ValueEmpty,
        _meta: ValueEmpty,
    ) -> Option<(C::State, ValueEmpty)> {
        let api = configured(&self.api, diags)?;
        // `None` with no diagnostic: the resource is gone, and Terraform plans to create it.
        report(diags, C::read(api, state).await)?.map(|s| (s, private))
    }

    async fn plan_create<'a>(
        &self,
        _diags: &mut Diagnostics,
        proposed: C::State,
        _config: C::State,
        _meta: ValueEmpty,
    ) -> Option<(C::State, ValueEmpty)> {
        let mut state = proposed;
        C::plan_create(&mut state);
        Some((state, Value::Null))
    }

    async fn plan_update<'a>(
        &self,
        _diags: &mut Diagnostics,
        prior: C::State,
        proposed: C::State,
        _config: C::State,
        private: ValueEmpty,
        _meta: ValueEmpty,
    ) -> Option<(C::State, ValueEmpty, Vec<AttributePath>)> {
        let replace = C::replaced_by(&prior, &proposed).into_iter().map(AttributePath::new).collect();
        Some((proposed, private, replace))
    }

    async fn plan_destroy<'a>(
        &self,
        _diags: &mut Diagnostics,
        _prior: C::State,
        private: ValueEmpty,
        _meta: ValueEmpty,
    ) -> Option<ValueEmpty> {
        Some(private)
    }

    async fn create<'a>(
        &self,
        diags: &mut Diagnostics,
        planned: C::State,
        _config: C::State,
        private: ValueEmpty,
        _meta: ValueEmpty,
    ) -> Option<(C::State, ValueEmpty)> {
        let api = configured(&self.api, diags)?;
        report(diags, C::create(api, planned).await).map(|s| (s, private))
    }

    async fn update<'a>(
        &self,
        diags: &mut Diagnostics,
        prior: C::State,
        planned: C::State,
        _config: C::State,
        private: ValueEmpty,
        _meta: ValueEmpty,
    ) -> Option<(C::State, ValueEmpty)> {
        let api = configured(&self.api, diags)?;
        report(diags, C::update(api, prior, planned).await).map(|s| (s, private))
    }

    async fn destroy<'a>(
        &self,
        diags: &mut Diagnostics,
        prior: C::State,
        _private: ValueEmpty,
        _meta: ValueEmpty,
    ) -> Option<()> {
        let api = configured(&self.api, diags)?;
        report(diags, C::delete(api, prior).await)
    }

    async fn import<'a>(&self, diags: &mut Diagnostics, id: String) -> Option<(C::State, ValueEmpty)> {
        report(diags, C::import(&id)).map(|s| (s, Value::Null))
    }
}

/// `<store id>/<item>` as an import id names it.
pub fn split_import(id: &str, item: &str) -> Result<(String, String), String> {
    match id.split_once('/') {
        Some((store, thing)) if !store.is_empty() && !thing.is_empty() => Ok((store.to_owned(), thing.to_owned())),
        _ => Err(format!("import id must be <store id>/<{item}>, got {id:?}")),
    }
}

/// `changed` when the two differ (for [`Crud::replaced_by`]).
pub fn differs<T: PartialEq>(changed: &mut Vec<&'static str>, name: &'static str, prior: &T, proposed: &T) {
    if prior != proposed {
        changed.push(name);
    }
}
