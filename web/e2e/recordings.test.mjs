// Session recordings end to end: a real session in Chromium, recorded at
// the desktop service while its root changes colour and the user types and
// moves the mouse; then the recording is listed, plays, seeks forward and
// back to the picture the session showed at that moment, changes pace with
// the speed, keeps nothing typed, is exported to a WebM video of its length
// and pictures (read back with ffprobe and ffmpeg), is refused when damaged
// (by the player and the export), and is shown only to those the roles allow.
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { launchChromium } from './browser.mjs';
import { failureReport } from './harness.mjs';
import { startOriel, eventually, canvasPixel, acceptInvite } from './oriel.mjs';

const PASSWORD = 'a long enough password';
const SECRET = 'hunter2-not-in-any-recording';
// The root's colours, in the order the session shows them, as canvas pixels.
const COLOURS = [
  ['#aa3333', '170,51,51,255'],
  ['#33aa33', '51,170,51,255'],
  ['#3333aa', '51,51,170,255'],
];

let oriel;
let browser;
let admin;
let desktopName;
/** What the first test saw: each colour's wall-clock period on screen, and when the recorded session started. */
let shown;
let start;
const report = failureReport();
const { test } = report;

before(async () => {
  oriel = await startOriel([{ name: 'Colours', command: 'COLOURS' }]);
  // The root follows <dir>/colour, which the test writes.
  const desktop = join(oriel.dir, 'xsessions', 'Colours.desktop');
  const follow = `while :; do xsetroot -solid "$(cat ${oriel.dir}/colour)"; sleep 0.1; done`;
  writeFileSync(join(oriel.dir, 'colour'), COLOURS[0][0]);
  writeFileSync(desktop, readFileSync(desktop, 'utf8').replace('COLOURS', follow));
  ({ browser } = await launchChromium());
  admin = await newPage();
});

after(async () => {
  await browser?.close();
  report.print(oriel);
  await oriel?.stop();
});

async function newPage() {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 700, height: 500 } });
  const page = await context.newPage();
  report.watch(page);
  return page;
}

/** Each envelope's payload field number in a recording file (docs/recording.md). */
function recordedFields(file) {
  const metaLen = file.readUInt32BE(12);
  const index = JSON.parse(file.subarray(file.length - 16 - file.readUInt32BE(file.length - 16), file.length - 16).toString());
  const fields = [];
  for (let at = 16 + metaLen; at < index.records_end; ) {
    const bodyLen = file.readUInt32BE(at);
    let key = 0;
    for (let i = 0, shift = 0; i < 5; i++, shift += 7) {
      const byte = file[at + 9 + i];
      key += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) break;
    }
    fields.push(Math.floor(key / 8));
    at += 8 + bodyLen;
  }
  return fields;
}

/** Opens the player of recording `id` on `page` and pauses it once loaded. */
async function openPlayer(page, id) {
  await page.goto(`${oriel.url}/web/recordings/${id}`);
  await page.locator('#player:is([data-player-state="playing"], [data-player-state="paused"], [data-player-state="ended"])').waitFor({ timeout: 30_000 });
  if ((await page.locator('#player').getAttribute('data-player-state')) === 'playing') await page.click('#player-play');
  await page.locator('#player[data-player-state="paused"]').waitFor();
}

/** Seeks the paused player to `ms` and waits for the picture there. */
async function seek(page, ms) {
  await page.locator('#player-timeline').fill(String(ms));
  try {
    await page.locator(`#player[data-player-state="paused"][data-position-ms="${ms}"]`).waitFor({ timeout: 30_000 });
  } catch (error) {
    const player = page.locator('#player');
    const [state, at, problem] = [await player.getAttribute('data-player-state'), await player.getAttribute('data-position-ms'), await page.locator('#player-error').innerText()];
    throw new Error(`the seek to ${ms} ms did not land: ${state} at ${at} ms ${problem}`, { cause: error });
  }
}

/** The middle of a colour's period, in ms into the recording. */
function middle(at) {
  return Math.round((at.from + at.to) / 2 - start);
}

/** Starts the player's export and waits for it to end; returns its state. */
async function exportVideo(page) {
  await page.click('#player-export');
  const ended = '#player-export:is([data-export-state="done"], [data-export-state="error"])';
  await page.locator(ended).waitFor({ timeout: 120_000 });
  return page.locator('#player-export').getAttribute('data-export-state');
}

/** The colour at (x, y) of the video's frame at `seconds`, as [r, g, b]. */
function videoPixel(file, seconds, x, y) {
  const crop = `format=rgb24,crop=1:1:${x}:${y}`;
  return [...execFileSync('ffmpeg', ['-v', 'error', '-ss', String(seconds), '-i', file, '-frames:v', '1', '-vf', crop, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'])];
}

/** How far playback at `speed` goes in `wallMs` of real time, from 0. */
async function progress(page, speed, wallMs) {
  await seek(page, 0);
  await page.selectOption('#player-speed', String(speed));
  await page.click('#player-play');
  await sleep(wallMs);
  // It may have reached the end already; Play there would start it again.
  if ((await page.locator('#player').getAttribute('data-player-state')) === 'playing') await page.click('#player-play');
  await page.locator('#player:is([data-player-state="paused"], [data-player-state="ended"])').waitFor();
  return Number(await page.locator('#player').getAttribute('data-position-ms'));
}

test('a session is recorded, listed, played, sought and kept free of what was typed', async () => {
  desktopName = await acceptInvite(admin, oriel.invite, PASSWORD);
  await admin.locator(`[data-desktop="${desktopName}"] [data-connect]`).click();
  await admin.locator('#status[data-state="connected"]').waitFor({ timeout: 30_000 });

  // Each colour for a while, with the wall-clock moments it was surely on screen.
  shown = [];
  for (const [index, [colour, pixel]] of COLOURS.entries()) {
    writeFileSync(join(oriel.dir, 'colour'), colour);
    await eventually(`the ${colour} root on the canvas`, async () => (await canvasPixel(admin, 5, 5)) === pixel);
    const from = Date.now();
    if (index === 1) {
      // Typing and the mouse, while green is on screen.
      await admin.locator('#screen').click({ position: { x: 50, y: 50 } });
      await admin.keyboard.type(SECRET);
      await admin.mouse.move(120, 90);
    }
    await sleep(1500);
    assert.equal(await canvasPixel(admin, 5, 5), pixel, `${colour} stayed on screen`);
    shown.push({ pixel, from, to: Date.now() });
  }
  // Leaving ends the session; its recording is uploaded.
  await admin.goto(`${oriel.url}/web`);
  const recording = await eventually('the recording to be listed', async () => {
    const listed = await (await admin.request.get(`${oriel.url}/api/recordings`)).json();
    return listed.recordings?.[0];
  });
  assert.equal(recording.user, 'admin');
  assert.equal(recording.desktop, desktopName);
  assert.deepEqual(recording.participants, ['admin']);
  start = Date.parse(recording.start);

  // The Recordings page lists it and its link opens the player.
  await admin.locator('#recordings-link').click();
  await admin.locator(`tr[data-recording-id="${recording.id}"] a[data-play]`).click();
  await admin.locator('#player').waitFor();
  await openPlayer(admin, recording.id);

  // Forward to each colour's moment, then back: the picture of that moment.
  for (const at of [shown[0], shown[2], shown[1], shown[0]]) {
    await seek(admin, middle(at));
    assert.equal(await canvasPixel(admin, 5, 5), at.pixel, `the canvas ${middle(at)} ms in`);
  }

  // Faster is faster: the same real time goes further at 8x than at 1x.
  const slow = await progress(admin, 1, 300);
  const fast = await progress(admin, 8, 300);
  assert.ok(fast > 2 * slow, `8x went ${fast} ms, 1x ${slow} ms`);

  // Nothing typed is in the file: not the text, not a key message.
  const file = Buffer.from(await (await admin.request.get(`${oriel.url}/api/recordings/${recording.id}/data`)).body());
  assert.equal(file.length, recording.size);
  assert.equal(file.indexOf(SECRET), -1, 'the typed text is not in the recording');
  const fields = recordedFields(file);
  assert.ok(fields.includes(100) && fields.includes(7), `frames and mouse moves recorded: ${[...new Set(fields)]}`);
  for (const key of [6, 9, 103]) assert.ok(!fields.includes(key), `no keyboard message (field ${key}) recorded`);

  // A range read is a 206 with its place in the file.
  const part = await admin.request.get(`${oriel.url}/api/recordings/${recording.id}/data`, { headers: { Range: 'bytes=0-7' } });
  assert.equal(part.status(), 206);
  assert.equal(part.headers()['content-range'], `bytes 0-7/${recording.size}`);
  assert.equal((await part.body()).toString(), 'ORIELREC');
});

test('recordings are shown only to those the roles allow, and bad ids are not found', async () => {
  const [recording] = (await (await admin.request.get(`${oriel.url}/api/recordings`)).json()).recordings;
  // Bob has the preset access role: his own sessions only, and he has none.
  const bobInvite = oriel.orielctl(['users', 'add', 'bob', '--roles=access', '--linux-logins=oriel-e2e-bob']).match(/\/web\/invite\/(\S+)/)[1];
  const bob = await newPage();
  await acceptInvite(bob, `${oriel.url}/web/invite/${bobInvite}`, PASSWORD);
  const bobs = await (await bob.request.get(`${oriel.url}/api/recordings`)).json();
  assert.deepEqual(bobs.recordings, []);
  assert.equal((await bob.request.get(`${oriel.url}/api/recordings/${recording.id}`)).status(), 404);
  assert.equal((await bob.request.get(`${oriel.url}/api/recordings/${recording.id}/data`)).status(), 404);
  // Nemo's role has no rules: 403 with the reason, for recordings and events.
  const nothing = join(oriel.dir, 'nothing.yaml');
  writeFileSync(nothing, "kind: role\nversion: v7\nmetadata:\n  name: nothing\nspec:\n  allow:\n    linux_desktop_logins: ['nemo']\n    linux_desktop_labels:\n      '*': '*'\n");
  oriel.orielctl(['create', '-f', nothing]);
  const nemoInvite = oriel.orielctl(['users', 'add', 'nemo', '--roles=nothing']).match(/\/web\/invite\/(\S+)/)[1];
  const nemo = await newPage();
  await acceptInvite(nemo, `${oriel.url}/web/invite/${nemoInvite}`, PASSWORD);
  const refused = await nemo.request.get(`${oriel.url}/api/recordings`);
  assert.equal(refused.status(), 403);
  assert.match((await refused.json()).error, /"session"/);
  assert.equal((await nemo.request.get(`${oriel.url}/api/audit/events`)).status(), 403);
  // Ids that are not session ids, or no recording's, are not found.
  for (const id of ['..%2F..%2Fetc%2Fpasswd', 'not-a-uuid', '0190f0c4-7d2a-7000-8000-000000000000']) {
    assert.equal((await admin.request.get(`${oriel.url}/api/recordings/${id}`)).status(), 404, id);
  }
});

test('the player exports the recording to a WebM video of its length and pictures, and cancels on a second press', async () => {
  const [recording] = (await (await admin.request.get(`${oriel.url}/api/recordings`)).json()).recordings;
  await openPlayer(admin, recording.id);

  // A second press while it works cancels: back to idle, nothing offered.
  await admin.click('#player-export');
  assert.equal(await admin.locator('#player-export').getAttribute('data-export-state'), 'working');
  await admin.locator('#player-export-progress').filter({ hasText: /\d+%/ }).waitFor();
  await admin.click('#player-export');
  assert.equal(await admin.locator('#player-export').getAttribute('data-export-state'), 'idle');
  assert.equal(await admin.locator('.player-export').getAttribute('data-export-url'), null);

  const state = await exportVideo(admin);
  assert.equal(state, 'done', await admin.locator('#player-export-error').textContent());
  const url = await admin.locator('.player-export').getAttribute('data-export-url');
  assert.match(url, /^blob:/);
  const link = admin.locator('#player-export-download');
  assert.equal(await link.getAttribute('download'), `oriel-${recording.id}.webm`);
  assert.equal(await link.getAttribute('href'), url);
  // The link downloads the file: the page's CSP (connect-src 'self') keeps a script from fetching blob: URLs.
  const file = join(oriel.dir, 'export.webm');
  const [download] = await Promise.all([admin.waitForEvent('download'), link.click()]);
  await download.saveAs(file);

  // As long as the recording, to a frame at 15 fps and some rounding.
  const seconds = Number(execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', file]).toString());
  assert.ok(Math.abs(seconds * 1000 - recording.duration_ms) <= 1000 / 15 + 100, `the video lasts ${seconds} s, the recording ${recording.duration_ms} ms`);
  // As large as the recorded screen, in even sizes.
  const [width, height] = execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height', '-of', 'csv=p=0', file]).toString().trim().split(',').map(Number);
  const [canvasWidth, canvasHeight] = await admin.locator('#screen').evaluate((canvas) => [canvas.width, canvas.height]);
  assert.ok(width >= canvasWidth && height >= canvasHeight && width % 2 === 0 && height % 2 === 0, `${width}x${height} for a ${canvasWidth}x${canvasHeight} screen`);
  // Each colour at its moment, within what lossy VP8/VP9 keeps.
  for (const at of shown) {
    const wanted = at.pixel.split(',').slice(0, 3).map(Number);
    const got = videoPixel(file, middle(at) / 1000, 5, 5);
    assert.ok(got.every((channel, i) => Math.abs(channel - wanted[i]) <= 40), `the video ${middle(at)} ms in: ${got}, not ${wanted}`);
  }
});

test('a damaged recording is refused by the player with the reason, and the list still works', async () => {
  const [recording] = (await (await admin.request.get(`${oriel.url}/api/recordings`)).json()).recordings;
  const path = join(oriel.dir, 'data', 'recordings', `${recording.id}.orec`);
  const file = readFileSync(path);
  // A byte in the middle of the records.
  file[Math.floor(file.length / 2)] ^= 0x55;
  writeFileSync(path, file);
  await admin.goto(`${oriel.url}/web/recordings/${recording.id}`);
  // The damage is found when playback reaches it.
  await admin.locator('#player[data-player-state="error"]').waitFor({ timeout: 60_000 });
  const refused = await admin.locator('#player-error').innerText();
  assert.match(refused, /damaged|checksum|CRC/i);
  // The export stops at the damage with the player's reason and offers no file.
  assert.equal(await exportVideo(admin), 'error');
  const reason = refused.slice(refused.indexOf(': ') + 2);
  assert.ok((await admin.locator('#player-export-error').innerText()).endsWith(reason), `the export's error ends with "${reason}"`);
  assert.equal(await admin.locator('.player-export').getAttribute('data-export-url'), null);
  assert.equal(await admin.locator('#player-export-download').isVisible(), false);
  await admin.goto(`${oriel.url}/web/recordings`);
  await admin.locator(`tr[data-recording-id="${recording.id}"]`).waitFor();
});
