//! The pages in the OpenAPI document; keep in step with [`super::router`].
//! Pages answer `text/html` (errors too, as pages with the same statuses);
//! forms are `application/x-www-form-urlencoded` with a `csrf_token` field.

use platform::openapi::{fragment, get, post, Endpoint};
use utoipa::openapi::OpenApi;

const HTML: &str = "text/html";
const FORM: &[&str] = &["application/x-www-form-urlencoded"];

fn page(endpoint: Endpoint, description: &str) -> Endpoint {
    endpoint.tag("storefront pages").other(200, description, HTML).other(404, "Not in this store (a page).", HTML)
}

fn form(endpoint: Endpoint, fields: &str, answer: &str) -> Endpoint {
    endpoint
        .tag("storefront pages")
        .raw_body(FORM, &format!("An HTML form: `csrf_token` and {fields}."))
        .empty(303, answer)
        .other(403, "No matching CSRF token: nothing is read or written (a page).", HTML)
        .other(422, "A field breaks a rule: the form again, naming it.", HTML)
}

/// The pages' operations.
pub(crate) fn doc() -> OpenApi {
    fragment([
        page(get("/", "Storefront home page"), "The store's name, categories, collections and newest products."),
        page(get("/products/{handle}", "Product page"), "Title, formatted price, images, variant picker, add-to-cart form."),
        page(get("/search", "Search page"), "Products matching `q`, with facets and a sort.")
            .query("q", "Search phrase.")
            .query("sort", "newest, price_asc, price_desc, title, relevance."),
        page(get("/categories/{handle}", "Category page"), "The category's products (with subcategories)."),
        page(get("/collections/{handle}", "Collection page"), "The collection's products."),
        page(get("/assets/{file}", "Stylesheet or script"), "A fingerprinted asset, cached for a year."),
        page(get("/cart", "Cart page"), "The cart's lines at current prices and its totals."),
        form(post("/cart/items", "Add to cart (form)"), "`variant_id`, `quantity`", "To `/cart`.")
            .other(409, "More than is in stock: the cart page says so.", HTML),
        form(post("/cart/items/{item_id}", "Change or remove a cart line (form)"), "`quantity` (0 removes)", "To `/cart`.")
            .other(409, "More than is in stock: the cart page says so.", HTML),
        page(get("/checkout", "Checkout page"), "Contact, address and payment form with the cart's summary."),
        form(
            post("/checkout", "Place the order (form)"),
            "`email`, `name`, `line1`, `city`, `postal_code`, `country`, `payment_token`, `nonce`",
            "To `/orders/{id}?key=…`, the confirmation.",
        )
        .describe("The same idempotent checkout as `POST /store/carts/{id}/checkout`; the form's `nonce` is its `Idempotency-Key`, so a double submission places one order.")
        .other(402, "Payment declined: the form again.", HTML)
        .other(409, "Out of stock: the cart page says so.", HTML),
        page(get("/orders/{id}", "Order confirmation page"), "The order's number, lines and total (with the link's `key`).")
            .query("key", "The order's access key from the checkout's redirect."),
        page(get("/sign-in", "Sign-in page"), "The sign-in form."),
        form(post("/sign-in", "Sign in (form)"), "`email`, `password`", "To `/account`, with the session cookies.")
            .other(401, "Wrong credentials: the form again.", HTML),
        page(get("/sign-up", "Sign-up page"), "The registration form."),
        form(post("/sign-up", "Create an account (form)"), "`email`, `password`, `first_name`, `last_name`", "To `/account`, signed in.")
            .other(409, "The email is registered already: the form again.", HTML),
        form(post("/sign-out", "Sign out (form)"), "nothing else", "To `/`, without the session and cart cookies."),
        page(get("/account", "Account page"), "The signed-in shopper's orders (a guest is sent to `/sign-in`)."),
        page(get("/password-reset", "Password reset pages"), "The request form; with `token` (the emailed link), the new password form.")
            .query("token", "The token of the emailed link."),
        form(post("/password-reset", "Ask for a password reset link (form)"), "`email`", "To `/password-reset?sent=1`, whether or not the email has an account."),
        form(post("/password-reset/confirm", "Set a new password (form)"), "`token`, `password`", "To `/sign-in`."),
    ])
}
