//! Spawns the control plane on a random port over a database of the test's own.

use control_plane::startup::{AppState, Application};
use platform::{
    config::Settings,
    testkit::{init_test_tracing, TestDb},
};

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub state: AppState,
    pub _db: TestDb,
}

pub async fn spawn_app() -> TestApp {
    init_test_tracing();
    let db = TestDb::create().await.expect("test database");
    let settings = Settings::for_tests(&db.url()).expect("settings");
    let app = Application::build(settings).await.expect("app builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let state = app.state().clone();
    tokio::spawn(app.run_until(std::future::pending()));
    TestApp { address, client: reqwest::Client::new(), state, _db: db }
}
