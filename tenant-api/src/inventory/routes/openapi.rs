//! Inventory's endpoints in the OpenAPI document; keep in step with [`super::router`].

use platform::openapi::{fragment, get, put};
use utoipa::openapi::OpenApi;

use super::{SetStockRequest, StockResponse};

const PROBLEMS: &[(u16, &str)] = &[
    (401, "No staff token or API key of this store."),
    (403, "The API key lacks the scope."),
    (404, "No such variant in this store."),
];

/// Inventory's operations.
pub(crate) fn doc() -> OpenApi {
    fragment([
        get("/admin/inventory/{variant_id}", "Read a variant's stock level")
            .tag("inventory")
            .staff()
            .json::<StockResponse>(200, "`available = on_hand - reserved`.")
            .problems(PROBLEMS),
        put("/admin/inventory/{variant_id}", "Set a variant's stock on hand")
            .tag("inventory")
            .staff()
            .body::<SetStockRequest>()
            .json::<StockResponse>(200, "The new level.")
            .problems(PROBLEMS)
            .problems(&[(422, "`on_hand` is negative or below what is reserved.")]),
    ])
}
