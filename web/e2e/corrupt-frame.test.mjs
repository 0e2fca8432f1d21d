// A frame damaged on its way, in a real Chromium: the test sits on the
// session's websocket (Playwright's routeWebSocket) and cuts one frame of
// the session stream (CODEC_QOIZ_SESSION) in half. The decoder reports it,
// the page asks the desktop for a keyframe (KeyframeRequest), skips to it,
// and the canvas equals the X screen again, with what was typed meanwhile.
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { launchChromium } from './browser.mjs';
import { failureReport, TYPING_PROBE, probeOutput } from './harness.mjs';
import { startOriel, eventually, xDisplay, acceptInvite, typeIntoProbe, canvasMatchesRoot } from './oriel.mjs';
import { oriel as tdpb } from '../src/generated/tdpb.js';

const Envelope = tdpb.tdpb.v1.Envelope;
const CODEC_QOIZ_SESSION = tdpb.tdpb.v1.Codec.CODEC_QOIZ_SESSION;
/** Envelope field 108 (keyframe_request): its key, 866, as a varint. */
const KEYFRAME_REQUEST_KEY = [0xe2, 0x06];

let daemon;
let browser;
let page;
/** Set by the test: the next session frame that is not a keyframe is cut. */
let cutNext = false;
const cut = [];
let keyframeRequests = 0;
const warnings = [];
const report = failureReport(() => daemon);
const { test } = report;

/** A TDPB frame (4-byte length, envelope) from the desktop, cut if it is the one. */
function maybeCut(message) {
  if (!cutNext || typeof message === 'string') return message;
  const envelope = Envelope.decode(message.subarray(4));
  const rect = envelope.frameRect;
  if (!rect || rect.codec !== CODEC_QOIZ_SESSION || rect.keyframe || rect.data.length < 64) return message;
  cutNext = false;
  cut.push(rect.frameId);
  rect.data = rect.data.subarray(0, rect.data.length >> 1);
  const body = Envelope.encode(envelope).finish();
  const frame = Buffer.alloc(4 + body.length);
  frame.writeUInt32BE(body.length, 0);
  frame.set(body, 4);
  return frame;
}

before(async () => {
  daemon = await startOriel([TYPING_PROBE]);
  probeOutput(daemon);
  ({ browser } = await launchChromium());
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 900, height: 600 } });
  page = report.watch(await context.newPage());
  page.on('console', (message) => {
    if (message.type() === 'warning' && message.text().includes('did not decode')) warnings.push(message.text());
  });
  await page.routeWebSocket(
    (url) => url.protocol === 'wss:',
    (browserSide) => {
      const desktopSide = browserSide.connectToServer();
      browserSide.onMessage((message) => {
        if (typeof message !== 'string' && message[4] === KEYFRAME_REQUEST_KEY[0] && message[5] === KEYFRAME_REQUEST_KEY[1]) keyframeRequests++;
        desktopSide.send(message);
      });
      desktopSide.onMessage((message) => browserSide.send(maybeCut(message)));
    },
  );
  await acceptInvite(page, daemon.invite, 'a long enough password');
});

after(async () => {
  await browser?.close();
  report.print(daemon);
  await daemon?.stop();
});

test('a frame cut short: the page asks for a keyframe and the picture is right again', async () => {
  await page.locator('[data-desktop] [data-connect]').first().click();
  await page.locator('#status[data-state="connected"]').waitFor({ timeout: 30_000 });
  const display = await xDisplay(daemon, TYPING_PROBE.name);
  await typeIntoProbe(page, 'before the damage');
  await canvasMatchesRoot(page, display, { x: 0, y: 0, width: 420, height: 160 });
  assert.equal(keyframeRequests, 0, 'no keyframe asked for while every frame decodes');

  cutNext = true;
  for (const line of ['typed while a frame', 'was cut and skipped', 'until the keyframe']) {
    await page.keyboard.type(line);
    await page.keyboard.press('Enter');
  }
  await eventually('a frame cut', () => cut.length === 1);
  await eventually('the decoder to report it', () => warnings.length > 0);
  await eventually('a KeyframeRequest from the page', () => keyframeRequests > 0);
  await canvasMatchesRoot(page, display, { x: 0, y: 0, width: 420, height: 160 });
  assert.equal(await page.locator('#status').getAttribute('data-state'), 'connected', 'the session goes on');
  assert.match(warnings[0], /did not decode/);
});
