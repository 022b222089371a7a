//! The catalog's endpoints in the OpenAPI document (`/openapi.json`); keep in
//! step with [`super::router`] (the API tests compare the two).

use platform::openapi::{delete, fragment, get, patch, post, put, Endpoint};
use utoipa::{openapi::OpenApi, ToSchema};

use super::{
    admin::{
        categories::{CreateCategoryRequest, UpdateCategoryRequest},
        collections::CollectionRequest,
        import::ImportResponse,
        products::{CreateProductRequest, UpdateProductRequest},
        variants::{UpdateVariantRequest, VariantIn},
    },
    media::{CreateUploadRequest, CreateUploadResponse},
    store::{CategoryNode, ProductListResponse, Suggestion},
    CategoryResponse, CollectionResponse, MediaResponse, ProductResponse,
};

const NOT_FOUND: (u16, &str) = (404, "Not found in this store.");
const INVALID: (u16, &str) = (422, "A field breaks a rule; `errors` names each.");
const BAD_QUERY: (u16, &str) = (400, "A query parameter does not parse (limit, cursor, sort, prices).");
const UNAUTHORIZED: (u16, &str) = (401, "No staff token or API key of this store.");

fn store(endpoint: Endpoint) -> Endpoint {
    endpoint.tag("storefront")
}

fn admin(endpoint: Endpoint) -> Endpoint {
    endpoint.tag("catalog").staff().problems(&[UNAUTHORIZED, (403, "The API key lacks the scope.")])
}

/// The shapes most catalog operations take.
trait Shapes {
    /// A paged list of `R` (`?limit=&cursor=`).
    fn lists<R: ToSchema>(self) -> Self;
    /// One `R` by its path, or 404.
    fn reads<R: ToSchema>(self, answer: &str) -> Self;
    /// A body `B` that answers with `R` (`status`: 201 or 200).
    fn writes<B: ToSchema, R: ToSchema>(self, status: u16, answer: &str) -> Self;
    /// Creates an `R` from `B`: 201, or 422 on a field, or 409 (`conflict`).
    fn creates<B: ToSchema, R: ToSchema>(self, answer: &str, conflict: &str) -> Self;
    /// Changes an `R` by `B`: 200, or 404, 422 on a field, or 409 (`conflict`).
    fn updates<B: ToSchema, R: ToSchema>(self, answer: &str, conflict: &str) -> Self;
    /// 204, or 404.
    fn deletes(self) -> Self;
    /// 204, or 404, or 409 (`conflict`: what keeps it).
    fn deletes_unless(self, conflict: &str) -> Self;
}

impl Shapes for Endpoint {
    fn lists<R: ToSchema>(self) -> Self {
        self.paged().page::<R>().problems(&[BAD_QUERY])
    }

    fn reads<R: ToSchema>(self, answer: &str) -> Self {
        self.json::<R>(200, answer).problems(&[NOT_FOUND])
    }

    fn writes<B: ToSchema, R: ToSchema>(self, status: u16, answer: &str) -> Self {
        self.body::<B>().json::<R>(status, answer)
    }

    fn creates<B: ToSchema, R: ToSchema>(self, answer: &str, conflict: &str) -> Self {
        self.writes::<B, R>(201, answer).problems(&[INVALID, (409, conflict)])
    }

    fn updates<B: ToSchema, R: ToSchema>(self, answer: &str, conflict: &str) -> Self {
        self.writes::<B, R>(200, answer).problems(&[NOT_FOUND, INVALID, (409, conflict)])
    }

    fn deletes(self) -> Self {
        self.empty(204, "Deleted.").problems(&[NOT_FOUND])
    }

    fn deletes_unless(self, conflict: &str) -> Self {
        self.deletes().problems(&[(409, conflict)])
    }
}

/// The catalog's operations.
pub(crate) fn doc() -> OpenApi {
    fragment([
        store(get("/store/products", "Search and list active products"))
            .describe(
                "Full text in the store's language (`q`), falling back to trigram similarity for misspellings. \
                 Filters: `category` (id or handle, with descendants), `collection`, `price_min`/`price_max` \
                 (minor units), `attr.<name>` (repeat for alternatives). Sorts: `newest`, `price_asc`, \
                 `price_desc`, `title`, `relevance`. `facets=true` adds counts over the whole filtered set.",
            )
            .query("q", "Search phrase.")
            .query("category", "Category id or handle.")
            .query("collection", "Collection id or handle.")
            .query("price_min", "Lowest price, minor units.")
            .query("price_max", "Highest price, minor units.")
            .query("sort", "newest | price_asc | price_desc | title | relevance.")
            .query("facets", "`true` adds `facets`.")
            .paged()
            .json::<ProductListResponse>(200, "A page of products, with `facets` when asked.")
            .problems(&[BAD_QUERY]),
        store(get("/store/products/{id_or_handle}", "Read an active product by id or handle"))
            .reads::<ProductResponse>("The product."),
        store(get("/store/search/suggest", "Autocomplete product titles"))
            .query("q", "Prefix typed so far.")
            .query("limit", "1–20.")
            .page::<Suggestion>()
            .problems(&[BAD_QUERY]),
        store(get("/store/categories", "The category tree"))
            .describe("`items` are the roots; each has `children`.")
            .page::<CategoryNode>(),
        store(get("/store/collections", "List collections with their active products")).lists::<CollectionResponse>(),
        store(get("/store/collections/{id_or_handle}", "Read a collection by id or handle"))
            .reads::<CollectionResponse>("The collection."),
        admin(post("/admin/products", "Create a product with its variants"))
            .creates::<CreateProductRequest, ProductResponse>(
                "Created.",
                "`handle-taken` or `sku-taken`; or the plan's product quota is used up.",
            ),
        admin(get("/admin/products", "List products in every status, newest first"))
            .query("status", "active | draft | archived.")
            .lists::<ProductResponse>(),
        admin(post("/admin/products/import", "Import products in bulk"))
            .describe("One record per variant, grouped into products by handle. Bad records are reported and left out.")
            .raw_body(&["text/csv", "application/x-ndjson"], "CSV with a header row, or JSON lines.")
            .json::<ImportResponse>(200, "What was imported and which records were refused.")
            .problems(&[(415, "Neither CSV nor JSON lines."), (409, "The plan's product quota would be passed.")]),
        admin(get("/admin/products/{product_id}", "Read a product in any status"))
            .reads::<ProductResponse>("The product."),
        admin(patch("/admin/products/{product_id}", "Change a product's given fields"))
            .updates::<UpdateProductRequest, ProductResponse>("The product.", "`handle-taken`."),
        admin(delete("/admin/products/{product_id}", "Delete a product")).deletes(),
        admin(post("/admin/products/{product_id}/variants", "Add a variant"))
            .writes::<VariantIn, ProductResponse>(201, "The product with the new variant.")
            .problems(&[NOT_FOUND, INVALID, (409, "`sku-taken`.")]),
        admin(patch("/admin/products/{product_id}/variants/{variant_id}", "Change a variant's given fields"))
            .updates::<UpdateVariantRequest, ProductResponse>("The product.", "`sku-taken`."),
        admin(delete("/admin/products/{product_id}/variants/{variant_id}", "Delete a variant"))
            .deletes_unless("A product keeps at least one variant."),
        admin(post("/admin/products/{product_id}/media", "Ask for an upload URL for a product image"))
            .describe("`PUT` the bytes to `upload.url` with `upload.headers`, then call `…/complete`.")
            .writes::<CreateUploadRequest, CreateUploadResponse>(201, "The pending media and where to upload it.")
            .problems(&[NOT_FOUND, INVALID]),
        admin(delete("/admin/products/{product_id}/media/{media_id}", "Delete a product image")).deletes(),
        admin(post("/admin/products/{product_id}/media/{media_id}/complete", "Mark an upload done"))
            .json::<MediaResponse>(200, "The media, ready.")
            .problems(&[NOT_FOUND, (409, "`upload-missing`: nothing was uploaded yet.")]),
        admin(post("/admin/categories", "Create a category (a root, or a child of `parent_id`)"))
            .creates::<CreateCategoryRequest, CategoryResponse>("Created.", "`handle-taken`."),
        admin(get("/admin/categories", "List every category, flat")).page::<CategoryResponse>(),
        admin(patch("/admin/categories/{category_id}", "Rename, re-handle or move a category"))
            .updates::<UpdateCategoryRequest, CategoryResponse>("The category.", "`handle-taken`."),
        admin(delete("/admin/categories/{category_id}", "Delete a category without children"))
            .deletes_unless("The category has children."),
        admin(post("/admin/collections", "Create a collection"))
            .creates::<CollectionRequest, CollectionResponse>("Created.", "`handle-taken`."),
        admin(get("/admin/collections", "List collections")).lists::<CollectionResponse>(),
        admin(get("/admin/collections/{collection_id}", "Read a collection with products in any status"))
            .reads::<CollectionResponse>("The collection."),
        admin(put("/admin/collections/{collection_id}", "Replace a collection's fields (and products when given)"))
            .updates::<CollectionRequest, CollectionResponse>("The collection.", "`handle-taken`."),
        admin(delete("/admin/collections/{collection_id}", "Delete a collection")).deletes(),
        put("/media/uploads/{token}", "Upload bytes to the local media backend")
            .tag("media")
            .describe("The signed token in the URL is the credential; headers must match what was signed.")
            .raw_body(&["image/*"], "The image bytes, of the signed type and size.")
            .empty(200, "Stored; the media is ready.")
            .problems(&[(400, "`upload-mismatch`: type or size differ."), (403, "`bad-upload-token`.")]),
        get("/media/{*key}", "Read a stored object of this store (local media backend)")
            .tag("media")
            .describe("`key` may contain `/`; it always starts with the store's id.")
            .other(200, "The bytes, with their content type.", "application/octet-stream")
            .problems(&[NOT_FOUND]),
    ])
}
