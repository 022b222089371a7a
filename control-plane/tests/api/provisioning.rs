use control_plane::tenants::{
    model::{NewTenant, Slug},
    service::{self, ProvisionError},
};
use platform::{money::Currency, tenancy::TenantStatus};

use crate::helpers::spawn_app;

fn new_tenant(slug: &str) -> NewTenant {
    NewTenant {
        slug: Slug::parse(slug).unwrap(),
        name: format!("Store {slug}"),
        plan: "starter".into(),
        currency: Currency::parse("EUR").unwrap(),
    }
}

#[tokio::test]
async fn provisioning_places_the_store_in_a_cell_and_refuses_a_taken_slug() {
    let app = spawn_app().await;
    let mut redis = app.state.redis.clone();
    let record = service::provision(&app.state.db, &mut redis, "localhost", new_tenant("alpha")).await.unwrap();
    assert_eq!(record.slug, "alpha");
    assert_eq!(record.status, TenantStatus::Active);
    assert_eq!(record.cell_id, "default");
    assert_eq!(record.currency, "EUR");

    let again = service::provision(&app.state.db, &mut redis, "localhost", new_tenant("alpha")).await;
    assert!(matches!(again, Err(ProvisionError::SlugTaken)), "{again:?}");
}

#[tokio::test]
async fn ensure_is_idempotent_even_when_raced() {
    let app = spawn_app().await;
    let runs = (0..8).map(|_| {
        let db = app.state.db.clone();
        let mut redis = app.state.redis.clone();
        tokio::spawn(async move { service::ensure(&db, &mut redis, "localhost", new_tenant("demo")).await })
    });
    let mut ids = Vec::new();
    for run in runs {
        ids.push(run.await.unwrap().unwrap().id);
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "ensure created more than one store");
    let count: i64 = sqlx::query_scalar("select count(*) from control.tenant where slug = 'demo'")
        .fetch_one(app.state.db.control())
        .await
        .unwrap();
    assert_eq!(count, 1);
}
