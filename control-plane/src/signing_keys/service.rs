//! Rotation: on request, from the CLI and on a schedule.

use std::time::Duration;

use chrono::Utc;

use super::{
    model::{Audience, Rotation, SigningKey},
    repo, SigningKeysState,
};
use crate::audit::{self, Action, Actor, Entry};

/// Added to an audience's access-token lifetime before a rotated key retires:
/// covers other processes still signing with it until their next reload
/// ([`platform::auth::SIGNER_RELOAD_INTERVAL`]) and verifiers' clock leeway.
pub const RETIREMENT_MARGIN: Duration = Duration::from_secs(5 * 60);

/// How often the schedule looks for keys older than `SIGNING_KEY_ROTATE_DAYS`.
pub const SCHEDULE_INTERVAL: Duration = Duration::from_secs(3600);

/// Every key, newest first; never a private half.
pub async fn list(state: &SigningKeysState) -> anyhow::Result<Vec<SigningKey>> {
    Ok(repo::list(state.db.control()).await?)
}

/// Rotates each of `audiences` now, auditing each rotation as `actor`, and
/// makes this process sign and verify with the result at once (other
/// processes follow within their reload intervals).
pub async fn rotate(state: &SigningKeysState, audiences: &[Audience], actor: &Actor) -> anyhow::Result<Vec<Rotation>> {
    let mut tx = state.db.control().begin().await?;
    repo::lock(&mut tx).await?;
    let mut rotations = Vec::new();
    for &audience in audiences {
        rotations.push(rotate_one(&mut tx, state, audience, actor).await?);
    }
    tx.commit().await?;
    pick_up(state).await;
    Ok(rotations)
}

/// Rotates every audience whose signing key is older than
/// `SIGNING_KEY_ROTATE_DAYS` (0: never), as `system`. Safe with several
/// replicas: the check runs under the signing-key lock, so the second replica
/// sees the key the first created and does nothing.
pub async fn rotate_due(state: &SigningKeysState) -> anyhow::Result<Vec<Rotation>> {
    let days = state.control.signing_key_rotate_days;
    if days == 0 {
        return Ok(Vec::new());
    }
    let due_before = Utc::now() - chrono::Duration::days(i64::try_from(days)?);
    let actor = Actor::unauthenticated("system", None);
    let mut tx = state.db.control().begin().await?;
    repo::lock(&mut tx).await?;
    let mut rotations = Vec::new();
    for audience in Audience::ALL {
        // No key yet: its signer creates the first one when it starts.
        if repo::newest_created_at(&mut tx, audience).await?.is_some_and(|created| created < due_before) {
            rotations.push(rotate_one(&mut tx, state, audience, &actor).await?);
        }
    }
    tx.commit().await?;
    if !rotations.is_empty() {
        pick_up(state).await;
    }
    Ok(rotations)
}

/// Runs [`rotate_due`] now and every [`SCHEDULE_INTERVAL`] until the control pool closes.
pub fn spawn_schedule(state: SigningKeysState) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(SCHEDULE_INTERVAL);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            if state.db.control().is_closed() {
                return;
            }
            match rotate_due(&state).await {
                Ok(rotations) => {
                    for rotation in rotations {
                        tracing::info!(
                            audience = rotation.audience.as_str(),
                            kid = rotation.kid,
                            "rotated a signing key"
                        );
                    }
                }
                Err(e) => tracing::warn!(error = %format!("{e:#}"), "cannot check the signing keys' age"),
            }
        }
    });
}

async fn rotate_one(
    conn: &mut sqlx::PgConnection,
    state: &SigningKeysState,
    audience: Audience,
    actor: &Actor,
) -> anyhow::Result<Rotation> {
    let retire_at = Utc::now() + chrono::Duration::from_std(retirement_delay(state, audience))?;
    let (kid, retiring) = repo::rotate(conn, &state.master, audience, retire_at).await?;
    audit::record(
        conn,
        Entry {
            actor: actor.name.clone(),
            actor_id: actor.account_id,
            tenant_id: None,
            action: Action::SigningKeyRotate,
            before: Some(serde_json::json!({ "audience": audience.as_str(), "kids": retiring })),
            after: Some(serde_json::json!({
                "audience": audience.as_str(), "kid": kid, "previous_retire_at": crate::wire::rfc3339(retire_at),
            })),
            request_id: actor.request_id.clone(),
        },
    )
    .await?;
    Ok(Rotation { audience, kid, retiring, retire_at })
}

/// How long a rotated key of `audience` keeps verifying: the lifetime of the
/// access tokens it signed, plus [`RETIREMENT_MARGIN`].
fn retirement_delay(state: &SigningKeysState, audience: Audience) -> Duration {
    let lifetime = match audience {
        Audience::Platform => state.control.access_token_ttl_secs,
        Audience::Storefront => state.control.customer_access_token_ttl_secs,
    };
    Duration::from_secs(lifetime) + RETIREMENT_MARGIN
}

/// This process signs with the new staff key and knows the new keys now.
async fn pick_up(state: &SigningKeysState) {
    if let Err(e) = state.signer.reload().await {
        tracing::warn!(error = %format!("{e:#}"), "cannot reload the signing key after a rotation");
    }
    if let Err(e) = state.keys.refresh().await {
        tracing::warn!(error = %e, "cannot refresh the key ring after a rotation");
    }
}
