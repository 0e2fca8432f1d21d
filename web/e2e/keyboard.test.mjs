// Keyboard layouts end to end, in a real Chromium against the real daemon:
// a person picks German in the keyboard setting, and the physical keys of a
// German keyboard type ä, € (AltGr+E), @ (AltGr+Q), a dead ^ and the ISO key
// into an xterm on the desktop; text an input method commits arrives as
// text; French makes é on the 2 key.
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { launchChromium } from './browser.mjs';
import { failureReport, TYPING_PROBE, probeOutput } from './harness.mjs';
import { startOriel, eventually, xDisplay, x, canvasPixel, acceptInvite } from './oriel.mjs';

const PASSWORD = 'a long enough password';
let oriel;
let browser;
let page;
/** Where the typing probe writes what is typed. */
let typed;
const typedText = () => (existsSync(typed) ? readFileSync(typed, 'utf8') : '');
const report = failureReport(() => oriel);
const { test, pageLog } = report;

before(async () => {
  // One xsession, so it starts without a choice: an xterm whose shell copies
  // every typed line to a file (its cat starts the file afresh each session).
  oriel = await startOriel([TYPING_PROBE]);
  typed = probeOutput(oriel);
  let context;
  ({ browser, context } = await launchChromium({ viewport: { width: 900, height: 600 } }));
  page = await context.newPage();
  report.watch(page);
});

after(async () => {
  await browser?.close();
  report.print(oriel);
  await oriel?.stop();
});

/** Picks `layout` in the desktop list's keyboard setting and opens the desktop. */
async function connectWithLayout(layout) {
  await page.goto(`${oriel.url}/web`);
  await page.locator('#keyboard-layout').selectOption(layout);
  await page.locator('[data-desktop] [data-connect]').first().click();
  await page.locator('#status[data-state="connected"]').waitFor({ timeout: 30_000 });
  const display = await xDisplay(oriel, 'Typing probe');
  // Each session writes its display anew: wait for this one's, with the layout set.
  await eventually(`the desktop's layout to be ${layout}`, async () => {
    const now = await xDisplay(oriel, 'Typing probe');
    Object.assign(display, now);
    return new RegExp(`^layout:\\s+${layout}$`, 'm').test(x(now, 'setxkbmap', ['-query']).toString());
  });
  await eventually('the xterm on the canvas', async () => (await canvasPixel(page, 200, 100)) === '255,255,255,255');
  await page.locator('#screen').click({ position: { x: 200, y: 80 } });
  return display;
}

/** Presses and releases a key by its physical code, through Chromium's input pipeline. */
async function tap(cdp, code, key, windowsVirtualKeyCode) {
  for (const type of ['rawKeyDown', 'keyUp']) {
    await cdp.send('Input.dispatchKeyEvent', { type, code, key, windowsVirtualKeyCode });
  }
}

test('accept the invite; the keyboard setting starts on Automatic', async () => {
  await acceptInvite(page, oriel.invite, PASSWORD);
  assert.equal(await page.locator('#keyboard-layout').inputValue(), '');
  await eventually('the detected layout in the Automatic entry', async () =>
    /^Automatic \(.+\)$/.test(await page.locator('#keyboard-layout option[value=""]').textContent()),
  );
});

test('German: ä, AltGr+E €, AltGr+Q @, the dead ^ and the ISO key type as on a German keyboard', async () => {
  await connectWithLayout('de');
  assert.equal(await page.evaluate(() => localStorage.getItem('oriel.keyboardLayout')), 'de', 'the pick is kept');
  // Physical keys, as a German keyboard sends them: Playwright's own layout
  // is US, so its key names here are the keys' US names.
  await page.keyboard.press('Quote');
  await page.keyboard.down('AltRight');
  await page.keyboard.press('KeyE');
  await page.keyboard.press('KeyQ');
  await page.keyboard.up('AltRight');
  await page.keyboard.press('Backquote'); // dead ^ ...
  await page.keyboard.press('KeyA'); // ... on a: â
  const cdp = await page.context().newCDPSession(page);
  await tap(cdp, 'IntlBackslash', '<', 226); // the key left of Z, which US keyboards lack
  await page.keyboard.press('KeyY'); // z on QWERTZ
  await page.keyboard.press('Enter');
  // The xterm's cat writes the line whole, on Enter.
  await eventually('a line typed on the desktop', () => typedText().endsWith('\n'));
  assert.equal(typedText(), 'ä€@â<z\n');
});

test('text an input method commits, and text no key makes, is typed through keysyms', async () => {
  const cdp = await page.context().newCDPSession(page);
  // A composition, as a Japanese input method makes one, then its commit.
  await cdp.send('Input.imeSetComposition', { text: 'にほん', selectionStart: 3, selectionEnd: 3 });
  await cdp.send('Input.insertText', { text: '日本' });
  // Characters no key of the German layout makes, committed at once.
  await page.keyboard.insertText(' → ½');
  await page.keyboard.press('Enter');
  await eventually('the committed text on the desktop', () => typedText() === 'ä€@â<z\n日本 → ½\n');
});

test('French: the 2 key makes é', async () => {
  await connectWithLayout('fr');
  await page.keyboard.press('Digit2');
  await page.keyboard.press('KeyQ'); // a on AZERTY
  await page.keyboard.press('Enter');
  await eventually('éa typed on the desktop', () => typedText() === 'éa\n');
});
