// Scrolling in a real Chromium: a terminal that scrolls line after line
// reaches the canvas as copies of what it already shows (CODEC_QOIZ_SESSION's
// copy operations, drawn by the canvas onto itself) plus the new rows, and
// the canvas equals the X screen afterwards, pixel for pixel.
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { launchChromium } from './browser.mjs';
import { failureReport, TYPING_PROBE, probeOutput } from './harness.mjs';
import { startOriel, eventually, xDisplay, acceptInvite, typeIntoProbe, canvasMatchesRoot } from './oriel.mjs';

let oriel;
let browser;
let page;
const report = failureReport(() => oriel);
const { test } = report;

before(async () => {
  oriel = await startOriel([TYPING_PROBE]);
  probeOutput(oriel);
  ({ browser } = await launchChromium());
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 900, height: 600 } });
  page = await context.newPage();
  report.watch(page);
  await acceptInvite(page, oriel.invite, 'a long enough password');
});

after(async () => {
  await browser?.close();
  report.print(oriel);
  await oriel?.stop();
});

test('a scrolling terminal arrives as copies and the canvas equals the X screen', async () => {
  await page.locator('[data-desktop] [data-connect]').first().click();
  await page.locator('#status[data-state="connected"]').waitFor({ timeout: 30_000 });
  await eventually('a painted frame', () => page.evaluate(() => window.__oriel.framesPainted > 0));
  const display = await xDisplay(oriel, TYPING_PROBE.name);

  // The probe's xterm has 10 rows: 30 lines scroll it 20 times.
  await typeIntoProbe(page, 'line 1 of the scrolling test');
  for (let line = 2; line <= 30; line++) {
    await page.keyboard.type(`line ${line} of the scrolling test`);
    await page.keyboard.press('Enter');
  }
  await canvasMatchesRoot(page, display, { x: 0, y: 0, width: 500, height: 200 });
  const copied = await page.evaluate(() => window.__oriel.regionsCopied);
  assert.ok(copied > 0, `the scrolls were sent as pixels only (${copied} copies)`);
});
