// Single sign-on through OpenID Connect, in real Chromium against the real
// oriel and a real provider (scripts/oidc-test-provider) on loopback: the
// login page offers the connector; a person whose groups map to a role logs
// in at the provider, lands on the desktop list as their email, and their
// session runs as the login their `linux_logins` claim names; one whose
// claims give no role is refused and no user is made; and a callback whose
// `state` was changed on the way is refused.
//
// Each scenario has a browser context of its own, so no Oriel session
// carries over; the provider forgets its own at every authorization request.
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { launchChromium } from './browser.mjs';
import { failureReport } from './harness.mjs';
import { callbackAfterConsent, logInAtProvider, startOidcProvider } from './oidc-provider.mjs';
import { startOriel, auditEvent, eventually, PATIENCE_MS } from './oriel.mjs';

const CONNECTOR = 'testidp';
const CLIENT_ID = 'oriel';
const CLIENT_SECRET = 'a client secret for the tests';
const ALICE = 'alice@example.test';
/** The desktop login alice's `linux_logins` claim names; made on the host at her first session. */
const ALICE_LOGIN = 'oriel-e2e-sso-alice';
const MALLORY = 'mallory@example.test';
const NO_ROLE = 'no Oriel role';

let oriel;
let provider;
let browser;
const report = failureReport(() => oriel);
const { test } = report;

before(async () => {
  oriel = await startOriel([{ name: 'Whoami', command: 'exec sleep 3600' }]);
  // The probe writes into the test's directory, known only now.
  const desktop = join(oriel.dir, 'xsessions', 'Whoami.desktop');
  writeFileSync(desktop, readFileSync(desktop, 'utf8').replace('exec sleep 3600', probe(oriel.dir)));

  provider = await startOidcProvider({
    clients: [{ client_id: CLIENT_ID, client_secret: CLIENT_SECRET, redirect_uris: [`${oriel.url}/api/sso/oidc/callback`] }],
    accounts: {
      alice: { email: ALICE, email_verified: true, preferred_username: 'alice', name: 'Alice', groups: ['admins'], linux_logins: [ALICE_LOGIN] },
      mallory: { email: MALLORY, email_verified: true, preferred_username: 'mallory', name: 'Mallory', groups: ['guests'], linux_logins: ['oriel-e2e-sso-mallory'] },
    },
  });

  // Host options count only from the roles that allow the session.
  create(
    'sso-access.yaml',
    "kind: role\nversion: v7\nmetadata:\n  name: sso-access\nspec:\n  options:\n    create_desktop_user: true\n  allow:\n" +
      "    linux_desktop_logins: ['{{external.linux_logins}}']\n    linux_desktop_labels:\n      '*': '*'\n",
  );
  create(
    `${CONNECTOR}.yaml`,
    `kind: oidc\nversion: v3\nmetadata:\n  name: ${CONNECTOR}\nspec:\n  display: Test IdP\n  issuer_url: ${provider.issuer}\n` +
      `  client_id: ${CLIENT_ID}\n  client_secret: ${JSON.stringify(CLIENT_SECRET)}\n  redirect_url: ${oriel.url}/api/sso/oidc/callback\n` +
      '  scope: [email, profile, groups]\n  username_claim: email\n  claims_to_roles:\n    - {claim: groups, value: admins, roles: [sso-access]}\n',
  );

  ({ browser } = await launchChromium());
});

after(async () => {
  await browser?.close();
  report.print({ log: () => `${oriel?.log()}\n--- the OIDC provider\n${provider?.log()}` });
  await provider?.stop();
  await oriel?.stop();
});

/** Writes `yaml` into the test's directory and loads it with `orielctl create -f`. */
function create(file, yaml) {
  const path = join(oriel.dir, file);
  writeFileSync(path, yaml);
  oriel.orielctl(['create', '-f', path]);
}

/** The session says which login it runs as, in `<dir>/whoami`. */
function probe(dir) {
  return `id -un > ${dir}/whoami.tmp && mv ${dir}/whoami.tmp ${dir}/whoami; exec sleep 3600`;
}

/** A page in a browser context of its own: no cookies from another scenario. */
async function freshPage() {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 900, height: 600 } });
  return report.watch(await context.newPage());
}

/** `/api/me` from the page: its status and, with a session, its user. */
function me(page) {
  return page.evaluate(async () => {
    const response = await fetch('/api/me');
    return { status: response.status, user: response.ok ? (await response.json()).user : null };
  });
}

/** Opens the login page and follows "Sign in with Test IdP" to the provider's login page. */
async function signInWithTestIdp(page) {
  await page.goto(`${oriel.url}/web/login`);
  const link = page.locator(`a.sso-login[data-connector="${CONNECTOR}"]`);
  await link.waitFor({ timeout: PATIENCE_MS });
  assert.equal((await link.textContent()).trim(), 'Sign in with Test IdP');
  await link.click();
  await page.locator('input[name="login"]').waitFor({ timeout: PATIENCE_MS });
  assert.equal(new URL(page.url()).origin, provider.issuer, "on the provider's login page");
}

/** The error the login page shows, once it shows one. */
async function loginError(page) {
  const error = page.locator('#login-error');
  await error.waitFor({ timeout: PATIENCE_MS });
  return (await error.textContent()).trim();
}

test('alice signs in at the identity provider and her session runs as the login her claims name', async () => {
  const page = await freshPage();
  await signInWithTestIdp(page);
  await logInAtProvider(page, 'alice');

  const row = page.locator('[data-desktop]').first();
  await row.waitFor({ timeout: PATIENCE_MS });
  assert.equal(new URL(page.url()).origin, oriel.url, 'back at Oriel');
  assert.equal(new URL(page.url()).pathname, '/web');
  assert.deepEqual(await me(page), { status: 200, user: ALICE }, 'logged in as her email (username_claim)');
  assert.equal(await row.locator('[data-login]').getAttribute('data-login'), ALICE_LOGIN, 'the one login her role allows, from her linux_logins claim');

  await row.locator('[data-connect]').click();
  await page.locator('#status[data-state="connected"]').waitFor({ timeout: PATIENCE_MS });
  assert.ok(decodeURIComponent(new URL(page.url()).pathname).includes(`/${ALICE_LOGIN}`), `a session as ${ALICE_LOGIN}: ${page.url()}`);
  const whoami = join(oriel.dir, 'whoami');
  await eventually('the session to say which login it runs as', () => existsSync(whoami));
  assert.equal(readFileSync(whoami, 'utf8').trim(), ALICE_LOGIN);

  const login = await auditEvent(oriel, "alice's single sign-on", (e) => e.event === 'user.login' && e.user === ALICE && e.method === 'oidc');
  assert.equal(login.success, true, JSON.stringify(login));
  await page.context().close();
});

test('mallory, whose claims map to no role, is refused and no user is made', async () => {
  const page = await freshPage();
  await signInWithTestIdp(page);
  await logInAtProvider(page, 'mallory');

  assert.match(await loginError(page), new RegExp(NO_ROLE));
  assert.equal(new URL(page.url()).pathname, '/web/login', 'back on the login page');
  assert.equal(new URL(page.url()).searchParams.get('sso_error'), null, 'the reason is taken out of the address');
  assert.equal((await me(page)).status, 401, 'not logged in');
  const users = JSON.parse(oriel.orielctl(['users', 'ls', '--format', 'json']));
  assert.ok(!users.some((user) => JSON.stringify(user).includes('mallory')), `no user for mallory: ${JSON.stringify(users)}`);
  await auditEvent(oriel, "mallory's refused single sign-on", (e) => e.event === 'user.login' && e.method === 'oidc' && e.success === false && JSON.stringify(e).includes('mallory'));

  // Shown once: a reload does not show it again.
  await page.reload();
  await page.locator(`a.sso-login[data-connector="${CONNECTOR}"]`).waitFor({ timeout: PATIENCE_MS });
  assert.equal(await page.locator('#login-error').isVisible(), false, 'no error after a reload');
  await page.context().close();
});

test('a callback whose state was changed on the way is refused', async () => {
  const page = await freshPage();
  await signInWithTestIdp(page);
  // The provider's redirect back to Oriel, held to be opened changed.
  const callback = new URL(await callbackAfterConsent(page, 'alice'));
  assert.equal(`${callback.origin}${callback.pathname}`, `${oriel.url}/api/sso/oidc/callback`);
  const state = callback.searchParams.get('state');
  assert.ok(state, `the callback has a state: ${callback}`);
  assert.ok(callback.searchParams.get('code'), `the callback has a code: ${callback}`);
  callback.searchParams.set('state', `${state.slice(0, -1)}${state.endsWith('A') ? 'B' : 'A'}`);
  await page.goto(callback.href);

  assert.notEqual(await loginError(page), '', 'the login page says why');
  assert.equal(new URL(page.url()).pathname, '/web/login');
  assert.equal((await me(page)).status, 401, 'not logged in');
  await page.context().close();
});

test('with password logins turned off the login page offers single sign-on alone, and the server refuses a password', async () => {
  create(
    'cap.yaml',
    `kind: cluster_auth_preference\nspec:\n  type: oidc\n  connector_name: ${CONNECTOR}\n  allow_local_auth: false\n`,
  );
  const page = await freshPage();
  await page.goto(`${oriel.url}/web/login`);
  await page.locator(`a.sso-login[data-connector="${CONNECTOR}"]`).waitFor({ timeout: PATIENCE_MS });
  await page.locator('#login-credentials').waitFor({ state: 'hidden', timeout: PATIENCE_MS });
  const refused = await page.evaluate(async () => {
    const response = await fetch('/api/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user: 'admin', password: 'whatever it is', totp_code: '123456' }),
    });
    return { status: response.status, error: (await response.json()).error };
  });
  assert.deepEqual(refused, { status: 403, error: 'logins with a password are turned off in this cluster; sign in with single sign-on' });
  await page.context().close();
});
