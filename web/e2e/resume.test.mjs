// Sessions that outlive their connection, in a real Chromium: a person
// works in an xterm on a desktop of another host; the network drops (a
// relay between the browser and the proxy cuts every connection) and the
// page reconnects by itself to the same xterm; the auth service and proxy
// restart and the page comes back through them; the tab closes and the
// person, logged in again in a new browser context, resumes the session
// from the list; End session ends it at once. On a second Oriel with a
// grace of two seconds: the toolbar leaves the remote screen's top row
// visible, its keys reach the X side as keys, the address names the
// xsession (a bookmark opens it), and a session nobody comes back to is
// gone once the grace has passed.
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { launchChromium } from './browser.mjs';
import { failureReport, TYPING_PROBE, probeOutput } from './harness.mjs';
import { startDeployment, startOriel, eventually, xDisplay, totp, typeIntoProbe, canvasMatchesRoot, canvasPixel } from './oriel.mjs';
import { startRelay } from './tcp-relay.mjs';

const PASSWORD = 'a long enough password';
/** Reconnecting waits up to 10 s between tries, and a tunnel as long to come back. */
const RECONNECT_MS = 60_000;
/** An xterm in raw mode whose `cat -v` writes every byte a key makes to a file (KEYS). */
const KEYS_PROBE = {
  name: 'Keys probe',
  command: `xsetroot -solid "#3366cc"; exec xterm -geometry 60x10+20+20 -e sh -c "stty raw -echo; exec cat -v > KEYS"`,
};
let cluster;
let relay;
let browser;
let page;
let typed;
let secret;
let lastCodeStep;
let display;
const report = failureReport(() => cluster);
const { test } = report;

before(async () => {
  cluster = await startDeployment([TYPING_PROBE], { disconnectGrace: '10m' });
  typed = probeOutput(cluster);
  relay = await startRelay(cluster.url);
  ({ browser } = await launchChromium());
  page = await newPage();
});

after(async () => {
  await browser?.close();
  await relay?.close();
  report.print(cluster);
  await cluster?.stop();
});

async function newPage() {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 900, height: 600 } });
  return report.watch(await context.newPage());
}

const typedText = () => (existsSync(typed) ? readFileSync(typed, 'utf8') : '');

/** Connects `on` to the remote desktop from the desktop list. */
async function openDesktop(on) {
  await on.goto(`${relay.url}/web`);
  const row = on.locator(`[data-desktop="${cluster.desktop}"]`);
  await row.waitFor({ timeout: 30_000 });
  if ((await row.locator('[data-login-select]').count()) > 0) await row.locator('[data-login-select]').selectOption(cluster.login);
  await row.locator('[data-connect]').click();
}

test('work in an xterm; the network drops; the page reconnects by itself to the same xterm with its text', async () => {
  await page.goto(cluster.invite.replace(new URL(cluster.invite).origin, relay.url));
  await page.locator('#invite-secret').waitFor({ timeout: 30_000 });
  secret = (await page.locator('#invite-secret').textContent()).trim();
  await page.fill('#invite-password', PASSWORD);
  await page.fill('#invite-password-confirm', PASSWORD);
  lastCodeStep = Math.floor(Date.now() / 30000);
  await page.fill('#invite-code', totp(secret));
  await page.click('#invite-submit');
  await page.locator('[data-desktop]').first().waitFor({ timeout: 30_000 });
  await openDesktop(page);
  await page.locator('#status[data-state="connected"]').waitFor({ timeout: 30_000 });
  // The address names the xsession now, so a bookmark opens it.
  await eventually('the xsession in the address', () => page.url().endsWith('/Typing%20probe'));
  display = await xDisplay(cluster, 'Typing probe');
  await typeIntoProbe(page, 'before the drop');
  await eventually('the typed line', () => typedText() === 'before the drop!\n');

  relay.hold();
  await page.locator('#status[data-state="reconnecting"]').waitFor({ timeout: 30_000 });
  assert.match(await page.locator('#status .status-text').textContent(), /^Reconnecting…/);
  relay.release();
  await page.locator('#status[data-state="connected"]').waitFor({ timeout: RECONNECT_MS });
  // The same X session, repainted from a keyframe: the xterm with its line.
  await canvasMatchesRoot(page, display, { x: 0, y: 0, width: 600, height: 220 });
  await typeIntoProbe(page, 'after the drop');
  await eventually('both lines, from one xterm', () => typedText() === 'before the drop!\nafter the drop!\n');

  // A reload comes straight back to the same session, without asking.
  await page.reload();
  await page.locator('#status[data-state="connected"]').waitFor({ timeout: 30_000 });
  assert.equal(await page.locator('#resume-picker').count(), 0, 'no choice to make');
  await canvasMatchesRoot(page, display, { x: 0, y: 0, width: 600, height: 220 });
});

test('the auth service and proxy restart mid-session: the page comes back through them to the same session', async () => {
  const restart = await cluster.crashControl();
  await page.locator('#status[data-state="reconnecting"]').waitFor({ timeout: 30_000 });
  await restart();
  await page.locator('#status[data-state="connected"]').waitFor({ timeout: RECONNECT_MS });
  await canvasMatchesRoot(page, display, { x: 0, y: 0, width: 600, height: 220 });
  await typeIntoProbe(page, 'after the restart');
  await eventually('the third line, in the same xterm', () => typedText().endsWith('after the drop!\nafter the restart!\n'));
});

test('the tab closes; logged in again in a new browser, the person resumes the session from the list', async () => {
  await page.context().close();
  page = await newPage();
  // A new login needs a code the first one did not use.
  while (Math.floor(Date.now() / 30000) <= lastCodeStep) await sleep(500);
  await page.goto(`${relay.url}/web/login`);
  await page.fill('#login-user', 'admin');
  await page.fill('#login-password', PASSWORD);
  await page.click('#login-submit');
  await page.fill('#login-code', totp(secret));
  await page.click('#login-code-submit');
  await page.locator('[data-desktop]').first().waitFor({ timeout: 30_000 });
  await openDesktop(page);
  const resume = page.locator('#resume-picker .resume-session');
  await resume.waitFor({ timeout: 30_000 });
  assert.equal(await resume.count(), 1, 'one session to resume');
  assert.match(await resume.textContent(), /^Resume Typing probe, started /);
  // With a small picture of the screen as it was left: the probe's blue root in its corner.
  const corner = await resume.locator('canvas.resume-thumbnail').evaluate((canvas) => Array.from(canvas.getContext('2d').getImageData(1, 1, 1, 1).data).join());
  assert.equal(corner, '51,102,204,255');
  assert.equal(await page.locator('#resume-picker #new-session').isVisible(), true, 'a new session is offered too');
  await resume.click();
  await page.locator('#status[data-state="connected"]').waitFor({ timeout: 30_000 });
  await canvasMatchesRoot(page, display, { x: 0, y: 0, width: 600, height: 220 });
  await typeIntoProbe(page, 'from another browser');
  await eventually('the fourth line, in the same xterm', () => typedText().endsWith('after the restart!\nfrom another browser!\n'));
});

test('End session ends it at once: nothing is left to resume', async () => {
  await page.click('#disconnect');
  await page.click('#disconnect-confirm');
  await page.locator('#status[data-state="closed"]').waitFor({ timeout: 30_000 });
  const socket = `/tmp/.X11-unix/X${display.DISPLAY.replace(':', '')}`;
  await eventually('the X display to go', () => !existsSync(socket));
  const listed = await page.request.get(`${relay.url}/api/desktops/linux/${cluster.desktop}/sessions?login=${cluster.login}`);
  assert.equal(listed.status(), 200);
  assert.deepEqual((await listed.json()).sessions, []);
});

test('the toolbar: the top row shows, its keys reach the desktop, the address opens the xsession; the grace passes and nothing is left', async () => {
  const oriel = await startOriel([TYPING_PROBE, KEYS_PROBE], { disconnectGrace: '2s' });
  const keys = `${oriel.dir}/keys.txt`;
  const desktopFile = `${oriel.dir}/xsessions/${KEYS_PROBE.name}.desktop`;
  execFileSync('sed', ['-i', `s|KEYS|${keys}|`, desktopFile]);
  const own = await newPage();
  try {
    await own.goto(oriel.invite);
    await own.locator('#invite-secret').waitFor({ timeout: 30_000 });
    const code = (await own.locator('#invite-secret').textContent()).trim();
    await own.fill('#invite-password', PASSWORD);
    await own.fill('#invite-password-confirm', PASSWORD);
    await own.fill('#invite-code', totp(code));
    await own.click('#invite-submit');
    await own.locator('[data-desktop] [data-connect]').first().waitFor({ timeout: 30_000 });
    await own.locator('[data-desktop] [data-connect]').first().click();
    await own.locator('[data-xsession="Keys probe"]').click();
    await own.locator('#status[data-state="connected"]').waitFor({ timeout: 30_000 });
    await eventually('the xsession in the address', () => own.url().endsWith('/Keys%20probe'));
    const bookmark = own.url();
    const keysDisplay = await xDisplay(oriel, 'Keys probe');

    // Nothing covers the remote screen: its top row is on the canvas, below the toolbar.
    const [toolbarBottom, screenTop] = await own.evaluate(() => [
      document.querySelector('.session-toolbar').getBoundingClientRect().bottom,
      document.querySelector('#screen').getBoundingClientRect().top,
    ]);
    assert.ok(screenTop >= toolbarBottom, `the screen (top ${screenTop}) starts below the toolbar (bottom ${toolbarBottom})`);
    await canvasMatchesRoot(own, keysDisplay, { x: 0, y: 0, width: 400, height: 2 });

    // Keys the browser keeps for itself reach the xterm as keys.
    await eventually('the xterm on the canvas', async () => (await canvasPixel(own, 200, 100)) === '255,255,255,255');
    await own.locator('#screen').click({ position: { x: 200, y: 80 } });
    assert.ok(await own.locator('#ctrl-alt-del').isHidden(), 'a Linux desktop has Ctrl+Alt+Del in the Keys menu only');
    for (const key of ['#key-ctrl-w', '#key-ctrl-alt-del', '#key-alt-tab']) {
      await own.click('#keys-menu');
      await own.click(key);
    }
    const pressed = () => (existsSync(keys) ? readFileSync(keys, 'utf8') : '');
    await eventually('Ctrl+W, Ctrl+Alt+Del and Alt+Tab in the xterm', () => pressed().includes('^W') && /\^\[\[3;7~/.test(pressed()) && /M-\^I|\^\[\^I/.test(pressed()));

    // End it, then the bookmark opens that xsession without asking.
    await own.click('#disconnect');
    await own.click('#disconnect-confirm');
    await own.locator('#status[data-state="closed"]').waitFor({ timeout: 30_000 });
    await own.goto(bookmark);
    await own.locator('#status[data-state="connected"]').waitFor({ timeout: 30_000 });
    assert.equal(await own.locator('[data-xsession]').count(), 0, 'no picker: the address chose');
    const again = await xDisplay(oriel, 'Keys probe');

    // The page goes away; nobody comes back within the grace: the display, its programs and its session go.
    await own.goto('about:blank');
    const socket = `/tmp/.X11-unix/X${again.DISPLAY.replace(':', '')}`;
    await eventually('the X display to go after the grace', () => !existsSync(socket));
    await eventually('no program of the session left', () => !execFileSync('ps', ['-eo', 'args']).toString().includes(keys));
    assert.doesNotMatch(readFileSync('/proc/mounts', 'utf8'), /fuse\.oriel/);
    await eventually("the session's end on record", () => oriel.orielctl(['events', 'ls', '--type', 'linux.desktop.session.end', '--format', 'json']).includes('nobody resumed the session within 2s'));
  } catch (error) {
    console.log(`--- the second oriel's output\n${oriel.log()}`);
    throw error;
  } finally {
    await own.context().close();
    await oriel.stop();
  }
});
