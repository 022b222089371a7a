//! Staff: who adds whom, seat quotas, the last owner, isolation; plan quotas as
//! the data plane reads them.

use platform::{
    ids::TenantId,
    quotas::QuotaCache,
    tenancy::{TenantChange, TenantResolver},
};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, Store, TestApp};

fn staff_path(store: &Store) -> String {
    format!("/v1/tenants/{}/staff", store.id)
}

fn member(email: &str, role: &str) -> Value {
    json!({"email": email, "password": "member-password", "role": role})
}

async fn sign_in(app: &TestApp, email: &str, password: &str, store: &Store) -> (StatusCode, Value) {
    app.call(
        "POST",
        "/v1/auth/token",
        None,
        Some(json!({"grant_type": "password", "email": email, "password": password, "tenant_id": store.id})),
    )
    .await
}

#[tokio::test]
async fn owners_add_admins_and_admins_add_staff_who_then_sign_in_with_their_role() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let admin = app.add_member(&store, "ann@alpha.test", "admin").await;
    let body = app
        .expect("POST", &staff_path(&store), Some(&admin), Some(member("sam@alpha.test", "staff")), StatusCode::CREATED)
        .await;
    assert_eq!(body["email"], "sam@alpha.test");
    assert_eq!(body["role"], "staff");
    assert!(body["account_id"].is_string());
    assert!(body.get("password").is_none());
    let (status, token) = sign_in(&app, "sam@alpha.test", "member-password", &store).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(token["role"], "staff");

    let list = app.expect("GET", &staff_path(&store), Some(&admin), None, StatusCode::OK).await;
    let mut roles: Vec<(String, String)> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["email"].as_str().unwrap().to_owned(), m["role"].as_str().unwrap().to_owned()))
        .collect();
    roles.sort();
    assert_eq!(
        roles,
        vec![
            ("ann@alpha.test".into(), "admin".into()),
            ("owner@alpha.test".into(), "owner".into()),
            ("sam@alpha.test".into(), "staff".into())
        ]
    );
    let log = app.expect("GET", "/v1/audit-log", Some(&store.owner_token), None, StatusCode::OK).await;
    assert_eq!(log["items"][0]["action"], "staff.add");
    assert_eq!(log["items"][0]["after"]["role"], "staff");
    assert!(!log.to_string().contains("member-password"));
}

#[tokio::test]
async fn admins_cannot_add_admins_and_staff_cannot_manage_staff() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let admin = app.add_member(&store, "ann@alpha.test", "admin").await;
    let staff = app.add_member(&store, "sam@alpha.test", "staff").await;
    let body = app
        .expect(
            "POST",
            &staff_path(&store),
            Some(&admin),
            Some(member("eve@alpha.test", "admin")),
            StatusCode::FORBIDDEN,
        )
        .await;
    assert_eq!(body["type"], "/problems/forbidden");
    app.expect(
        "POST",
        &staff_path(&store),
        Some(&staff),
        Some(member("eve@alpha.test", "staff")),
        StatusCode::FORBIDDEN,
    )
    .await;
    app.expect("GET", &staff_path(&store), Some(&staff), None, StatusCode::FORBIDDEN).await;
    let accounts: i64 = sqlx::query_scalar("select count(*) from control.account where email = 'eve@alpha.test'")
        .fetch_one(app.state.db.control())
        .await
        .unwrap();
    assert_eq!(accounts, 0);
}

#[tokio::test]
async fn bad_staff_input_names_each_field_and_writes_nothing() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let body = app
        .expect(
            "POST",
            &staff_path(&store),
            Some(&store.owner_token),
            Some(json!({"email": "not-an-email", "password": "short", "role": "owner"})),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    let fields: Vec<&str> = body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, vec!["email", "password", "role"]);
    let body = app
        .expect(
            "POST",
            &staff_path(&store),
            Some(&store.owner_token),
            Some(json!({"email": "a@b.test", "password": "member-password"})),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    assert_eq!(body["errors"][0]["field"], "role");
    app.expect(
        "GET",
        &format!("{}?limit=0", staff_path(&store)),
        Some(&store.owner_token),
        None,
        StatusCode::BAD_REQUEST,
    )
    .await;
    let members: i64 =
        sqlx::query_scalar("select count(*) from control.membership").fetch_one(app.state.db.control()).await.unwrap();
    assert_eq!(members, 1);
}

#[tokio::test]
async fn an_existing_account_joins_only_with_its_own_password() {
    let app = spawn_app().await;
    let a = app.create_store("alpha").await;
    // The owner of bravo already has an account.
    app.create_store("bravo").await;
    let wrong = json!({"email": "owner@bravo.test", "password": "guessed-password", "role": "staff"});
    let body = app.expect("POST", &staff_path(&a), Some(&a.owner_token), Some(wrong), StatusCode::CONFLICT).await;
    assert_eq!(body["type"], "/problems/account-exists");
    let right = json!({"email": "owner@bravo.test", "password": "owner-password", "role": "staff"});
    app.expect("POST", &staff_path(&a), Some(&a.owner_token), Some(right.clone()), StatusCode::CREATED).await;
    let again = app.expect("POST", &staff_path(&a), Some(&a.owner_token), Some(right), StatusCode::CONFLICT).await;
    assert_eq!(again["type"], "/problems/member-exists");
    let (status, _) = sign_in(&app, "owner@bravo.test", "owner-password", &a).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn the_plans_seat_quota_is_enforced_with_409_quota_exceeded() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    // Starter: three seats, the owner holds one.
    for email in ["one@alpha.test", "two@alpha.test"] {
        app.expect(
            "POST",
            &staff_path(&store),
            Some(&store.owner_token),
            Some(member(email, "staff")),
            StatusCode::CREATED,
        )
        .await;
    }
    let body = app
        .expect(
            "POST",
            &staff_path(&store),
            Some(&store.owner_token),
            Some(member("three@alpha.test", "staff")),
            StatusCode::CONFLICT,
        )
        .await;
    assert_eq!(body["type"], "/problems/quota-exceeded");
    assert_eq!(body["limit"], 3);
    let accounts: i64 = sqlx::query_scalar("select count(*) from control.account where email = 'three@alpha.test'")
        .fetch_one(app.state.db.control())
        .await
        .unwrap();
    assert_eq!(accounts, 0, "a refused member leaves no account behind");
    // A bigger plan has room.
    app.expect(
        "PATCH",
        &format!("/v1/tenants/{}", store.id),
        Some(&app.admin_token().await),
        Some(json!({"plan": "growth"})),
        StatusCode::OK,
    )
    .await;
    app.expect(
        "POST",
        &staff_path(&store),
        Some(&store.owner_token),
        Some(member("three@alpha.test", "staff")),
        StatusCode::CREATED,
    )
    .await;
}

#[tokio::test]
async fn concurrent_additions_never_exceed_the_seat_quota() {
    let app = std::sync::Arc::new(spawn_app().await);
    let store = std::sync::Arc::new(app.create_store("alpha").await);
    let calls = (0..6).map(|i| {
        let (app, store) = (app.clone(), store.clone());
        tokio::spawn(async move {
            app.call(
                "POST",
                &staff_path(&store),
                Some(&store.owner_token),
                Some(member(&format!("m{i}@alpha.test"), "staff")),
            )
            .await
            .0
        })
    });
    let mut created = 0;
    for call in calls {
        let status = call.await.unwrap();
        assert!(status == StatusCode::CREATED || status == StatusCode::CONFLICT, "{status}");
        created += usize::from(status == StatusCode::CREATED);
    }
    assert_eq!(created, 2);
}

#[tokio::test]
async fn a_removed_member_can_no_longer_refresh_and_the_last_owner_stays() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let admin = app.add_member(&store, "ann@alpha.test", "admin").await;
    app.add_member(&store, "sam@alpha.test", "staff").await;
    let (_, signed_in) = sign_in(&app, "sam@alpha.test", "member-password", &store).await;
    let list = app.expect("GET", &staff_path(&store), Some(&admin), None, StatusCode::OK).await;
    let id_of = |email: &str| {
        list["items"].as_array().unwrap().iter().find(|m| m["email"] == email).unwrap()["account_id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (sam, ann, owner) = (id_of("sam@alpha.test"), id_of("ann@alpha.test"), id_of("owner@alpha.test"));

    // Admins remove staff, but not admins or owners.
    app.expect("DELETE", &format!("{}/{owner}", staff_path(&store)), Some(&admin), None, StatusCode::FORBIDDEN).await;
    let (status, _) = app.call("DELETE", &format!("{}/{sam}", staff_path(&store)), Some(&admin), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    app.expect("DELETE", &format!("{}/{sam}", staff_path(&store)), Some(&admin), None, StatusCode::NOT_FOUND).await;
    let refresh = json!({"grant_type": "refresh_token", "refresh_token": signed_in["refresh_token"]});
    app.expect("POST", "/v1/auth/token", None, Some(refresh), StatusCode::UNAUTHORIZED).await;
    let (status, _) = sign_in(&app, "sam@alpha.test", "member-password", &store).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let body = app
        .expect(
            "DELETE",
            &format!("{}/{owner}", staff_path(&store)),
            Some(&store.owner_token),
            None,
            StatusCode::CONFLICT,
        )
        .await;
    assert_eq!(body["type"], "/problems/last-owner");
    let (status, _) =
        app.call("DELETE", &format!("{}/{ann}", staff_path(&store)), Some(&store.owner_token), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    app.expect(
        "DELETE",
        &format!("{}/not-an-id", staff_path(&store)),
        Some(&store.owner_token),
        None,
        StatusCode::NOT_FOUND,
    )
    .await;
    let log = app.expect("GET", "/v1/audit-log", Some(&store.owner_token), None, StatusCode::OK).await;
    assert_eq!(log["items"][0]["action"], "staff.remove");
    assert_eq!(log["items"][0]["before"]["email"], "ann@alpha.test");
}

#[tokio::test]
async fn staff_of_another_store_get_404_on_every_staff_route_and_change_nothing() {
    let app = spawn_app().await;
    let a = app.create_store("alpha").await;
    let b = app.create_store("bravo").await;
    let a_admin = app.add_member(&a, "ann@alpha.test", "admin").await;
    let b_list = app.expect("GET", &staff_path(&b), Some(&b.owner_token), None, StatusCode::OK).await;
    let b_owner = b_list["items"][0]["account_id"].as_str().unwrap().to_owned();
    for token in [&a.owner_token, &a_admin] {
        for (method, path, body) in [
            ("GET", staff_path(&b), None),
            ("POST", staff_path(&b), Some(member("mole@alpha.test", "staff"))),
            ("DELETE", format!("{}/{b_owner}", staff_path(&b)), None),
        ] {
            let body = app.expect(method, &path, Some(token), body, StatusCode::NOT_FOUND).await;
            assert!(!body.to_string().contains("bravo"), "{body}");
        }
    }
    let after = app.expect("GET", &staff_path(&b), Some(&b.owner_token), None, StatusCode::OK).await;
    assert_eq!(after["items"], b_list["items"]);
}

#[tokio::test]
async fn the_data_plane_reads_plan_quotas_cached_until_the_store_change_is_announced() {
    let app = spawn_app().await;
    let store = app.create_store("alpha").await;
    let tenant = TenantId::parse(&store.id).unwrap();
    let control = app.state.db.control().clone();
    let resolver = TenantResolver::new(control.clone(), "localhost", std::time::Duration::from_secs(300));
    let quotas = QuotaCache::new(control.clone(), platform::quotas::QUOTA_CACHE_TTL);
    quotas.follow(&resolver);

    let starter = quotas.get(tenant).await.unwrap().unwrap();
    assert_eq!(
        (starter.plan.as_str(), starter.requests_per_second, starter.max_products, starter.max_staff),
        ("starter", 50, 1000, 3)
    );
    assert_eq!(quotas.get(TenantId::new()).await.unwrap(), None);

    app.expect(
        "PATCH",
        &format!("/v1/tenants/{}", store.id),
        Some(&app.admin_token().await),
        Some(json!({"plan": "growth"})),
        StatusCode::OK,
    )
    .await;
    // Cached until told…
    assert_eq!(quotas.get(tenant).await.unwrap().unwrap().plan, "starter");
    assert_eq!(platform::quotas::plan_quotas(&control, tenant).await.unwrap().unwrap().max_staff, 15);
    // …and fresh once the change of this store (not another's) is announced.
    resolver.apply(&TenantChange { tenant_id: uuid::Uuid::now_v7(), hosts: vec![] }).await;
    assert_eq!(quotas.get(tenant).await.unwrap().unwrap().plan, "starter");
    resolver.apply(&TenantChange { tenant_id: tenant.as_uuid(), hosts: vec![] }).await;
    let growth = quotas.get(tenant).await.unwrap().unwrap();
    assert_eq!((growth.plan.as_str(), growth.requests_per_second, growth.max_staff), ("growth", 200, 15));
}
