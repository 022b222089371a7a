//! The load suite in quick mode, as CI runs it: every scenario small, against
//! both services in-process, checking only the invariants (no 5xx, exact
//! sell-out with nothing left reserved, no cross-store answer). Speed is
//! measured by `infra/scripts/bench.sh`, never asserted here.

use std::time::Duration;

use tests::{
    load::{
        client::Api,
        scenarios::{self, Skew},
    },
    Platform,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scenario_keeps_its_invariants_when_run_small() {
    let platform = Platform::start().await.unwrap();
    let api = Api::new(&platform.control_plane, &platform.tenant_api, "localhost", 256).unwrap();

    let (report, mut stores) = scenarios::provision(&api, "quick", 3, 2).await.unwrap();
    assert_eq!(report.requests, 3);
    scenarios::seed_catalog(&api, &mut stores, 5, 4).await.unwrap();
    assert!(stores.iter().all(|s| s.variants.len() == 5));

    let (leaks, probes) = scenarios::isolation_probe(&api, &stores).await;
    assert!(probes >= 12);
    assert_eq!(leaks, 0, "a store answered with another store's products");

    let short = Duration::from_millis(500);
    for report in [
        scenarios::browse(&api, &stores, short, 8, Skew::Zipf).await,
        scenarios::cart(&api, &stores, short, 4).await,
        scenarios::checkout(&api, &stores, short, 4).await,
    ] {
        assert!(report.requests > 0, "{} sent nothing", report.name);
        let errors: u64 = report.statuses.iter().filter(|(s, _)| **s == 0 || **s >= 500).map(|(_, c)| c).sum();
        assert_eq!(errors, 0, "{}: {:?}", report.name, report.statuses);
        assert!(
            report.statuses.get(&200).or(report.statuses.get(&201)).is_some(),
            "{}: {:?}",
            report.name,
            report.statuses
        );
    }

    let (_, mut sale) = scenarios::provision(&api, "quicksale", 1, 1).await.unwrap();
    scenarios::seed_catalog(&api, &mut sale, 1, 1).await.unwrap();
    let result = scenarios::flash_sale(&api, &sale[0], 200, 20).await.unwrap();
    assert_eq!(result.paid, 20, "{:?}", result.report.statuses);
    assert_eq!((result.on_hand, result.reserved), (0, 0));
    assert_eq!(
        result.report.statuses.iter().filter(|(s, _)| **s == 0 || **s >= 500).count(),
        0,
        "{:?}",
        result.report.statuses
    );
}
