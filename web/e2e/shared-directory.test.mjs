// Directory sharing in a real Chromium against the real daemon: a directory
// shared from the browser (the origin private file system, handed over the
// way the Share directory button hands over a picked one) shows in the
// desktop's home folder, and a shell script in the xsession creates, writes,
// reads back, renames and deletes a file there; each step shows in the
// browser's directory.
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { launchChromium } from './browser.mjs';
import { failureReport } from './harness.mjs';
import { startOriel, eventually, acceptInvite, auditEvent } from './oriel.mjs';

const PASSWORD = 'a long enough password';
/** The shared directory's name, so the desktop's folder is `$HOME/<NAME>`. */
const NAME = `oriel-e2e-${randomBytes(4).toString('hex')}`;

// The desktop side, as the xsession's shell: each step waits for the test's
// go-ahead file in the shared folder, so the test sees every step. It works
// only in the login's home, which a non-root session can reach too.
const SCRIPT = [
  `d="$HOME/${NAME}"`,
  'wait_for() { i=0; while [ ! -e "$d/$1" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; }',
  'wait_for go',
  'printf "hello from the desktop" > "$d/notes.txt"',
  'wait_for step2',
  'cat "$d/notes.txt" > "$d/read-back.txt"',
  'mv "$d/notes.txt" "$d/renamed.txt"',
  'wait_for step3',
  'rm "$d/renamed.txt"',
  'touch "$d/done"',
  'exec sleep 3600',
].join('; ');

let oriel;
let browser;
let page;
const report = failureReport(() => oriel);
const { test } = report;

before(async () => {
  oriel = await startOriel([{ name: 'Share', command: SCRIPT }, { name: 'Other', command: 'exec sleep 3600' }]);
  let context;
  ({ browser, context } = await launchChromium({ viewport: { width: 900, height: 600 } }));
  page = await context.newPage();
  report.watch(page);
  await acceptInvite(page, oriel.invite, PASSWORD);
});

after(async () => {
  await browser?.close();
  report.print(oriel);
  await oriel?.stop();
});

/** The names in the shared directory and a file's text (null if missing), read in the page. */
function browserSide(name, file) {
  return page.evaluate(
    async ({ name, file }) => {
      const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle(name, { create: true });
      const names = [];
      for await (const key of dir.keys()) names.push(key);
      let text = null;
      if (file !== null) text = await dir.getFileHandle(file).then((h) => h.getFile()).then((f) => f.text(), () => null);
      return { names: names.sort(), text };
    },
    { name, file },
  );
}

/** Creates an (empty) file in the shared directory, from the browser. */
function touchInBrowser(file) {
  return page.evaluate(
    async ({ name, file }) => {
      const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle(name, { create: true });
      await dir.getFileHandle(file, { create: true });
    },
    { name: NAME, file },
  );
}

test('a file created, written, read back, renamed and deleted on the desktop shows in the shared directory', async () => {
  await page.locator('[data-desktop] [data-connect]').first().click();
  await page.locator('[data-xsession="Share"]').click();
  await page.locator('#status[data-state="connected"]').waitFor({ timeout: 30_000 });
  // Chromium with a directory picker shows the button; the test cannot click through the picker.
  await page.locator('#share-directory:not([hidden])').waitFor({ timeout: 30_000 });
  await page.evaluate(async (name) => {
    const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle(name, { create: true });
    window.__orielShareDirectory(dir);
  }, NAME);
  await page.locator('.alert[data-severity="info"]', { hasText: 'is shared' }).waitFor({ timeout: 30_000 });

  await touchInBrowser('go');
  const written = await eventually('notes.txt written on the desktop', async () => {
    const side = await browserSide(NAME, 'notes.txt');
    // Chromium's swap file of a write still in progress may show for a moment.
    return side.text === 'hello from the desktop' && !side.names.some((n) => n.endsWith('.crswap')) && side;
  });
  assert.deepEqual(written.names, ['go', 'notes.txt']);

  await touchInBrowser('step2');
  const renamed = await eventually('notes.txt read back and renamed', async () => {
    const side = await browserSide(NAME, 'renamed.txt');
    return side.names.includes('read-back.txt') && !side.names.includes('notes.txt') && side;
  });
  assert.equal(renamed.text, 'hello from the desktop');
  assert.equal((await browserSide(NAME, 'read-back.txt')).text, 'hello from the desktop');

  await touchInBrowser('step3');
  const deleted = await eventually('renamed.txt deleted', async () => {
    const side = await browserSide(NAME, null);
    return side.names.includes('done') && side;
  });
  assert.deepEqual(deleted.names, ['done', 'go', 'read-back.txt', 'step2', 'step3']);

  // The audit log: the share, the write of notes.txt and its read back,
  // each with the file's path and length, never its bytes.
  const share = await auditEvent(oriel, 'the share', (e) => e.event === 'desktop.directory.share');
  assert.equal(share.directory_name, NAME);
  assert.equal(share.code, 'TDP04I');
  const write = await auditEvent(oriel, 'the write of notes.txt', (e) => e.event === 'desktop.directory.write' && e.file_path === 'notes.txt');
  assert.equal(write.length, 'hello from the desktop'.length);
  assert.equal(write.directory_name, NAME);
  const read = await auditEvent(oriel, 'the read of notes.txt', (e) => e.event === 'desktop.directory.read' && e.file_path === 'notes.txt');
  assert.ok(read.length > 0 && read.success, JSON.stringify(read));
  assert.ok(!oriel.orielctl(['events', 'ls', '--format', 'json']).includes('hello from the desktop'), 'no file content in any event');
});
