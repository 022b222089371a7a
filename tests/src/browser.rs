//! A real headless Chromium, driven over WebDriver by ChromeDriver, for the
//! browser journeys in `tests/tests/browser.rs`.
//!
//! Debian's `chromium` and `chromium-driver` (installed by
//! `infra/scripts/services.sh browser`, which `test.sh` runs). Each [`Browser`]
//! starts its own `chromedriver` on a free port and one headless Chromium
//! session, and saves a screenshot of every step it is asked to record into its
//! artifacts directory (kept out of the repository: under the target directory).
//! Chromium resolves every `*.localhost` name to the loopback address, so a
//! store's pages open at `http://<slug>.localhost:<port>/` with no DNS set-up.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    sync::atomic::{AtomicU32, Ordering},
    time::{Duration, Instant},
};

use anyhow::{bail, Context};
use fantoccini::{elements::Element, Client, ClientBuilder, Locator};
use tokio::{process::Child, sync::Semaphore};

/// At most this many Chromium sessions at once across the test binary: each is a
/// few processes and a few hundred MB, and the machine may have two cores.
static SESSIONS: Semaphore = Semaphore::const_new(2);

/// How long a page may take to show what a step waits for.
const WAIT: Duration = Duration::from_secs(15);

/// One headless Chromium session and its ChromeDriver.
pub struct Browser {
    client: Client,
    _driver: Child,
    _permit: tokio::sync::SemaphorePermit<'static>,
    artifacts: PathBuf,
    step: AtomicU32,
}

fn executable(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl Browser {
    /// Starts ChromeDriver and a headless Chromium; screenshots go to `artifacts`
    /// (created, and emptied of an earlier run's screenshots).
    ///
    /// `CHROMEDRIVER` and `CHROMIUM` override where the two are found.
    pub async fn start(artifacts: &Path) -> anyhow::Result<Self> {
        let permit = SESSIONS.acquire().await?;
        let driver_path = std::env::var_os("CHROMEDRIVER")
            .map(PathBuf::from)
            .or_else(|| executable(&["chromedriver"]))
            .context("chromedriver not found: install Debian's chromium and chromium-driver (infra/scripts/services.sh browser)")?;
        let chromium = std::env::var_os("CHROMIUM")
            .map(PathBuf::from)
            .or_else(|| executable(&["chromium", "chromium-browser"]))
            .context("chromium not found: install Debian's chromium (infra/scripts/services.sh browser)")?;

        let port = free_port()?;
        let driver = tokio::process::Command::new(&driver_path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {}", driver_path.display()))?;
        let webdriver = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        let http = reqwest::Client::builder().timeout(Duration::from_secs(2)).build()?;
        while http.get(format!("{webdriver}/status")).send().await.is_err() {
            if started.elapsed() > WAIT {
                bail!("chromedriver did not answer on {webdriver} within {WAIT:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }

        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".into(), "chrome".into());
        capabilities.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--window-size=1280,960", "--no-first-run", "--disable-extensions"],
            }),
        );
        let mut connector = hyper_util::client::legacy::connect::HttpConnector::new();
        connector.set_nodelay(true);
        let client = ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&webdriver)
            .await
            .context("cannot open a Chromium session through chromedriver")?;

        std::fs::create_dir_all(artifacts)?;
        for entry in std::fs::read_dir(artifacts)? {
            let path = entry?.path();
            if path.extension().is_some_and(|ext| ext == "png") {
                std::fs::remove_file(path)?;
            }
        }
        Ok(Self { client, _driver: driver, _permit: permit, artifacts: artifacts.to_owned(), step: AtomicU32::new(0) })
    }

    /// The WebDriver client, for what the helpers below do not cover.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Opens `url` and waits for the page to load.
    pub async fn goto(&self, url: &str) -> anyhow::Result<()> {
        self.client.goto(url).await.with_context(|| format!("goto {url}"))
    }

    /// The current URL.
    pub async fn url(&self) -> anyhow::Result<url::Url> {
        Ok(self.client.current_url().await?)
    }

    /// The visible text of the page's body.
    pub async fn text(&self) -> anyhow::Result<String> {
        Ok(self.client.find(Locator::Css("body")).await?.text().await?)
    }

    /// Waits until the element `css` is on the page, and returns it.
    pub async fn find(&self, css: &str) -> anyhow::Result<Element> {
        match self.client.wait().at_most(WAIT).for_element(Locator::Css(css)).await {
            Ok(element) => Ok(element),
            Err(error) => {
                let url = self.client.current_url().await.map(|u| u.to_string()).unwrap_or_default();
                Err(anyhow::Error::new(error).context(format!("no element `{css}` on {url}")))
            }
        }
    }

    /// Waits until the page's body text contains `needle`.
    pub async fn wait_for_text(&self, needle: &str) -> anyhow::Result<String> {
        let started = Instant::now();
        loop {
            let text = self.text().await?;
            if text.contains(needle) {
                return Ok(text);
            }
            if started.elapsed() > WAIT {
                bail!("the page {} never showed {needle:?}; it shows:\n{text}", self.url().await?);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Types `value` into the field `css` (after clearing it).
    pub async fn fill(&self, css: &str, value: &str) -> anyhow::Result<()> {
        let field = self.find(css).await?;
        field.clear().await?;
        field.send_keys(value).await.with_context(|| format!("typing into `{css}`"))
    }

    /// Clicks the element `css` (a link or a submit button) and waits for what
    /// it loads.
    pub async fn click(&self, css: &str) -> anyhow::Result<()> {
        let before = self.client.current_url().await?;
        self.find(css).await?.click().await.with_context(|| format!("clicking `{css}`"))?;
        // A click that submits a form or follows a link replaces the document:
        // wait until the old document is gone and the new one is complete.
        let started = Instant::now();
        loop {
            let state = self.client.execute("return document.readyState", vec![]).await?;
            let now = self.client.current_url().await?;
            if state == "complete" && (now != before || started.elapsed() > Duration::from_millis(500)) {
                return Ok(());
            }
            if started.elapsed() > WAIT {
                bail!("clicking `{css}` never finished loading");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Saves a screenshot of the page as `NN-<label>.png` in the artifacts directory.
    pub async fn shot(&self, label: &str) -> anyhow::Result<PathBuf> {
        let step = self.step.fetch_add(1, Ordering::Relaxed) + 1;
        let path = self.artifacts.join(format!("{step:02}-{label}.png"));
        std::fs::write(&path, self.client.screenshot().await?)?;
        Ok(path)
    }

    /// Ends the Chromium session (ChromeDriver is killed when dropped).
    pub async fn close(self) -> anyhow::Result<()> {
        self.client.close().await?;
        Ok(())
    }
}
