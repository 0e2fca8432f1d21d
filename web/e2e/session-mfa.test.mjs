// Per-session MFA for desktop sessions, in real Chromium against the real
// oriel, with Chromium's virtual authenticators (the CDP WebAuthn domain) in
// place of a key. A role with `require_session_mfa: true` makes the proxy ask
// for the user's key before it dials the desktop: the key answers and the
// session starts, on record as `with_mfa`; Cancel, or a key that holds no
// credential of Oriel's, starts nothing; a user with only an authenticator
// app is told to add a key on the Account page. Without the option a session
// starts as it always did, with no prompt.
//
// The relying party is the page's host, and browsers refuse an IP address as
// one, so the pages are opened at https://localhost:PORT, not at the
// 127.0.0.1 address oriel prints.
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { launchChromium } from './browser.mjs';
import { failureReport } from './harness.mjs';
import { VirtualKeys, atLocalhost } from './virtual-keys.mjs';
import { startOriel, acceptInvite, PATIENCE_MS } from './oriel.mjs';

const PASSWORD = 'a long enough password';
const DID_NOT_ANSWER = 'the security key did not answer';
const KEY_CHECK_FAILED = 'Security key check failed';
const PROMPT = 'This desktop asks for your security key or passkey before each session';
const NO_KEY =
  'per-session MFA (required by role "mfa"): this desktop asks for your security key or passkey before each session, ' +
  'and you have none: add one on your Account page (/web/account), then connect again';
/** A role that allows the admin's and tom's logins, and asks for a key before each session. */
const MFA_ROLE =
  "kind: role\nversion: v7\nmetadata:\n  name: mfa\nspec:\n  options:\n    require_session_mfa: true\n" +
  "  allow:\n    linux_desktop_logins: ['{{internal.linux_logins}}']\n    linux_desktop_labels:\n      '*': '*'\n";

let oriel;
let browser;
let context;
let page;
let cdp;
/** The page's virtual security keys. */
let keys;
/** The URL of this oriel at localhost. */
let base;
let desktopName;
/** The admin's roles as oriel made them, and desktop login. */
let adminRoles;
let adminLogin;
/** The virtual authenticator enrolled at the invite. */
let key;
const report = failureReport(() => oriel);
const { test, pageLog } = report;

before(async () => {
  oriel = await startOriel([{ name: 'Idle', command: 'exec sleep 3600' }]);
  base = atLocalhost(oriel.url);
  ({ browser, context } = await launchChromium({ viewport: { width: 800, height: 600 } }));
  // What the key prompt showed, each time it showed: it may be up only for
  // as long as a virtual authenticator takes to answer.
  await context.addInitScript(() => {
    window.__keyPrompts = [];
    new MutationObserver((records) => {
      for (const { target } of records) {
        if (target.id === 'session-key-wait' && !target.hidden) window.__keyPrompts.push(target.textContent.replace(/\s+/g, ' ').trim());
      }
    }).observe(document, { subtree: true, attributes: true, attributeFilter: ['hidden'] });
  });
  page = report.watch(await context.newPage());
  cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  keys = new VirtualKeys(cdp);
  key = await keys.add('internal');
});

after(async () => {
  await browser?.close();
  report.print(oriel);
  await oriel?.stop();
});




/** The admin's roles, and `extra` ones. */
function setAdminRoles(extra) {
  oriel.orielctl(['users', 'update', 'admin', `--roles=${[...adminRoles, ...extra].join(',')}`, `--linux-logins=${adminLogin}`]);
}

/** The `linux.desktop.session.start` events so far (written as sessions start, so read after the fact). */
function sessionStarts() {
  return oriel
    .orielctl(['events', 'ls', '--type', 'linux.desktop.session.start', '--format', 'json'])
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line));
}

/** Waits for the start event of a session not among `known` (sids); returns it. */
async function newSessionStart(known) {
  let found;
  const deadline = Date.now() + PATIENCE_MS;
  while ((found = sessionStarts().find((e) => !known.has(e.sid))) === undefined) {
    if (Date.now() > deadline) throw new Error(`no new linux.desktop.session.start event; known: ${[...known].join(', ')}`);
    await new Promise((done) => setTimeout(done, 100));
  }
  return found;
}

/** From the desktop list of `on`, Connect to the desktop (it has one xsession, which starts at once). */
async function connect(on = page) {
  await on.goto(`${base}/web`);
  await on.locator(`[data-desktop="${desktopName}"] [data-connect]`).click();
  await on.locator('#status[data-state]').waitFor({ timeout: PATIENCE_MS });
}

/** The overlay the session ended with: its title and message. */
async function endedWith(on = page) {
  const overlay = on.locator('.alert.overlay[data-severity="error"]');
  await overlay.waitFor({ timeout: PATIENCE_MS });
  await on.locator('#status[data-state="closed"]').waitFor({ timeout: PATIENCE_MS });
  return { title: (await overlay.locator('h2').textContent()).trim(), message: (await overlay.locator('p').textContent()).trim() };
}

const promptsShown = (on = page) => on.evaluate(() => window.__keyPrompts);

test('the admin accepts the invite with a security key', async () => {
  await page.goto(atLocalhost(oriel.invite));
  await page.locator('#invite-use-key').click();
  await page.fill('#invite-key-name', 'Virtual key');
  await page.fill('#invite-password', PASSWORD);
  await page.fill('#invite-password-confirm', PASSWORD);
  await page.click('#invite-key-submit');
  const row = page.locator('[data-desktop]').first();
  await row.waitFor({ timeout: PATIENCE_MS });
  desktopName = await row.getAttribute('data-desktop');
  assert.equal((await keys.credentials(key)).length, 1, 'the key holds a credential');

  const admin = JSON.parse(oriel.orielctl(['users', 'ls', '--format', 'json'])).find((user) => user.name === 'admin');
  adminRoles = admin.roles;
  [adminLogin] = admin.linux_logins ?? admin.traits?.linux_logins ?? [];
  assert.ok(adminRoles.length > 0 && adminLogin, `the admin has roles and a desktop login: ${JSON.stringify(admin)}`);
  writeFileSync(join(oriel.dir, 'mfa.yaml'), MFA_ROLE);
  oriel.orielctl(['create', '-f', join(oriel.dir, 'mfa.yaml')]);
});

test('without require_session_mfa: no prompt, and the session starts as before', async () => {
  const known = new Set(sessionStarts().map((e) => e.sid));
  await connect();
  await page.locator('#status[data-state="connected"]').waitFor({ timeout: PATIENCE_MS });
  assert.deepEqual(await promptsShown(), [], 'no key prompt');
  assert.equal(await page.locator('#session-key-wait').isVisible(), false);
  const started = await newSessionStart(known);
  assert.equal(started.success, true);
  assert.equal(started.user, 'admin');
  assert.equal(started.with_mfa, false, 'no MFA check on record');
});

test('with require_session_mfa: the prompt shows, the key answers, the session starts with MFA on record', async () => {
  setAdminRoles(['mfa']);
  const [before] = await keys.credentials(key);
  const known = new Set(sessionStarts().map((e) => e.sid));
  await connect();
  await page.locator('#status[data-state="connected"]').waitFor({ timeout: PATIENCE_MS });
  const prompts = await promptsShown();
  assert.equal(prompts.length, 1, 'the prompt showed once');
  assert.match(prompts[0], new RegExp(`^${PROMPT}.*Cancel$`));
  assert.equal(await page.locator('#session-key-wait').isVisible(), false, 'and is gone');
  assert.equal(await page.locator('.alert.overlay').count(), 0, 'nothing went wrong');
  const [after] = await keys.credentials(key);
  assert.ok(after.signCount > before.signCount, 'the key signed');

  const started = await newSessionStart(known);
  assert.equal(started.success, true);
  assert.equal(started.user, 'admin');
  assert.equal(started.linux_user, adminLogin);
  assert.equal(started.with_mfa, true);
});

test('without the key: Cancel, or a key with no credential of Oriel’s, ends the attempt and starts nothing', async () => {
  const known = new Set(sessionStarts().map((e) => e.sid));
  await keys.remove(key);

  // No authenticator at all: the browser waits for one; the person gives up.
  await connect();
  const prompt = page.locator('#session-key-wait');
  await prompt.waitFor({ timeout: PATIENCE_MS });
  assert.match((await prompt.textContent()).replace(/\s+/g, ' '), new RegExp(PROMPT));
  assert.equal(await page.getAttribute('#status', 'data-state'), 'connecting');
  await page.click('#session-key-cancel');
  assert.deepEqual(await endedWith(), { title: KEY_CHECK_FAILED, message: DID_NOT_ANSWER });
  assert.equal(await prompt.isVisible(), false);
  assert.equal(await page.locator('.alert.overlay').count(), 1, 'one reason, not the proxy’s alert over it');

  // Another key, which holds no credential of Oriel's: the browser refuses at once.
  const otherKey = await keys.add('usb');
  await connect();
  assert.deepEqual(await endedWith(), { title: KEY_CHECK_FAILED, message: DID_NOT_ANSWER });
  assert.equal((await promptsShown()).length, 1, 'the prompt showed');
  assert.equal(await prompt.isVisible(), false);
  assert.deepEqual(await keys.credentials(otherKey), [], 'nothing was made on it');
  await keys.remove(otherKey);

  // Nothing was dialled: the desktop has no session start of these attempts, refused or not.
  assert.deepEqual(sessionStarts().filter((e) => !known.has(e.sid)), []);
});

test('a user with only an authenticator app is told to add a key on the Account page', async () => {
  const added = oriel.orielctl(['users', 'add', 'tom', '--roles=access,mfa', '--linux-logins=oriel-e2e-tom']);
  const invite = atLocalhost(`${oriel.url}/web/invite/${added.match(/\/web\/invite\/(\S+)/)[1]}`);
  const tomContext = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 800, height: 600 } });
  try {
    const tom = report.watch(await tomContext.newPage());
    assert.equal(await acceptInvite(tom, invite, PASSWORD), desktopName);
    const known = new Set(sessionStarts().map((e) => e.sid));
    await tom.locator(`[data-desktop="${desktopName}"] [data-connect]`).click();
    const ended = await endedWith(tom);
    assert.deepEqual(ended, { title: 'A security key check is required', message: NO_KEY });
    assert.equal(await tom.locator('.alert.overlay p').isVisible(), true, 'the reason is on screen');
    assert.equal(await tom.locator('#session-key-wait').isVisible(), false, 'no prompt: there is no key to ask');
    assert.deepEqual(sessionStarts().filter((e) => !known.has(e.sid)), [], 'nothing started');
  } finally {
    await tomContext.close();
  }
});

test('nothing broke the content security policy', () => {
  const violations = pageLog.filter((line) => /Content Security Policy|Refused to/i.test(line));
  assert.deepEqual(violations, []);
});
