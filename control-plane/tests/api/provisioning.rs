use axum::extract::FromRef;
use control_plane::{
    identity::model::{Email, Password},
    tenants::{
        model::{NewTenant, Slug},
        service, TenantsState,
    },
};
use platform::money::Currency;

use crate::helpers::spawn_app;

#[tokio::test]
async fn ensure_is_idempotent_even_when_raced() {
    let app = spawn_app().await;
    let runs = (0..4).map(|_| {
        let state = TenantsState::from_ref(&app.state);
        tokio::spawn(async move {
            let tenant =
                NewTenant::new(Slug::parse("demo").unwrap(), "Demo", "starter", Currency::parse("EUR").unwrap());
            let email = Email::parse("owner@demo.example").unwrap();
            service::ensure(&state, tenant, &email, &Password::parse("demo-password").unwrap()).await
        })
    });
    let mut ids = Vec::new();
    for run in runs {
        ids.push(run.await.unwrap().unwrap().id);
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "ensure created more than one store");
    let (count, status): (i64, String) =
        sqlx::query_as("select count(*), min(status) from control.tenant where slug = 'demo'")
            .fetch_one(app.state.db.control())
            .await
            .unwrap();
    assert_eq!((count, status.as_str()), (1, "active"));
}
