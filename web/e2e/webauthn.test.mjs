// Security keys and passkeys, in real Chromium against the real oriel, with
// Chromium's virtual authenticators (the CDP WebAuthn domain) in place of a
// key: enrolled at the invite instead of TOTP, then a login with the password
// and the key, a passwordless login with the passkey the key keeps, the
// Account page (the last factor stays, a second key comes and goes), a wrong
// password with the right key, and a key that does not answer.
//
// The relying party is the page's host, and browsers refuse an IP address as
// one, so the page is opened at https://localhost:PORT, not at the
// 127.0.0.1 address oriel prints (the proxy takes its own Host as its origin).
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { launchChromium } from './browser.mjs';
import { failureReport } from './harness.mjs';
import { VirtualKeys, atLocalhost } from './virtual-keys.mjs';
import { startOriel, auditEvent, PATIENCE_MS } from './oriel.mjs';

const PASSWORD = 'a long enough password';
const LAST_FACTOR = 'the last second factor cannot be removed; add another first';
const DID_NOT_ANSWER = 'the security key did not answer';

let oriel;
let browser;
let page;
let cdp;
/** The page's virtual security keys. */
let keys;
/** The URL of this oriel at localhost. */
let base;
/** The virtual authenticator enrolled at the invite: a platform authenticator that keeps passkeys. */
let firstKey;
const report = failureReport(() => oriel);
const { test } = report;

before(async () => {
  oriel = await startOriel([{ name: 'Idle', command: 'exec sleep 3600' }]);
  base = atLocalhost(oriel.url);
  let context;
  ({ browser, context } = await launchChromium());
  page = report.watch(await context.newPage());
  cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  keys = new VirtualKeys(cdp);
  firstKey = await keys.add('internal');
});

after(async () => {
  await browser?.close();
  report.print(oriel);
  await oriel?.stop();
});




/** The status of /api/me from the page: 200 with a session, 401 without. */
function session() {
  return page.evaluate(() => fetch('/api/me').then((response) => response.status));
}

async function desktopsShown() {
  await page.locator('[data-desktop]').first().waitFor({ timeout: PATIENCE_MS });
  assert.equal(new URL(page.url()).pathname, '/web');
}

async function logOut() {
  await page.click('#logout');
  await page.locator('#login-user').waitFor({ timeout: PATIENCE_MS });
  assert.equal(await session(), 401, 'logged out');
}

/** On the login page: the user name and `password`, then "Sign in with a security key". */
async function signInWithKey(password) {
  await page.goto(`${base}/web/login`);
  await page.fill('#login-user', 'admin');
  await page.fill('#login-password', password);
  await page.click('#login-key');
}

async function loginError() {
  await page.locator('#login-error').waitFor({ timeout: PATIENCE_MS });
  return (await page.locator('#login-error').textContent()).trim();
}

test('the invite is accepted with a security key instead of TOTP, and the user is logged in', async () => {
  await page.goto(atLocalhost(oriel.invite));
  await page.locator('#invite-use-key').click();
  assert.equal(await page.locator('#invite-code').isVisible(), false, 'no code to type');
  assert.equal(await page.inputValue('#invite-key-name'), 'Security key', 'a name to start from');
  await page.fill('#invite-key-name', 'Virtual key');
  await page.fill('#invite-password', PASSWORD);
  await page.fill('#invite-password-confirm', PASSWORD);
  await page.click('#invite-key-submit');
  await desktopsShown();
  assert.equal(await session(), 200);

  const [credential, ...others] = await keys.credentials(firstKey);
  assert.equal(others.length, 0, 'one credential made');
  assert.equal(credential.rpId, 'localhost');
  assert.equal(credential.isResidentCredential, true, 'a passkey: the key keeps it, so it can log in without a name');
});

test('a login with the password and the security key', async () => {
  await logOut();
  const [before] = await keys.credentials(firstKey);
  await signInWithKey(PASSWORD);
  await desktopsShown();
  assert.equal(await session(), 200);
  const [after] = await keys.credentials(firstKey);
  assert.ok(after.signCount > before.signCount, 'the key signed');
  await auditEvent(oriel, 'the security key login', (e) => e.event === 'user.login' && e.user === 'admin' && e.method === 'webauthn' && e.success);
});

test('a passwordless login with the passkey the key keeps', async () => {
  await logOut();
  const [credential] = await keys.credentials(firstKey);
  assert.equal(credential.isResidentCredential, true);
  await page.goto(`${base}/web/login`);
  await page.click('#login-passkey');
  await desktopsShown();
  assert.equal(await session(), 200);
  await auditEvent(oriel, 'the passkey login', (e) => e.event === 'user.login' && e.user === 'admin' && e.method === 'passwordless' && e.success);
});

test('the Account page: the last key stays, a second one is added and removed', async () => {
  await page.click('#account-link');
  const rows = page.locator('#account-devices tbody tr[data-device-id]');
  await rows.first().waitFor({ timeout: PATIENCE_MS });
  assert.equal(new URL(page.url()).pathname, '/web/account');
  assert.equal(await rows.count(), 1);
  const first = rows.filter({ hasText: 'Virtual key' });
  assert.equal(await first.locator('th').textContent(), 'Virtual key');
  assert.notEqual((await first.locator('td').nth(1).textContent()).trim(), 'never', 'used to log in');
  assert.equal(await page.getAttribute('#account-totp', 'data-enrolled'), 'false', 'no authenticator app');

  // The key is the only second factor.
  await first.locator('[data-remove]').click();
  await page.locator('#account-error').waitFor({ timeout: PATIENCE_MS });
  assert.equal((await page.locator('#account-error').textContent()).trim(), LAST_FACTOR);
  assert.equal(await rows.count(), 1, 'still listed');

  // The same key again: the browser knows it holds a credential the server excludes.
  await page.click('#account-add-key');
  await page.locator('#account-error:has-text("registered already")').waitFor({ timeout: PATIENCE_MS });
  assert.equal((await page.locator('#account-error').textContent()).trim(), 'this security key or passkey is registered already');
  assert.equal(await rows.count(), 1);

  // A second key. The first, which holds a credential the server excludes,
  // waits for a touch that does not come, so the second one answers.
  const secondKey = await keys.add('usb');
  await cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId: firstKey, enabled: false });
  assert.equal(await page.inputValue('#account-key-name'), 'Security key', 'a name the user does not have yet');
  await page.fill('#account-key-name', 'Second key');
  await page.click('#account-add-key');
  await page.locator('#account-status:has-text("Added Second key.")').waitFor({ timeout: PATIENCE_MS });
  await cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId: firstKey, enabled: true });
  assert.equal(await rows.count(), 2);
  assert.equal((await keys.credentials(secondKey)).length, 1, 'the second key made the credential');
  assert.equal((await keys.credentials(firstKey)).length, 1, 'the first made none');
  assert.equal(await page.locator('#account-error').isVisible(), false, 'the refusal is gone');
  const added = await auditEvent(oriel, 'the second key added', (e) => e.event === 'mfa.add' && e.mfa_device_name === 'Second key');

  await rows.filter({ hasText: 'Second key' }).locator('[data-remove]').click();
  await page.locator('#account-status:has-text("Removed Second key.")').waitFor({ timeout: PATIENCE_MS });
  assert.equal(await rows.count(), 1);
  assert.equal(await rows.first().locator('th').textContent(), 'Virtual key');
  const removed = await auditEvent(oriel, 'the second key removed', (e) => e.event === 'mfa.delete' && e.mfa_device_name === 'Second key');
  assert.equal(removed.mfa_device_uuid, added.mfa_device_uuid);
  await keys.remove(secondKey);
});

test('the right key with a wrong password: the server refuses, and there is no session', async () => {
  await logOut();
  await signInWithKey('not the password at all');
  assert.equal(await loginError(), 'wrong user name, password or second factor');
  assert.equal(await session(), 401);
  assert.equal(await page.locator('#login-key').isEnabled(), true, 'another try can follow');
  await auditEvent(oriel, 'the refused login', (e) => e.event === 'user.login' && e.user === 'admin' && e.method === 'webauthn' && !e.success);
});

test('without the key: the page says the security key did not answer', async () => {
  await keys.remove(firstKey);

  // No authenticator at all: the browser waits for one; the person gives up.
  await signInWithKey(PASSWORD);
  await page.locator('#login-key-wait').waitFor({ timeout: PATIENCE_MS });
  await page.click('#login-key-cancel');
  assert.equal(await loginError(), DID_NOT_ANSWER);
  assert.equal(await page.locator('#login-key-wait').isVisible(), false);
  assert.equal(await session(), 401);

  // Another key, which holds no credential of Oriel's: the browser refuses at once.
  const otherKey = await keys.add('usb');
  await signInWithKey(PASSWORD);
  assert.equal(await loginError(), DID_NOT_ANSWER);
  await page.goto(`${base}/web/login`);
  await page.click('#login-passkey');
  assert.equal(await loginError(), DID_NOT_ANSWER, 'no passkey either');
  assert.equal(await session(), 401);
  await keys.remove(otherKey);
});

test('at an IP address the page says security keys need a host name', async () => {
  await page.goto(`${oriel.url}/web/login`);
  await page.click('#login-passkey');
  assert.match(await loginError(), /^security keys do not work at https:\/\/127\.0\.0\.1:\d+/);
});
