// A slow link, made for real: Chromium runs in a network namespace this
// test creates, and reaches the proxy through a veth pair whose host end
// the kernel shapes to 1 Mbit/s (tc's token bucket filter) on its way to
// the browser; nothing leaves the machine. A desktop repaints a screenful
// of random text again and again. The status bar says the link is good,
// then, once shaped, slow with about its bandwidth, and good again once
// the shaping goes; when the desktop calms down on the slow link, the
// canvas equals the X screen.
//
// netem (fixed delay, loss) is not in this machine's kernel
// (CONFIG_NET_SCH_NETEM unset), so the delay the test makes is the
// queue's; the token bucket is what a narrow link is.
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchChromium, CHROMIUM_PATH } from './browser.mjs';
import { failureReport } from './harness.mjs';
import { startOriel, eventually, xDisplay, acceptInvite, canvasMatchesRoot } from './oriel.mjs';
import { startRelay } from './tcp-relay.mjs';

/** A blue root and an xterm repainting random text until CALM exists, then quiet. */
const BUSY = {
  name: 'Busy screen',
  command:
    `xsetroot -solid "#3366cc"; exec xterm -geometry 100x30+20+20 -e sh -c ` +
    `"while [ ! -e CALM ]; do clear; head -c 2400 /dev/urandom | base64 -w 96; sleep 0.05; done; clear; echo calm; exec sleep 3600"`,
};
/** The shaped rate, kbit/s. */
const RATE_KBIT = 1000;
const ns = `oriel-slow-${process.pid}`;
const hostEnd = `osl${process.pid % 100000}h`;
const nsEnd = `osl${process.pid % 100000}n`;
/** A /30 of its own on the veth pair: the host end, and Chromium's end. */
const HOST_ADDRESS = '10.231.7.1';
const NS_ADDRESS = '10.231.7.2';

let oriel;
let relay;
let browser;
let page;
let calm;
let scratch;
const report = failureReport(() => oriel);
const { test } = report;

const ip = (...args) => execFileSync('ip', args, { stdio: 'pipe' });
const tc = (...args) => execFileSync('tc', args, { stdio: 'pipe' });

function makeLink() {
  ip('netns', 'add', ns);
  ip('link', 'add', hostEnd, 'type', 'veth', 'peer', 'name', nsEnd);
  ip('link', 'set', nsEnd, 'netns', ns);
  ip('addr', 'add', `${HOST_ADDRESS}/30`, 'dev', hostEnd);
  ip('link', 'set', hostEnd, 'up');
  ip('netns', 'exec', ns, 'ip', 'addr', 'add', `${NS_ADDRESS}/30`, 'dev', nsEnd);
  ip('netns', 'exec', ns, 'ip', 'link', 'set', nsEnd, 'up');
  ip('netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up');
}

function removeLink() {
  for (const args of [['link', 'del', hostEnd], ['netns', 'del', ns]]) {
    try {
      ip(...args);
    } catch {
      // Not made, or already gone with the namespace.
    }
  }
}

/**
 * Shapes what goes from the host (the proxy) to Chromium. A narrow link
 * has no room for bursts: the bucket holds two packets.
 */
const shape = () => tc('qdisc', 'replace', 'dev', hostEnd, 'root', 'tbf', 'rate', `${RATE_KBIT}kbit`, 'burst', '3kb', 'latency', '3s');
const unshape = () => tc('qdisc', 'del', 'dev', hostEnd, 'root');

before(async () => {
  removeLink();
  makeLink();
  oriel = await startOriel([BUSY]);
  calm = join(oriel.dir, 'calm');
  const desktopFile = join(oriel.dir, 'xsessions', `${BUSY.name}.desktop`);
  writeFileSync(desktopFile, readFileSync(desktopFile, 'utf8').replace('CALM', calm));
  // Chromium reaches the proxy at the host end of the pair, through a relay.
  relay = await startRelay(oriel.url, { host: HOST_ADDRESS });
  scratch = mkdtempSync(join(tmpdir(), 'oriel-slow-link-'));
  const inNamespace = join(scratch, 'chromium');
  writeFileSync(inNamespace, `#!/bin/sh\nexec ip netns exec ${ns} ${CHROMIUM_PATH} "$@"\n`);
  chmodSync(inNamespace, 0o755);
  ({ browser } = await launchChromium({}, { executablePath: inNamespace }));
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 900, height: 600 } });
  page = report.watch(await context.newPage());
  await acceptInvite(page, oriel.invite.replace(new URL(oriel.invite).origin, relay.url), 'a long enough password');
});

after(async () => {
  await browser?.close();
  await relay?.close();
  report.print(oriel);
  await oriel?.stop();
  removeLink();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

const link = () => page.locator('#status .status-link');

test('the status bar shows the link: good, slow with its bandwidth once shaped, good again', async () => {
  await page.locator('[data-desktop] [data-connect]').first().click();
  await page.locator('#status[data-state="connected"]').waitFor({ timeout: 30_000 });
  await link().and(page.locator('[data-link="good"]')).waitFor({ timeout: 30_000 });
  assert.equal(await link().textContent(), 'link good');

  shape();
  await link().and(page.locator('[data-link="slow"]')).waitFor({ timeout: 60_000 });
  const text = await link().textContent();
  const found = /^slow link · ([\d.]+) (kbit|Mbit)\/s$/.exec(text);
  assert.ok(found, `the bandwidth is shown: ${text}`);
  const kbps = Number(found[1]) * (found[2] === 'Mbit' ? 1000 : 1);
  // The estimate is the best rate delivered lately: about the shaped one.
  assert.ok(kbps > RATE_KBIT / 4 && kbps < RATE_KBIT * 2, `${kbps} kbit/s on a ${RATE_KBIT} kbit/s link`);
  assert.match(await link().getAttribute('title'), /fewer, fresher frames/);

  unshape();
  await link().and(page.locator('[data-link="good"]')).waitFor({ timeout: 60_000 });
});

test('on the slow link, once the desktop calms down the canvas equals the X screen', async () => {
  shape();
  await link().and(page.locator('[data-link="slow"]')).waitFor({ timeout: 60_000 });
  const display = await xDisplay(oriel, BUSY.name);
  writeFileSync(calm, '');
  await canvasMatchesRoot(page, display, { x: 0, y: 0, width: 640, height: 420 });
  await eventually('frames still painted', () => page.evaluate(() => window.__oriel.framesPainted > 0));
});
