//! `terraform-provider-commerce`: the platform's Terraform provider. Terraform
//! starts it and speaks the plugin protocol (v6) to it; see `provider.rs`.

mod api;
mod data_sources;
mod provider;
mod resources;
mod schema;

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    tf_provider::serve("commerce", provider::CommerceProvider::default()).await
}
