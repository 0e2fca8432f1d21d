// The test OpenID Connect provider (scripts/oidc-test-provider, the
// `oidc-provider` package) on loopback, for the single sign-on tests, and
// what a person does on its pages.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, PATIENCE_MS } from './oriel.mjs';

const PROVIDER_DIR = join(ROOT, 'scripts/oidc-test-provider');

/**
 * Starts the provider with `clients` ([{client_id, client_secret,
 * redirect_uris}]) and `accounts` ({accountId: claims}); with `autoLogin`
 * it logs in the `login_hint` account without pages. Resolves with
 * `issuer`, `log()` (its stderr so far) and `stop()`.
 */
export async function startOidcProvider({ clients, accounts, autoLogin = false, codeTtlSeconds = 60 }) {
  if (!existsSync(join(PROVIDER_DIR, 'node_modules'))) {
    throw new Error(`${PROVIDER_DIR}/node_modules is missing: run scripts/install-deps`);
  }
  const child = spawn(process.execPath, [join(PROVIDER_DIR, 'provider.mjs')], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      OIDC_PORT: '0',
      OIDC_CLIENTS: JSON.stringify(clients),
      OIDC_ACCOUNTS: JSON.stringify(accounts),
      OIDC_CODE_TTL: String(codeTtlSeconds),
      OIDC_AUTO_LOGIN: autoLogin ? '1' : '0',
    },
  });
  const log = [];
  child.stderr.on('data', (chunk) => log.push(chunk.toString()));
  const exited = new Promise((done) => child.once('exit', (code, signal) => done(code ?? signal)));
  const provider = {
    log: () => log.join(''),
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
  let out = '';
  let timer;
  try {
    provider.issuer = await Promise.race([
      new Promise((found, failed) =>
        child.stdout.on('data', (chunk) => {
          out += chunk.toString();
          const line = out.split('\n')[0];
          if (out.includes('\n')) {
            try {
              found(JSON.parse(line).issuer);
            } catch (error) {
              failed(new Error(`the OIDC provider printed ${JSON.stringify(line)}, not its issuer: ${error.message}`));
            }
          }
        }),
      ),
      exited.then((code) => {
        throw new Error(`the OIDC provider exited (${code}) before it listened:\n${provider.log()}`);
      }),
      new Promise((_, fail) => {
        timer = setTimeout(() => fail(new Error(`the OIDC provider printed no issuer in ${PATIENCE_MS} ms:\n${provider.log()}`)), PATIENCE_MS);
      }),
    ]);
  } catch (error) {
    await provider.stop();
    throw error;
  } finally {
    clearTimeout(timer);
  }
  return provider;
}

/**
 * On the provider's login page: logs in as `account` (the development
 * login takes any password), then gives consent. Oriel's callback takes the
 * browser on from there.
 */
export async function logInAtProvider(page, account) {
  await (await logInUntilConsent(page, account)).click();
}

/**
 * Logs in as `account` and gives consent as logInAtProvider does, but
 * sends the consent form from the test rather than the page, with the
 * context's cookies, and follows the provider's redirects only up to the
 * one back to Oriel: resolves with that callback address, not yet opened.
 * (A page's routes see only the first request of a redirect chain, so the
 * browser could not be stopped at the callback.)
 */
export async function callbackAfterConsent(page, account) {
  const consent = await logInUntilConsent(page, account);
  const form = consent.locator('xpath=ancestor::form');
  let address = new URL(await form.getAttribute('action'), page.url()).href;
  let response = await page.request.post(address, { form: { prompt: 'consent' }, maxRedirects: 0 });
  const issuer = new URL(page.url()).origin;
  for (let hops = 0; hops < 5; hops++) {
    const location = response.headers()['location'];
    if (response.status() !== 303 && response.status() !== 302) break;
    address = new URL(location, address).href;
    if (new URL(address).origin !== issuer) return address;
    response = await page.request.get(address, { maxRedirects: 0 });
  }
  throw new Error(`the provider did not redirect back after consent: ${response.status()} ${address}\n${await response.text()}`);
}

/** Fills and sends the provider's login form; resolves with the consent page's Continue button. */
async function logInUntilConsent(page, account) {
  await page.locator('input[name="login"]').waitFor({ timeout: PATIENCE_MS });
  await page.fill('input[name="login"]', account);
  await page.fill('input[name="password"]', 'any password will do');
  await page.click('button.login-submit');
  const consent = page.locator('button.login-submit', { hasText: 'Continue' });
  await consent.waitFor({ timeout: PATIENCE_MS });
  return consent;
}
