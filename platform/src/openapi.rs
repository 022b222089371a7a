//! The OpenAPI 3.1 document each service serves at `/openapi.json`.
//!
//! Each bounded context lists its endpoints next to its router with [`get`],
//! [`post`], … and the request and response types of its `routes` module
//! (which derive `utoipa::ToSchema`), so a schema is the wire type itself and
//! cannot drift from it. Path parameters are read from the path template, so a
//! documented path always names its parameters. Each service's API tests check
//! the document against the routes the app answers.

use std::sync::Arc;

use axum::{
    http::{header, HeaderValue},
    response::{IntoResponse, Response},
    routing::get as get_route,
    Router,
};
use utoipa::{
    openapi::{
        path::{HttpMethod, Operation, OperationBuilder, ParameterBuilder, ParameterIn},
        request_body::RequestBodyBuilder,
        schema::{ObjectBuilder, Schema, Type},
        security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme},
        Components, ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, Paths, Ref, RefOr, Required, ResponseBuilder,
    },
    PartialSchema, ToSchema,
};

use crate::problem::PROBLEM_JSON;

/// Security scheme name of `Authorization: Bearer <JWT>` (staff, platform admin or shopper token).
pub const BEARER: &str = "bearer";
/// Security scheme name of a store's `x-api-key`.
pub const API_KEY: &str = "api_key";

/// An RFC 9457 problem, as every error response of either service is written.
#[derive(ToSchema)]
#[schema(as = Problem)]
#[allow(dead_code)] // a schema only: the body is built by `problem::Problem::body`
struct ProblemSchema {
    /// `/problems/<code>`, stable per outcome.
    #[schema(example = "/problems/validation")]
    r#type: String,
    /// Short, human-readable summary of the kind of problem.
    title: String,
    /// The HTTP status code.
    status: u16,
    /// What happened, for a person.
    detail: String,
    /// The fields at fault (422, some 400s).
    errors: Option<Vec<FieldErrorSchema>>,
}

/// One input field at fault.
#[derive(ToSchema)]
#[schema(as = FieldError)]
#[allow(dead_code)]
struct FieldErrorSchema {
    /// Path of the field in the request, e.g. `variants[0].price.amount`.
    field: String,
    /// What is wrong with it.
    message: String,
}

/// One documented operation: method, path exactly as routed (axum `{param}`
/// syntax, which OpenAPI shares) and what it takes and returns.
pub struct Endpoint {
    method: HttpMethod,
    path: String,
    operation: OperationBuilder,
    schemas: Vec<(String, RefOr<Schema>)>,
    has_success: bool,
}

/// `GET path`.
pub fn get(path: &str, summary: &str) -> Endpoint {
    Endpoint::new(HttpMethod::Get, path, summary)
}

/// `POST path`.
pub fn post(path: &str, summary: &str) -> Endpoint {
    Endpoint::new(HttpMethod::Post, path, summary)
}

/// `PUT path`.
pub fn put(path: &str, summary: &str) -> Endpoint {
    Endpoint::new(HttpMethod::Put, path, summary)
}

/// `PATCH path`.
pub fn patch(path: &str, summary: &str) -> Endpoint {
    Endpoint::new(HttpMethod::Patch, path, summary)
}

/// `DELETE path`.
pub fn delete(path: &str, summary: &str) -> Endpoint {
    Endpoint::new(HttpMethod::Delete, path, summary)
}

impl Endpoint {
    fn new(method: HttpMethod, path: &str, summary: &str) -> Self {
        let mut operation =
            OperationBuilder::new().summary(Some(summary)).operation_id(Some(operation_id(&method, path)));
        for name in path_params(path) {
            operation = operation.parameter(
                ParameterBuilder::new()
                    .name(name)
                    .parameter_in(ParameterIn::Path)
                    .required(Required::True)
                    .schema(Some(string_schema())),
            );
        }
        // OpenAPI has no catch-all segment: `{*key}` is documented as `{key}`.
        Self { method, path: path.replace("{*", "{"), operation, schemas: Vec::new(), has_success: false }
    }

    /// Groups the operation under `tag` (the bounded context).
    pub fn tag(mut self, tag: &str) -> Self {
        self.operation = self.operation.tag(tag);
        self
    }

    /// A longer description (markdown).
    pub fn describe(mut self, description: &str) -> Self {
        self.operation = self.operation.description(Some(description));
        self
    }

    /// An optional query parameter (sent as a string; the handler parses it).
    pub fn query(mut self, name: &str, description: &str) -> Self {
        self.operation = self.operation.parameter(
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Query)
                .required(Required::False)
                .description(Some(description))
                .schema(Some(string_schema())),
        );
        self
    }

    /// `?limit=&cursor=` of a cursor-paginated list.
    pub fn paged(self) -> Self {
        self.query("limit", "Items per page, 1–100 (default 20); outside that → 400.")
            .query("cursor", "`next_cursor` of the previous page; one this API did not issue → 400.")
    }

    /// Accepts `Idempotency-Key`: a replay with the same key and body returns
    /// the first status and body; another body → 422; while the first runs → 409.
    pub fn idempotent(mut self) -> Self {
        self.operation = self.operation.parameter(
            ParameterBuilder::new()
                .name("Idempotency-Key")
                .parameter_in(ParameterIn::Header)
                .required(Required::False)
                .description(Some(
                    "Kept 24 h per (store or platform, endpoint, caller). Same key and body replay the first \
                     response exactly; another body → 422; while the first is in flight → 409.",
                ))
                .schema(Some(string_schema())),
        );
        self
    }

    /// A JSON request body of type `T`.
    pub fn body<T: ToSchema>(self) -> Self {
        self.json_body::<T>(Required::True)
    }

    /// A JSON request body of type `T` that may be left out.
    pub fn optional_body<T: ToSchema>(self) -> Self {
        self.json_body::<T>(Required::False)
    }

    fn json_body<T: ToSchema>(mut self, required: Required) -> Self {
        let schema = self.reference::<T>();
        self.operation = self.operation.request_body(Some(
            RequestBodyBuilder::new()
                .required(Some(required))
                .content("application/json", ContentBuilder::new().schema(Some(schema)).build())
                .build(),
        ));
        self
    }

    /// A request body that is not JSON (uploads, imports).
    pub fn raw_body(mut self, content_types: &[&str], description: &str) -> Self {
        let mut body = RequestBodyBuilder::new().required(Some(Required::True)).description(Some(description));
        for content_type in content_types {
            body = body.content(*content_type, ContentBuilder::new().build());
        }
        self.operation = self.operation.request_body(Some(body.build()));
        self
    }

    /// A JSON response of type `T` with `status`.
    pub fn json<T: ToSchema>(mut self, status: u16, description: &str) -> Self {
        let schema = self.reference::<T>();
        self.respond(status, description, "application/json", Some(schema))
    }

    /// `200` with a page of `T`: `{"items": [T], "next_cursor": string | null}`.
    pub fn page<T: ToSchema>(mut self) -> Self {
        let item = self.reference::<T>();
        let envelope = ObjectBuilder::new()
            .property("items", utoipa::openapi::schema::ArrayBuilder::new().items(item))
            .required("items")
            .property(
                "next_cursor",
                ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::SchemaType::from_iter([Type::String, Type::Null]))
                    .description(Some("Pass as `cursor` for the next page; null on the last.")),
            )
            .required("next_cursor")
            .build();
        self.respond(200, "A page.", "application/json", Some(RefOr::T(Schema::Object(envelope))))
    }

    /// A response without a described body (204, redirects, non-JSON bodies).
    pub fn empty(self, status: u16, description: &str) -> Self {
        self.respond(status, description, "", None)
    }

    /// A response with a body of `content_type` that has no JSON schema.
    pub fn other(self, status: u16, description: &str, content_type: &str) -> Self {
        self.respond(status, description, content_type, Some(RefOr::T(Schema::Object(ObjectBuilder::new().build()))))
    }

    /// Error statuses this operation is known to answer with, each a problem.
    /// Every operation also documents `default` as a problem.
    pub fn problems(mut self, statuses: &[(u16, &str)]) -> Self {
        for (status, description) in statuses {
            self.operation = self.operation.response(status.to_string(), problem_response(description));
        }
        self
    }

    /// Needs a bearer token (staff, platform admin or shopper, as the summary says).
    pub fn bearer(mut self) -> Self {
        self.operation = self.operation.security(SecurityRequirement::new(BEARER, Vec::<String>::new()));
        self
    }

    /// Needs a staff token of the store or an `x-api-key` of the store.
    pub fn staff(mut self) -> Self {
        self.operation = self
            .operation
            .security(SecurityRequirement::new(BEARER, Vec::<String>::new()))
            .security(SecurityRequirement::new(API_KEY, Vec::<String>::new()));
        self
    }

    /// Takes a bearer token when one is sent, and answers without one too.
    pub fn optional_bearer(mut self) -> Self {
        self.operation = self
            .operation
            .security(SecurityRequirement::new(BEARER, Vec::<String>::new()))
            .security(SecurityRequirement::default());
        self
    }

    fn respond(mut self, status: u16, description: &str, content_type: &str, schema: Option<RefOr<Schema>>) -> Self {
        let mut response = ResponseBuilder::new().description(description);
        if let Some(schema) = schema {
            response = response.content(content_type, ContentBuilder::new().schema(Some(schema)).build());
        }
        self.operation = self.operation.response(status.to_string(), response.build());
        self.has_success |= (200..400).contains(&status);
        self
    }

    /// Registers `T` (and what it refers to) as components; returns a `$ref` to it.
    fn reference<T: ToSchema>(&mut self) -> RefOr<Schema> {
        let name = T::name().into_owned();
        self.schemas.push((name.clone(), T::schema()));
        T::schemas(&mut self.schemas);
        RefOr::Ref(Ref::from_schema_name(name))
    }

    fn build(self) -> (String, HttpMethod, Operation, Vec<(String, RefOr<Schema>)>) {
        assert!(self.has_success, "{} {} documents no success response", method_name(&self.method), self.path);
        let operation = self.operation.response("default", problem_response("An error, as a problem.")).build();
        (self.path, self.method, operation, self.schemas)
    }
}

/// A document fragment of `endpoints` (one context's, say), to merge with others.
pub fn fragment(endpoints: impl IntoIterator<Item = Endpoint>) -> OpenApi {
    let mut paths = Paths::new();
    let mut components = Components::new();
    for endpoint in endpoints {
        let (path, method, operation, schemas) = endpoint.build();
        assert!(
            paths.get_path_operation(&path, method.clone()).is_none(),
            "{} {path} is documented twice",
            method_name(&method)
        );
        paths.add_path_operation(path, vec![method], operation);
        for (name, schema) in schemas {
            add_schema(&mut components, name, schema);
        }
    }
    OpenApiBuilder::new().paths(paths).components(Some(components)).build()
}

/// Adds a named schema; two different wire types under one name would make
/// every `$ref` to it lie about one of them, so that is a bug (the schema
/// name is the Rust type name unless `#[schema(as = …)]` says otherwise).
fn add_schema(components: &mut Components, name: String, schema: RefOr<Schema>) {
    match components.schemas.get(&name) {
        Some(existing) => assert!(
            serde_json::to_value(existing).ok() == serde_json::to_value(&schema).ok(),
            "two different schemas are named {name}; rename one with #[schema(as = …)]"
        ),
        None => {
            components.schemas.insert(name, schema);
        }
    }
}

/// The whole document of a service: `fragments` plus the shared parts (health
/// endpoints, the problem schema, security schemes).
pub fn document(title: &str, description: &str, fragments: impl IntoIterator<Item = OpenApi>) -> OpenApi {
    let mut doc = OpenApiBuilder::new()
        .info(InfoBuilder::new().title(title).version(env!("CARGO_PKG_VERSION")).description(Some(description)))
        .build();
    let mut components = Components::new();
    add_schema(&mut components, ProblemSchema::name().into_owned(), ProblemSchema::schema());
    add_schema(&mut components, FieldErrorSchema::name().into_owned(), FieldErrorSchema::schema());
    for fragment in std::iter::once(fragment(health_endpoints())).chain(fragments) {
        doc.paths.merge(fragment.paths);
        for (name, schema) in fragment.components.map(|c| c.schemas).unwrap_or_default() {
            add_schema(&mut components, name, schema);
        }
    }
    components.add_security_scheme(
        BEARER,
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .description(Some("EdDSA JWT from `POST /v1/auth/token` (staff, platform admin) or `POST /store/auth/token` (shopper)."))
                .build(),
        ),
    );
    components.add_security_scheme(
        API_KEY,
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
            "x-api-key",
            "A store's API key, issued by the control plane; scoped (e.g. `catalog:read`).",
        ))),
    );
    doc.components = Some(components);
    doc
}

fn health_endpoints() -> Vec<Endpoint> {
    vec![
        get("/healthz", "Liveness: the process is up").tag("health").other(200, "Up.", "application/json"),
        get("/readyz", "Readiness: PostgreSQL and Redis answer")
            .tag("health")
            .other(200, "Ready.", "application/json")
            .problems(&[(503, "A dependency is not answering.")]),
        get("/metrics", "Prometheus metrics").tag("health").other(200, "Prometheus text format.", "text/plain"),
        get("/openapi.json", "This document").tag("health").other(200, "OpenAPI 3.1.", "application/json"),
    ]
}

/// Serves `doc` at `/openapi.json`, serialized once. No auth and no tenant
/// resolution: it answers on any host, like `/healthz`.
pub fn router(doc: &OpenApi) -> Router {
    let body: Arc<str> = doc.to_json().expect("the OpenAPI document serializes").into();
    Router::new().route(
        "/openapi.json",
        get_route(move || {
            let body = body.clone();
            async move { json_response(body) }
        }),
    )
}

fn json_response(body: Arc<str>) -> Response {
    let mut response = body.to_string().into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

fn problem_response(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(PROBLEM_JSON, ContentBuilder::new().schema(Some(RefOr::Ref(Ref::from_schema_name("Problem")))).build())
        .build()
}

fn string_schema() -> RefOr<Schema> {
    RefOr::T(Schema::Object(ObjectBuilder::new().schema_type(Type::String).build()))
}

/// `{id}` and `{*key}` segments of an axum path, by name.
fn path_params(path: &str) -> impl Iterator<Item = &str> {
    path.split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
        .map(|p| p.trim_start_matches('*'))
}

fn method_name(method: &HttpMethod) -> &'static str {
    match method {
        HttpMethod::Get => "GET",
        HttpMethod::Post => "POST",
        HttpMethod::Put => "PUT",
        HttpMethod::Patch => "PATCH",
        HttpMethod::Delete => "DELETE",
        HttpMethod::Head => "HEAD",
        HttpMethod::Options => "OPTIONS",
        HttpMethod::Trace => "TRACE",
    }
}

/// `get_store_products_id_or_handle` for `GET /store/products/{id_or_handle}`.
fn operation_id(method: &HttpMethod, path: &str) -> String {
    let mut id = method_name(method).to_ascii_lowercase();
    for c in path.chars() {
        match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' => id.push(c.to_ascii_lowercase()),
            '{' | '}' | '*' => {}
            _ if !id.ends_with('_') => id.push('_'),
            _ => {}
        }
    }
    id.trim_end_matches('_').to_owned()
}

/// Checks of a served document against the app that serves it, for each
/// service's API tests.
#[cfg(feature = "testkit")]
pub mod check {
    use std::{collections::BTreeSet, future::Future, path::Path};

    use serde_json::Value;

    /// The methods probed on every documented path.
    pub const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

    /// `(METHOD, path)` of every documented operation.
    pub fn documented_operations(doc: &Value) -> BTreeSet<(String, String)> {
        let mut operations = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().into_iter().flatten() {
            for method in METHODS {
                if item.get(method.to_ascii_lowercase()).is_some() {
                    operations.insert((method.to_owned(), path.clone()));
                }
            }
        }
        operations
    }

    /// The paths of every `.route("…", …)` in the `.rs` files under `dirs`, as
    /// OpenAPI writes them (`{*key}` → `{key}`): what the app can route,
    /// read from its source so that a new route cannot go unnoticed.
    pub fn routed_paths(dirs: &[&Path]) -> BTreeSet<String> {
        let mut paths = BTreeSet::new();
        for dir in dirs {
            scan(dir, &mut paths);
        }
        paths
    }

    fn scan(dir: &Path, paths: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display())) {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                scan(&path, paths);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let source = std::fs::read_to_string(&path).expect("source file");
                for (_, rest) in source.match_indices(".route(").map(|(i, _)| source.split_at(i + ".route(".len())) {
                    let rest = rest.trim_start();
                    let literal = rest.strip_prefix('"').and_then(|r| r.split_once('"')).map(|(l, _)| l);
                    if let Some(literal) = literal.filter(|l| l.starts_with('/')) {
                        paths.insert(literal.replace("{*", "{"));
                    }
                }
            }
        }
    }

    /// A concrete path for a template: every parameter becomes a UUIDv7-shaped id.
    pub fn sample(path: &str) -> String {
        path.split('/')
            .map(|segment| if segment.starts_with('{') { "0190f0c4-7d2e-7000-8000-000000000000" } else { segment })
            .collect::<Vec<_>>()
            .join("/")
    }

    /// Sends every method in [`METHODS`] to every documented path and every
    /// path in `routed` (see [`routed_paths`]) through `probe` (which returns
    /// the status and the JSON body, or null), and reports each disagreement:
    /// a documented operation the router does not have (405, or the router's
    /// own 404 `route-not-found`), or an operation the router answers that the
    /// document leaves out.
    pub async fn probe_operations<F, Fut>(doc: &Value, routed: &BTreeSet<String>, mut probe: F) -> Vec<String>
    where
        F: FnMut(&'static str, String) -> Fut,
        Fut: Future<Output = (u16, Value)>,
    {
        let documented = documented_operations(doc);
        let paths: BTreeSet<&String> = documented.iter().map(|(_, path)| path).chain(routed).collect();
        let mut failures = Vec::new();
        for path in paths {
            for method in METHODS {
                let (status, body) = probe(method, sample(path)).await;
                let unrouted = status == 405 || (status == 404 && body["type"] == "/problems/route-not-found");
                match (documented.contains(&(method.to_owned(), path.clone())), unrouted) {
                    (true, true) => failures.push(format!("{method} {path} is documented but not routed ({status})")),
                    (false, false) => failures.push(format!("{method} {path} answers {status} but is not documented")),
                    _ => {}
                }
            }
        }
        failures
    }

    /// What the public contract requires of the document itself.
    pub fn contract_problems(doc: &Value) -> Vec<String> {
        let mut problems = Vec::new();
        let mut expect = |ok: bool, what: &str| {
            if !ok {
                problems.push(what.to_owned());
            }
        };
        expect(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.1.")), "openapi is 3.1.x");
        let schemas = &doc["components"]["schemas"];
        // The control plane has no money on its wire; the data plane's test asserts it is there.
        if let Some(money) = schemas.get("Money") {
            expect(money["properties"]["amount"]["type"] == "integer", "Money.amount is an integer");
            expect(money["properties"]["currency"]["type"] == "string", "Money.currency is a string");
            expect(required(money, &["amount", "currency"]), "Money requires amount and currency");
        }
        let problem = &schemas["Problem"];
        expect(
            required(problem, &["type", "title", "status", "detail"]),
            "Problem requires type, title, status, detail",
        );
        expect(problem["properties"]["status"]["type"] == "integer", "Problem.status is an integer");
        expect(
            problem["properties"]["errors"].to_string().contains("#/components/schemas/FieldError"),
            "Problem.errors",
        );
        expect(required(&schemas["FieldError"], &["field", "message"]), "FieldError requires field and message");
        let security = &doc["components"]["securitySchemes"];
        expect(security["bearer"]["scheme"] == "bearer" && security["bearer"]["bearerFormat"] == "JWT", "bearer JWT");
        expect(security["api_key"]["in"] == "header" && security["api_key"]["name"] == "x-api-key", "x-api-key");
        for (method, path) in documented_operations(doc) {
            let operation = &doc["paths"][&path][method.to_ascii_lowercase()];
            expect(operation["summary"].as_str().is_some_and(|s| !s.is_empty()), &format!("{method} {path} summary"));
            let default = operation["responses"]["default"]["content"]["application/problem+json"]["schema"]["$ref"]
                == "#/components/schemas/Problem";
            expect(default, &format!("{method} {path} documents errors as problems"));
        }
        let mut refs = Vec::new();
        collect_refs(doc, &mut refs);
        for reference in refs {
            let name = reference.strip_prefix("#/components/schemas/");
            expect(name.is_some_and(|n| schemas.get(n).is_some()), &format!("{reference} resolves"));
        }
        problems
    }

    fn required(schema: &Value, fields: &[&str]) -> bool {
        let required = schema["required"].as_array().cloned().unwrap_or_default();
        fields.iter().all(|f| required.iter().any(|r| r == f))
    }

    fn collect_refs(value: &Value, refs: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (key, value) in map {
                    match (key.as_str(), value) {
                        ("$ref", Value::String(reference)) => refs.push(reference.clone()),
                        _ => collect_refs(value, refs),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|v| collect_refs(v, refs)),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_parameters_come_from_the_template() {
        let names: Vec<_> = path_params("/media/{*key}").collect();
        assert_eq!(names, ["key"]);
        let names: Vec<_> = path_params("/v1/tenants/{id}/domains/{host}/verify").collect();
        assert_eq!(names, ["id", "host"]);
    }

    #[test]
    fn operation_ids_are_readable() {
        assert_eq!(operation_id(&HttpMethod::Get, "/store/products/{id_or_handle}"), "get_store_products_id_or_handle");
        assert_eq!(operation_id(&HttpMethod::Get, "/.well-known/jwks.json"), "get_well_known_jwks_json");
    }
}
