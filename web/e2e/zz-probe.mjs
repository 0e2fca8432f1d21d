import { launchChromium } from '/work/main/web/e2e/browser.mjs';
import { startOriel } from '/work/main/web/e2e/oriel.mjs';
const oriel = await startOriel([{ name: 'x', command: 'exec sleep 3600' }]);
console.log(oriel.url, oriel.invite);
const { browser, context } = await launchChromium();
const page = await context.newPage();
const cdp = await context.newCDPSession(page);
await cdp.send('WebAuthn.enable');
const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', { options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true } });
for (const base of [oriel.url, oriel.url.replace('127.0.0.1', 'localhost')]) {
  await page.goto(base + '/web/login');
  const host = new URL(base).hostname;
  const r = await page.evaluate(async (host) => {
    try {
      const c = await navigator.credentials.create({ publicKey: { rp: { id: host, name: 'x' }, user: { id: new Uint8Array(16), name: 'a', displayName: 'a' }, challenge: new Uint8Array(32), pubKeyCredParams: [{ type: 'public-key', alg: -7 }], authenticatorSelection: { residentKey: 'preferred', userVerification: 'required' } } });
      return 'ok ' + c.id;
    } catch (e) { return 'err ' + e.name + ': ' + e.message; }
  }, host);
  console.log(base, r);
  const b = await page.evaluate(async () => { const r = await fetch('/api/login/passwordless/begin', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' }); return r.status + ' ' + await r.text(); });
  console.log(b);
}
await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId });
const t0 = Date.now();
const r = await page.evaluate(async () => {
  try { await navigator.credentials.get({ publicKey: { challenge: new Uint8Array(32), rpId: 'localhost', allowCredentials: [{type:'public-key', id: new Uint8Array(16)}], timeout: 300000, userVerification: 'required' } }); return 'ok'; }
  catch (e) { return 'err ' + e.name + ': ' + e.message; }
});
console.log('no authenticator:', r, Date.now() - t0, 'ms');
await browser.close();
await oriel.stop();
