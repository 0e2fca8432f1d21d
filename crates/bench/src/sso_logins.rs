//! Single sign-on logins through an OIDC connector, next to the password
//! rows of `logins`: a real provider (`scripts/oidc-test-provider`,
//! oidc-provider on node, with `OIDC_AUTO_LOGIN=1`) on loopback,
//! `begin_oidc_login`, the provider's redirects followed by the bench's own
//! HTTP client as the browser (cookies kept), and `finish_oidc_login`.
//!
//! Oriel's calls wait on the provider too: each discovers it (metadata and
//! keys), and finish trades the code at its token endpoint. A preload
//! (`provider_timings.mjs`) times inside node how long the provider spends
//! on each request, so the provider's share of Oriel's calls can be taken
//! out, as `key_logins` takes out the software key's signing.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::BufRead as _;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use oriel_auth::control_plane::ControlPlane;
use oriel_auth::resources::oidc_connector::OidcConnector;
use oriel_auth::resources::sso_mapping::ClaimMapping;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};

use crate::cpu;
use crate::logins::row;
use crate::report::Samples;

const PROVIDER_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/oidc-test-provider");
const TIMINGS_PRELOAD: &str = include_str!("provider_timings.mjs");
const CONNECTOR: &str = "bench-idp";
const ACCOUNT: &str = "bench-sso";
/// Never reached: the bench reads the provider's redirect to it.
const REDIRECT: &str = "https://oriel.bench/api/sso/oidc/callback";
const ROLE: &str = "kind: role
version: v7
metadata:
  name: bench-sso
spec:
  allow:
    linux_desktop_logins: ['{{external.linux_logins}}']
    linux_desktop_labels:
      '*': '*'
";
/// The first path segments of the browser's requests at the provider; the
/// others (".well-known", "jwks", "token") are Oriel's.
const BROWSER_SEGMENTS: &[&str] = &["auth", "interaction"];

/// `count` OIDC logins one after another on `plane`: table rows into
/// `rows`, and the note that goes under the table. Without node or the
/// provider's node_modules, no rows, and the note says why.
pub async fn run(rows: &mut String, plane: &ControlPlane, count: usize) -> anyhow::Result<String> {
    let dir = tempfile::tempdir()?;
    let provider = match Provider::start(dir.path()) {
        Ok(provider) => provider,
        Err(reason) => {
            eprintln!("oriel-bench: OIDC logins skipped: {reason:#}");
            return Ok(format!("\nOIDC single sign-on: skipped, {reason:#}.\n"));
        }
    };
    let measured = measure(plane, &provider, count).await.map_err(|e| anyhow::anyhow!("{e:#}; the provider said:\n{}", provider.log()))?;
    Ok(measured.report(rows, count))
}

/// What one run of logins took, summed over its logins.
#[derive(Default)]
struct Logins {
    /// From begin to finish's end.
    whole: Samples,
    whole_sum: Duration,
    /// `begin_oidc_login` plus `finish_oidc_login`, wall time.
    oriel_calls: Duration,
    /// The bench process's CPU time in those calls.
    oriel_cpu: Duration,
    /// Between them: the browser's redirects at the provider.
    browser: Duration,
    /// The provider's own time on each kind of request (first path
    /// segment): how many, and how long in all.
    at_provider: BTreeMap<String, (u64, Duration)>,
}

async fn measure(plane: &ControlPlane, provider: &Provider, count: usize) -> anyhow::Result<Logins> {
    plane.create_roles(&oriel_rbac::parse_roles("bench-sso.yaml", ROLE)?, false).await?;
    plane.store().put_oidc_connector(&connector(&provider.issuer), false).await?;
    let address = IpAddr::V4(Ipv4Addr::LOCALHOST);
    // One browser for the run: it keeps its connection to the provider, as
    // a browser would; its cookies are each login's own.
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).no_proxy().build()?;

    // Untimed: the provider's first requests warm node's JIT up.
    let begun = plane.begin_oidc_login(CONNECTOR, address).await?;
    let (state, code) = at_provider(&browser, &begun.url).await?;
    plane.finish_oidc_login(&state, &code, Some(&begun.binding), address).await?;

    let before = provider.time_spent(&browser).await?;
    let mut logins = Logins::default();
    for _ in 0..count {
        let (started, cpu_started) = (Instant::now(), cpu::process());
        let begun = plane.begin_oidc_login(CONNECTOR, address).await.context("begin_oidc_login")?;
        let (redirected, cpu_redirected) = (Instant::now(), cpu::process());
        let (state, code) = at_provider(&browser, &begun.url).await?;
        let (back, cpu_back) = (Instant::now(), cpu::process());
        plane.finish_oidc_login(&state, &code, Some(&begun.binding), address).await.context("finish_oidc_login")?;
        let (done, cpu_done) = (Instant::now(), cpu::process());
        logins.whole.push(done - started);
        logins.whole_sum += done - started;
        logins.oriel_calls += (redirected - started) + (done - back);
        logins.oriel_cpu += (cpu_redirected - cpu_started) + (cpu_done - cpu_back);
        logins.browser += back - redirected;
    }
    let after = provider.time_spent(&browser).await?;
    for (segment, (requests, time)) in after {
        let (requests_before, time_before) = before.get(&segment).copied().unwrap_or_default();
        if requests > requests_before {
            logins.at_provider.insert(segment, (requests - requests_before, time - time_before));
        }
    }
    Ok(logins)
}

impl Logins {
    /// The provider's requests and time on the browser's requests (`true`)
    /// or on Oriel's (`false`).
    fn provider_share(&self, browsers: bool) -> (u64, Duration) {
        self.at_provider
            .iter()
            .filter(|(segment, _)| BROWSER_SEGMENTS.contains(&segment.as_str()) == browsers)
            .fold((0, Duration::ZERO), |(n, t), (_, (requests, time))| (n + requests, t + *time))
    }

    /// Requests per login by kind, e.g. "token 1, jwks 2".
    fn requests(&self, browsers: bool, count: usize) -> String {
        let kinds = self.at_provider.iter().filter(|(segment, _)| BROWSER_SEGMENTS.contains(&segment.as_str()) == browsers);
        kinds.map(|(segment, (requests, _))| format!("`{segment}` {}", num_per(*requests as f64, count))).collect::<Vec<_>>().join(", ")
    }

    fn report(&self, rows: &mut String, count: usize) -> String {
        let (oriel_requests, oriel_at_provider) = self.provider_share(false);
        let (browser_requests, browser_at_provider) = self.provider_share(true);
        row(rows, "OIDC single sign-on, one after another (whole login: begin, the browser at the provider, finish)", count, self.whole_sum);
        row(rows, "  of which Oriel's calls (begin + finish, waiting on their requests to the provider)", count, self.oriel_calls);
        row(
            rows,
            "  of which Oriel's share (those calls minus the provider's time on their requests)",
            count,
            self.oriel_calls.saturating_sub(oriel_at_provider),
        );
        let ms = |d: Duration| d.as_secs_f64() * 1000.0 / count as f64;
        let mut note = String::new();
        let _ = writeln!(
            note,
            "\nOIDC, per login (one untimed login first): the whole login took {:.1} ms p50, {:.1} ms at most. \
             Oriel's calls made {} requests to the provider ({}), on which the provider spent {:.1} ms (timed inside node, \
             from the parsed request to its `res.end()` returning); the share row is the calls without that, so it still holds \
             the loopback connections, Oriel's HTTP client and node's reading of the requests. The bench process used {:.1} ms of CPU in those calls. \
             The browser's {} requests ({}) took {:.1} ms, {:.1} ms of it in the provider.",
            self.whole.median(),
            self.whole.max(),
            num_per(oriel_requests as f64, count),
            self.requests(false, count),
            ms(oriel_at_provider),
            ms(self.oriel_cpu),
            num_per(browser_requests as f64, count),
            self.requests(true, count),
            ms(self.browser),
            ms(browser_at_provider),
        );
        note
    }
}

/// `total / count`, without decimals when whole.
fn num_per(total: f64, count: usize) -> String {
    let per = total / count as f64;
    if per.fract() == 0.0 { format!("{per:.0}") } else { format!("{per:.2}") }
}

fn connector(issuer: &str) -> OidcConnector {
    OidcConnector {
        name: CONNECTOR.into(),
        display: None,
        issuer_url: issuer.into(),
        client_id: "oriel".into(),
        client_secret: "oriel-bench-secret".into(),
        redirect_url: REDIRECT.into(),
        scope: vec!["email".into(), "profile".into(), "groups".into()],
        username_claim: "email".into(),
        claims_to_roles: vec![ClaimMapping { claim: "groups".into(), value: "bench".into(), roles: vec!["bench-sso".into()] }],
    }
}

/// Follows the provider's redirects for `ACCOUNT`, as a browser would
/// with its cookies, until it sends the browser back to Oriel: the
/// callback's state and code.
async fn at_provider(browser: &reqwest::Client, authorization_url: &str) -> anyhow::Result<(String, String)> {
    let mut url = reqwest::Url::parse(authorization_url)?;
    url.query_pairs_mut().append_pair("login_hint", ACCOUNT);
    let mut cookies: BTreeMap<String, String> = BTreeMap::new();
    for _ in 0..10 {
        let mut request = browser.get(url.clone());
        if !cookies.is_empty() {
            request = request.header(COOKIE, cookies.iter().map(|(name, value)| format!("{name}={value}")).collect::<Vec<_>>().join("; "));
        }
        let response = request.send().await.with_context(|| format!("GET {url}"))?;
        for set in response.headers().get_all(SET_COOKIE) {
            let Some((name, value)) = set.to_str()?.split(';').next().and_then(|pair| pair.split_once('=')) else { continue };
            if value.is_empty() {
                cookies.remove(name);
            } else {
                cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        let (status, location) = (response.status(), response.headers().get(LOCATION).cloned());
        // Read to the end, so the connection can carry the next request.
        response.bytes().await?;
        let location = location.with_context(|| format!("the provider answered {status} at {url}, not a redirect"))?;
        url = url.join(location.to_str()?)?;
        if url.as_str().starts_with(REDIRECT) {
            let query: BTreeMap<String, String> = url.query_pairs().into_owned().collect();
            let (Some(state), Some(code)) = (query.get("state"), query.get("code")) else { bail!("the provider sent the browser back without a code: {url}") };
            return Ok((state.clone(), code.clone()));
        }
    }
    bail!("the provider never sent the browser back to Oriel")
}

/// The test provider on loopback, with the timing preload; stopped when
/// dropped.
struct Provider {
    child: Child,
    issuer: String,
    /// Its stderr (oidc-provider's warnings, the test provider's errors).
    log: PathBuf,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Provider {
    /// Starts it with one client (Oriel) and one account, writing the
    /// preload and its log into `dir`; the error says why it cannot run.
    fn start(dir: &Path) -> anyhow::Result<Self> {
        let provider_dir = Path::new(PROVIDER_DIR);
        if !provider_dir.join("node_modules/oidc-provider").is_dir() {
            bail!("scripts/oidc-test-provider/node_modules is missing (scripts/install-deps runs npm ci there)");
        }
        let preload = dir.join("provider_timings.mjs");
        std::fs::write(&preload, TIMINGS_PRELOAD)?;
        let preload = url::Url::from_file_path(&preload).map_err(|()| anyhow::anyhow!("{} is not an absolute path", preload.display()))?;
        let log = dir.join("provider.log");
        let clients = serde_json::json!([{ "client_id": "oriel", "client_secret": "oriel-bench-secret", "redirect_uris": [REDIRECT] }]);
        let accounts = serde_json::json!({
            ACCOUNT: { "email": "bench-sso@example.test", "email_verified": true, "groups": ["bench"], "linux_logins": ["bench"] },
        });
        let mut command = Command::new("node");
        command
            .args(["--import", preload.as_str()])
            .arg(provider_dir.join("provider.mjs"))
            .env("OIDC_CLIENTS", clients.to_string())
            .env("OIDC_ACCOUNTS", accounts.to_string())
            .env("OIDC_AUTO_LOGIN", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log)?);
        crate::xclients::dies_with_bench(&mut command);
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!("node is not installed (scripts/install-deps installs Node.js)"),
            Err(e) => return Err(e).context("cannot start node"),
        };
        let mut line = String::new();
        let read = child.stdout.take().context("no stdout").and_then(|out| Ok(std::io::BufReader::new(out).read_line(&mut line)?));
        let issuer = read.ok().and_then(|_| serde_json::from_str::<serde_json::Value>(&line).ok()?["issuer"].as_str().map(str::to_owned));
        let provider = Self { child, issuer: issuer.unwrap_or_default(), log };
        if provider.issuer.is_empty() {
            bail!("scripts/oidc-test-provider did not start: {}", provider.log().trim());
        }
        Ok(provider)
    }

    /// What the provider printed on stderr so far.
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The provider's own time per kind of request so far (the preload's sums).
    async fn time_spent(&self, http: &reqwest::Client) -> anyhow::Result<BTreeMap<String, (u64, Duration)>> {
        let body = http.get(format!("{}/__oriel_bench/timings", self.issuer)).send().await?.error_for_status()?.bytes().await?;
        let sums: BTreeMap<String, serde_json::Value> = serde_json::from_slice(&body)?;
        Ok(sums
            .into_iter()
            .map(|(segment, sum)| {
                let requests = sum["requests"].as_u64().unwrap_or(0);
                let nanos = sum["ns"].as_f64().unwrap_or(0.0) as u64;
                (segment, (requests, Duration::from_nanos(nanos)))
            })
            .collect())
    }
}
