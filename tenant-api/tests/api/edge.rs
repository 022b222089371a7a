//! The data plane's edge: a per-address limit before Host resolution, and
//! unknown hosts that cost the registry at most a budget of lookups.

use std::{net::IpAddr, time::Instant};

use futures_util::{stream, StreamExt};
use platform::tenancy::TenantChange;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{spawn_app_configured, TestApp};

/// A client whose connections come from `local` (any 127.0.0.0/8 address
/// reaches the server on 127.0.0.1).
fn client_from(local: &str) -> reqwest::Client {
    reqwest::Client::builder().local_address(local.parse::<IpAddr>().unwrap()).build().unwrap()
}

/// GETs `/store/products` on each host, `concurrency` at a time; the statuses
/// and the first refusal's `Retry-After` and problem type.
async fn sweep(
    app: &TestApp,
    client: &reqwest::Client,
    hosts: Vec<String>,
    concurrency: usize,
) -> Vec<(StatusCode, Option<String>, Value)> {
    stream::iter(hosts)
        .map(|host| async move {
            let response = client
                .get(format!("{}/store/products", app.address))
                .header("host", host)
                .send()
                .await
                .expect("request");
            let status = response.status();
            let retry_after = response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
            let body: Value = response.json().await.unwrap_or(Value::Null);
            (status, retry_after, body)
        })
        .buffer_unordered(concurrency)
        .collect()
        .await
}

fn count(results: &[(StatusCode, Option<String>, Value)], status: StatusCode) -> usize {
    results.iter().filter(|(s, ..)| *s == status).count()
}

/// `n` distinct hosts that could name a store and name none: half slugs under
/// the platform domain, half custom domains.
fn random_hosts(tag: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| if i % 2 == 0 { format!("{tag}{i}.localhost") } else { format!("{tag}{i}.example.com") }).collect()
}

#[tokio::test]
async fn a_flood_from_one_address_is_refused_before_host_resolution_and_another_address_is_served() {
    let app = spawn_app_configured(|settings| settings.edge_requests_per_second = 5).await;
    let store = app.create_store("alpha").await;
    let here = client_from("127.0.0.1");

    let results = sweep(&app, &here, random_hosts("flood", 200), 20).await;
    let refused = count(&results, StatusCode::TOO_MANY_REQUESTS);
    let passed = results.len() - refused;
    assert!(refused > 0, "no request of the flood was refused");
    // Every request that passed the edge was a new host: one lookup each.
    // Refused ones cost none, so the limit runs before resolution.
    assert_eq!(count(&results, StatusCode::NOT_FOUND), passed);
    assert_eq!(app.state.resolver.registry_lookups(), passed as u64);

    let (_, retry_after, problem) = results.iter().find(|(s, ..)| *s == StatusCode::TOO_MANY_REQUESTS).unwrap();
    let retry_after: u64 = retry_after.as_deref().expect("Retry-After").parse().unwrap();
    assert!((1..=2).contains(&retry_after), "Retry-After: {retry_after}");
    assert_eq!(problem["type"], "/problems/rate-limited", "{problem}");
    assert_eq!(problem["status"], 429);

    // Another address has its own allowance, for any store.
    let elsewhere = client_from("127.0.0.2");
    let served = sweep(&app, &elsewhere, vec![store.host.clone(); 5], 1).await;
    assert_eq!(count(&served, StatusCode::OK), 5, "{served:?}");
}

#[tokio::test]
async fn a_thousand_random_hosts_cost_at_most_the_lookup_budget() {
    const BUDGET: u64 = 10;
    let app = spawn_app_configured(|settings| settings.edge_host_lookups_per_second = BUDGET as u32).await;
    let client = client_from("127.0.0.1");

    let started = Instant::now();
    let results = sweep(&app, &client, random_hosts("random", 1000), 50).await;
    let elapsed = started.elapsed();

    let lookups = app.state.resolver.registry_lookups();
    let busy = count(&results, StatusCode::SERVICE_UNAVAILABLE);
    // Each host is either looked up (and unknown) or refused without a lookup.
    assert_eq!(count(&results, StatusCode::NOT_FOUND) as u64, lookups);
    assert_eq!(lookups + busy as u64, 1000);
    // GCRA: a second's worth at once, then the rate.
    let bound = BUDGET * (1 + elapsed.as_secs().saturating_add(1));
    assert!(lookups <= bound, "{lookups} lookups in {elapsed:?}, budget {BUDGET}/s");
    assert!(busy > 0);

    let (_, retry_after, problem) = results.iter().find(|(s, ..)| *s == StatusCode::SERVICE_UNAVAILABLE).unwrap();
    assert_eq!(retry_after.as_deref(), Some("1"));
    assert_eq!(problem["type"], "/problems/overloaded", "{problem}");
}

#[tokio::test]
async fn hosts_that_cannot_name_a_store_are_404_without_a_lookup() {
    let app = spawn_app_configured(|settings| settings.edge_host_lookups_per_second = 1000).await;
    let long_label = format!("{}.example.com", "a".repeat(64));
    let long_host = format!("{}.com", "abcdefghi.".repeat(26));
    let hosts = [
        "localhost",
        "ab.localhost",
        "a.b.localhost",
        "bad_char.example.com",
        "a..b.example.com",
        "-dash.example.com",
        "10.0.0.1",
        "[::1]:8000",
        "com",
        &long_label,
        &long_host,
    ];
    for host in hosts {
        let body = app.get_json(host, "/store/products", StatusCode::NOT_FOUND).await;
        assert_eq!(body["type"], "/problems/store-not-found", "{host}");
    }
    assert_eq!(app.state.resolver.registry_lookups(), 0);
}

#[tokio::test]
async fn known_and_announced_stores_are_served_throughout_a_random_host_flood() {
    let app = spawn_app_configured(|settings| settings.edge_host_lookups_per_second = 5).await;
    let known = app.create_store("alpha").await;
    let opened = app.create_store("bravo").await;
    app.get_json(&known.host, "/store/products", StatusCode::OK).await;

    let client = client_from("127.0.0.1");
    let flood = sweep(&app, &client, random_hosts("noise", 400), 20);
    let stores = async {
        let mut statuses = Vec::new();
        for round in 0..20 {
            if round == 5 {
                // The known store's entry dropped mid-flood (as by a change),
                // and a store just opened is announced by the control plane
                // (applied here directly: the Redis path has tests of its own).
                for store in [&known, &opened] {
                    let change = TenantChange { tenant_id: store.id().as_uuid(), hosts: vec![store.host.clone()] };
                    app.state.resolver.apply(&change).await;
                }
            }
            statuses.push(app.get(&known.host, "/store/products").await.status());
            if round >= 5 {
                statuses.push(app.get(&opened.host, "/store/products").await.status());
            }
        }
        statuses
    };
    let (flood, statuses) = tokio::join!(flood, stores);
    assert!(count(&flood, StatusCode::SERVICE_UNAVAILABLE) > 0, "the flood never spent the budget");
    assert!(statuses.iter().all(|s| *s == StatusCode::OK), "{statuses:?}");
}

#[tokio::test]
async fn a_flood_naming_one_host_is_refused_before_resolution_from_every_address_and_other_stores_are_served() {
    let app = spawn_app_configured(|settings| settings.edge_host_requests_per_second = 5).await;
    let store = app.create_store("alpha").await;

    // One host, spelt three ways, from ten addresses: one allowance.
    let spellings = ["ghost.localhost", "GHOST.localhost", "ghost.localhost:8000"];
    let mut results = Vec::new();
    for n in 1..=10 {
        let client = client_from(&format!("127.0.0.{n}"));
        let hosts = (0..12).map(|i| spellings[i % spellings.len()].to_owned()).collect();
        results.extend(sweep(&app, &client, hosts, 4).await);
    }
    let refused = count(&results, StatusCode::TOO_MANY_REQUESTS);
    let passed = results.len() - refused;
    assert_eq!(count(&results, StatusCode::NOT_FOUND), passed, "only refusals and unknown-host answers");
    // A second's worth at once, plus what refills while the sweep runs.
    assert!((5..60).contains(&passed), "{passed} of {} passed", results.len());
    // Refusals never reached resolution: at most one lookup per request that passed.
    assert!(app.state.resolver.registry_lookups() <= passed as u64);
    let (_, retry_after, problem) = results.iter().find(|(s, ..)| *s == StatusCode::TOO_MANY_REQUESTS).unwrap();
    assert!(retry_after.is_some());
    assert_eq!(problem["type"], "/problems/rate-limited", "{problem}");
    assert_eq!(problem["status"], 429);

    // Another host has its own allowance.
    let served = sweep(&app, &client_from("127.0.0.1"), vec![store.host.clone(); 5], 1).await;
    assert_eq!(count(&served, StatusCode::OK), 5, "{served:?}");
}
