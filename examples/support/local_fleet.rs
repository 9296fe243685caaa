//! A local fleet for the fleet example, bench and tests: a [`LocalAccount`] (one listener serving the
//! account API and every workspace under `/ws/<deployment name>`) whose service principal, the auditor,
//! is an account admin and so an admin of each workspace (not of the `NotAdmin` ones), with alice's and
//! bob's tokens seeded through the API, and workspaces unhealthy on purpose (the local account's health
//! modes). The run's members come from the account's workspace list: [`LocalFleet::members`].
#![allow(dead_code)] // each user of this file uses part of it

use std::time::{Duration, SystemTime};

use databricks_tokens::clock::Clock;
use databricks_tokens::fleet::{AccountMembers, Fleet};
use databricks_tokens::local::{self, Fault, LocalAccount, LocalWorkspace, Route};
use databricks_tokens::{AccountClient, RetryPolicy, SecretString, WorkspaceClient};
use futures::StreamExt;
use futures::future::BoxFuture;

/// The auditing service principal (an account admin, so admin of every workspace).
pub const AUDITOR: &str = "fleet-auditor";
/// Its secret.
pub const AUDITOR_SECRET: &str = "auditor-secret-0b9c";
/// How many scripted faults stand for "forever".
pub const FOREVER: usize = 5_000;

/// How a workspace of the local account behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Health {
    /// Answers.
    Healthy,
    /// The auditor is not an admin there: Token Management answers 403.
    NotAdmin,
    /// 503 to every Token Management list (its token endpoint answers).
    Unavailable,
    /// The connection is reset on every Token Management list (its token endpoint answers).
    Reset,
    /// Every request waits this long.
    Slow(Duration),
    /// 429 with `Retry-After: 1` to every request.
    Throttled,
    /// Personal access tokens disabled: Token Management answers 403 `FEATURE_DISABLED`.
    PatsDisabled,
    /// Reachable through private link only: every request is redirected to the login page.
    PrivateLink,
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
            Health::Throttled => "429 forever",
            Health::PatsDisabled => "PATs disabled",
            Health::PrivateLink => "private link only",
            Health::NotRunning => "provisioning",
        }
    }

    /// The local account's health mode, set once the tokens are seeded.
    fn mode(self) -> local::Health {
        match self {
            Health::Healthy | Health::NotAdmin | Health::NotRunning | Health::Unavailable | Health::Reset => local::Health::Healthy,
            Health::Slow(d) => local::Health::Slow(d),
            Health::Throttled => local::Health::Throttled { retry_after_seconds: 1 },
            Health::PatsDisabled => local::Health::PatsDisabled,
            Health::PrivateLink => local::Health::PrivateLinkOnly,
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

/// The local account and what was seeded.
#[derive(Debug)]
pub struct LocalFleet {
    pub account: LocalAccount,
    /// Each workspace's health, by index.
    pub healths: Vec<Health>,
    /// The value of one token of alice's per workspace (to use it: its last use moves).
    pub alice_tokens: Vec<Option<SecretString>>,
    /// How far the workspaces' clocks were moved on.
    pub ahead: Duration,
}

const DAY: Duration = Duration::from_secs(24 * 3600);

/// Starts a local account of one workspace per entry of `healths` (named `ws-0000`, ...), each with
/// `tokens` tokens of alice and bob (alice's live 400 days, bob's 60) created through the API,
/// `seed_concurrency` workspaces at a time; then sets each workspace's health.
pub async fn start(healths: &[Health], tokens: usize, seed_concurrency: usize) -> std::io::Result<LocalFleet> {
    let plan = healths.to_vec();
    let account = LocalAccount::builder()
        .service_principal(AUDITOR, AUDITOR_SECRET)
        .workspaces(healths.len())
        .customize(move |i, ws| {
            let ws = ws
                .workspace_name(format!("ws-{i:04}"))
                .configure(|b| b.user("alice@example.com", format!("dapi-alice-{i}")).user("bob@example.com", format!("dapi-bob-{i}")));
            match plan[i] {
                Health::NotAdmin => ws.not_admin(),
                Health::NotRunning => ws.status("PROVISIONING"),
                _ => ws,
            }
        })
        .start()
        .await?;
    let seeded = futures::stream::iter(0..healths.len())
        .map(|i| seed(account.workspace(i).expect("started"), i, tokens))
        .buffered(seed_concurrency.max(1))
        .collect::<Vec<_>>()
        .await;
    let alice_tokens = seeded.into_iter().collect::<std::io::Result<Vec<_>>>()?;
    for (i, health) in healths.iter().enumerate() {
        account.set_health(i, health.mode());
        let ws = account.workspace(i).expect("started");
        // Scripted on Token Management's list only, so that the tests count the list's attempts exactly
        // (the local account's Health::Unavailable fails the OAuth endpoints too).
        match health {
            Health::Unavailable => ws.inject(Route::ManagementList, std::iter::repeat_n(Fault::Unavailable, FOREVER)),
            Health::Reset => ws.inject(Route::ManagementList, std::iter::repeat_n(Fault::ResetBeforeProcessing, FOREVER)),
            _ => {}
        }
    }
    Ok(LocalFleet { account, healths: healths.to_vec(), alice_tokens, ahead: Duration::ZERO })
}

/// Creates alice's and bob's tokens in one workspace; gives alice's first.
async fn seed(ws: &LocalWorkspace, i: usize, tokens: usize) -> std::io::Result<Option<SecretString>> {
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
    Ok(alice_token)
}

impl LocalFleet {
    /// Moves every workspace's clock on (the auditor's clock follows, see [`LocalFleet::client`]).
    pub fn advance(&mut self, by: Duration) {
        self.account.advance_clock(by);
        self.ahead += by;
    }

    /// The workspace of this index.
    pub fn ws(&self, index: usize) -> &LocalWorkspace {
        self.account.workspace(index).expect("a workspace of the fleet")
    }

    /// The auditor's account client (OAuth M2M against the account's token endpoint), with `retry` and a
    /// clock that follows [`LocalFleet::advance`].
    pub fn client(&self, retry: RetryPolicy) -> AccountClient {
        self.account.client_builder().retry_policy(retry).clock(Ahead(self.ahead)).build().expect("the local account's client")
    }

    /// The members of a run: the account's workspaces as the auditor lists them, each client built as the
    /// run takes it, sharing the run's limits.
    pub async fn members(&self, fleet: &Fleet, retry: RetryPolicy) -> AccountMembers {
        fleet.account_members(&self.client(retry)).await.expect("the local account lists its workspaces")
    }

    /// Requests a route received, over every workspace.
    pub fn received(&self, route: Route) -> u64 {
        (0..self.account.len()).map(|i| self.ws(i).counters(route).received).sum()
    }
}
