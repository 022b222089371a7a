//! The platform's HTTP APIs as the provider calls them: the control plane with
//! the configured token, and a store's `/admin` routes on the data plane with a
//! store API key and the store's host.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::Value;

/// A configured client.
#[derive(Clone, Debug)]
pub struct Api {
    http: reqwest::Client,
    endpoint: String,
    token: String,
    /// Where the data plane answers; `None`: at each store's own URL.
    data_plane: Option<String>,
}

/// An answer: status and JSON body (`null` when there is none).
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
}

impl Answer {
    /// The body when the status is one of `ok`, else an error naming the problem.
    pub fn expect(self, what: &str, ok: &[u16]) -> Result<Value, String> {
        if ok.contains(&self.status.as_u16()) {
            return Ok(self.body);
        }
        let detail = self.body["detail"].as_str().or(self.body["title"].as_str()).unwrap_or("no detail");
        let fields: Vec<String> = self.body["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| format!("{}: {}", e["field"].as_str().unwrap_or("?"), e["message"].as_str().unwrap_or("?")))
            .collect();
        let fields = if fields.is_empty() { String::new() } else { format!(" ({})", fields.join("; ")) };
        Err(format!("{what}: HTTP {} — {detail}{fields}", self.status.as_u16()))
    }

    pub fn is_not_found(&self) -> bool {
        self.status == StatusCode::NOT_FOUND
    }
}

impl Api {
    /// A client for `endpoint` (the control plane's base URL).
    pub fn new(endpoint: &str, token: &str, data_plane: Option<&str>) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Self {
            http,
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
            data_plane: data_plane.map(|u| u.trim_end_matches('/').to_owned()),
        })
    }

    /// A control-plane call with the provider's token.
    pub async fn control(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Answer, String> {
        self.control_keyed(method, path, body, None).await
    }

    /// Every item of a control-plane list, following `next_cursor`.
    pub async fn control_list(&self, what: &str, path: &str) -> Result<Option<Vec<Value>>, String> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let join = if path.contains('?') { '&' } else { '?' };
            let page = match &cursor {
                Some(c) => format!("{path}{join}limit=100&cursor={c}"),
                None => format!("{path}{join}limit=100"),
            };
            let answer = self.control(Method::GET, &page, None).await?;
            if answer.is_not_found() {
                return Ok(None);
            }
            let body = answer.expect(what, &[200])?;
            items.extend(body["items"].as_array().cloned().unwrap_or_default());
            match body["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => return Ok(Some(items)),
            }
        }
    }

    /// A control-plane `DELETE`; what is already gone (404) counts as deleted.
    pub async fn control_delete(&self, what: &str, path: &str, ok: &[u16]) -> Result<(), String> {
        let answer = self.control(Method::DELETE, path, None).await?;
        if !answer.is_not_found() {
            answer.expect(what, ok)?;
        }
        Ok(())
    }

    /// A control-plane call carrying an `Idempotency-Key`.
    pub async fn control_keyed(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        idempotency_key: Option<&str>,
    ) -> Result<Answer, String> {
        let mut request =
            self.http.request(method.clone(), format!("{}{path}", self.endpoint)).bearer_auth(&self.token);
        if let Some(key) = idempotency_key {
            request = request.header("idempotency-key", key);
        }
        send(request, body, &method, path).await
    }

    /// A store's `/admin` call on the data plane: sent to `data_plane_url` with the
    /// store's `Host` when configured, else to the store's URL itself.
    pub async fn store_admin(
        &self,
        store_url: &str,
        api_key: &str,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Answer, String> {
        let url = reqwest::Url::parse(store_url).map_err(|e| format!("store URL {store_url}: {e}"))?;
        let host = match (url.host_str(), url.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_owned(),
            (None, _) => return Err(format!("store URL {store_url} has no host")),
        };
        let base = self.data_plane.clone().unwrap_or_else(|| store_url.trim_end_matches('/').to_owned());
        let mut request = self.http.request(method.clone(), format!("{base}{path}")).header("x-api-key", api_key);
        if self.data_plane.is_some() {
            request = request.header(reqwest::header::HOST, host);
        }
        send(request, body, &method, path).await
    }
}

async fn send(
    mut request: reqwest::RequestBuilder,
    body: Option<&Value>,
    method: &Method,
    path: &str,
) -> Result<Answer, String> {
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.map_err(|e| format!("{method} {path}: {e}"))?;
    let status = response.status();
    let bytes = response.bytes().await.map_err(|e| format!("{method} {path}: {e}"))?;
    let body = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap_or(Value::Null) };
    Ok(Answer { status, body })
}
