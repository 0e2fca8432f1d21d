// The clipboard in a real Chromium against the real daemon: 500 KB of
// Unicode text copied on the desktop (xclip) lands in the browser's
// clipboard, and text copied in the browser is pasted on the desktop; over
// 1 MiB either way is refused with a warning; when the browser refuses the
// clipboard permission the Clipboard panel carries text both ways; and a
// role that turns the clipboard off hides it and shares nothing.
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { launchChromium } from './browser.mjs';
import { failureReport } from './harness.mjs';
import { startOriel, eventually, xDisplay, x, acceptInvite } from './oriel.mjs';

const PASSWORD = 'a long enough password';
/** Not ASCII, not Latin-1, and beyond the Basic Multilingual Plane: 17 bytes of UTF-8 a line. */
const LINE = 'Grüße 😀 €\n';
/** About 500 KB of it. */
const LARGE = LINE.repeat(Math.ceil(500_000 / Buffer.byteLength(LINE)));

let oriel;
let browser;
let context;
let page;
let desktopName;
const report = failureReport(() => oriel);
const { test, pageLog } = report;

before(async () => {
  oriel = await startOriel([
    { name: 'Both ways', command: 'exec sleep 3600' },
    { name: 'Fallback', command: 'exec sleep 3600' },
    { name: 'Off', command: 'exec sleep 3600' },
  ]);
  ({ browser, context } = await launchChromium({ viewport: { width: 900, height: 600 } }));
  // What a person allows when Chromium asks.
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: oriel.url });
  page = await newPage(context);
  desktopName = await acceptInvite(page, oriel.invite, PASSWORD);
});

after(async () => {
  await browser?.close();
  report.print(oriel);
  await oriel?.stop();
});

async function newPage(inContext) {
  const opened = await inContext.newPage();
  report.watch(opened);
  return opened;
}

/** From the desktop list, starts xsession `name` and waits until it is connected. */
async function connect(on, name) {
  await on.goto(`${oriel.url}/web`);
  await on.locator(`[data-desktop="${desktopName}"] [data-connect]`).click();
  await on.locator(`[data-xsession="${name}"]`).click();
  await on.locator('#status[data-state="connected"]').waitFor({ timeout: 30_000 });
  return xDisplay(oriel, name);
}

/** `xclip -i -selection clipboard`: a desktop program copies `text` (xclip keeps serving it from the background). */
function copyOnDesktop(display, text) {
  execFileSync('xclip', ['-i', '-selection', 'clipboard'], { env: { ...process.env, ...display }, input: text, stdio: ['pipe', 'ignore', 'ignore'] });
}

/** `xclip -o -selection clipboard`: what a desktop program pastes; throws while nobody owns the clipboard. */
function pasteOnDesktop(display) {
  return x(display, 'xclip', ['-o', '-selection', 'clipboard']).toString('utf8');
}

/**
 * The person copies `text` somewhere else (the screen loses the focus
 * meanwhile) and clicks back into the desktop.
 */
async function copyInBrowserAndComeBack(on, text) {
  await on.evaluate(async (text) => {
    document.querySelector('#screen').blur();
    await navigator.clipboard.writeText(text);
  }, text);
  await on.locator('#screen').click({ position: { x: 300, y: 300 } });
}

function localClipboard(on) {
  return on.evaluate(() => navigator.clipboard.readText());
}

async function warning(on, text) {
  await on.locator('.alert[data-severity="warning"]', { hasText: text }).first().waitFor({ timeout: 30_000 });
}

test('500 KB of Unicode crosses both ways; over 1 MiB is refused with a warning', async () => {
  const display = await connect(page, 'Both ways');
  assert.equal(await page.locator('#clipboard-toggle').isVisible(), true, 'the clipboard is shared: its button shows');

  // Desktop → browser: a desktop program copies; the browser's clipboard has it, and so does the panel.
  const fromDesktop = `desktop: ${LARGE}`;
  copyOnDesktop(display, fromDesktop);
  await eventually("the desktop's 500 KB in the browser's clipboard", async () => (await localClipboard(page)) === fromDesktop);
  assert.equal(await page.locator('#clipboard-text').inputValue(), fromDesktop, 'the panel shows what the desktop copied');

  // Browser → desktop: copied in the browser, pasted by a desktop program, byte for byte.
  const fromBrowser = `browser: ${LARGE}`;
  await copyInBrowserAndComeBack(page, fromBrowser);
  await eventually('the browser\'s 500 KB pasted on the desktop', () => pasteOnDesktop(display) === fromBrowser);

  // Over 1 MiB from the browser: not sent, and the person is told why.
  await copyInBrowserAndComeBack(page, 'x'.repeat(1.5 * 2 ** 20));
  await warning(page, 'the clipboard holds 1.5 MiB of text, more than the 1 MiB that can be copied to the desktop; it was not copied');
  assert.equal(pasteOnDesktop(display), fromBrowser, "the desktop's clipboard is unchanged");

  // Over 1 MiB from the desktop: not sent, and the service says so.
  copyOnDesktop(display, 'y'.repeat(1.5 * 2 ** 20));
  await warning(page, "the desktop's clipboard holds 1.5 MiB of text, more than the 1 MiB limit; it was not copied to your browser");
  assert.equal((await localClipboard(page)).length, 1.5 * 2 ** 20, "the browser's clipboard keeps its own text");
});

/** Says no to reading the clipboard in the context of `on`, as a person answering Chromium's question. */
async function denyClipboardRead(on) {
  const { targetInfo } = await (await on.context().newCDPSession(on)).send('Target.getTargetInfo');
  const cdp = await browser.newBrowserCDPSession();
  const permission = { name: 'clipboard-read' };
  await cdp.send('Browser.setPermission', { permission, setting: 'denied', origin: oriel.url, browserContextId: targetInfo.browserContextId });
}

test('where the person denies the clipboard, the Clipboard panel carries text both ways', async () => {
  // The same login, in a browser context where reading the clipboard was refused.
  const refusing = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 900, height: 600 }, storageState: await context.storageState() });
  try {
    const on = await newPage(refusing);
    await denyClipboardRead(on);
    const display = await connect(on, 'Fallback');
    // The Clipboard button says so, and nothing covers the desktop for it.
    await eventually('the Clipboard button marked', async () => (await on.locator('#clipboard-toggle').getAttribute('data-refused')) === 'read');
    assert.match(await on.locator('#clipboard-toggle').getAttribute('title'), /paste text here to copy it to the desktop/);
    assert.deepEqual(await on.locator('.alert').allTextContents(), [], 'no toast at the start');
    // Trying to paste is when the person learns where the panel is.
    await on.locator('#screen').click({ position: { x: 300, y: 300 } });
    await on.keyboard.press('Control+V');
    await warning(on, 'the browser does not let Oriel read your clipboard: to paste text from this computer on the desktop, use Clipboard (top right)');
    await on.locator('.alert[data-severity="warning"]').first().click(); // dismissed, as a person would

    await on.click('#clipboard-toggle');
    await on.fill('#clipboard-text', LINE.repeat(3));
    await on.click('#clipboard-send');
    await on.locator('#clipboard-status', { hasText: 'Sent to the desktop.' }).waitFor();
    await eventually('the panel\'s text pasted on the desktop', () => pasteOnDesktop(display) === LINE.repeat(3));

    copyOnDesktop(display, 'copied on the desktop ✓');
    await eventually('the desktop\'s text in the panel', async () => (await on.locator('#clipboard-text').inputValue()) === 'copied on the desktop ✓');
    await on.locator('#clipboard-status', { hasText: 'Copied on the desktop.' }).waitFor();
  } finally {
    await refusing.close();
  }
});

test('a role that turns the clipboard off hides it and shares nothing', async () => {
  const role = join(oriel.dir, 'no-clipboard.yaml');
  writeFileSync(role, 'kind: role\nversion: v7\nmetadata:\n  name: no-clipboard\nspec:\n  options:\n    desktop_clipboard: false\n');
  oriel.orielctl(['create', '-f', role]);
  const admin = JSON.parse(oriel.orielctl(['users', 'ls', '--format', 'json'])).find((user) => user.name === 'admin');
  const logins = admin.linux_logins ?? admin.traits?.linux_logins ?? [];
  assert.ok(logins.length > 0, `the admin has a desktop login: ${JSON.stringify(admin)}`);
  oriel.orielctl(['users', 'update', 'admin', '--roles=access,no-clipboard', `--linux-logins=${logins.join(',')}`]);

  const display = await connect(page, 'Off');
  assert.equal(await page.locator('#clipboard-toggle').isHidden(), true, 'no Clipboard button');
  await copyInBrowserAndComeBack(page, 'not for the desktop');
  copyOnDesktop(display, 'not for the browser');
  // Nothing is sent either way, so there is nothing to wait for: give it a moment, then look.
  await sleep(1000);
  assert.equal(pasteOnDesktop(display), 'not for the browser', 'the browser\'s text did not reach the desktop');
  assert.equal(await localClipboard(page), 'not for the desktop', 'the desktop\'s text did not reach the browser');
});

test('nothing broke the content security policy', () => {
  const violations = pageLog.filter((line) => /Content Security Policy|Refused to/i.test(line));
  assert.deepEqual(violations, []);
});
