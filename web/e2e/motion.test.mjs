// A region in motion, in a real Chromium: a video player (ffplay showing
// FFmpeg's test pattern for six seconds, then its last frame) on the
// desktop. Its region goes as VP8, decoded by the browser's WebCodecs,
// and once the video stops the canvas equals the X screen pixel for
// pixel: the region was repainted exactly; its recording plays the VP8
// back and ends on that exact picture. A role with
// `desktop_lossy: false`, and a browser without WebCodecs, get every
// pixel exactly from the start.
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { launchChromium } from './browser.mjs';
import { failureReport } from './harness.mjs';
import { startOriel, eventually, xDisplay, acceptInvite, canvasMatchesRoot, envFile } from './oriel.mjs';

/**
 * Six seconds of FFmpeg's moving test pattern at 30 fps with film grain,
 * as a camera's video has (flat colour bars alone compress losslessly and
 * are rightly left exact), then its last frame, still.
 */
const PLAYER = {
  name: 'Moving picture',
  command:
    'xsetroot -solid "#3366cc"; SDL_AUDIODRIVER=dummy exec ffplay -v error -an -noborder -left 40 -top 40 ' +
    '-f lavfi -i testsrc2=size=320x240:rate=30:duration=6,noise=alls=30:allf=t+u',
};
/** The player and a margin of the root around it. */
const REGION = { x: 0, y: 0, width: 400, height: 320 };

let oriel;
let browser;
/** Logged in once (the invite); each test opens a page of its own, a session of its own. */
let context;
const report = failureReport(() => oriel);
const { test } = report;

before(async () => {
  oriel = await startOriel([PLAYER]);
  ({ browser } = await launchChromium());
  context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 900, height: 600 } });
  const page = report.watch(await context.newPage());
  await acceptInvite(page, oriel.invite, 'a long enough password');
  await page.close();
});

after(async () => {
  await browser?.close();
  report.print(oriel);
  await oriel?.stop();
});

/**
 * A new page and a new session on it (closing the page ends it: no grace),
 * with the player starting over; `display` is that session's X display.
 */
async function openSession({ withoutWebCodecs = false } = {}) {
  const page = report.watch(await context.newPage());
  if (withoutWebCodecs) {
    await page.addInitScript(() => {
      delete globalThis.VideoDecoder;
      delete globalThis.EncodedVideoChunk;
    });
  }
  // The xsession writes its display here when it starts: this session's, not the last one's.
  rmSync(envFile(oriel.dir, PLAYER.name), { force: true });
  await page.goto(`${oriel.url}/web`);
  await page.locator('[data-desktop] [data-connect]').first().click();
  await page.locator('#status[data-state="connected"]').waitFor({ timeout: 30_000 });
  return { page, display: await xDisplay(oriel, PLAYER.name) };
}

test('a playing video goes as VP8, and once it stops the canvas equals the X screen', async () => {
  const { page, display } = await openSession();
  try {
    await eventually('video frames painted', () => page.evaluate(() => window.__oriel.videoFrames > 10));
    await canvasMatchesRoot(page, display, REGION);
  } finally {
    await page.close();
  }
});

test('the recording plays the video back as VP8 and ends on the exact picture', async () => {
  const recordingIds = async () => {
    const page = await context.request.get(`${oriel.url}/api/recordings`);
    assert.equal(page.status(), 200, 'the user may list recordings');
    return (await page.json()).recordings.map((r) => r.id);
  };
  const before = new Set(await recordingIds());
  const { page, display } = await openSession();
  let live;
  try {
    await eventually('video frames painted', () => page.evaluate(() => window.__oriel.videoFrames > 10));
    await canvasMatchesRoot(page, display, REGION);
    live = await canvasRegion(page, REGION);
  } finally {
    // Closing the page ends the session: its recording is uploaded.
    await page.close();
  }
  const id = await eventually('the recording to be listed', async () => (await recordingIds()).find((r) => !before.has(r)));

  const player = report.watch(await context.newPage());
  try {
    await player.goto(`${oriel.url}/web/recordings/${id}`);
    await player.selectOption('#player-speed', '16');
    await player.locator('#player[data-player-state="ended"]').waitFor({ timeout: 60_000 });
    const videoFrames = Number(await player.locator('#player').getAttribute('data-video-frames'));
    assert.ok(videoFrames > 10, `VP8 frames painted in playback: ${videoFrames}`);
    // The exact repaint after the video stopped is recorded too.
    const played = await canvasRegion(player, REGION);
    const differing = played.filter((value, i) => i % 4 !== 3 && value !== live[i]).length;
    assert.equal(differing, 0, 'the played-back picture equals the live one, channel for channel');
  } finally {
    await player.close();
  }
});

/** The RGBA bytes of `region` of the page's #screen canvas. */
function canvasRegion(page, { x, y, width, height }) {
  return page.evaluate(
    ({ x, y, width, height }) => Array.from(document.querySelector('#screen').getContext('2d').getImageData(x, y, width, height).data),
    { x, y, width, height },
  );
}

test('a role with desktop_lossy: false gets every pixel exactly', async () => {
  const role = join(oriel.dir, 'exact.yaml');
  writeFileSync(role, 'kind: role\nversion: v7\nmetadata:\n  name: exact\nspec:\n  options:\n    desktop_lossy: false\n');
  oriel.orielctl(['create', '-f', role]);
  const logins = loginsOfAdmin();
  oriel.orielctl(['users', 'update', 'admin', '--roles=access,exact', `--linux-logins=${logins.join(',')}`]);
  try {
    await noVideoWhilePlaying();
  } finally {
    oriel.orielctl(['users', 'update', 'admin', '--roles=access', `--linux-logins=${logins.join(',')}`]);
  }
});

test('a browser without WebCodecs gets every pixel exactly', async () => {
  await noVideoWhilePlaying({ withoutWebCodecs: true });
});

async function noVideoWhilePlaying(options) {
  const { page, display } = await openSession(options);
  try {
    // The whole video plays, exactly: frames paint, none of them video.
    await eventually('the player painting', () => page.evaluate(() => window.__oriel.framesPainted > 60));
    await canvasMatchesRoot(page, display, REGION);
    assert.equal(await page.evaluate(() => window.__oriel.videoFrames), 0, 'no video frames');
  } finally {
    await page.close();
  }
}

function loginsOfAdmin() {
  const admin = JSON.parse(oriel.orielctl(['users', 'ls', '--format', 'json'])).find((user) => user.name === 'admin');
  const logins = admin.linux_logins ?? admin.traits?.linux_logins ?? [];
  assert.ok(logins.length > 0, `the admin has a desktop login: ${JSON.stringify(admin)}`);
  return logins;
}
