//! Storefront pages, as a browser without JavaScript uses them: HTML, forms
//! with their CSRF token, `303` redirects, cookies.

use std::collections::BTreeMap;

use reqwest::{header, StatusCode};
use secrecy::ExposeSecret;
use serde_json::Value;
use tenant_api::catalog::model::ProductStatus;

use crate::helpers::{spawn_app, TestApp, TestStore};

/// A page as a browser got it.
struct Page {
    status: StatusCode,
    headers: header::HeaderMap,
    body: String,
}

impl Page {
    fn location(&self) -> &str {
        self.headers.get(header::LOCATION).map(|v| v.to_str().unwrap()).unwrap_or_default()
    }

    /// The value of the first hidden input `name`.
    fn field(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let start =
            self.body.find(&marker).unwrap_or_else(|| panic!("no field {name} in {}", self.body)) + marker.len();
        self.body[start..].split('"').next().unwrap().to_owned()
    }

    fn set_cookies(&self) -> Vec<String> {
        self.headers.get_all(header::SET_COOKIE).iter().map(|v| v.to_str().unwrap().to_owned()).collect()
    }
}

/// A browser on one store's host: keeps its cookies and follows nothing by itself.
struct Browser<'a> {
    app: &'a TestApp,
    host: String,
    cookies: BTreeMap<String, String>,
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            b' ' => "+".to_owned(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

impl<'a> Browser<'a> {
    fn new(app: &'a TestApp, store: &TestStore) -> Self {
        Self { app, host: store.host.clone(), cookies: BTreeMap::new() }
    }

    fn on(&self, store: &TestStore) -> Self {
        Self { app: self.app, host: store.host.clone(), cookies: self.cookies.clone() }
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> Page {
        let mut request = request.header("host", &self.host);
        if !self.cookies.is_empty() {
            let cookie = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
            request = request.header(header::COOKIE, cookie);
        }
        let response = request.send().await.expect("request");
        let status = response.status();
        let headers = response.headers().clone();
        for value in headers.get_all(header::SET_COOKIE) {
            let pair = value.to_str().unwrap().split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        Page { status, headers, body: response.text().await.unwrap_or_default() }
    }

    async fn get(&mut self, path: &str) -> Page {
        let request = self.app.client.get(format!("{}{path}", self.app.address));
        self.send(request).await
    }

    async fn get_with(&mut self, path: &str, header: (&str, &str)) -> Page {
        let request = self.app.client.get(format!("{}{path}", self.app.address)).header(header.0, header.1);
        self.send(request).await
    }

    async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let body = fields.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect::<Vec<_>>().join("&");
        let request = self
            .app
            .client
            .post(format!("{}{path}", self.app.address))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body);
        self.send(request).await
    }

    /// Posts a form taken from `page` (its CSRF token) with `fields`.
    async fn submit(&mut self, page: &Page, path: &str, fields: &[(&str, &str)]) -> Page {
        let token = page.field("csrf_token");
        let mut all = vec![("csrf_token", token.as_str())];
        all.extend_from_slice(fields);
        self.post(path, &all).await
    }

    /// Adds `quantity` of the product's only variant from its page.
    async fn add_to_cart(&mut self, handle: &str, quantity: &str) -> Page {
        let product = self.get(&format!("/products/{handle}")).await;
        assert_eq!(product.status, StatusCode::OK, "{}", product.body);
        let variant = product.field("variant_id");
        self.submit(&product, "/cart/items", &[("variant_id", &variant), ("quantity", quantity)]).await
    }
}

const ADDRESS: [(&str, &str); 6] = [
    ("email", "ann@example.com"),
    ("name", "Ann Buyer"),
    ("line1", "1 Main St"),
    ("city", "Springfield"),
    ("postal_code", "12345"),
    ("country", "US"),
];

fn checkout_fields<'a>(nonce: &'a str, token: &'a str) -> Vec<(&'a str, &'a str)> {
    let mut fields = ADDRESS.to_vec();
    fields.push(("payment_token", token));
    fields.push(("nonce", nonce));
    fields
}

async fn orders(app: &TestApp, store: &TestStore) -> Vec<Value> {
    let staff = app.owner_token(store).await;
    let list = app.get_as(&store.host, "/admin/orders", Some(&staff), StatusCode::OK).await;
    list["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn home_lists_the_products_and_the_product_page_shows_price_and_variant_picker() {
    let app = spawn_app().await;
    let store = app.create_store("pages-home").await;
    app.seed_product(&store, "Linen Shirt", ProductStatus::Active, 1999).await;
    app.seed_product(&store, "Hidden Draft", ProductStatus::Draft, 500).await;
    let mut browser = Browser::new(&app, &store);

    let home = browser.get("/").await;
    assert_eq!(home.status, StatusCode::OK);
    assert_eq!(home.headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
    assert!(home.body.contains("Store pages-home"), "{}", home.body);
    assert!(home.body.contains("Linen Shirt") && home.body.contains("$19.99"), "{}", home.body);
    assert!(!home.body.contains("Hidden Draft"));
    assert!(home.body.contains("href=\"/products/linen-shirt\""));

    let product = browser.get("/products/linen-shirt").await;
    assert_eq!(product.status, StatusCode::OK);
    assert!(product.body.contains("<h1>Linen Shirt</h1>") && product.body.contains("$19.99"), "{}", product.body);
    assert!(product.body.contains("action=\"/cart/items\" method=\"post\""));
    assert!(product.body.contains("name=\"variant_id\"") && product.body.contains("name=\"quantity\""));
    // The cached page carries this shopper's token, not a slot.
    assert!(!product.body.contains("<!--csrf-->"));
    assert_eq!(product.field("csrf_token"), browser.cookies["csrf"]);

    assert_eq!(browser.get("/products/hidden-draft").await.status, StatusCode::NOT_FOUND);
    // The stylesheet the page links to is served, cached for a year.
    let css = home.body.split("href=\"/assets/").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let asset = browser.get(&format!("/assets/{css}")).await;
    assert_eq!(asset.status, StatusCode::OK);
    assert_eq!(asset.headers[header::CACHE_CONTROL], "public, max-age=31536000, immutable");
    assert_eq!(browser.get("/assets/other.css").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_product_page_variant_picker_lists_every_variant() {
    let app = spawn_app().await;
    let store = app.create_store("pages-variants").await;
    let staff = app.staff(&store).await;
    let body = serde_json::json!({
        "title": "Tee", "status": "active",
        "variants": [
            {"sku": "TEE-S", "title": "Small", "price": {"amount": 1500, "currency": "USD"}},
            {"sku": "TEE-L", "title": "Large", "price": {"amount": 1700, "currency": "USD"}},
        ],
    });
    let product = app.admin("POST", &store, "/admin/products", &staff, Some(body), StatusCode::CREATED).await;
    let page = Browser::new(&app, &store).get("/products/tee").await;
    assert!(page.body.contains("type=\"radio\" name=\"variant_id\""), "{}", page.body);
    for variant in product["variants"].as_array().unwrap() {
        assert!(page.body.contains(variant["id"].as_str().unwrap()));
    }
    assert!(page.body.contains("Small — $15.00") && page.body.contains("Large — $17.00"), "{}", page.body);
    // The home page shows the lowest price as "From".
    assert!(Browser::new(&app, &store).get("/").await.body.contains("From $15.00"));
}

#[tokio::test]
async fn search_finds_a_product_and_category_and_collection_pages_list_theirs() {
    let app = spawn_app().await;
    let store = app.create_store("pages-search").await;
    let shirt = app.seed_product(&store, "Linen Shirt", ProductStatus::Active, 1999).await;
    let mug = app.seed_product(&store, "Coffee Mug", ProductStatus::Active, 900).await;
    let category = app.seed_category(&store, "Tops", None).await;
    app.file_under(&store, &shirt, &[&category]).await;
    app.seed_collection(&store, "Kitchen", &[&mug]).await;
    let mut browser = Browser::new(&app, &store);

    let found = browser.get("/search?q=linen").await;
    assert_eq!(found.status, StatusCode::OK);
    assert!(found.body.contains("Linen Shirt") && !found.body.contains("Coffee Mug"), "{}", found.body);
    // A misspelling still finds it; junk parameters are ignored.
    let typo = browser.get("/search?q=linnen&junk=1").await;
    assert!(typo.body.contains("Linen Shirt"), "{}", typo.body);

    let tops = browser.get("/categories/tops").await;
    assert_eq!(tops.status, StatusCode::OK, "{}", tops.body);
    assert!(tops.body.contains("Linen Shirt") && !tops.body.contains("Coffee Mug"));
    let kitchen = browser.get("/collections/kitchen").await;
    assert_eq!(kitchen.status, StatusCode::OK, "{}", kitchen.body);
    assert!(kitchen.body.contains("Coffee Mug") && !kitchen.body.contains("Linen Shirt"));
    assert_eq!(browser.get("/categories/nope").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn add_to_cart_and_checkout_place_one_order_even_when_submitted_twice() {
    let app = spawn_app().await;
    let store = app.create_store("pages-buy").await;
    let variant = app.product_with_stock(&store, "Linen Shirt", 1999, 5).await;
    let mut browser = Browser::new(&app, &store);

    let added = browser.add_to_cart("linen-shirt", "2").await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    assert_eq!(added.location(), "/cart");
    assert!(browser.cookies.contains_key("cart"));
    let cart = browser.get("/cart").await;
    assert_eq!(cart.status, StatusCode::OK);
    assert!(cart.body.contains("Linen Shirt") && cart.body.contains("$39.98"), "{}", cart.body);
    assert!(cart.body.contains("Cart (2)"));

    let form = browser.get("/checkout").await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    let nonce = form.field("nonce");
    let placed = browser.submit(&form, "/checkout", &checkout_fields(&nonce, "tok_success")).await;
    assert_eq!(placed.status, StatusCode::SEE_OTHER, "{}", placed.body);
    let location = placed.location().to_owned();
    assert!(location.starts_with("/orders/") && location.contains("?key="), "{location}");
    let order_id = location.trim_start_matches("/orders/").split('?').next().unwrap().to_owned();

    // The second submission of the same form (same nonce) finds the same order.
    let again = browser.submit(&form, "/checkout", &checkout_fields(&nonce, "tok_success")).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER, "{}", again.body);
    assert_eq!(again.location(), location);

    let confirmation = browser.get(&location).await;
    assert_eq!(confirmation.status, StatusCode::OK, "{}", confirmation.body);
    let staff = app.owner_token(&store).await;
    let order = app.get_as(&store.host, &format!("/admin/orders/{order_id}"), Some(&staff), StatusCode::OK).await;
    assert_eq!(order["status"], "paid");
    assert_eq!(order["total"]["amount"], 3998);
    let number = order["number"].as_i64().unwrap().to_string();
    assert!(
        confirmation.body.contains(&format!("<strong id=\"order-number\">{number}</strong>")),
        "{}",
        confirmation.body
    );
    assert!(confirmation.body.contains("$39.98"));
    assert_eq!(orders(&app, &store).await.len(), 1);
    assert_eq!(app.stock(&store, &variant).await, (3, 0));

    // Without the key, or with another order's, there is nothing to see.
    assert_eq!(browser.get(&format!("/orders/{order_id}")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(browser.get(&format!("/orders/{order_id}?key=forged")).await.status, StatusCode::NOT_FOUND);
    // The cart is gone with the purchase.
    assert!(browser.get("/cart").await.body.contains("Your cart is empty"));
}

#[tokio::test]
async fn more_than_is_in_stock_is_a_409_cart_page_never_a_500() {
    let app = spawn_app().await;
    let store = app.create_store("pages-stock").await;
    let variant = app.product_with_stock(&store, "Last One", 1000, 1).await;
    let mut browser = Browser::new(&app, &store);

    let refused = browser.add_to_cart("last-one", "3").await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    assert_eq!(refused.headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
    assert!(refused.body.contains("Out of stock"), "{}", refused.body);

    // In the cart, then sold out before checkout: the cart page says so.
    assert_eq!(browser.add_to_cart("last-one", "1").await.status, StatusCode::SEE_OTHER);
    let form = browser.get("/checkout").await;
    app.set_stock(&store, &variant, 0).await;
    let nonce = form.field("nonce");
    let placed = browser.submit(&form, "/checkout", &checkout_fields(&nonce, "tok_success")).await;
    assert_eq!(placed.status, StatusCode::CONFLICT, "{}", placed.body);
    assert!(placed.body.contains("Out of stock"), "{}", placed.body);
    assert!(orders(&app, &store).await.is_empty());
}

#[tokio::test]
async fn a_form_without_its_csrf_token_is_403_and_changes_nothing() {
    let app = spawn_app().await;
    let store = app.create_store("pages-csrf").await;
    let variant = app.product_with_stock(&store, "Shirt", 1000, 5).await;
    let mut browser = Browser::new(&app, &store);
    // The browser has a token cookie, but the form carries none, or another's.
    browser.get("/products/shirt").await;
    let missing = browser.post("/cart/items", &[("variant_id", &variant), ("quantity", "1")]).await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    assert_eq!(missing.headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
    let forged =
        browser.post("/cart/items", &[("csrf_token", "abc.def"), ("variant_id", &variant), ("quantity", "1")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(!browser.cookies.contains_key("cart"), "no cart was made");
    let checkout = browser.post("/checkout", &checkout_fields("n1", "tok_success")).await;
    assert_eq!(checkout.status, StatusCode::FORBIDDEN);
    // A token of another store is no token here.
    let other = app.create_store("pages-csrf-b").await;
    app.seed_product(&other, "Other", ProductStatus::Active, 100).await;
    let mut elsewhere = browser.on(&other);
    let page = elsewhere.get("/products/other").await;
    let token = page.field("csrf_token");
    let mut back = elsewhere.on(&store);
    let crossed =
        back.post("/cart/items", &[("csrf_token", &token), ("variant_id", &variant), ("quantity", "1")]).await;
    assert_eq!(crossed.status, StatusCode::FORBIDDEN);
    assert!(orders(&app, &store).await.is_empty());
    assert_eq!(app.stock(&store, &variant).await, (5, 0));
}

#[tokio::test]
async fn bad_form_input_is_a_422_page_naming_the_field_and_writes_nothing() {
    let app = spawn_app().await;
    let store = app.create_store("pages-input").await;
    app.product_with_stock(&store, "Shirt", 1000, 5).await;
    let mut browser = Browser::new(&app, &store);

    let bad = browser.add_to_cart("shirt", "abc").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert!(bad.body.contains("Quantity") && bad.body.contains("must be a whole number"), "{}", bad.body);
    assert!(!browser.cookies.contains_key("cart"));

    assert_eq!(browser.add_to_cart("shirt", "1").await.status, StatusCode::SEE_OTHER);
    let form = browser.get("/checkout").await;
    let nonce = form.field("nonce");
    let mut fields = checkout_fields(&nonce, "tok_success");
    fields.retain(|(name, _)| *name != "email");
    fields.push(("email", ""));
    let empty = browser.submit(&form, "/checkout", &fields).await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", empty.body);
    assert!(empty.body.contains("href=\"#email\">Email</a>: is required"), "{}", empty.body);
    assert!(empty.body.contains("value=\"Ann Buyer\""), "what was typed is kept");

    fields.retain(|(name, _)| *name != "email");
    fields.push(("email", "not-an-email"));
    let malformed = browser.submit(&form, "/checkout", &fields).await;
    assert_eq!(malformed.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", malformed.body);
    assert!(malformed.body.contains("href=\"#email\""), "{}", malformed.body);
    assert!(orders(&app, &store).await.is_empty());
}

#[tokio::test]
async fn a_suspended_store_answers_its_pages_with_a_423_page() {
    let app = spawn_app().await;
    let store = app.create_store("pages-suspended").await;
    app.seed_product(&store, "Shirt", ProductStatus::Active, 1000).await;
    let mut browser = Browser::new(&app, &store);
    assert_eq!(browser.get("/").await.status, StatusCode::OK);
    app.set_status(&store, "suspended").await;
    let mut locked = browser.get("/").await;
    for _ in 0..50 {
        if locked.status == StatusCode::LOCKED {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        locked = browser.get("/").await;
    }
    assert_eq!(locked.status, StatusCode::LOCKED);
    assert_eq!(locked.headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
    assert!(locked.body.contains("Store suspended"), "{}", locked.body);
    assert_eq!(browser.get("/products/shirt").await.status, StatusCode::LOCKED);
    assert_eq!(browser.post("/cart/items", &[("quantity", "1")]).await.status, StatusCode::LOCKED);
    // The API keeps its problem+json.
    let api = app.get(&store.host, "/store/products").await;
    assert_eq!(api.status(), StatusCode::LOCKED);
    assert_eq!(api.headers()[header::CONTENT_TYPE], "application/problem+json");
    // An unknown host is a 404 page.
    let mut nowhere = Browser { app: &app, host: "nowhere.localhost".into(), cookies: BTreeMap::new() };
    let missing = nowhere.get("/").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
}

#[tokio::test]
async fn another_store_shows_none_of_a_stores_products_and_its_cart_cookie_opens_nothing() {
    let app = spawn_app().await;
    let a = app.create_store("pages-a").await;
    let b = app.create_store("pages-b").await;
    app.product_with_stock(&a, "Alpha Secret Lamp", 1000, 5).await;
    app.product_with_stock(&b, "Beta Chair", 2000, 5).await;
    let mut shopper = Browser::new(&app, &a);
    assert_eq!(shopper.add_to_cart("alpha-secret-lamp", "1").await.status, StatusCode::SEE_OTHER);

    let mut on_b = shopper.on(&b);
    for path in ["/", "/search?q=alpha", "/search?q=lamp", "/cart", "/checkout"] {
        let page = on_b.get(path).await;
        assert!(!page.body.contains("Alpha Secret Lamp"), "{path}: {}", page.body);
    }
    assert_eq!(on_b.get("/products/alpha-secret-lamp").await.status, StatusCode::NOT_FOUND);
    assert!(on_b.get("/cart").await.body.contains("Your cart is empty"));
    // Adding on B with A's cart cookie makes a new cart of B's, leaving A's alone.
    let a_cart = shopper.cookies["cart"].clone();
    assert_eq!(on_b.add_to_cart("beta-chair", "1").await.status, StatusCode::SEE_OTHER);
    assert_ne!(on_b.cookies["cart"], a_cart);
    let a_page = shopper.get("/cart").await;
    assert!(a_page.body.contains("Alpha Secret Lamp") && !a_page.body.contains("Beta Chair"), "{}", a_page.body);
}

#[tokio::test]
async fn pages_answer_304_to_their_etag_and_cookies_carry_their_flags() {
    let app = spawn_app().await;
    let store = app.create_store("pages-etag").await;
    app.product_with_stock(&store, "Shirt", 1000, 5).await;
    let mut browser = Browser::new(&app, &store);
    let first = browser.get("/products/shirt").await;
    let csrf_cookie = first.set_cookies().into_iter().find(|c| c.starts_with("csrf=")).expect("csrf cookie");
    assert!(csrf_cookie.contains("HttpOnly") && csrf_cookie.contains("SameSite=Lax") && csrf_cookie.contains("Path=/"));
    assert!(!csrf_cookie.contains("Secure"), "development serves http");
    assert_eq!(first.headers[header::CACHE_CONTROL], "private, no-cache");
    let etag = first.headers[header::ETAG].to_str().unwrap().to_owned();
    let again = browser.get_with("/products/shirt", ("if-none-match", &etag)).await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert!(again.body.is_empty());
    let home = browser.get("/").await;
    let home_tag = home.headers[header::ETAG].to_str().unwrap().to_owned();
    assert_eq!(browser.get_with("/", ("if-none-match", &home_tag)).await.status, StatusCode::NOT_MODIFIED);
    // A catalog write changes the page and its tag.
    app.seed_product(&store, "New Hat", ProductStatus::Active, 500).await;
    app.state.storefront_cache.invalidate(store.id()).await;
    let changed = browser.get_with("/", ("if-none-match", &home_tag)).await;
    assert_eq!(changed.status, StatusCode::OK);
    assert!(changed.body.contains("New Hat"));

    let added = browser.add_to_cart("shirt", "1").await;
    let cart_cookie = added.set_cookies().into_iter().find(|c| c.starts_with("cart=")).expect("cart cookie");
    assert!(cart_cookie.contains("HttpOnly") && cart_cookie.contains("SameSite=Lax") && cart_cookie.contains("Path=/"));
    assert!(added.headers[header::CACHE_CONTROL].to_str().unwrap().contains("no-store"));
}

#[tokio::test]
async fn shoppers_sign_up_see_their_orders_sign_out_and_sign_in_again() {
    let app = spawn_app().await;
    let store = app.create_store("pages-account").await;
    app.product_with_stock(&store, "Shirt", 1000, 5).await;
    let mut browser = Browser::new(&app, &store);
    assert_eq!(browser.get("/account").await.location(), "/sign-in");

    let form = browser.get("/sign-up").await;
    let weak = browser.submit(&form, "/sign-up", &[("email", "bo@example.com"), ("password", "x")]).await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", weak.body);
    assert!(weak.body.contains("href=\"#password\""), "{}", weak.body);
    let fields = [("email", "bo@example.com"), ("password", "correct horse battery"), ("first_name", "Bo")];
    let joined = browser.submit(&form, "/sign-up", &fields).await;
    assert_eq!(joined.status, StatusCode::SEE_OTHER, "{}", joined.body);
    assert_eq!(joined.location(), "/account");
    let session = joined.set_cookies().into_iter().find(|c| c.starts_with("session=")).expect("session cookie");
    assert!(session.contains("HttpOnly") && session.contains("SameSite=Lax"));

    assert_eq!(browser.add_to_cart("shirt", "1").await.status, StatusCode::SEE_OTHER);
    let checkout = browser.get("/checkout").await;
    assert!(checkout.body.contains("value=\"bo@example.com\""), "{}", checkout.body);
    let nonce = checkout.field("nonce");
    let placed = browser.submit(&checkout, "/checkout", &checkout_fields(&nonce, "tok_success")).await;
    assert_eq!(placed.status, StatusCode::SEE_OTHER, "{}", placed.body);
    let account = browser.get("/account").await;
    assert_eq!(account.status, StatusCode::OK);
    assert!(account.body.contains("Bo") && account.body.contains("/orders/"), "{}", account.body);
    let staff = app.owner_token(&store).await;
    let listed = orders(&app, &store).await;
    let order = app
        .get_as(
            &store.host,
            &format!("/admin/orders/{}", listed[0]["id"].as_str().unwrap()),
            Some(&staff),
            StatusCode::OK,
        )
        .await;
    assert!(order["customer_id"].is_string(), "{order}");

    let refresh = browser.cookies["refresh"].clone();
    let signed_out = browser.submit(&account, "/sign-out", &[]).await;
    assert_eq!(signed_out.status, StatusCode::SEE_OTHER);
    assert!(!browser.cookies.contains_key("session"));
    assert_eq!(browser.get("/account").await.location(), "/sign-in");
    // The refresh token is revoked, not just forgotten by the browser.
    browser.cookies.insert("refresh".into(), refresh);
    assert_eq!(browser.get("/account").await.location(), "/sign-in");
    assert!(!browser.cookies.contains_key("refresh"), "a refused refresh cookie is cleared");

    let sign_in = browser.get("/sign-in").await;
    let wrong =
        browser.submit(&sign_in, "/sign-in", &[("email", "bo@example.com"), ("password", "nope nope nope")]).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let right = browser
        .submit(&sign_in, "/sign-in", &[("email", "bo@example.com"), ("password", "correct horse battery")])
        .await;
    assert_eq!(right.status, StatusCode::SEE_OTHER, "{}", right.body);
    assert!(browser.get("/account").await.body.contains("Your account"));
}

#[tokio::test]
async fn the_password_reset_pages_take_a_request_and_the_emailed_link() {
    let app = spawn_app().await;
    let store = app.create_store("pages-reset").await;
    app.customer(&store, "cy@example.com").await;
    let mut browser = Browser::new(&app, &store);
    let form = browser.get("/password-reset").await;
    assert_eq!(form.status, StatusCode::OK);
    let asked = browser.submit(&form, "/password-reset", &[("email", "cy@example.com")]).await;
    assert_eq!(asked.status, StatusCode::SEE_OTHER, "{}", asked.body);
    assert_eq!(asked.location(), "/password-reset?sent=1");
    // The same answer for an email nobody uses.
    let unknown = browser.submit(&form, "/password-reset", &[("email", "nobody@example.com")]).await;
    assert_eq!(unknown.location(), "/password-reset?sent=1");

    // The emailed link's page: a token that is not one is a 422 naming it.
    let link = browser.get("/password-reset?token=prt_unknown").await;
    assert!(link.body.contains("action=\"/password-reset/confirm\""), "{}", link.body);
    assert_eq!(link.field("token"), "prt_unknown");
    let refused = browser
        .submit(&link, "/password-reset/confirm", &[("token", "prt_unknown"), ("password", "another fine password")])
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    assert!(refused.body.contains("href=\"#token\""), "{}", refused.body);

    // The real link: its token (sealed in the outbox for the email) sets a new password once.
    let mut tx = app.tenant_tx(&store).await;
    let sealed: String =
        sqlx::query_scalar("select payload->>'token_sealed' from outbox_event where topic = 'customer.password_reset'")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
    drop(tx);
    let token = app.state.master.open(&sealed).unwrap().expose_secret().to_owned();
    let link = browser.get(&format!("/password-reset?token={token}")).await;
    let fields = [("token", token.as_str()), ("password", "another fine password")];
    let done = browser.submit(&link, "/password-reset/confirm", &fields).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location(), "/sign-in");
    let sign_in = browser.get("/sign-in").await;
    let signed = browser.submit(&sign_in, "/sign-in", &[("email", "cy@example.com"), fields[1]]).await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER, "{}", signed.body);
    let reused = browser.submit(&link, "/password-reset/confirm", &fields).await;
    assert_eq!(reused.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn pages_wear_the_store_name_and_theme_and_follow_their_changes() {
    let app = spawn_app().await;
    let store = app.create_store("pages-theme").await;
    let mut browser = Browser::new(&app, &store);
    let plain = browser.get("/").await;
    assert!(!plain.body.contains("--primary:"), "no theme, no override");
    sqlx::query(
        "update control.tenant set name = 'Alpha Goods', \
         branding = '{\"primary_color\": \"#0a7d33\", \"logo_url\": \"https://cdn.example/logo.png\"}' \
         where tenant_id = $1",
    )
    .bind(store.id())
    .execute(app.state.db.control())
    .await
    .unwrap();
    app.announce(&store).await;
    let mut themed = browser.get("/").await;
    for _ in 0..50 {
        if themed.body.contains("Alpha Goods") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        themed = browser.get("/").await;
    }
    assert!(themed.body.contains("<title>Home · Alpha Goods</title>"), "{}", themed.body);
    assert!(themed.body.contains("--primary:#0a7d33;--on-primary:#ffffff"), "{}", themed.body);
    assert!(themed.body.contains("cdn.example"), "{}", themed.body);
}

#[tokio::test]
async fn a_stripe_store_checkout_page_carries_the_payment_element_with_its_own_key_and_no_token_field() {
    let app = spawn_app().await;
    let store = app.create_store("pages-stripe").await;
    app.product_with_stock(&store, "Shirt", 1000, 5).await;
    sqlx::query("insert into control.tenant_payment_settings (tenant_id, provider) values ($1, 'stripe')")
        .bind(store.id())
        .execute(app.state.db.control())
        .await
        .unwrap();
    app.state.payment_settings.forget(store.id());
    let mut browser = Browser::new(&app, &store);
    assert_eq!(browser.add_to_cart("shirt", "1").await.status, StatusCode::SEE_OTHER);
    // No publishable key yet: the page says so instead of an empty card form.
    let keyless = browser.get("/checkout").await;
    assert_eq!(keyless.status, StatusCode::OK, "{}", keyless.body);
    assert!(keyless.body.contains("Card payments are not set up for this store yet"), "{}", keyless.body);
    assert!(!keyless.body.contains("id=\"payment-element\""), "{}", keyless.body);

    sqlx::query(
        "update control.tenant_payment_settings set stripe_publishable_key = 'pk_test_51Alpha', \
         stripe_account_id = 'acct_1Alpha' where tenant_id = $1",
    )
    .bind(store.id())
    .execute(app.state.db.control())
    .await
    .unwrap();
    app.state.payment_settings.forget(store.id());
    // Another Stripe store with its own key: neither page shows the other's.
    let other_stripe = app.create_store("pages-stripe-two").await;
    app.product_with_stock(&other_stripe, "Shirt", 1000, 5).await;
    sqlx::query(
        "insert into control.tenant_payment_settings (tenant_id, provider, stripe_publishable_key) \
         values ($1, 'stripe', 'pk_test_51Beta')",
    )
    .bind(other_stripe.id())
    .execute(app.state.db.control())
    .await
    .unwrap();
    app.state.payment_settings.forget(other_stripe.id());
    let page = browser.get("/checkout").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("<script src=\"https://js.stripe.com/v3/\" defer></script>"), "{}", page.body);
    assert!(page.body.contains("id=\"payment-element\""));
    assert!(
        page.body.contains("data-stripe-key=\"pk_test_51Alpha\" data-stripe-account=\"acct_1Alpha\""),
        "{}",
        page.body
    );
    assert!(page.body.contains("data-stripe-amount=\"1000\" data-stripe-currency=\"usd\""), "{}", page.body);
    assert!(!page.body.contains("pk_test_51Beta"));
    // The token is filled by Stripe.js; without it the form still posts and is refused by field.
    assert!(page.body.contains("type=\"hidden\" name=\"payment_token\""));
    let csp = page.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.contains("script-src 'self' https://js.stripe.com") && csp.contains("frame-ancestors 'none'"));
    let mut second = Browser::new(&app, &other_stripe);
    second.add_to_cart("shirt", "1").await;
    let second_page = second.get("/checkout").await.body;
    assert!(second_page.contains("data-stripe-key=\"pk_test_51Beta\" data-stripe-amount"), "{second_page}");
    assert!(!second_page.contains("pk_test_51Alpha") && !second_page.contains("acct_1Alpha"));

    let test_store = app.create_store("pages-stripe-not").await;
    app.product_with_stock(&test_store, "Shirt", 1000, 5).await;
    let mut other = Browser::new(&app, &test_store);
    other.add_to_cart("shirt", "1").await;
    assert!(!other.get("/checkout").await.body.contains("js.stripe.com"));
}

/// Not a check: prints warm requests per second of the JSON list, the home
/// page and a product page, one after another in one run (debug build,
/// shared cores: a rough ratio only). Run with `--ignored --nocapture`.
#[tokio::test]
#[ignore]
async fn warm_pages_beside_the_warm_json_list() {
    let app = spawn_app().await;
    let store = app.create_store("pages-warm").await;
    for i in 0..20 {
        app.seed_product(&store, &format!("Product {i}"), ProductStatus::Active, 1000 + i).await;
    }
    for path in ["/store/products?limit=20", "/", "/products/product-3"] {
        let client = app.client.clone();
        let url = format!("{}{path}", app.address);
        let _ = client.get(&url).header("host", &store.host).send().await.unwrap().bytes().await;
        let started = std::time::Instant::now();
        let duration = std::time::Duration::from_secs(3);
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let (client, url, host) = (client.clone(), url.clone(), store.host.clone());
                tokio::spawn(async move {
                    let mut done = 0u64;
                    while started.elapsed() < duration {
                        let response = client.get(&url).header("host", &host).send().await.unwrap();
                        assert_eq!(response.status(), StatusCode::OK);
                        let _ = response.bytes().await;
                        done += 1;
                    }
                    done
                })
            })
            .collect();
        let mut total = 0;
        for task in tasks {
            total += task.await.unwrap();
        }
        println!("{path}: {:.0} req/s", total as f64 / started.elapsed().as_secs_f64());
    }
}
