//! Notification delivery under load: an SMTP sink in this process, real
//! `tenant-api worker` processes started here and pointed at it (`SMTP_URL`),
//! and two figures: how fast one worker, then two side by side, empty a queue
//! of order confirmations, and how long after checkout's `201` an order's
//! confirmation is accepted by the sink while checkout runs at full rate.
//! Every order has its own buyer email, so a message is matched to its order
//! by its recipient.

use std::{
    collections::HashMap,
    net::SocketAddr,
    os::fd::AsFd as _,
    path::PathBuf,
    process::Stdio,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use anyhow::Context as _;
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::{TcpListener, TcpStream},
    process::{Child, Command},
};

use super::{
    client::{Api, Store},
    scenarios::{self, Paid},
    stats::{Recorder, Report},
};

/// A message the sink accepted.
#[derive(Clone, Debug)]
pub struct Accepted {
    /// Its `Subject` header (the confirmation's carries the order number).
    pub subject: String,
    /// When the sink answered `250` to its `DATA`.
    pub at: Instant,
}

/// A minimal SMTP server on loopback: greeting, `EHLO`/`HELO`, `MAIL`, `RCPT`,
/// `DATA`, `RSET`, `NOOP`, `QUIT` (no `STARTTLS`, no `AUTH`), accepting every
/// message and keeping, per recipient, the first one's subject and time.
pub struct SmtpSink {
    addr: SocketAddr,
    state: Arc<SinkState>,
    server: tokio::task::JoinHandle<()>,
}

#[derive(Default)]
struct SinkState {
    by_recipient: Mutex<HashMap<String, Accepted>>,
    last: Mutex<Option<Instant>>,
}

impl SinkState {
    fn accept(&self, recipients: Vec<String>, subject: String) {
        let at = Instant::now();
        let mut by_recipient = self.by_recipient.lock().unwrap_or_else(|e| e.into_inner());
        for to in recipients {
            by_recipient.entry(to).or_insert_with(|| Accepted { subject: subject.clone(), at });
        }
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = Some(at);
    }
}

impl SmtpSink {
    /// Listens on `127.0.0.1`, a free port.
    pub async fn start() -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(SinkState::default());
        let shared = state.clone();
        let server = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = shared.clone();
                tokio::spawn(async move {
                    // A client that drops the connection ends only its session.
                    let _ = session(stream, &state).await;
                });
            }
        });
        Ok(Self { addr, state, server })
    }

    /// `smtp://127.0.0.1:<port>` (plain SMTP), for `SMTP_URL`.
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    /// The message first accepted for `recipient`.
    pub fn accepted(&self, recipient: &str) -> Option<Accepted> {
        self.state.by_recipient.lock().unwrap_or_else(|e| e.into_inner()).get(recipient).cloned()
    }

    /// Waits until a message for every one of `recipients` is accepted, or
    /// `timeout`; returns what arrived, by recipient.
    pub async fn wait_for(&self, recipients: &[String], timeout: Duration) -> HashMap<String, Accepted> {
        let deadline = Instant::now() + timeout;
        loop {
            let found: HashMap<String, Accepted> = {
                let by_recipient = self.state.by_recipient.lock().unwrap_or_else(|e| e.into_inner());
                recipients.iter().filter_map(|r| Some((r.clone(), by_recipient.get(r)?.clone()))).collect()
            };
            if found.len() == recipients.len() || Instant::now() >= deadline {
                return found;
            }
            // Arrival times are taken by the sink, so polling does not blur them.
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Waits until no message has arrived for `quiet`, or `timeout`.
    pub async fn wait_quiet(&self, quiet: Duration, timeout: Duration) {
        let started = Instant::now();
        while started.elapsed() < timeout {
            let last = *self.state.last.lock().unwrap_or_else(|e| e.into_inner());
            if started.elapsed() >= quiet && last.is_none_or(|at| at.elapsed() >= quiet) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// One SMTP session: replies to each command, reads `DATA` to the lone dot.
async fn session(stream: TcpStream, state: &SinkState) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    write.write_all(b"220 load-sink ESMTP\r\n").await?;
    let mut recipients = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).await? == 0 {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&line);
        let verb = text.get(..4).unwrap_or_default().to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" | "HELO" => b"250 load-sink\r\n",
            "MAIL" | "RSET" => {
                recipients.clear();
                b"250 OK\r\n"
            }
            "RCPT" => {
                recipients.push(address(&text));
                b"250 OK\r\n"
            }
            "DATA" => {
                write.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n").await?;
                let subject = read_data(&mut reader).await?;
                state.accept(std::mem::take(&mut recipients), subject);
                b"250 OK: queued\r\n"
            }
            "QUIT" => {
                write.write_all(b"221 Bye\r\n").await?;
                return Ok(());
            }
            _ => b"250 OK\r\n",
        };
        write.write_all(reply).await?;
    }
}

/// The address of `MAIL FROM:<a>` / `RCPT TO:<a>`, lower-cased.
fn address(command: &str) -> String {
    let inner = command.split_once('<').and_then(|(_, rest)| rest.split_once('>')).map(|(a, _)| a);
    inner.unwrap_or_else(|| command.split_once(':').map_or("", |(_, a)| a)).trim().to_ascii_lowercase()
}

/// Reads a message up to the line holding a single dot; returns its
/// `Subject` (unfolded; empty when it has none).
async fn read_data<R: tokio::io::AsyncBufRead + Unpin>(reader: &mut R) -> std::io::Result<String> {
    let mut subject: Option<String> = None;
    let mut in_subject = false;
    let mut in_headers = true;
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\r', '\n']);
        if text == "." {
            return Ok(subject.unwrap_or_default());
        }
        if !in_headers {
            continue;
        }
        if text.is_empty() {
            in_headers = false;
        } else if in_subject && text.starts_with([' ', '\t']) {
            if let Some(subject) = &mut subject {
                subject.push(' ');
                subject.push_str(text.trim());
            }
        } else if let Some((name, value)) = text.split_once(':') {
            in_subject = name.eq_ignore_ascii_case("subject") && subject.is_none();
            if in_subject {
                subject = Some(value.trim().to_owned());
            }
        }
    }
}

/// How to start `tenant-api worker` processes. Each inherits this process's
/// environment (database, Redis, master key, …) plus `SMTP_URL` (the sink)
/// and the two intervals that bound the delivery latency.
#[derive(Clone, Debug)]
pub struct WorkerSpec {
    /// The `tenant-api` binary.
    pub binary: PathBuf,
    /// `WORKER_OUTBOX_EVERY_MS`: pause between outbox relay runs.
    pub outbox_every_ms: u64,
    /// `WORKER_DELIVERY_EVERY_MS`: pause between delivery runs.
    pub delivery_every_ms: u64,
    /// Database connections the workers running at once share: each of `n`
    /// gets `DB_MAX_CONNECTIONS` = this / `n`. Every process opens up to its
    /// `DB_MAX_CONNECTIONS`; workers that each took the platform's 32 would
    /// pass the server's `max_connections` beside the control plane and the
    /// data plane, and their sends would wait on refused connections instead
    /// of on the database.
    pub connections: u32,
}

impl WorkerSpec {
    /// Starts one of `of` workers running at once.
    fn spawn(&self, smtp_url: &str, of: u32) -> anyhow::Result<Child> {
        // The worker logs to stdout; this tool's stdout is its Markdown.
        let logs = std::io::stderr().as_fd().try_clone_to_owned()?;
        Command::new(&self.binary)
            .arg("worker")
            // Several workers run at once here: each takes a free port for its
            // health listener instead of both wanting WORKER_ADDR's default.
            .env("WORKER_ADDR", "127.0.0.1:0")
            .env("SMTP_URL", smtp_url)
            .env("WORKER_OUTBOX_EVERY_MS", self.outbox_every_ms.to_string())
            .env("WORKER_DELIVERY_EVERY_MS", self.delivery_every_ms.to_string())
            .env("DB_MAX_CONNECTIONS", (self.connections / of.max(1)).max(1).to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::from(logs))
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {} worker", self.binary.display()))
    }
}

/// Asks a worker to stop (SIGTERM: it finishes its sends) and waits for it;
/// killed if it takes more than 30 s.
async fn stop(mut child: Child) -> anyhow::Result<()> {
    if let Some(pid) = child.id() {
        Command::new("kill").arg("-TERM").arg(pid.to_string()).status().await?;
    }
    if tokio::time::timeout(Duration::from_secs(30), child.wait()).await.is_err() {
        child.kill().await?;
    }
    Ok(())
}

/// The deliver scenario's knobs.
#[derive(Clone, Debug)]
pub struct DeliverOptions {
    /// Orders queued for each throughput run.
    pub orders: usize,
    /// Buyers checking out at once (both phases).
    pub buyers: usize,
    /// Carts built before the latency phase: an upper bound on its orders.
    pub carts: usize,
    /// How long checkout runs in the latency phase.
    pub duration: Duration,
    /// The longest wait for a phase's messages (and for the backlog to drain).
    pub timeout: Duration,
    /// The workers.
    pub workers: WorkerSpec,
}

/// What the deliver scenario measured.
pub struct Delivery {
    /// Rows for the scenario table: the queue emptied by 1, 2 and 4 workers,
    /// the checkout beside one worker, and the paid → accepted latency.
    pub reports: Vec<Report>,
    /// One sentence per phase.
    pub notes: Vec<String>,
    /// Orders paid whose confirmation never arrived, per phase (an invariant).
    pub missing: Vec<String>,
}

/// Runs the phases: drain what earlier scenarios queued, then the queue of
/// `orders` confirmations emptied by one, two and four workers sharing one
/// connection budget, then checkout at full rate beside one worker.
pub async fn deliver(api: &Api, stores: &[Store], run: &str, options: &DeliverOptions) -> anyhow::Result<Delivery> {
    let sink = SmtpSink::start().await?;
    let url = sink.url();
    let mut delivery = Delivery { reports: Vec::new(), notes: Vec::new(), missing: Vec::new() };

    // Earlier scenarios left events in the outbox (no worker was running):
    // one worker relays and sends them until a fresh order's confirmation
    // (behind all of them in the outbox) arrives and the sink falls quiet.
    let started = Instant::now();
    let worker = options.workers.spawn(&url, 1)?;
    let drained = canary(api, stores, &format!("{run}drain"), &sink, options.timeout).await;
    sink.wait_quiet(Duration::from_secs(2), options.timeout).await;
    stop(worker).await?;
    drained?;
    delivery.notes.push(format!("Backlog of earlier scenarios drained in {:.1} s.", started.elapsed().as_secs_f64()));

    for workers in [1u32, 2, 4] {
        let prefix = format!("{run}q{workers}");
        let (checkout, paid) =
            scenarios::checkout_orders(api, stores, Duration::from_secs(3600), options.buyers, options.orders, &prefix)
                .await;
        let started = Instant::now();
        let mut children = Vec::new();
        for _ in 0..workers {
            children.push(options.workers.spawn(&url, workers)?);
        }
        let emails: Vec<String> = paid.iter().map(|p| p.email.clone()).collect();
        let got = sink.wait_for(&emails, options.timeout).await;
        for child in children {
            stop(child).await?;
        }
        let mut recorder = Recorder::default();
        let (mut first, mut last) = (None::<Instant>, started);
        for accepted in got.values() {
            recorder.record(250, accepted.at - started);
            first = Some(first.map_or(accepted.at, |f| f.min(accepted.at)));
            last = last.max(accepted.at);
        }
        let first = first.unwrap_or(started);
        // Past the start-up and the first relay: first email to last.
        let steady = (got.len().saturating_sub(1)) as f64 / (last - first).as_secs_f64().max(1e-3);
        let name = format!("deliver: {} queued confirmations, {workers} worker{}", paid.len(), plural(workers));
        let mut report = recorder.report(&name, last - started);
        report.notes.push(format!(
            "emails/s from the workers' start to the last accepted (start-up and relay included); \
             p50/p99 = when half / 99 % were in; {} checked out beforehand with no worker running",
            checkout.requests
        ));
        if got.len() < paid.len() {
            delivery.missing.push(format!("{name}: {} of {} never arrived", paid.len() - got.len(), paid.len()));
        }
        delivery.notes.push(format!(
            "{workers} worker{}: {} emails in {:.2} s from start = {:.0} emails/s \
             (first email after {:.2} s; first to last {steady:.0} emails/s).",
            plural(workers),
            got.len(),
            report.seconds,
            report.rate(),
            (first - started).as_secs_f64()
        ));
        delivery.reports.push(report);
    }

    // Latency: one worker running (known to be, by a canary), checkout at full rate.
    let worker = options.workers.spawn(&url, 1)?;
    let ready = canary(api, stores, &format!("{run}ready"), &sink, options.timeout).await;
    let phase = async {
        ready?;
        let (mut checkout, paid) = scenarios::checkout_orders(
            api,
            stores,
            options.duration,
            options.buyers,
            options.carts,
            &format!("{run}live"),
        )
        .await;
        let emails: Vec<String> = paid.iter().map(|p| p.email.clone()).collect();
        let got = sink.wait_for(&emails, options.timeout).await;
        checkout.name = format!("checkout ({} buyers) beside 1 worker", options.buyers);
        anyhow::Ok((checkout, paid, got))
    };
    let outcome = phase.await;
    stop(worker).await?;
    let (checkout, paid, got) = outcome?;
    let mut recorder = Recorder::default();
    for Paid { email, at } in &paid {
        if let Some(accepted) = got.get(email) {
            recorder.record(250, accepted.at.saturating_duration_since(*at));
        }
    }
    let name = "deliver: order paid (201) → email accepted, 1 worker, checkout at full rate";
    let mut report = recorder.report(name, Duration::from_secs_f64(checkout.seconds));
    report.notes.push(format!(
        "latency per order; rate = emails of orders paid per second of checkout; \
         WORKER_OUTBOX_EVERY_MS={} WORKER_DELIVERY_EVERY_MS={}",
        options.workers.outbox_every_ms, options.workers.delivery_every_ms
    ));
    if got.len() < paid.len() {
        delivery.missing.push(format!("{name}: {} of {} never arrived", paid.len() - got.len(), paid.len()));
    }
    delivery.notes.push(format!(
        "Order paid → email accepted with checkout at {:.0} orders/s ({} buyers): p50 {:.0} ms, p99 {:.0} ms \
         (outbox relay every {} ms, delivery every {} ms).",
        checkout.rate(),
        options.buyers,
        report.p50_ms,
        report.p99_ms,
        options.workers.outbox_every_ms,
        options.workers.delivery_every_ms
    ));
    delivery.reports.push(checkout);
    delivery.reports.push(report);
    Ok(delivery)
}

/// Places one order and waits for its confirmation: proof that a worker is
/// running and has relayed everything queued before it.
async fn canary(api: &Api, stores: &[Store], prefix: &str, sink: &SmtpSink, timeout: Duration) -> anyhow::Result<()> {
    let (report, paid) = scenarios::checkout_orders(api, &stores[..1], timeout, 1, 1, prefix).await;
    let email =
        paid.first().map(|p| p.email.clone()).with_context(|| format!("canary order: {:?}", report.statuses))?;
    let got = sink.wait_for(std::slice::from_ref(&email), timeout).await;
    anyhow::ensure!(got.contains_key(&email), "no worker sent the canary order's confirmation within {timeout:?}");
    Ok(())
}

fn plural(n: u32) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn say(stream: &mut BufReader<TcpStream>, command: &str) -> String {
        stream.get_mut().write_all(command.as_bytes()).await.unwrap();
        let mut reply = String::new();
        stream.read_line(&mut reply).await.unwrap();
        reply
    }

    #[tokio::test]
    async fn the_sink_keeps_each_recipients_subject_across_messages_on_one_connection() {
        let sink = SmtpSink::start().await.unwrap();
        let mut stream = BufReader::new(TcpStream::connect(sink.addr).await.unwrap());
        let mut greeting = String::new();
        stream.read_line(&mut greeting).await.unwrap();
        assert!(greeting.starts_with("220"), "{greeting}");
        assert!(say(&mut stream, "EHLO client\r\n").await.starts_with("250"));
        for (to, number) in [("A-1@load.test", 1), ("b-2@load.test", 2)] {
            assert!(say(&mut stream, "MAIL FROM:<shop@load.test>\r\n").await.starts_with("250"));
            assert!(say(&mut stream, &format!("RCPT TO:<{to}>\r\n")).await.starts_with("250"));
            assert!(say(&mut stream, "DATA\r\n").await.starts_with("354"));
            let message = format!(
                "From: shop@load.test\r\nSubject: Shop: order\r\n #{number} confirmed\r\n\r\nSubject: not a header\r\n..\r\n.\r\n"
            );
            assert!(say(&mut stream, &message).await.starts_with("250"));
        }
        assert!(say(&mut stream, "QUIT\r\n").await.starts_with("221"));

        let got =
            sink.wait_for(&["a-1@load.test".to_owned(), "b-2@load.test".to_owned()], Duration::from_secs(5)).await;
        assert_eq!(got.len(), 2);
        assert_eq!(got["a-1@load.test"].subject, "Shop: order #1 confirmed");
        assert_eq!(sink.accepted("b-2@load.test").unwrap().subject, "Shop: order #2 confirmed");
        assert!(sink.accepted("c-3@load.test").is_none());
    }
}
