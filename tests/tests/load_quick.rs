//! The load suite in quick mode, as CI runs it: every scenario small, against
//! both services in-process, checking only the invariants (no 5xx, exact
//! sell-out with nothing left reserved, no cross-store answer). Speed is
//! measured by `infra/scripts/bench.sh`, never asserted here.

use std::time::Duration;

use tests::{
    load::{
        client::Api,
        fleet::{self, Flood},
        scenarios::{self, Skew, WarmRead},
        stats::Report,
    },
    Platform,
};

fn assert_no_server_errors(report: &Report) {
    let errors: u64 = report.statuses.iter().filter(|(s, _)| **s == 0 || **s >= 500).map(|(_, c)| c).sum();
    assert_eq!(errors, 0, "{}: {:?}", report.name, report.statuses);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scenario_keeps_its_invariants_when_run_small() {
    let platform = Platform::start().await.unwrap();
    let api = Api::new(&platform.control_plane, &platform.tenant_api, "localhost", 256).unwrap();

    let (report, mut stores) = scenarios::provision(&api, "quick", 3, 2, "enterprise").await.unwrap();
    assert_eq!(report.requests, 3);
    scenarios::seed_catalog(&api, &mut stores, 5, 4, scenarios::CatalogShape::Apparel).await.unwrap();
    assert!(stores.iter().all(|s| s.variants.len() == 5));

    let (leaks, probes) = scenarios::isolation_probe(&api, &stores).await;
    assert!(probes >= 12);
    assert_eq!(leaks, 0, "a store answered with another store's products");

    let short = Duration::from_millis(500);
    for report in [
        scenarios::browse(&api, &stores, short, 8, Skew::Zipf).await,
        scenarios::warm_reads(&api, &stores, short, 4, WarmRead::Home).await,
        scenarios::warm_reads(&api, &stores, short, 4, WarmRead::ProductPage).await,
        scenarios::cart(&api, &stores, short, 4).await,
        scenarios::checkout(&api, &stores, short, 4, 40).await,
    ] {
        assert!(report.requests > 0, "{} sent nothing", report.name);
        assert_no_server_errors(&report);
        assert!(
            report.statuses.get(&200).or(report.statuses.get(&201)).is_some(),
            "{}: {:?}",
            report.name,
            report.statuses
        );
    }

    let (_, mut sale) = scenarios::provision(&api, "quicksale", 1, 1, "enterprise").await.unwrap();
    scenarios::seed_catalog(&api, &mut sale, 1, 1, scenarios::CatalogShape::Simple).await.unwrap();
    let result = scenarios::flash_sale(&api, &sale[0], 200, 20).await.unwrap();
    assert_eq!(result.paid, 20, "{:?}", result.report.statuses);
    assert_eq!((result.on_hand, result.reserved), (0, 0));
    assert_no_server_errors(&result.report);

    // Tenant scale, small: every host resolves to its own store, cold and warm.
    let hosts: Vec<String> = stores.iter().map(|s| s.host.clone()).collect();
    for pass in ["cold", "warm"] {
        let (report, wrong) = fleet::resolve(&api, &hosts, 4, pass).await;
        assert_eq!((report.requests, wrong), (hosts.len() as u64, 0), "{pass}: {:?}", report.statuses);
    }
    let unknown = vec!["no-such-store.localhost".to_owned()];
    assert_eq!(fleet::resolve(&api, &unknown, 1, "unknown").await.1, 1, "an unknown host is not a store");

    // Noisy neighbour, small: a store on the smallest plan floods while the others browse.
    let (_, mut noisy) = scenarios::provision(&api, "quicknoisy", 1, 1, "starter").await.unwrap();
    scenarios::seed_catalog(&api, &mut noisy, 2, 2, scenarios::CatalogShape::Simple).await.unwrap();
    let result = fleet::noisy_neighbour(&api, &stores, &noisy[0], short, 100.0, Flood::Unbounded(4)).await;
    for report in [&result.baseline, &result.contended, &result.flood] {
        assert!(report.requests > 0, "{} sent nothing", report.name);
        assert_no_server_errors(report);
    }
    assert_eq!(result.contended.statuses.keys().collect::<Vec<_>>(), [&200], "quiet stores are served");
    assert!(result.flood.statuses.contains_key(&429), "the flood is held to its plan: {:?}", result.flood.statuses);

    // Soak, small: samples every half second with this process's RSS.
    let soak = fleet::soak(
        &api,
        &stores,
        Duration::from_secs(2),
        Duration::from_millis(500),
        4,
        &[("self".to_owned(), std::process::id())],
    )
    .await;
    assert_no_server_errors(&soak.report);
    assert!(soak.report.requests > 0);
    assert!(soak.samples.len() >= 4, "{} samples", soak.samples.len());
    assert!(soak.samples.iter().all(|s| s.rss_mb[0] > 0.0), "RSS is read from /proc");
}
