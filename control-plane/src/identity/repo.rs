//! Identity SQL (control schema).

use chrono::{DateTime, Utc};
use platform::{auth::Role, ids::TenantId};
use sqlx::PgConnection;
use uuid::Uuid;

use super::model::{Account, AccountId, Member, PlatformToken, PlatformTokenId, TokenFamilyId};

type AccountRow = (Uuid, String, Option<String>, bool);

const ACCOUNT_COLUMNS: &str = "account_id, email, password_hash, is_platform_admin";

fn account((id, email, password_hash, is_platform_admin): AccountRow) -> Account {
    Account { id: AccountId::from_uuid(id), email, password_hash, is_platform_admin }
}

/// A role as stored; one this build does not know is an error, not a guess.
fn role(name: &str) -> anyhow::Result<Role> {
    Role::parse(name).ok_or_else(|| anyhow::anyhow!("stored role {name} is unknown"))
}

/// The account with this email (case-insensitive).
pub async fn find_account_by_email(conn: &mut PgConnection, email: &str) -> sqlx::Result<Option<Account>> {
    let sql = format!("select {ACCOUNT_COLUMNS} from control.account where lower(email) = lower($1)");
    Ok(sqlx::query_as::<_, AccountRow>(&sql).bind(email).fetch_optional(conn).await?.map(account))
}

/// The account bound to an OIDC identity.
pub async fn find_account_by_oidc(
    conn: &mut PgConnection,
    issuer: &str,
    subject: &str,
) -> sqlx::Result<Option<Account>> {
    let sql = format!("select {ACCOUNT_COLUMNS} from control.account where oidc_issuer = $1 and oidc_subject = $2");
    Ok(sqlx::query_as::<_, AccountRow>(&sql).bind(issuer).bind(subject).fetch_optional(conn).await?.map(account))
}

/// Inserts an account; `None` when the email is taken.
pub async fn insert_account(
    conn: &mut PgConnection,
    email: &str,
    password_hash: Option<&str>,
    is_platform_admin: bool,
) -> sqlx::Result<Option<Account>> {
    let row: Option<AccountRow> = sqlx::query_as(&format!(
        "insert into control.account ({ACCOUNT_COLUMNS}) values ($1, $2, $3, $4) \
         on conflict do nothing returning {ACCOUNT_COLUMNS}"
    ))
    .bind(AccountId::new())
    .bind(email)
    .bind(password_hash)
    .bind(is_platform_admin)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(account))
}

/// Binds a new account to its OIDC identity.
pub async fn bind_oidc(conn: &mut PgConnection, account: AccountId, issuer: &str, subject: &str) -> sqlx::Result<()> {
    sqlx::query(
        "update control.account set oidc_issuer = $2, oidc_subject = $3, updated_at = now() \
         where account_id = $1",
    )
    .bind(account)
    .bind(issuer)
    .bind(subject)
    .execute(conn)
    .await?;
    Ok(())
}

/// The account's role in each store, owner first.
pub async fn memberships(conn: &mut PgConnection, account: AccountId) -> anyhow::Result<Vec<(TenantId, Role)>> {
    let rows: Vec<(Uuid, String)> = sqlx::query_as(
        "select m.tenant_id, m.role from control.membership m join control.tenant t using (tenant_id) \
         where m.account_id = $1 and t.status in ('active', 'suspended') \
         order by case m.role when 'owner' then 0 when 'admin' then 1 else 2 end, m.tenant_id",
    )
    .bind(account)
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(|(t, r)| Ok((TenantId::from_uuid(t), role(&r)?))).collect()
}

/// Adds (or changes) a membership.
pub async fn upsert_membership(
    conn: &mut PgConnection,
    tenant: TenantId,
    account: AccountId,
    role: Role,
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into control.membership (tenant_id, account_id, role) values ($1, $2, $3) \
         on conflict (tenant_id, account_id) do update set role = excluded.role",
    )
    .bind(tenant)
    .bind(account)
    .bind(role.as_str())
    .execute(conn)
    .await?;
    Ok(())
}

/// Adds a membership; `false` when the account is already a member (whatever its role).
pub async fn insert_membership(
    conn: &mut PgConnection,
    tenant: TenantId,
    account: AccountId,
    role: Role,
) -> sqlx::Result<bool> {
    let inserted = sqlx::query(
        "insert into control.membership (tenant_id, account_id, role) values ($1, $2, $3) on conflict do nothing",
    )
    .bind(tenant)
    .bind(account)
    .bind(role.as_str())
    .execute(conn)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

type MemberRow = (Uuid, String, String, DateTime<Utc>);

fn member_of((account, email, role_name, created_at): MemberRow) -> anyhow::Result<Member> {
    Ok(Member { account_id: AccountId::from_uuid(account), email, role: role(&role_name)?, created_at })
}

const MEMBER_COLUMNS: &str = "m.account_id, a.email, m.role, m.created_at";

/// A page of a store's members, newest account first.
pub async fn members(
    conn: &mut PgConnection,
    tenant: TenantId,
    after: Option<AccountId>,
    limit: i64,
) -> anyhow::Result<Vec<Member>> {
    let rows: Vec<MemberRow> = sqlx::query_as(&format!(
        "select {MEMBER_COLUMNS} from control.membership m join control.account a using (account_id) \
         where m.tenant_id = $1 and ($2::uuid is null or m.account_id < $2) \
         order by m.account_id desc limit $3"
    ))
    .bind(tenant)
    .bind(after)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(member_of).collect()
}

/// One member of a store.
pub async fn member(conn: &mut PgConnection, tenant: TenantId, account: AccountId) -> anyhow::Result<Option<Member>> {
    let row: Option<MemberRow> = sqlx::query_as(&format!(
        "select {MEMBER_COLUMNS} from control.membership m join control.account a using (account_id) \
         where m.tenant_id = $1 and m.account_id = $2"
    ))
    .bind(tenant)
    .bind(account)
    .fetch_optional(conn)
    .await?;
    row.map(member_of).transpose()
}

/// How many members a store has, and how many of them are owners.
pub async fn member_counts(conn: &mut PgConnection, tenant: TenantId) -> sqlx::Result<(i64, i64)> {
    sqlx::query_as(
        "select count(*), count(*) filter (where role = 'owner') from control.membership where tenant_id = $1",
    )
    .bind(tenant)
    .fetch_one(conn)
    .await
}

/// Removes a membership; `false` when there was none.
pub async fn delete_membership(conn: &mut PgConnection, tenant: TenantId, account: AccountId) -> sqlx::Result<bool> {
    let deleted = sqlx::query("delete from control.membership where tenant_id = $1 and account_id = $2")
        .bind(tenant)
        .bind(account)
        .execute(conn)
        .await?
        .rows_affected();
    Ok(deleted == 1)
}

/// Revokes every live refresh token an account holds for a store.
pub async fn revoke_store_refresh_tokens(
    conn: &mut PgConnection,
    tenant: TenantId,
    account: AccountId,
) -> sqlx::Result<()> {
    sqlx::query(
        "update control.refresh_token set revoked_at = now() \
         where tenant_id = $1 and account_id = $2 and revoked_at is null",
    )
    .bind(tenant)
    .bind(account)
    .execute(conn)
    .await?;
    Ok(())
}

/// A refresh token to store: its hash, never the token.
pub struct NewRefreshToken<'a> {
    pub hash: &'a [u8],
    pub family: TokenFamilyId,
    pub account: AccountId,
    pub tenant: Option<TenantId>,
    pub role: Role,
    pub expires_at: DateTime<Utc>,
}

pub async fn insert_refresh_token(conn: &mut PgConnection, token: NewRefreshToken<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "insert into control.refresh_token (token_hash, family_id, account_id, tenant_id, role, expires_at) \
         values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(token.hash)
    .bind(token.family)
    .bind(token.account)
    .bind(token.tenant)
    .bind(token.role.as_str())
    .bind(token.expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// A refresh token as stored.
pub struct RefreshRow {
    pub family_id: TokenFamilyId,
    pub account_id: AccountId,
    pub tenant_id: Option<TenantId>,
    pub expired: bool,
    pub revoked: bool,
    /// Whether this call marked it used (false: it had been used before).
    pub first_use: bool,
}

/// Marks a refresh token used, atomically, and returns what it was.
pub async fn use_refresh_token(conn: &mut PgConnection, hash: &[u8]) -> sqlx::Result<Option<RefreshRow>> {
    // The update only matches an unused token, so two concurrent uses cannot both win.
    let row: Option<(Uuid, Uuid, Option<Uuid>, bool, bool, bool)> = sqlx::query_as(
        "with used as ( \
             update control.refresh_token set used_at = now() \
             where token_hash = $1 and used_at is null returning token_hash) \
         select family_id, account_id, tenant_id, expires_at < now(), revoked_at is not null, \
                exists(select 1 from used) \
         from control.refresh_token where token_hash = $1",
    )
    .bind(hash)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|(family, account, tenant, expired, revoked, first_use)| RefreshRow {
        family_id: TokenFamilyId::from_uuid(family),
        account_id: AccountId::from_uuid(account),
        tenant_id: tenant.map(TenantId::from_uuid),
        expired,
        revoked,
        first_use,
    }))
}

/// Revokes every token of a family (a used token came back: assume theft).
pub async fn revoke_family(conn: &mut PgConnection, family: TokenFamilyId) -> sqlx::Result<()> {
    sqlx::query("update control.refresh_token set revoked_at = now() where family_id = $1 and revoked_at is null")
        .bind(family)
        .execute(conn)
        .await?;
    Ok(())
}

/// The current role of an account in a store, if it is still a member.
pub async fn membership_role(
    conn: &mut PgConnection,
    tenant: TenantId,
    account: AccountId,
) -> anyhow::Result<Option<Role>> {
    let name: Option<String> =
        sqlx::query_scalar("select role from control.membership where tenant_id = $1 and account_id = $2")
            .bind(tenant)
            .bind(account)
            .fetch_optional(conn)
            .await?;
    name.as_deref().map(role).transpose()
}

/// Whether the account is (still) a platform admin.
pub async fn is_platform_admin(conn: &mut PgConnection, account: AccountId) -> sqlx::Result<bool> {
    Ok(sqlx::query_scalar::<_, bool>("select is_platform_admin from control.account where account_id = $1")
        .bind(account)
        .fetch_optional(conn)
        .await?
        .unwrap_or(false))
}

type PlatformTokenRow = (Uuid, String, String, Uuid, DateTime<Utc>, Option<DateTime<Utc>>, Option<DateTime<Utc>>);

const PLATFORM_TOKEN_COLUMNS: &str = "platform_token_id, name, prefix, created_by, created_at, expires_at, revoked_at";

fn platform_token(
    (id, name, prefix, created_by, created_at, expires_at, revoked_at): PlatformTokenRow,
) -> PlatformToken {
    PlatformToken {
        id: PlatformTokenId::from_uuid(id),
        name,
        prefix,
        created_by: AccountId::from_uuid(created_by),
        created_at,
        expires_at,
        revoked_at,
    }
}

/// Stores a new platform token's hash.
pub async fn insert_platform_token(
    conn: &mut PgConnection,
    name: &str,
    prefix: &str,
    hash: &[u8],
    account: AccountId,
    expires_at: Option<DateTime<Utc>>,
) -> sqlx::Result<PlatformToken> {
    let row: PlatformTokenRow = sqlx::query_as(&format!(
        "insert into control.platform_token (platform_token_id, name, prefix, token_hash, created_by, expires_at) \
         values ($1, $2, $3, $4, $5, $6) returning {PLATFORM_TOKEN_COLUMNS}"
    ))
    .bind(PlatformTokenId::new())
    .bind(name)
    .bind(prefix)
    .bind(hash)
    .bind(account)
    .bind(expires_at)
    .fetch_one(conn)
    .await?;
    Ok(platform_token(row))
}

/// Every platform token, newest first.
pub async fn list_platform_tokens(conn: &mut PgConnection) -> sqlx::Result<Vec<PlatformToken>> {
    let sql = format!("select {PLATFORM_TOKEN_COLUMNS} from control.platform_token order by platform_token_id desc");
    Ok(sqlx::query_as::<_, PlatformTokenRow>(&sql).fetch_all(conn).await?.into_iter().map(platform_token).collect())
}

/// Marks a token revoked (keeping an earlier revocation's time).
pub async fn revoke_platform_token(
    conn: &mut PgConnection,
    id: PlatformTokenId,
) -> sqlx::Result<Option<PlatformToken>> {
    let sql = format!(
        "update control.platform_token set revoked_at = coalesce(revoked_at, now()) \
         where platform_token_id = $1 returning {PLATFORM_TOKEN_COLUMNS}"
    );
    Ok(sqlx::query_as::<_, PlatformTokenRow>(&sql).bind(id).fetch_optional(conn).await?.map(platform_token))
}

/// The token and the account it acts as, if the hash names a token that is
/// neither revoked nor expired and whose minter is still a platform admin.
pub async fn find_live_platform_token(
    conn: &mut PgConnection,
    hash: &[u8],
) -> sqlx::Result<Option<(PlatformTokenId, AccountId)>> {
    let row: Option<(Uuid, Uuid)> = sqlx::query_as(
        "select t.platform_token_id, t.created_by from control.platform_token t \
         join control.account a on a.account_id = t.created_by \
         where t.token_hash = $1 and t.revoked_at is null and (t.expires_at is null or t.expires_at > now()) \
           and a.is_platform_admin",
    )
    .bind(hash)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|(id, account)| (PlatformTokenId::from_uuid(id), AccountId::from_uuid(account))))
}
