// Single sign-on on the login page (src/sso.ts): the connectors offered,
// where each sign-in begins, and the error a failed one comes back with.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { transformSync } from 'rolldown/experimental';

const source = join(import.meta.dirname, '../src/sso.ts');
const { code, errors } = transformSync(source, readFileSync(source, 'utf8'), { lang: 'ts' });
assert.deepEqual(errors, []);
const dir = mkdtempSync(join(tmpdir(), 'oriel-web-test-'));
writeFileSync(join(dir, 'sso.mjs'), code);
const { localLoginsOpen, ssoConnectors, ssoLoginPath, ssoOutcome } = await import(pathToFileURL(join(dir, 'sso.mjs')));
rmSync(dir, { recursive: true });

test("the server's connectors, in its order", () => {
  assert.deepEqual(
    ssoConnectors({
      connectors: [
        { kind: 'oidc', name: 'corp', display: 'Corp SSO' },
        { kind: 'oidc', name: 'lab', display: 'Lab' },
      ],
    }),
    [
      { kind: 'oidc', name: 'corp', display: 'Corp SSO' },
      { kind: 'oidc', name: 'lab', display: 'Lab' },
    ],
  );
  assert.deepEqual(ssoConnectors({ connectors: [] }), [], 'none configured');
});

test('a connector without a display is shown by its name', () => {
  assert.deepEqual(ssoConnectors({ connectors: [{ kind: 'oidc', name: 'corp' }] }), [{ kind: 'oidc', name: 'corp', display: 'corp' }]);
  assert.deepEqual(ssoConnectors({ connectors: [{ kind: 'oidc', name: 'corp', display: '  ' }] }), [{ kind: 'oidc', name: 'corp', display: 'corp' }]);
});

test('what the page cannot offer is left out, and the rest stays', () => {
  const good = { kind: 'oidc', name: 'corp', display: 'Corp' };
  assert.deepEqual(
    ssoConnectors({ connectors: [{ kind: 'saml', name: 'okta', display: 'Okta' }, { kind: 'oidc', name: '' }, { kind: 'oidc' }, null, 'corp', good] }),
    [good],
  );
  for (const body of [null, undefined, 'text', [], {}, { connectors: 'corp' }, { connectors: {} }]) {
    assert.deepEqual(ssoConnectors(body), [], JSON.stringify(body));
  }
});

test("a sign-in begins at the connector's login path, its name encoded", () => {
  assert.equal(ssoLoginPath({ kind: 'oidc', name: 'corp', display: 'Corp' }), '/api/sso/oidc/corp/login');
  assert.equal(ssoLoginPath({ kind: 'oidc', name: 'a/../b c?d#e', display: 'x' }), '/api/sso/oidc/a%2F..%2Fb%20c%3Fd%23e/login');
});

test("a failed sign-in's reason is read off the address, which keeps everything else", () => {
  const at = (search, hash = '') => ssoOutcome({ pathname: '/web/login', search, hash });
  const reason = `your identity provider's claims give no Oriel role (claims_to_roles of connector "testidp")`;
  assert.deepEqual(at(`?sso_error=${encodeURIComponent(reason)}`), { error: reason, address: '/web/login' });
  assert.deepEqual(at('?redirect=%2Fweb%2Faudit&sso_error=state+mismatch', '#top'), {
    error: 'state mismatch',
    address: '/web/login?redirect=%2Fweb%2Faudit#top',
  });
  assert.deepEqual(at('?sso_error='), { error: 'single sign-on failed', address: '/web/login' }, 'an empty reason still says it failed');
});

test('without sso_error the address stays as it is', () => {
  assert.deepEqual(ssoOutcome({ pathname: '/web/login', search: '', hash: '' }), { error: null, address: '/web/login' });
  assert.deepEqual(ssoOutcome({ pathname: '/web/login', search: '?redirect=%2Fweb%2Faudit', hash: '' }), {
    error: null,
    address: '/web/login?redirect=%2Fweb%2Faudit',
  });
});

test('password logins close only on an explicit local: false', () => {
  assert.equal(localLoginsOpen({ connectors: [], local: false }), false);
  assert.equal(localLoginsOpen({ connectors: [], local: true }), true);
  assert.equal(localLoginsOpen({ connectors: [] }), true, "an older server's answer keeps the form");
  assert.equal(localLoginsOpen(null), true);
  assert.equal(localLoginsOpen({ local: 'no' }), true, 'only the boolean counts');
});
