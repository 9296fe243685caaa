//! A local fleet for the fleet example, bench and tests: N local workspaces (one listener each), an
//! auditing service principal that is admin of each (not of the `NotAdmin` ones), seeded tokens, and
//! workspaces unhealthy on purpose.
//!
//! A stand-in for the local account (one listener serving the account API and every workspace): swapping
//! it in means building the members from `AccountClient`'s workspace list instead of [`LocalFleet::members`].
#![allow(dead_code)] // each user of this file uses part of it

use std::time::{Duration, SystemTime};

use databricks_tokens::clock::{BoxFuture, Clock};
use databricks_tokens::fleet::{Fleet, Member};
use databricks_tokens::local::{Fault, LocalWorkspace, Route};
use databricks_tokens::{RetryPolicy, SecretString, WorkspaceClient};
use futures::StreamExt;

/// The auditing service principal (an account admin, so admin of every workspace).
pub const AUDITOR: &str = "fleet-auditor";
/// Its secret.
pub const AUDITOR_SECRET: &str = "auditor-secret-0b9c";
/// How many scripted faults stand for "forever".
const FOREVER: usize = 5_000;

/// How a local workspace behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Health {
    /// Answers.
    Healthy,
    /// The auditor is not an admin there: Token Management answers 403.
    NotAdmin,
    /// 503 on every list.
    Unavailable,
    /// The connection is reset on every list.
    Reset,
    /// Answers after this long.
    Slow(Duration),
    /// 429 with `Retry-After: 1` on every list.
    Storm,
    /// Not `RUNNING` (provisioning): the default filter skips it.
    NotRunning,
}

impl Health {
    /// A short label.
    pub fn label(self) -> &'static str {
        match self {
            Health::Healthy => "healthy",
            Health::NotAdmin => "not admin",
            Health::Unavailable => "503 forever",
            Health::Reset => "reset",
            Health::Slow(_) => "slow",
            Health::Storm => "429 storm",
            Health::NotRunning => "provisioning",
        }
    }
}

/// A clock ahead of the system's by a fixed offset: the auditor's clock when the workspaces' clocks were
/// moved on (token ages, last use).
#[derive(Debug, Clone, Copy, Default)]
pub struct Ahead(pub Duration);

impl Clock for Ahead {
    fn now(&self) -> std::time::Instant {
        tokio::time::Instant::now().into_std()
    }
    fn system_now(&self) -> SystemTime {
        SystemTime::now() + self.0
    }
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// One local workspace of the fleet.
#[derive(Debug)]
pub struct LocalMember {
    pub id: i64,
    pub name: String,
    pub health: Health,
    pub ws: LocalWorkspace,
    /// The value of one token of alice's (to use it: its last use moves).
    pub alice_token: Option<SecretString>,
}

impl LocalMember {
    /// The account's status of it.
    pub fn status(&self) -> &'static str {
        if self.health == Health::NotRunning { "PROVISIONING" } else { "RUNNING" }
    }
}

/// The fleet.
#[derive(Debug)]
pub struct LocalFleet {
    pub members: Vec<LocalMember>,
    /// How far the workspaces' clocks were moved on.
    pub ahead: Duration,
}

const DAY: Duration = Duration::from_secs(24 * 3600);

/// Starts one workspace per entry of `healths`, each with `tokens` tokens of alice and bob (alice's live
/// 400 days, bob's 60), seeding `seed_concurrency` workspaces at a time.
pub async fn start(healths: &[Health], tokens: usize, seed_concurrency: usize) -> std::io::Result<LocalFleet> {
    let started = futures::stream::iter(healths.iter().copied().enumerate())
        .map(|(i, health)| async move { start_one(i, health, tokens).await })
        .buffered(seed_concurrency.max(1))
        .collect::<Vec<_>>()
        .await;
    let members = started.into_iter().collect::<std::io::Result<Vec<_>>>()?;
    Ok(LocalFleet { members, ahead: Duration::ZERO })
}

async fn start_one(i: usize, health: Health, tokens: usize) -> std::io::Result<LocalMember> {
    let mut builder =
        LocalWorkspace::builder().user("alice@example.com", format!("dapi-alice-{i}")).user("bob@example.com", format!("dapi-bob-{i}"));
    builder = if health == Health::NotAdmin {
        builder.service_principal(AUDITOR, AUDITOR_SECRET)
    } else {
        builder.admin_service_principal(AUDITOR, AUDITOR_SECRET)
    };
    let ws = builder.start().await?;
    let user = |token: String| WorkspaceClient::builder().host(ws.url()).token(token).build().map_err(std::io::Error::other);
    let (alice, bob) = (user(format!("dapi-alice-{i}"))?, user(format!("dapi-bob-{i}"))?);
    let mut alice_token = None;
    for n in 0..tokens {
        let created = if n % 2 == 0 {
            alice.tokens().create().comment(format!("alice: notebook {n}")).lifetime(400 * DAY).send().await
        } else {
            bob.tokens().create().comment(format!("bob: dashboard {n}")).lifetime(60 * DAY).send().await
        };
        let created = created.map_err(std::io::Error::other)?;
        if n == 0 {
            alice_token = Some(created.token_value().clone());
        }
    }
    let list = Route::ManagementList;
    match health {
        Health::Healthy | Health::NotAdmin | Health::NotRunning => {}
        Health::Unavailable => ws.inject(list, std::iter::repeat_n(Fault::Unavailable, FOREVER)),
        Health::Reset => ws.inject(list, std::iter::repeat_n(Fault::ResetBeforeProcessing, FOREVER)),
        Health::Slow(d) => ws.inject(list, std::iter::repeat_n(Fault::Delay(d), 64)),
        Health::Storm => ws.inject(list, std::iter::repeat_n(Fault::TooManyRequests { retry_after_seconds: 1 }, FOREVER)),
    }
    Ok(LocalMember { id: 1_000_000 + i as i64, name: format!("ws-{i:04}"), health, ws, alice_token })
}

impl LocalFleet {
    /// Moves every workspace's clock on (the auditor's clock follows, see [`LocalFleet::members`]).
    pub fn advance(&mut self, by: Duration) {
        for m in &self.members {
            m.ws.advance_clock(by);
        }
        self.ahead += by;
    }

    /// The members of a run, their clients built lazily (as the run takes them) as the auditor, sharing
    /// the run's limits.
    pub fn members(&self, fleet: &Fleet, retry: RetryPolicy) -> impl ExactSizeIterator<Item = Member> + Send + 'static {
        let (ahead, limits) = (self.ahead, fleet.limits().clone());
        let listed: Vec<(i64, String, &'static str, String)> =
            self.members.iter().map(|m| (m.id, m.name.clone(), m.status(), m.ws.url())).collect();
        listed.into_iter().map(move |(id, name, status, url)| {
            let client = WorkspaceClient::builder()
                .host(url)
                .oauth_m2m(AUDITOR, AUDITOR_SECRET)
                .retry_policy(retry.clone())
                .clock(Ahead(ahead))
                .shared_limits(&limits)
                .build();
            match client {
                Ok(c) => Member::new(id, name, c).with_status(status),
                Err(e) => Member::unreachable(id, name, e),
            }
        })
    }

    /// Requests a route received, over the whole fleet.
    pub fn received(&self, route: Route) -> u64 {
        self.members.iter().map(|m| m.ws.counters(route).received).sum()
    }
}
