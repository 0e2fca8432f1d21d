// Chromium for the end-to-end tests. The npm Playwright browser download does
// not work on this machine, so tests drive Debian's /usr/bin/chromium through
// playwright-core.
import { chromium } from 'playwright-core';

export const CHROMIUM_PATH = process.env.ORIEL_CHROMIUM ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Launches Chromium and opens one context that accepts the test CA's (or a
 * self-signed) certificate. `contextOptions` go to browser.newContext, e.g.
 * { viewport: { width: 800, height: 600 }, deviceScaleFactor: 2 }.
 * `executablePath` replaces Chromium's, e.g. with a script that starts it
 * in a network namespace.
 * Close with `await browser.close()`.
 *
 * @param {import('playwright-core').BrowserContextOptions} [contextOptions]
 * @returns {Promise<{ browser: import('playwright-core').Browser, context: import('playwright-core').BrowserContext }>}
 */
export async function launchChromium(contextOptions = {}, { executablePath = CHROMIUM_PATH } = {}) {
  const browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS, headless: true });
  try {
    const context = await browser.newContext({ ignoreHTTPSErrors: true, ...contextOptions });
    return { browser, context };
  } catch (error) {
    await browser.close();
    throw error;
  }
}
