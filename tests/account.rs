//! The account client against a local account over real HTTP on loopback: discovery of workspaces,
//! credentials per workspace host, unhealthy workspaces failing alone, and secrets never printed.

mod common;

use std::time::Duration;

use common::FakeClock;
use databricks_tokens::account::{Workspace, WorkspaceStatus};
use databricks_tokens::config::Config;
use databricks_tokens::local::{Fault, Health, LocalAccount, Route};
use databricks_tokens::{AccountClient, ErrorKind, RetryPolicy};

const SECRET: &str = "fleet-sp-secret-0123456789";

fn statuses(i: usize) -> &'static str {
    match i % 4 {
        1 => "PROVISIONING",
        3 => "FAILED",
        _ => "RUNNING",
    }
}

#[tokio::test]
async fn lists_and_gets_the_accounts_workspaces_with_an_account_token() {
    let account = LocalAccount::builder()
        .service_principal("fleet-sp", SECRET)
        .workspaces(8)
        .customize(|i, ws| ws.status(statuses(i)))
        .start()
        .await
        .unwrap();
    let a = account.client().unwrap();
    assert_eq!(a.auth_type(), "oauth-m2m");

    let all = a.workspaces().list().send().await.unwrap();
    assert_eq!(all.len(), 8, "every workspace, whatever its status");
    let ids: Vec<i64> = all.iter().map(|w| i64::from(w.workspace_id)).collect();
    assert_eq!(ids, (0..8).map(|i| account.workspace_id(i).unwrap()).collect::<Vec<_>>());
    let running: Vec<&Workspace> = all.iter().filter(|w| w.is_running()).collect();
    assert_eq!(running.len(), 4);
    assert_eq!(all[1].workspace_status, Some(WorkspaceStatus::Provisioning));
    assert_eq!(all[3].workspace_status, Some(WorkspaceStatus::Failed));
    assert_eq!(all[2].deployment_name.as_deref(), Some("ws-2"));
    assert_eq!(all[2].aws_region.as_deref(), Some("us-west-2"));

    let one = a.workspaces().get(account.workspace_id(5).unwrap()).send().await.unwrap();
    assert_eq!(one, all[5]);
    let missing = a.workspaces().get(42).send().await.unwrap_err();
    assert!(missing.is_not_found(), "{missing}");

    // One account token for the three calls.
    assert_eq!(account.token_requests(), 1);
}

#[tokio::test]
async fn a_credential_the_account_did_not_issue_is_refused() {
    let account = LocalAccount::builder().workspaces(1).start().await.unwrap();
    // The workspace's own bootstrap token is no account credential.
    let ws_token = account.workspace(0).unwrap().bootstrap_token().clone();
    let response = reqwest::Client::new()
        .get(format!("{}/api/2.0/accounts/{}/workspaces", account.url(), account.account_id()))
        .bearer_auth(ws_token.expose())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);

    // Another account id.
    let other = account.client_builder().account_id("someone-elses").build().unwrap();
    let err = other.workspaces().list().send().await.unwrap_err();
    assert!(err.is_not_found() || err.kind() == ErrorKind::Auth, "{err}");

    // A wrong secret: an auth error that never quotes the secret.
    let wrong = account.client_builder().oauth_m2m("account-admin-sp", "not-the-secret-987").build().unwrap();
    let err = wrong.workspaces().list().send().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth, "{err}");
    assert!(!format!("{err} {err:?}").contains("not-the-secret-987"));
}

#[tokio::test]
async fn workspace_clients_get_one_token_per_workspace_and_reuse_it() {
    let account = LocalAccount::builder().workspaces(4).tokens_per_workspace(3).start().await.unwrap();
    let a = account.client().unwrap();
    let workspaces = a.workspaces().list().send().await.unwrap();
    for (i, workspace) in workspaces.iter().enumerate() {
        let w = a.workspace_client(workspace).unwrap();
        assert_eq!(w.host(), format!("{}/ws/ws-{i}", account.url()));
        for _ in 0..3 {
            let tokens = w.token_management().list().send().await.unwrap();
            assert_eq!(tokens.len(), 3);
            assert!(tokens.iter().all(|t| t.comment.as_deref().is_some_and(|c| c.starts_with("seeded-"))));
            let id = account.workspace_id(i).unwrap();
            assert!(tokens.iter().all(|t| t.workspace_id.map(i64::from) == Some(id)), "each token names its own workspace");
        }
        let ws = account.workspace(i).unwrap();
        assert_eq!(ws.counters(Route::OAuthToken).processed, 1, "one token request for workspace {i}, reused");
        assert_eq!(ws.counters(Route::ManagementList).processed, 3);
    }
    // The account's token was not sent to the workspaces: each asked its own endpoint.
    assert_eq!(account.token_requests(), 1);
}

#[tokio::test]
async fn an_expired_workspace_token_is_refreshed() {
    let clock = FakeClock::default();
    let account = LocalAccount::builder().workspaces(1).access_token_lifetime(Duration::from_secs(600)).start().await.unwrap();
    let a = account.client_builder().clock(clock.clone()).build().unwrap();
    let workspace = a.workspaces().get(account.workspace_id(0).unwrap()).send().await.unwrap();
    let w = a.workspace_client(&workspace).unwrap();
    w.token_management().list().send().await.unwrap();
    w.token_management().list().send().await.unwrap();
    let ws = account.workspace(0).unwrap();
    assert_eq!(ws.counters(Route::OAuthToken).processed, 1);

    // Past the token's lifetime, on both sides.
    clock.advance(Duration::from_secs(3600));
    account.advance_clock(Duration::from_secs(3600));
    w.token_management().list().send().await.unwrap();
    assert_eq!(ws.counters(Route::OAuthToken).processed, 2, "a new token after expiry");
    a.workspaces().list().send().await.unwrap();
    assert_eq!(account.token_requests(), 2, "the account's token is refreshed too");
}

#[tokio::test]
async fn each_unhealthy_workspace_fails_alone_with_a_typed_error() {
    let clock = FakeClock::default();
    let account = LocalAccount::builder()
        .workspaces(8)
        .customize(|i, ws| match i {
            1 => ws.health(Health::Unavailable),
            2 => ws.not_admin(),
            3 => ws.health(Health::PatsDisabled),
            4 => ws.health(Health::ConnectionReset),
            5 => ws.health(Health::Slow(Duration::from_millis(50))),
            6 => ws.health(Health::Throttled { retry_after_seconds: 7 }),
            7 => ws.health(Health::PrivateLinkOnly),
            _ => ws,
        })
        .start()
        .await
        .unwrap();
    let retry = RetryPolicy::default().with_max_attempts(2).with_backoff(Duration::ZERO, Duration::ZERO);
    let a = account.client_builder().clock(clock).retry_policy(retry).build().unwrap();
    let mut outcomes = Vec::new();
    for workspace in a.workspaces().list().send().await.unwrap() {
        let w = a.workspace_client(&workspace).unwrap();
        outcomes.push(w.token_management().list().send().await);
    }
    assert!(outcomes[0].is_ok());
    let err = |i: usize| outcomes[i].as_ref().unwrap_err();
    // Its token endpoint is down too: the failure comes from authenticating, with the status.
    assert!(err(1).status() == Some(503) || (err(1).kind() == ErrorKind::Auth && err(1).to_string().contains("HTTP 503")), "{}", err(1));
    assert!(err(2).is_permission_denied(), "{}", err(2));
    assert_eq!(err(3).error_code(), Some("FEATURE_DISABLED"), "{}", err(3));
    assert!(err(4).is_transport() || err(4).kind() == ErrorKind::Auth, "{}", err(4));
    assert!(outcomes[5].is_ok(), "slow is not failed");
    assert!(err(6).to_string().contains("429"), "{}", err(6));
    // Behind private link even the OAuth discovery is redirected: an auth error that says so.
    assert_eq!(err(7).kind(), ErrorKind::Auth, "{}", err(7));
    assert!(err(7).to_string().contains("through private link (PRIVATE_LINK_VALIDATION_ERROR)"), "{}", err(7));

    // Healthy again: the same workspace answers.
    assert!(account.set_health(1, Health::Healthy));
    let workspace = a.workspaces().get(account.workspace_id(1).unwrap()).send().await.unwrap();
    a.workspace_client(&workspace).unwrap().token_management().list().send().await.unwrap();
}

#[tokio::test]
async fn per_workspace_faults_and_account_faults_are_retried() {
    let clock = FakeClock::default();
    let account = LocalAccount::builder().workspaces(2).start().await.unwrap();
    let a = account.client_builder().clock(clock.clone()).build().unwrap();
    account.inject([Fault::TooManyRequests { retry_after_seconds: 3 }, Fault::Unavailable]);
    let workspaces = a.workspaces().list().send().await.unwrap();
    assert_eq!(workspaces.len(), 2);
    assert!(clock.sleeps().contains(&Duration::from_secs(3)), "Retry-After honoured: {:?}", clock.sleeps());

    account.workspace(1).unwrap().inject(Route::ManagementList, [Fault::TooManyRequests { retry_after_seconds: 1 }]);
    let w0 = a.workspace_client(&workspaces[0]).unwrap();
    let w1 = a.workspace_client(&workspaces[1]).unwrap();
    w0.token_management().list().send().await.unwrap();
    w1.token_management().list().send().await.unwrap();
    assert_eq!(account.workspace(0).unwrap().counters(Route::ManagementList).received, 1);
    assert_eq!(account.workspace(1).unwrap().counters(Route::ManagementList).received, 2);
}

#[tokio::test]
async fn a_thousand_workspaces_are_served_from_one_listener() {
    let account = LocalAccount::builder().workspaces(1000).tokens_per_workspace(2).start().await.unwrap();
    let a = account.client().unwrap();
    let workspaces = a.workspaces().list().send().await.unwrap();
    assert_eq!(workspaces.len(), 1000);
    for i in [0, 499, 999] {
        let w = a.workspace_client(&workspaces[i]).unwrap();
        assert_eq!(w.token_management().list().send().await.unwrap().len(), 2);
        assert_eq!(account.workspace(i).unwrap().url().split('/').nth(2), account.url().split('/').nth(2), "one address");
    }
}

#[test]
fn a_personal_access_token_is_declined_at_account_level() {
    let config = Config::builder()
        .host("https://accounts.cloud.databricks.com")
        .account_id("acc-1")
        .token("dapi-account-pat-0123")
        .env_vars(Vec::<(String, String)>::new())
        .build()
        .unwrap();
    let err = AccountClient::builder().config(&config).build().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("personal access token is a workspace credential"), "{err}");
    assert!(!format!("{err} {err:?}").contains("dapi-account-pat-0123"));
}

#[test]
fn the_account_id_comes_from_the_configuration() {
    let config = Config::builder()
        .env_vars([
            ("DATABRICKS_HOST", "https://accounts.azuredatabricks.net"),
            ("DATABRICKS_ACCOUNT_ID", "acc-env"),
            ("DATABRICKS_CLIENT_ID", "sp"),
            ("DATABRICKS_CLIENT_SECRET", SECRET),
        ])
        .build()
        .unwrap();
    let a = AccountClient::builder().config(&config).build().unwrap();
    assert_eq!((a.host(), a.account_id(), a.auth_type()), ("https://accounts.azuredatabricks.net", "acc-env", "oauth-m2m"));
    let ws = Workspace::new(7).set_deployment_name("adb-7.1");
    assert_eq!(a.workspace_url(&ws).unwrap(), "https://adb-7.1.azuredatabricks.net");
    let w = a.workspace_client(&ws).unwrap();
    assert_eq!(w.host(), "https://adb-7.1.azuredatabricks.net");
    assert_eq!(w.auth_type(), "oauth-m2m");

    let missing = AccountClient::builder().host("https://accounts.cloud.databricks.com").oauth_m2m("sp", SECRET).build().unwrap_err();
    assert!(missing.to_string().contains("no account_id"), "{missing}");
    let no_deployment = a.workspace_url(&Workspace::new(8)).unwrap_err();
    assert!(no_deployment.to_string().contains("workspace 8 has no deployment_name"), "{no_deployment}");
}

#[tokio::test]
async fn secrets_never_appear_in_debug_output() {
    let builder = LocalAccount::builder().service_principal("fleet-sp", SECRET).workspaces(2);
    assert!(!format!("{builder:?}").contains(SECRET));
    let account = builder.start().await.unwrap();
    let a = account.client().unwrap();
    a.workspaces().list().send().await.unwrap();
    let workspaces = a.workspaces().list().send().await.unwrap();
    let w = a.workspace_client(&workspaces[0]).unwrap();
    w.token_management().list().send().await.unwrap();
    let printed = format!("{account:?} {a:?} {w:?} {:?}", account.client_builder());
    assert!(!printed.contains(SECRET), "{printed}");
}

#[tokio::test]
async fn workspace_clients_share_the_account_clients_rate_limit() {
    let account = LocalAccount::builder().workspaces(3).start().await.unwrap();
    let run = |shared: bool| {
        let account = &account;
        async move {
            let clock = FakeClock::default();
            let mut builder = account.client_builder().clock(clock.clone());
            if shared {
                builder = builder.rate_limit(1.0);
            }
            let a = builder.build().unwrap();
            for workspace in a.workspaces().list().send().await.unwrap() {
                a.workspace_client(&workspace).unwrap().token_management().list().send().await.unwrap();
            }
            clock.sleeps().iter().sum::<Duration>()
        }
    };
    assert_eq!(run(false).await, Duration::ZERO, "no limit, no wait");
    // Four requests through one limit of one a second: each after the first waits for its turn, whichever
    // client sends it (separate limiters would each let their first request through at once).
    let waited = run(true).await;
    assert!(waited >= Duration::from_millis(2900), "waited {waited:?}");
}

#[tokio::test]
async fn workspace_clients_share_the_account_clients_connection_pool() {
    let account = LocalAccount::builder().workspaces(5).start().await.unwrap();
    let a = account.client().unwrap();
    for workspace in a.workspaces().list().send().await.unwrap() {
        a.workspace_client(&workspace).unwrap().token_management().list().send().await.unwrap();
    }
    // Account discovery, token and list, then per workspace host metadata, discovery, token and list, one
    // after the other: one pool keeps reusing its connection (five pools would open at least five).
    assert!(account.connections() < 5, "{} connections", account.connections());
}

#[tokio::test]
async fn an_m2m_configuration_reaches_the_account_and_its_workspaces() {
    let account =
        LocalAccount::builder().service_principal("fleet-sp", SECRET).workspaces(2).tokens_per_workspace(1).start().await.unwrap();
    let home = tempfile::tempdir().unwrap();
    let config = Config::builder()
        .env_vars([
            ("DATABRICKS_HOST", account.url()),
            ("DATABRICKS_ACCOUNT_ID", account.account_id().to_owned()),
            ("DATABRICKS_CLIENT_ID", "fleet-sp".to_owned()),
            ("DATABRICKS_CLIENT_SECRET", SECRET.to_owned()),
            ("HOME", home.path().display().to_string()),
        ])
        .build()
        .unwrap();
    let a = AccountClient::builder().config(&config).workspace_url_template(account.workspace_url_template()).build().unwrap();
    assert_eq!(a.auth_type(), "oauth-m2m");
    // Host metadata names `<url>/oidc/accounts/{account_id}`: the account id is filled in.
    let workspaces = a.workspaces().list().send().await.unwrap();
    assert_eq!(account.token_requests(), 1);
    for (i, workspace) in workspaces.iter().enumerate() {
        let w = a.workspace_client(workspace).unwrap();
        assert_eq!(w.token_management().list().send().await.unwrap().len(), 1);
        assert_eq!(account.workspace(i).unwrap().counters(Route::OAuthToken).processed, 1, "the workspace's own token endpoint");
    }
    assert_eq!(account.token_requests(), 1, "no account token for the workspaces");
}

#[tokio::test]
async fn databricks_cli_is_run_with_the_account_id_for_the_account_and_the_host_for_each_workspace() {
    let account = LocalAccount::builder().workspaces(2).start().await.unwrap();
    // An account token, as `databricks auth token --account-id` would print one.
    let (sp, secret) = account.service_principal();
    let form = [("grant_type", "client_credentials"), ("scope", "all-apis")];
    let token: serde_json::Value = reqwest::Client::new()
        .post(account.token_endpoint())
        .basic_auth(sp, Some(secret.expose()))
        .form(&form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let account_token = token["access_token"].as_str().unwrap().to_owned();
    let workspace_token = account.workspace(0).unwrap().bootstrap_token().expose().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("args");
    common::fake_cli(
        dir.path(),
        &format!(
            "echo \"$@\" >> '{log}'\ncase \"$*\" in *--account-id*) t='{account_token}';; *) t='{workspace_token}';; esac\n\
             printf '{{\"access_token\": \"%s\", \"token_type\": \"Bearer\", \"expiry\": \"2999-01-01T00:00:00Z\"}}' \"$t\"",
            log = log.display()
        ),
    );
    let config = Config::builder()
        .env_vars([
            ("DATABRICKS_HOST", account.url()),
            ("DATABRICKS_ACCOUNT_ID", account.account_id().to_owned()),
            ("DATABRICKS_AUTH_TYPE", "databricks-cli".to_owned()),
            ("PATH", dir.path().display().to_string()),
            ("HOME", dir.path().display().to_string()),
        ])
        .build()
        .unwrap();
    let a = AccountClient::builder().config(&config).workspace_url_template(account.workspace_url_template()).build().unwrap();
    for workspace in a.workspaces().list().send().await.unwrap() {
        a.workspace_client(&workspace).unwrap().token_management().list().send().await.unwrap();
    }
    let calls: Vec<String> = std::fs::read_to_string(&log).unwrap().lines().map(str::to_owned).collect();
    let url = account.url();
    assert_eq!(
        calls,
        vec![
            format!("auth token --host {url} --account-id {}", account.account_id()),
            format!("auth token --host {url}/ws/ws-0"),
            format!("auth token --host {url}/ws/ws-1"),
        ]
    );
}

#[tokio::test]
async fn oidc_federation_works_at_account_level_with_the_account_id_as_default_audience() {
    let issuer = databricks_tokens::local::OidcIssuer::new("https://ci-issuer.example").unwrap();
    let account = LocalAccount::builder().trust_issuer(&issuer).workspaces(2).start().await.unwrap();
    let jwt = issuer.mint("ci-job@example.com", account.account_id(), Duration::from_secs(600));
    let config = Config::builder()
        .env_vars([
            ("DATABRICKS_HOST", account.url()),
            ("DATABRICKS_ACCOUNT_ID", account.account_id().to_owned()),
            ("DATABRICKS_AUTH_TYPE", "env-oidc".to_owned()),
            ("DATABRICKS_OIDC_TOKEN", jwt.expose().to_owned()),
            ("HOME", "/nonexistent".to_owned()),
        ])
        .build()
        .unwrap();
    let a = AccountClient::builder().config(&config).build().unwrap();
    assert_eq!(a.auth_type(), "env-oidc");
    assert_eq!(a.workspaces().list().send().await.unwrap().len(), 2);
    assert_eq!(account.token_requests(), 1);

    // github-oidc asks GitHub for a JWT whose audience is the account id (account clients' default).
    let github = wiremock::MockServer::start().await;
    let minted = issuer.mint("repo:org/app:ref:refs/heads/main", account.account_id(), Duration::from_secs(600));
    wiremock::Mock::given(wiremock::matchers::method("GET"))
        .and(wiremock::matchers::query_param("audience", account.account_id()))
        .and(wiremock::matchers::header("authorization", "Bearer gh-request-token"))
        .respond_with(wiremock::ResponseTemplate::new(200).set_body_json(serde_json::json!({"value": minted.expose()})))
        .expect(1)
        .mount(&github)
        .await;
    let config = Config::builder()
        .env_vars([
            ("DATABRICKS_HOST", account.url()),
            ("DATABRICKS_ACCOUNT_ID", account.account_id().to_owned()),
            ("DATABRICKS_AUTH_TYPE", "github-oidc".to_owned()),
            ("ACTIONS_ID_TOKEN_REQUEST_URL", format!("{}/token?api-version=2.0", github.uri())),
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "gh-request-token".to_owned()),
            ("HOME", "/nonexistent".to_owned()),
        ])
        .build()
        .unwrap();
    let a = AccountClient::builder().config(&config).build().unwrap();
    assert_eq!(a.workspaces().list().send().await.unwrap().len(), 2);
    github.verify().await;

    // A JWT for another audience (a workspace's token endpoint) is refused by the account.
    let wrong = issuer.mint("ci-job@example.com", "https://elsewhere.example/oidc/v1/token", Duration::from_secs(600));
    let config = Config::builder()
        .env_vars([
            ("DATABRICKS_HOST", account.url()),
            ("DATABRICKS_ACCOUNT_ID", account.account_id().to_owned()),
            ("DATABRICKS_AUTH_TYPE", "env-oidc".to_owned()),
            ("DATABRICKS_OIDC_TOKEN", wrong.expose().to_owned()),
            ("HOME", "/nonexistent".to_owned()),
        ])
        .build()
        .unwrap();
    let err = AccountClient::builder().config(&config).build().unwrap().workspaces().list().send().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth, "{err}");
    assert!(!format!("{err} {err:?}").contains(wrong.expose()));
}

#[test]
fn a_pat_provider_is_declined_at_account_level_too() {
    let err = AccountClient::builder()
        .host("https://accounts.cloud.databricks.com")
        .account_id("acc-1")
        .credentials(databricks_tokens::auth::PatCredentials::new("dapi-provided-0123"))
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("personal access token is a workspace credential"), "{err}");
}

#[tokio::test]
async fn seeding_past_the_quota_fails_to_start_with_the_reason() {
    let err = LocalAccount::builder().workspaces(1).customize(|_, ws| ws.configure(|b| b.quota(3)).tokens(4)).start().await.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(err.to_string().starts_with("seeding token 3 of 4:"), "{err}");
    let err = LocalAccount::builder().workspaces(2).customize(|_, ws| ws.deployment_name("same")).start().await.unwrap_err();
    assert!(err.to_string().contains("two workspaces have the deployment name \"same\""), "{err}");
    let err = LocalAccount::builder().customize(|_, ws| ws.deployment_name("a/b")).start().await.unwrap_err();
    assert!(err.to_string().contains("not a plain path segment"), "{err}");
}

#[tokio::test]
async fn workspace_clients_draw_on_one_retry_budget() {
    let account = LocalAccount::builder().workspaces(3).start().await.unwrap();
    for i in 0..3 {
        account.workspace(i).unwrap().inject(Route::ManagementList, [Fault::Unavailable, Fault::Unavailable]);
    }
    // A budget of 10: two retries (5 each) in all, whichever client spends them.
    let retry = RetryPolicy::default().with_max_attempts(3).with_backoff(Duration::ZERO, Duration::ZERO).with_shared_budget(10);
    let a = account.client_builder().clock(FakeClock::default()).retry_policy(retry).build().unwrap();
    let mut outcomes = Vec::new();
    for workspace in a.workspaces().list().send().await.unwrap() {
        outcomes.push(a.workspace_client(&workspace).unwrap().token_management().list().send().await);
    }
    assert!(outcomes[0].is_ok(), "the first workspace's two retries are paid for");
    for (i, outcome) in outcomes.iter().enumerate().skip(1) {
        let err = outcome.as_ref().unwrap_err();
        assert_eq!(err.status(), Some(503), "workspace {i}: the shared budget is spent: {err}");
        assert_eq!(account.workspace(i).unwrap().counters(Route::ManagementList).received, 1, "workspace {i} not retried");
    }
}
