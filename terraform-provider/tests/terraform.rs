//! The provider end to end: the `terraform` CLI, pointed at this build with a
//! development override (no registry), runs the example fleet
//! (`terraform/examples/store-fleet`) against both services started here, and
//! every step is checked against the platform's API. Without a `terraform`
//! on the PATH (or in `TERRAFORM`), the test says so and passes.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use serde_json::{json, Value};
use tests::Platform;

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../terraform/examples/store-fleet");
const PROVIDER: &str = env!("CARGO_BIN_EXE_terraform-provider-commerce");

fn terraform_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("TERRAFORM") {
        return Some(path.into());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join("terraform")).find(|candidate| candidate.is_file())
}

/// One run of the CLI: exit code and what it printed.
struct Run {
    code: i32,
    out: String,
}

struct Terraform {
    binary: PathBuf,
    env: Vec<(String, String)>,
}

impl Terraform {
    async fn run(&self, dir: &Path, args: &[&str]) -> Run {
        let mut command = Command::new(&self.binary);
        command.current_dir(dir).args(args).env_remove("TF_CLI_ARGS");
        for (k, v) in &self.env {
            command.env(k, v);
        }
        let output = tokio::task::spawn_blocking(move || command.output()).await.unwrap().expect("terraform runs");
        let out = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        Run { code: output.status.code().unwrap_or(-1), out }
    }

    /// Runs and expects exit code `code`.
    async fn expect(&self, dir: &Path, args: &[&str], code: i32) -> String {
        let run = self.run(dir, args).await;
        assert_eq!(run.code, code, "terraform {args:?} exited {} (expected {code}):\n{}", run.code, run.out);
        run.out
    }
}

async fn call(platform: &Platform, method: &str, path: &str, token: &str, body: Option<Value>) -> (u16, Value) {
    platform.control_call(method, path, Some(token), body).await.unwrap()
}

/// A platform API token minted by the bootstrap admin, as an operator would.
async fn platform_token(platform: &Platform) -> String {
    let (status, signed_in) = platform
        .control_call(
            "POST",
            "/v1/auth/token",
            None,
            Some(json!({"grant_type": "password", "email": "admin@platform.test", "password": "bootstrap-password"})),
        )
        .await
        .unwrap();
    assert_eq!(status, 200);
    let admin = signed_in["access_token"].as_str().unwrap();
    let (status, minted) =
        call(platform, "POST", "/v1/admin/platform-tokens", admin, Some(json!({"name": "terraform e2e"}))).await;
    assert_eq!(status, 201, "{minted}");
    minted["token"].as_str().unwrap().to_owned()
}

fn store_by_slug<'a>(stores: &'a Value, slug: &str) -> &'a Value {
    stores["items"].as_array().unwrap().iter().find(|s| s["slug"] == slug).unwrap_or_else(|| panic!("no {slug}"))
}

const CHANGED_VARS: &str = r#"
stores = {
  "fleet-north" = {
    name        = "Fleet North Renamed"
    currency    = "USD"
    plan        = "growth"
    status      = "suspended"
    domain      = "shop.fleet-north.example"
    owner_email = "owner@fleet-north.example"
    staff_email = "staff@fleet-north.example"
    email_from  = "hello@fleet-north.example"
    smtp_host   = "smtp.fleet-north.example"
    webhook_url = "http://127.0.0.1:9/north"
  }
  "fleet-south" = {
    name        = "Fleet South"
    currency    = "EUR"
    domain      = "shop.fleet-south.example"
    owner_email = "owner@fleet-south.example"
    staff_email = "staff@fleet-south.example"
    email_from  = "orders@fleet-south.example"
    smtp_host   = "smtp.fleet-south.example"
    webhook_url = "http://127.0.0.1:9/south"
  }
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terraform_plans_applies_changes_imports_and_destroys_a_store_fleet() {
    let Some(binary) = terraform_binary() else {
        eprintln!("SKIPPED: no terraform CLI on PATH (or TERRAFORM); see terraform/README.md to get one");
        return;
    };
    // Webhooks of the example point at loopback here.
    let platform = Platform::start_with(|s| s.webhook_allow_private_targets = true).await.unwrap();
    let token = platform_token(&platform).await;

    // The control plane's port makes the folder this run's own.
    let port = platform.control_plane.rsplit(':').next().unwrap();
    let work = std::env::temp_dir().join(format!("commerce-tf-{}-{port}", std::process::id()));
    let fleet = work.join("fleet");
    let imported = work.join("import");
    for dir in [&fleet, &imported] {
        std::fs::create_dir_all(dir).unwrap();
    }
    std::fs::copy(Path::new(EXAMPLE).join("main.tf"), fleet.join("main.tf")).unwrap();
    let plugins = Path::new(PROVIDER).parent().unwrap().display().to_string();
    let cli_config = work.join("terraform.rc");
    std::fs::write(
        &cli_config,
        format!(
            "provider_installation {{\n  dev_overrides {{\n    \"commerce-platform/commerce\" = \"{plugins}\"\n  }}\n  direct {{}}\n}}\n"
        ),
    )
    .unwrap();
    let tf = Terraform {
        binary,
        env: [
            ("TF_CLI_CONFIG_FILE", cli_config.display().to_string()),
            ("TF_IN_AUTOMATION", "1".into()),
            ("CHECKPOINT_DISABLE", "1".into()),
            ("COMMERCE_ENDPOINT", platform.control_plane.clone()),
            ("COMMERCE_TOKEN", token.clone()),
            ("COMMERCE_DATA_PLANE_URL", platform.tenant_api.clone()),
            ("TF_VAR_owner_password", "owner-password-1".into()),
            ("TF_VAR_staff_password", "staff-password-1".into()),
            ("TF_VAR_smtp_password", "smtp-secret-4321".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect(),
    };

    // The example as committed: formatted and valid (dev_overrides need no init).
    tf.expect(Path::new(EXAMPLE), &["fmt", "-check", "-diff", "-no-color"], 0).await;
    tf.expect(&fleet, &["validate", "-no-color"], 0).await;
    // Loopback webhooks for this run; everything else as the example says.
    let first_vars = CHANGED_VARS
        .replace("Fleet North Renamed", "Fleet North")
        .replace("\"growth\"", "\"starter\"")
        .replace("\"suspended\"", "\"active\"")
        .replace("hello@fleet-north", "orders@fleet-north");
    std::fs::write(fleet.join("terraform.tfvars"), &first_vars).unwrap();

    // plan, apply.
    let plan = tf.expect(&fleet, &["plan", "-input=false", "-no-color", "-detailed-exitcode"], 2).await;
    assert!(plan.contains("14 to add, 0 to change, 0 to destroy"), "{plan}");
    tf.expect(&fleet, &["apply", "-input=false", "-no-color", "-auto-approve"], 0).await;

    let (_, stores) = call(&platform, "GET", "/v1/tenants", &token, None).await;
    let north = store_by_slug(&stores, "fleet-north").clone();
    let south = store_by_slug(&stores, "fleet-south").clone();
    assert_eq!(
        (north["name"].as_str(), north["currency"].as_str(), north["status"].as_str()),
        (Some("Fleet North"), Some("USD"), Some("active"))
    );
    assert_eq!((south["currency"].as_str(), south["plan"].as_str()), (Some("EUR"), Some("starter")));
    let north_id = north["id"].as_str().unwrap().to_owned();
    let (_, domains) = call(&platform, "GET", &format!("/v1/tenants/{north_id}/domains"), &token, None).await;
    assert_eq!(domains["items"][0]["host"], "shop.fleet-north.example");
    let (_, staff) = call(&platform, "GET", &format!("/v1/tenants/{north_id}/staff"), &token, None).await;
    let emails: Vec<&str> = staff["items"].as_array().unwrap().iter().filter_map(|m| m["email"].as_str()).collect();
    assert!(emails.contains(&"staff@fleet-north.example"), "{staff}");
    let (_, mail) =
        call(&platform, "GET", &format!("/v1/tenants/{north_id}/notification-settings"), &token, None).await;
    assert_eq!(
        (mail["email_from"].as_str(), mail["smtp"]["password"]["last4"].as_str()),
        (Some("orders@fleet-north.example"), Some("4321"))
    );
    let (_, keys) = call(&platform, "GET", &format!("/v1/tenants/{north_id}/api-keys"), &token, None).await;
    assert_eq!(keys["items"].as_array().unwrap().len(), 1, "{keys}");
    // The webhook, read on the data plane with the key Terraform holds.
    let state = tf.expect(&fleet, &["output", "-json"], 0).await;
    assert!(state.contains("fleet-north") && state.contains("_commerce-verification."), "{state}");
    // data.commerce_plans, read from GET /v1/plans.
    assert!(state.contains("\"starter\"") && state.contains("\"growth\""), "{state}");
    let show = tf.expect(&fleet, &["show", "-json"], 0).await;
    let show: Value = serde_json::from_str(show.lines().find(|l| l.starts_with('{')).unwrap()).unwrap();
    let resources = show["values"]["root_module"]["resources"].as_array().unwrap().clone();
    let key = resources
        .iter()
        .find(|r| r["address"] == "commerce_store_api_key.webhooks[\"fleet-north\"]")
        .and_then(|r| r["values"]["key"].as_str())
        .unwrap()
        .to_owned();
    let hooks: Value = platform
        .client
        .get(format!("{}/admin/webhooks", platform.tenant_api))
        .header("host", "fleet-north.localhost")
        .header("x-api-key", &key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(hooks["items"][0]["url"], "http://127.0.0.1:9/north", "{hooks}");

    // Nothing changed: no drift.
    tf.expect(&fleet, &["plan", "-input=false", "-no-color", "-detailed-exitcode"], 0).await;

    // A change: rename, a new plan, suspended, another From address.
    std::fs::write(fleet.join("terraform.tfvars"), CHANGED_VARS).unwrap();
    let plan = tf.expect(&fleet, &["plan", "-input=false", "-no-color", "-detailed-exitcode"], 2).await;
    assert!(plan.contains("0 to add, 2 to change, 0 to destroy"), "{plan}");
    tf.expect(&fleet, &["apply", "-input=false", "-no-color", "-auto-approve"], 0).await;
    let (_, north) = call(&platform, "GET", &format!("/v1/tenants/{north_id}"), &token, None).await;
    assert_eq!(
        (north["name"].as_str(), north["plan"].as_str(), north["status"].as_str()),
        (Some("Fleet North Renamed"), Some("growth"), Some("suspended"))
    );
    let (_, mail) =
        call(&platform, "GET", &format!("/v1/tenants/{north_id}/notification-settings"), &token, None).await;
    assert_eq!(mail["email_from"], "hello@fleet-north.example");
    // A second plan shows no drift.
    tf.expect(&fleet, &["plan", "-input=false", "-no-color", "-detailed-exitcode"], 0).await;

    // Drift made outside Terraform shows in the plan (and the store is resumed).
    std::fs::write(fleet.join("terraform.tfvars"), CHANGED_VARS.replace("\"suspended\"", "\"active\"")).unwrap();
    let (status, _) =
        call(&platform, "PATCH", &format!("/v1/tenants/{north_id}"), &token, Some(json!({"name": "Edited by hand"})))
            .await;
    assert_eq!(status, 200);
    let plan = tf.expect(&fleet, &["plan", "-input=false", "-no-color", "-detailed-exitcode"], 2).await;
    assert!(plan.contains("Edited by hand"), "{plan}");
    tf.expect(&fleet, &["apply", "-input=false", "-no-color", "-auto-approve"], 0).await;

    // Import the south store into a fresh state.
    let south_id = south["id"].as_str().unwrap();
    std::fs::write(
        imported.join("main.tf"),
        "terraform {\n  required_providers {\n    commerce = { source = \"commerce-platform/commerce\" }\n  }\n}\n\n\
         resource \"commerce_store\" \"south\" {\n  slug     = \"fleet-south\"\n  name     = \"Fleet South\"\n  currency = \"EUR\"\n}\n",
    )
    .unwrap();
    tf.expect(&imported, &["import", "-input=false", "-no-color", "commerce_store.south", south_id], 0).await;
    let shown = tf.expect(&imported, &["state", "show", "-no-color", "commerce_store.south"], 0).await;
    assert!(shown.contains("fleet-south") && shown.contains(south_id), "{shown}");
    tf.expect(&imported, &["plan", "-input=false", "-no-color", "-detailed-exitcode"], 0).await;

    // Destroy: the stores are closed (soft delete), their rows kept; purge only on request.
    tf.expect(&fleet, &["destroy", "-input=false", "-no-color", "-auto-approve"], 0).await;
    let (_, north) = call(&platform, "GET", &format!("/v1/tenants/{north_id}"), &token, None).await;
    assert_eq!(north["status"], "deleted");
    let (_, deleted) = call(&platform, "GET", "/v1/tenants?status=deleted", &token, None).await;
    assert_eq!(deleted["items"].as_array().unwrap().len(), 2, "{deleted}");
    let (_, audit) = call(&platform, "GET", "/v1/audit-log?limit=100", &token, None).await;
    let by_token = audit["items"].as_array().unwrap().iter().filter(|e| {
        e["actor"].as_str().is_some_and(|a| a.starts_with("platform_token:")) && e["action"] == "tenant.delete"
    });
    assert_eq!(by_token.count(), 2, "{audit}");
    let _ = std::fs::remove_dir_all(&work);
}
