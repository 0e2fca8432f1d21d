// Session recordings end to end: a real session in Chromium, recorded at
// the desktop service while its root changes colour and the user types,
// moves the mouse, copies text both ways across the clipboard and shares a
// directory in which the desktop writes a file and reads it back; then the
// recording is listed, plays, seeks forward and back to the picture the
// session showed at that moment, changes pace with the speed, keeps nothing
// typed, copied or shared (not the text, not a keyboard, clipboard or
// directory message), is exported to a WebM video of its length and
// pictures (read back with ffprobe and ffmpeg), is refused when damaged (by
// the player and the export), and is shown only to those the roles allow.
// An auditor (the preset role alone, no desktops) finds the session's
// events with their fields, through the API and on the Audit log page: its
// start and end, the clipboard's lengths and the directory's share, write
// and read, never a byte of what crossed; and lists and plays its recording.
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { launchChromium } from './browser.mjs';
import { failureReport } from './harness.mjs';
import { startOriel, eventually, canvasPixel, acceptInvite, totp, xDisplay, x } from './oriel.mjs';

const PASSWORD = 'a long enough password';
const SECRET = 'hunter2-not-in-any-recording';
/** Copied in the browser, pasted on the desktop; more bytes of UTF-8 than characters. */
const TO_DESKTOP = 'clipboard-secret-to-the-desktop: Grüße €';
/** Copied on the desktop, pasted in the browser; a length of its own. */
const TO_BROWSER = 'clipboard-secret-from-the-desktop 😀';
/** The shared directory's name, so the desktop's folder is `$HOME/<SHARED>`. */
const SHARED = `oriel-e2e-${randomBytes(4).toString('hex')}`;
/** What the desktop writes in the shared directory, then reads back. */
const FILE_TEXT = 'file-secret-written-on-the-desktop';
// The desktop side of the shared directory, in the background of the
// xsession: once the test's go-ahead file is there, it writes notes.txt and
// copies it to read-back.txt (a read and a write the browser serves).
const FILE_WORK = [
  `d="$HOME/${SHARED}"`,
  'i=0; while [ ! -e "$d/go" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done',
  `printf "${FILE_TEXT}" > "$d/notes.txt"`,
  'cat "$d/notes.txt" > "$d/read-back.txt"',
].join('; ');
/** The only messages a recording keeps (docs/recording.md): ServerHello, Alert, FrameRect, CursorImage, SessionParticipants, ClientScreenSpec, MouseMove, MouseButton. */
const RECORDED_FIELDS = [2, 11, 100, 102, 105, 10, 7, 8];
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
/** The first test's recording, as listed. */
let recorded;
/** What the first test saw: each colour's wall-clock period on screen, and when the recorded session started. */
let shown;
let start;
const report = failureReport(() => oriel);
const { test } = report;

before(async () => {
  oriel = await startOriel([{ name: 'Colours', command: 'COLOURS' }]);
  // The root follows <dir>/colour, which the test writes.
  const desktop = join(oriel.dir, 'xsessions', 'Colours.desktop');
  const follow = `(${FILE_WORK}) & while :; do xsetroot -solid "$(cat ${oriel.dir}/colour)"; sleep 0.1; done`;
  writeFileSync(join(oriel.dir, 'colour'), COLOURS[0][0]);
  writeFileSync(desktop, readFileSync(desktop, 'utf8').replace('COLOURS', follow));
  ({ browser } = await launchChromium());
  admin = await newPage();
  // What a person allows when Chromium asks.
  await admin.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: oriel.url });
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

/**
 * Accepts the invite at `link` on `page` as acceptInvite does, for a user
 * whose roles allow no desktop: the desktop list opens with its Audit log link.
 */
async function acceptInviteWithoutDesktops(page, link) {
  await page.goto(link);
  // The key shows once the invite is looked up.
  const key = page.locator('#invite-secret').filter({ hasText: /[A-Z2-7]{16}/ });
  await key.waitFor({ timeout: 30_000 });
  const secret = (await key.textContent()).trim();
  await page.fill('#invite-password', PASSWORD);
  await page.fill('#invite-password-confirm', PASSWORD);
  await page.fill('#invite-code', totp(secret));
  await page.click('#invite-submit');
  await page.locator('#audit-link').waitFor({ timeout: 30_000 });
}

/** The person copies `text` somewhere else (the screen loses the focus meanwhile) and clicks back into the desktop. */
async function copyInBrowserAndComeBack(page, text) {
  await page.evaluate(async (text) => {
    document.querySelector('#screen').blur();
    await navigator.clipboard.writeText(text);
  }, text);
  await page.locator('#screen').click({ position: { x: 300, y: 300 } });
}

/** `xclip -i -selection clipboard`: a desktop program copies `text` (xclip keeps serving it from the background). */
function copyOnDesktop(display, text) {
  execFileSync('xclip', ['-i', '-selection', 'clipboard'], { env: { ...process.env, ...display }, input: text, stdio: ['pipe', 'ignore', 'ignore'] });
}

/** What a desktop program pastes; throws while nobody owns the clipboard. */
function pasteOnDesktop(display) {
  return x(display, 'xclip', ['-o', '-selection', 'clipboard']).toString('utf8');
}

/** In the page: the names in the browser's shared directory, and `file`'s text (null if missing). */
function sharedSide(page, file) {
  return page.evaluate(
    async ({ name, file }) => {
      const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle(name, { create: true });
      const names = [];
      for await (const key of dir.keys()) names.push(key);
      const text = await dir.getFileHandle(file).then((h) => h.getFile()).then((f) => f.text(), () => null);
      return { names: names.sort(), text };
    },
    { name: SHARED, file },
  );
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
      // Typing, the clipboard, a shared directory and the mouse, while green is on screen.
      await admin.locator('#screen').click({ position: { x: 50, y: 50 } });
      await admin.keyboard.type(SECRET);

      // The clipboard both ways: copied in the browser, pasted on the desktop; and back.
      const display = await xDisplay(oriel, 'Colours');
      await copyInBrowserAndComeBack(admin, TO_DESKTOP);
      await eventually("the browser's text pasted on the desktop", () => pasteOnDesktop(display) === TO_DESKTOP);
      copyOnDesktop(display, TO_BROWSER);
      await eventually("the desktop's text in the browser's clipboard", async () => (await admin.evaluate(() => navigator.clipboard.readText())) === TO_BROWSER);

      // A directory shared as the Share directory button does (a headless browser cannot click through the picker);
      // the desktop writes notes.txt in it and reads it back into read-back.txt.
      await admin.locator('#share-directory:not([hidden])').waitFor({ timeout: 30_000 });
      await admin.evaluate(async (name) => {
        const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle(name, { create: true });
        window.__orielShareDirectory(dir);
      }, SHARED);
      await admin.locator('.alert[data-severity="info"]', { hasText: 'is shared' }).waitFor({ timeout: 30_000 });
      await admin.evaluate(async (name) => {
        const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle(name);
        await dir.getFileHandle('go', { create: true });
      }, SHARED);
      // Chromium's swap file of a write still in progress may show for a moment.
      const side = await eventually('notes.txt written and read back on the desktop', async () => {
        const seen = await sharedSide(admin, 'read-back.txt');
        return seen.text === FILE_TEXT && !seen.names.some((n) => n.endsWith('.crswap')) && seen;
      });
      assert.deepEqual(side.names, ['go', 'notes.txt', 'read-back.txt']);
      assert.equal((await sharedSide(admin, 'notes.txt')).text, FILE_TEXT);

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
  recorded = recording;

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
  // Nor what crossed the clipboard or the shared directory.
  for (const text of [TO_DESKTOP, TO_BROWSER, FILE_TEXT]) assert.equal(file.indexOf(Buffer.from(text)), -1, `"${text}" is not in the recording`);
  const fields = recordedFields(file);
  assert.ok(fields.includes(100) && fields.includes(7), `frames and mouse moves recorded: ${[...new Set(fields)]}`);
  for (const key of [6, 9, 103]) assert.ok(!fields.includes(key), `no keyboard message (field ${key}) recorded`);
  for (const key of [13, 15, 16, 17, 18]) assert.ok(!fields.includes(key), `no clipboard or shared directory message (field ${key}) recorded`);
  assert.deepEqual([...new Set(fields)].filter((key) => !RECORDED_FIELDS.includes(key)), [], 'only the messages a recording keeps');

  // A range read is a 206 with its place in the file.
  const part = await admin.request.get(`${oriel.url}/api/recordings/${recording.id}/data`, { headers: { Range: 'bytes=0-7' } });
  assert.equal(part.status(), 206);
  assert.equal(part.headers()['content-range'], `bytes 0-7/${recording.size}`);
  assert.equal((await part.body()).toString(), 'ORIELREC');
});

test("an auditor finds the session's events with their fields, never what crossed, and watches its recording", async () => {
  const sid = recorded.id;
  const adminUser = JSON.parse(oriel.orielctl(['users', 'ls', '--format', 'json'])).find((u) => u.name === 'admin');
  const [login] = adminUser.linux_logins ?? adminUser.traits?.linux_logins ?? [];
  assert.ok(login, `the admin has a desktop login: ${JSON.stringify(adminUser)}`);
  // Audrey has the preset auditor role alone: no desktops, every event and recording.
  const invite = oriel.orielctl(['users', 'add', 'audrey', '--roles=auditor']).match(/\/web\/invite\/(\S+)/)[1];
  const auditor = await newPage();
  await acceptInviteWithoutDesktops(auditor, `${oriel.url}/web/invite/${invite}`);
  assert.equal(await auditor.locator('[data-desktop]').count(), 0, 'no desktops for an auditor');

  // The session's events, oldest first, once all are written (the directory's when the session ended).
  const lengthOf = (text) => Buffer.byteLength(text, 'utf8');
  const find = (events, type, matches = () => true) => events.filter((e) => e.event === type && matches(e));
  const events = await eventually("the session's events", async () => {
    const answer = await auditor.request.get(`${oriel.url}/api/audit/events?session=${sid}&order=asc`);
    assert.equal(answer.status(), 200);
    const { events } = await answer.json();
    const there = [
      find(events, 'linux.desktop.session.start'),
      find(events, 'linux.desktop.session.end'),
      find(events, 'desktop.clipboard.send', (e) => e.length === lengthOf(TO_DESKTOP)),
      find(events, 'desktop.clipboard.receive', (e) => e.length === lengthOf(TO_BROWSER)),
      find(events, 'desktop.directory.share'),
      find(events, 'desktop.directory.write', (e) => e.file_path === 'notes.txt'),
      find(events, 'desktop.directory.read', (e) => e.file_path === 'notes.txt'),
    ];
    return there.every((found) => found.length > 0) && events;
  });

  // Every one is the session's, with Teleport's common fields.
  for (const e of events) {
    assert.equal(e.sid, sid, JSON.stringify(e));
    assert.equal(e.user, 'admin', JSON.stringify(e));
    assert.equal(e.desktop_name, desktopName, JSON.stringify(e));
    assert.equal(e.linux_user, login, JSON.stringify(e));
    assert.equal(e.success, true, JSON.stringify(e));
    assert.match(e.uid, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, JSON.stringify(e));
    assert.ok(!Number.isNaN(Date.parse(e.time)) && typeof e.cluster_name === 'string' && e.cluster_name !== '', JSON.stringify(e));
  }
  const [started] = find(events, 'linux.desktop.session.start');
  assert.equal(events[0], started, 'the start comes first');
  assert.equal(started.code, 'TLD00I');
  assert.equal(started.proto, 'tdpb');
  assert.equal(find(events, 'linux.desktop.session.end').length, 1, 'one end');
  const [ended] = find(events, 'linux.desktop.session.end');
  assert.equal(ended.code, 'TLD01I');
  assert.equal(ended.recorded, true);
  assert.deepEqual(ended.participants, ['admin']);
  assert.equal(ended.reason, undefined, 'the user left: no reason');
  assert.ok(Date.parse(ended.session_start) <= Date.parse(ended.session_stop), `${ended.session_start} to ${ended.session_stop}`);
  assert.ok(Date.parse(started.time) <= Date.parse(ended.time), 'the end after the start');

  // The clipboard: the lengths in UTF-8 bytes, never the text.
  const [sent] = find(events, 'desktop.clipboard.send', (e) => e.length === lengthOf(TO_DESKTOP));
  const [received] = find(events, 'desktop.clipboard.receive', (e) => e.length === lengthOf(TO_BROWSER));
  assert.equal(sent.code, 'TDP02I');
  assert.equal(received.code, 'TDP03I');
  for (const e of [sent, received]) {
    assert.deepEqual(Object.keys(e).sort(), ['cluster_name', 'code', 'desktop_name', 'event', 'length', 'linux_user', 'sid', 'success', 'time', 'uid', 'user'], JSON.stringify(e));
  }

  // The shared directory: its name, the file's path and length, never its bytes.
  const [share] = find(events, 'desktop.directory.share');
  assert.equal(share.code, 'TDP04I');
  assert.equal(share.directory_name, SHARED);
  const [write] = find(events, 'desktop.directory.write', (e) => e.file_path === 'notes.txt');
  assert.equal(write.code, 'TDP06I');
  const [read] = find(events, 'desktop.directory.read', (e) => e.file_path === 'notes.txt');
  assert.equal(read.code, 'TDP05I');
  for (const e of [write, read]) {
    assert.equal(e.directory_name, SHARED, JSON.stringify(e));
    assert.equal(e.directory_id, share.directory_id, JSON.stringify(e));
    assert.equal(e.offset, 0, JSON.stringify(e));
    assert.equal(e.length, lengthOf(FILE_TEXT), JSON.stringify(e));
    assert.ok(e.operations >= 1 && e.error === undefined, JSON.stringify(e));
  }
  const copy = find(events, 'desktop.directory.write', (e) => e.file_path === 'read-back.txt');
  assert.equal(copy.length, 1, 'the copy written too');
  assert.equal(copy[0].length, lengthOf(FILE_TEXT));
  // Nothing typed, copied or shared is in any event.
  const all = JSON.stringify(events);
  for (const text of [SECRET, TO_DESKTOP, TO_BROWSER, FILE_TEXT]) assert.ok(!all.includes(text), `"${text}" is in no event`);

  // The Audit log page, filtered by the session's id, lists exactly those events.
  await auditor.locator('#audit-link').click();
  await auditor.locator('#audit-filter').waitFor();
  await auditor.fill('#audit-session', sid);
  await auditor.click('#audit-search');
  const uids = events.map((e) => e.uid).sort();
  await eventually("the session's events on the Audit log page", async () => {
    const shown = await auditor.locator('.audit-table tbody tr[data-event-uid]').evaluateAll((rows) => rows.map((row) => row.dataset.eventUid));
    return JSON.stringify(shown.sort()) === JSON.stringify(uids);
  });
  const sessions = await auditor.locator('.audit-table tbody tr[data-event-uid] [data-session]').evaluateAll((buttons) => buttons.map((b) => b.dataset.session));
  assert.deepEqual([...new Set(sessions)], [sid]);
  const row = auditor.locator(`.audit-table tbody tr[data-event-uid="${sent.uid}"]`);
  await row.locator('[data-details]').click();
  assert.deepEqual(JSON.parse(await auditor.locator(`#event-${sent.uid} pre`).innerText()), sent, "the clipboard event's JSON");

  // The recording: listed for the auditor, who took no part, and it plays the session's picture.
  const listed = await (await auditor.request.get(`${oriel.url}/api/recordings`)).json();
  assert.deepEqual(listed.recordings.map((r) => r.id), [sid]);
  await auditor.locator('a[data-nav="recordings"]').click();
  await auditor.locator(`tr[data-recording-id="${sid}"] a[data-play]`).click();
  await auditor.locator('#player').waitFor();
  await openPlayer(auditor, sid);
  await seek(auditor, middle(shown[1]));
  assert.equal(await canvasPixel(auditor, 5, 5), shown[1].pixel, `the auditor's canvas ${middle(shown[1])} ms in`);
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
