// A person's first sessions, in a real Chromium against the real daemon:
// accept the invite, see the allowed desktops, pick a session, type into an
// xterm through the canvas, see the X screen pixel for pixel, resize, be
// refused a login the roles do not allow, be disconnected by a lock, and
// log in again on a HiDPI screen.
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { launchChromium } from './browser.mjs';
import { failureReport, TYPING_PROBE, probeOutput } from './harness.mjs';
import { startOriel, eventually, xDisplay, x, totp, ROOT, typeIntoProbe, canvasMatchesRoot, auditEvent } from './oriel.mjs';

const PASSWORD = 'a long enough password';
let oriel;
let browser;
let page;
let desktopName;
let totpSecret;
let lastCodeStep;
/** Where the typing probe writes what is typed. */
let typed;
const report = failureReport(() => oriel);
const { test, pageLog } = report;

before(async () => {
  oriel = await startOriel([
    { name: 'Idle', command: 'exec sleep 3600' },
    TYPING_PROBE,
  ]);
  typed = probeOutput(oriel);
  ({ browser } = await launchChromium());
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 900, height: 600 } });
  page = await context.newPage();
  report.watch(page);
});

after(async () => {
  await browser?.close();
  report.print(oriel);
  await oriel?.stop();
});

test('accept the invite, enroll TOTP and see the allowed desktops', async () => {
  await page.goto(oriel.invite);
  // The page fetches the invite after it loads; the form shows when it has it.
  await eventually('the invite form or its error', async () =>
    (await page.locator('#invite-qr').count()) > 0 || (await page.locator('#invite-error').textContent()).trim(),
  );
  assert.equal((await page.locator('#invite-error').textContent()).trim(), '', 'the invite page shows no error');
  totpSecret = (await page.locator('#invite-secret').textContent()).trim();
  assert.match(totpSecret, /^[A-Z2-7]{32}$/);
  await page.fill('#invite-password', PASSWORD);
  await page.fill('#invite-password-confirm', PASSWORD);
  lastCodeStep = Math.floor(Date.now() / 30000);
  await page.fill('#invite-code', totp(totpSecret));
  await page.click('#invite-submit');
  const row = page.locator('[data-desktop]');
  await row.first().waitFor({ timeout: 30_000 });
  assert.equal(await row.count(), 1, 'this host registered one desktop');
  desktopName = await row.first().getAttribute('data-desktop');
  const cookies = await page.context().cookies();
  const session = cookies.find((c) => c.name === '__Host-oriel_session');
  assert.ok(session?.httpOnly && session.secure && session.sameSite === 'Strict' && session.path === '/', 'the session cookie is __Host-, HttpOnly, Secure, SameSite=Strict, Path=/');
  const used = await page.request.get(`${oriel.url}/api/invite/${oriel.invite.split("/").pop()}`);
  assert.equal(used.status(), 404, 'an invite works once');
});

test('pick a session, type into an xterm, see the X screen, resize', async () => {
  await page.locator(`[data-desktop="${desktopName}"] [data-connect]`).click();
  await page.locator('[data-xsession="Typing probe"]').click();
  await page.locator('#status[data-state="connected"]').waitFor({ timeout: 30_000 });
  await eventually('a painted frame', () => page.evaluate(() => window.__oriel.framesPainted > 0));

  // Type once the terminal is on screen, as a person would.
  const display = await xDisplay(oriel, 'Typing probe');
  await typeIntoProbe(page, 'hello oriel');
  await eventually('typed text on the X side', () => existsSync(typed) && readFileSync(typed, 'utf8') === 'hello oriel!\n');

  // Pixels: the canvas shows exactly what X has, in the xterm and beside it.
  await canvasMatchesRoot(page, display, { x: 0, y: 0, width: 600, height: 220 });
  mkdirSync(join(ROOT, 'web/e2e/artifacts'), { recursive: true });
  await page.screenshot({ path: join(ROOT, 'web/e2e/artifacts/desktop.png') });

  // Resize: the remote screen follows the window.
  const rootSize = () => {
    const info = x(display, 'xwininfo', ['-root']).toString();
    return `${info.match(/Width: (\d+)/)[1]}x${info.match(/Height: (\d+)/)[1]}`;
  };
  const canvasSize = () => page.evaluate(() => `${document.querySelector('#screen').width}x${document.querySelector('#screen').height}`);
  // The toolbar sits above the remote screen, never over it: the screen gets the window under it.
  const room = () => page.evaluate(() => {
    const viewport = document.querySelector('#viewport');
    return `${viewport.clientWidth}x${viewport.clientHeight}`;
  });
  const [toolbarBottom, screenTop] = await page.evaluate(() => [
    document.querySelector('.session-toolbar').getBoundingClientRect().bottom,
    document.querySelector('#screen').getBoundingClientRect().top,
  ]);
  assert.ok(toolbarBottom > 0 && screenTop >= toolbarBottom, `the screen's top row (at ${screenTop}) under the toolbar (to ${toolbarBottom})`);
  assert.equal(rootSize(), await room(), 'the first screen fits the first window, under the toolbar');
  assert.equal(rootSize(), `900x${600 - toolbarBottom}`);
  // Xvfb holds its largest screen from the start: the browser's monitor (Playwright's
  // screen is the viewport), not the host's 7680x4320 cap.
  assert.match(x(display, 'xrandr', ['-q']).toString(), /maximum 900 x 600\b/);
  await page.setViewportSize({ width: 700, height: 500 });
  await eventually('the X screen to follow the window', async () =>
    rootSize() === `700x${500 - toolbarBottom}` && (await canvasSize()) === rootSize() && (await room()) === rootSize());
});

test('a lock set with orielctl ends the live session with its message', async () => {
  const out = oriel.orielctl(['lock', '--user', 'admin', '--message', 'maintenance window']);
  const lockName = out.match(/"([^"]+)"/)[1];
  try {
    await page.locator('text=the session was locked by an administrator: maintenance window').waitFor({ timeout: 30_000 });
    await page.locator('#status[data-state="closed"]').waitFor();
  } finally {
    oriel.orielctl(['unlock', lockName]);
  }
});

test('a login the roles do not allow is refused with the reason', async () => {
  await page.goto(`${oriel.url}/web/cluster/oriel/linux_desktops/${desktopName}/nobody`);
  await page.locator('text=Access denied').first().waitFor({ timeout: 30_000 });
  await page.locator('text=no role allows login "nobody"').first().waitFor();
  // Both are in the audit log: the refusal, and the lock's disconnect before it.
  const refused = await auditEvent(oriel, 'the refused start', (e) => e.event === 'linux.desktop.session.start' && e.linux_user === 'nobody');
  assert.equal(refused.success, false);
  assert.equal(refused.code, 'TLD00W');
  assert.equal(refused.user, 'admin');
  assert.match(refused.error, /access denied: no role allows login "nobody"/);
  const disconnect = await auditEvent(oriel, 'the lock disconnect', (e) => e.event === 'client.disconnect');
  assert.equal(disconnect.reason, 'the session was locked by an administrator: maintenance window');
});

test('the pages run under a strict content security policy, which nothing violates', async () => {
  const response = await page.request.get(`${oriel.url}/web/login`);
  const policy = response.headers()['content-security-policy'] ?? '';
  assert.match(policy, /script-src 'self' 'wasm-unsafe-eval'/);
  assert.doesNotMatch(policy, /'unsafe-eval'|'unsafe-inline'/, 'no eval and no inline script');
  // Everything so far (invite, list, a live session with WebAssembly in a
  // worker, cursors as data: images) ran under it.
  const violations = pageLog.filter((line) => /Content Security Policy|Refused to/i.test(line));
  assert.deepEqual(violations, []);
});

test('log in with password and code on a HiDPI screen; the desktop has device resolution', async () => {
  // A code is good once: wait for the step after the one used to enroll.
  while (Math.floor(Date.now() / 30000) <= lastCodeStep) await sleep(500);
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 600, height: 400 }, deviceScaleFactor: 2 });
  const hidpi = await context.newPage();
  try {
    await hidpi.goto(`${oriel.url}/web/login`);
    await hidpi.fill('#login-user', 'admin');
    await hidpi.fill('#login-password', PASSWORD);
    await hidpi.click('#login-submit');
    await hidpi.fill('#login-code', totp(totpSecret));
    await hidpi.click('#login-code-submit');
    await hidpi.locator(`[data-desktop="${desktopName}"] [data-connect]`).click();
    await hidpi.locator('[data-xsession="Idle"]').click();
    await hidpi.locator('#status[data-state="connected"]').waitFor({ timeout: 30_000 });
    const display = await xDisplay(oriel, 'Idle');
    // The window is 600x400 CSS pixels; the toolbar takes the top of it.
    const toolbarHeight = await hidpi.evaluate(() => document.querySelector('.session-toolbar').getBoundingClientRect().height);
    const info = x(display, 'xwininfo', ['-root']).toString();
    assert.equal(`${info.match(/Width: (\d+)/)[1]}x${info.match(/Height: (\d+)/)[1]}`, `1200x${2 * (400 - toolbarHeight)}`);
    const canvas = await hidpi.evaluate(() => {
      const c = document.querySelector('#screen');
      const box = c.getBoundingClientRect();
      return `${c.width}x${c.height} in ${box.width}x${box.height}`;
    });
    assert.equal(canvas, `1200x${2 * (400 - toolbarHeight)} in 600x${400 - toolbarHeight}`, 'one canvas pixel per device pixel');
    // 100, 50 CSS pixels into the canvas.
    await hidpi.mouse.move(100, toolbarHeight + 50);
    await eventually('the X pointer at twice the CSS position', () =>
      x(display, 'xdotool', ['getmouselocation']).toString().startsWith('x:200 y:100 '));
    // At devicePixelRatio 2 the cursor image is declared 2x, so it is drawn
    // at the desktop's own scale rather than twice as large.
    await eventually('the remote cursor shape as a 2x CSS cursor', () =>
      hidpi.evaluate(() => /^image-set\(url\("?data:image\/png;base64,[^)]+\) 2(x|dppx)\)/.test(getComputedStyle(document.querySelector('#screen')).cursor)));
  } finally {
    await context.close();
  }
});
