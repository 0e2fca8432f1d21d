// A desktop on another host, in a real Chromium: the auth service and the
// proxy run in one `oriel` process, a Linux desktop service alone in
// another that joined with a token and is reachable only through the
// reverse tunnel it keeps to the proxy (mutual TLS, gRPC). A person accepts
// the invite, sees that host's desktop with its label, connects, types into
// an xterm there and sees its screen pixel for pixel. Then the faults: the
// desktop service killed mid-session keeps the recording so far; the auth
// service (with the proxy) killed mid-session loses none of the events the
// remote host wrote while it was away, nor the recording.
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { launchChromium } from './browser.mjs';
import { failureReport, TYPING_PROBE, probeOutput } from './harness.mjs';
import { startDeployment, eventually, xDisplay, totp, typeIntoProbe, canvasMatchesRoot, canvasPixel, auditEvent } from './oriel.mjs';

const PASSWORD = 'a long enough password';
/** The typing probe's root colour on the canvas. */
const BLUE = '51,102,204,255';
let cluster;
let browser;
let page;
/** Where the typing probe writes what is typed. */
let typed;
const report = failureReport(() => cluster);
const { test, pageLog } = report;

before(async () => {
  // One xsession, so it starts without a choice: a blue root, and an xterm
  // whose shell copies every typed line to a file.
  cluster = await startDeployment([TYPING_PROBE]);
  typed = probeOutput(cluster);
  let context;
  ({ browser, context } = await launchChromium({ viewport: { width: 900, height: 600 } }));
  page = await context.newPage();
  report.watch(page);
});

after(async () => {
  await browser?.close();
  report.print(cluster);
  await cluster?.stop();
});

test("accept the invite and see the other host's desktop with its label", async () => {
  await page.goto(cluster.invite);
  await eventually('the invite form or its error', async () =>
    (await page.locator('#invite-qr').count()) > 0 || (await page.locator('#invite-error').textContent()).trim(),
  );
  assert.equal((await page.locator('#invite-error').textContent()).trim(), '', 'the invite page shows no error');
  const secret = (await page.locator('#invite-secret').textContent()).trim();
  await page.fill('#invite-password', PASSWORD);
  await page.fill('#invite-password-confirm', PASSWORD);
  await page.fill('#invite-code', totp(secret));
  await page.click('#invite-submit');

  // The auth+proxy process runs no desktop service: the one desktop listed
  // is the joined host's.
  const rows = page.locator('[data-desktop]');
  await rows.first().waitFor({ timeout: 30_000 });
  assert.deepEqual(await rows.evaluateAll((all) => all.map((row) => row.dataset.desktop)), [cluster.desktop]);
  const row = page.locator(`[data-desktop="${cluster.desktop}"]`);
  assert.deepEqual(await row.locator('.labels .label').allTextContents(), ['env: remote']);
  const offered = await row.locator('[data-login], [data-login-select] option').allTextContents();
  assert.ok(offered.includes(cluster.login), `the admin's login ${cluster.login} is offered (offered: ${offered})`);
});

test('connect, type into an xterm on the other host, see its X screen', async () => {
  const row = page.locator(`[data-desktop="${cluster.desktop}"]`);
  if ((await row.locator('[data-login-select]').count()) > 0) await row.locator('[data-login-select]').selectOption(cluster.login);
  await row.locator('[data-connect]').click();
  await page.locator('#status[data-state="connected"]').waitFor({ timeout: 30_000 });
  await eventually('a painted frame', () => page.evaluate(() => window.__oriel.framesPainted > 0));

  // The desktop-only process started the session, as the desktop login.
  const display = await xDisplay(cluster, 'Typing probe');
  assert.match(cluster.agentLog(), /xsession process started login=\S+ uid=[1-9]/, "the joined host's service started the xsession, not as root");
  assert.doesNotMatch(cluster.controlLog(), /xsession process started/, 'the auth+proxy process started no desktop');

  await typeIntoProbe(page, 'through the tunnel');
  await eventually('typed text on the other host', () => existsSync(typed) && readFileSync(typed, 'utf8') === 'through the tunnel!\n');

  // The canvas shows exactly what that host's X server has, in the xterm and beside it.
  await canvasMatchesRoot(page, display, { x: 0, y: 0, width: 600, height: 220 });
});

test('the desktop service killed mid-session: after its restart, the recording so far is kept and plays', async () => {
  // The previous test's session is still on, its blue root on the canvas.
  await page.locator('#status[data-state="connected"]').waitFor();
  await eventually('the blue root', async () => (await canvasPixel(page, 5, 5)) === BLUE);
  await cluster.crashAgent();
  await page.locator('#status:not([data-state="connected"])').waitFor({ timeout: 30_000 });
  // At its start the service closed the recording a crash had cut short, and uploaded it.
  const recording = await eventually('the cut-short recording to be listed', async () => (await (await page.request.get(`${cluster.url}/api/recordings`)).json()).recordings?.[0]);
  assert.match(cluster.agentLog(), /closed the recording of a session that was cut short/);
  assert.equal(recording.desktop, cluster.desktop);
  await page.goto(`${cluster.url}/web/recordings/${recording.id}`);
  await page.locator('#player:is([data-player-state="playing"], [data-player-state="paused"], [data-player-state="ended"])').waitFor({ timeout: 30_000 });
  if ((await page.locator('#player').getAttribute('data-player-state')) === 'playing') await page.click('#player-play');
  // Its last moment shows the desktop as it was.
  const last = Math.max(0, recording.duration_ms - 1);
  await page.locator('#player-timeline').fill(String(last));
  await page.locator(`#player[data-player-state="paused"][data-position-ms="${last}"]`).waitFor({ timeout: 30_000 });
  assert.equal(await canvasPixel(page, 5, 5), BLUE);
});

test('the auth service and proxy killed mid-session: the events the remote host wrote meanwhile, and the recording, arrive after their restart', async () => {
  const sessionStarts = () =>
    cluster
      .orielctl(['events', 'ls', '--type', 'linux.desktop.session.start', '--format', 'json'])
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line));
  const earlier = new Set(sessionStarts().map((event) => event.sid));
  await page.goto(`${cluster.url}/web`);
  const row = page.locator(`[data-desktop="${cluster.desktop}"]`);
  await row.waitFor({ timeout: 30_000 });
  if ((await row.locator('[data-login-select]').count()) > 0) await row.locator('[data-login-select]').selectOption(cluster.login);
  await row.locator('[data-connect]').click();
  await page.locator('#status[data-state="connected"]').waitFor({ timeout: 30_000 });
  await eventually('the blue root', async () => (await canvasPixel(page, 5, 5)) === BLUE);
  const started = await eventually("this session's start event", () => sessionStarts().find((event) => !earlier.has(event.sid) && event.success));

  // The session ends with the proxy; the remote host writes its end while
  // nobody can take it, and keeps it.
  const restart = await cluster.crashControl();
  await page.locator('#status:not([data-state="connected"])').waitFor({ timeout: 30_000 });
  await eventually('the desktop service to keep its events for later', () => cluster.agentLog().includes('cannot send audit events yet; they wait in the spool'));
  await restart();

  const ended = await auditEvent(cluster, "the session's end, sent after the restart", (event) => event.event === 'linux.desktop.session.end' && event.sid === started.sid);
  assert.equal(ended.recorded, true);
  assert.equal(ended.desktop_name, cluster.desktop);
  // Each of the session's events once: none lost, none doubled.
  const events = cluster
    .orielctl(['events', 'ls', '--session', started.sid, '--format', 'json'])
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line).event);
  assert.deepEqual(events.sort(), ['linux.desktop.session.end', 'linux.desktop.session.start']);
  // The recording, which waited on the host, is listed under the session's id.
  await eventually("the session's recording to be listed", () => cluster.orielctl(['recordings', 'ls']).includes(started.sid));
});
