// What an address means (src/route.ts): the pages, and where a login may send
// the browser back to.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { transformSync } from 'rolldown/experimental';

const source = join(import.meta.dirname, '../src/route.ts');
const { code, errors } = transformSync(source, readFileSync(source, 'utf8'), { lang: 'ts' });
assert.deepEqual(errors, []);
const dir = mkdtempSync(join(tmpdir(), 'oriel-web-test-'));
writeFileSync(join(dir, 'route.mjs'), code);
const { readRoute, safeRedirect, loginAddress, recordingPath } = await import(pathToFileURL(join(dir, 'route.mjs')));
rmSync(dir, { recursive: true });

const origin = 'https://oriel.example';
const at = (pathname, search = '') => readRoute({ pathname, search, origin });

test('each address names its page', () => {
  assert.deepEqual(at('/'), { page: 'home' });
  assert.deepEqual(at('/web'), { page: 'desktops' });
  assert.deepEqual(at('/web/'), { page: 'desktops' });
  assert.deepEqual(at('/web/audit'), { page: 'audit' });
  assert.deepEqual(at('/web/audit/'), { page: 'audit' });
  assert.deepEqual(at('/web/login', '?redirect=%2Fweb%2Faudit'), { page: 'login', redirect: '/web/audit' });
  assert.deepEqual(at('/web/invite/s3cret'), { page: 'invite', secret: 's3cret' });
  assert.deepEqual(at('/web/cluster/main/linux_desktops/web-1/ubuntu'), {
    page: 'session',
    target: { cluster: 'main', kind: 'linux', name: 'web-1', login: 'ubuntu' },
    xsession: null,
  });
});

test('the recordings list, and a recording by its session id', () => {
  const id = '0b5a1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d';
  assert.deepEqual(at('/web/recordings'), { page: 'recordings' });
  assert.deepEqual(at('/web/recordings/'), { page: 'recordings' });
  assert.deepEqual(at(`/web/recordings/${id}`), { page: 'player', recording: id });
  assert.deepEqual(at(`/web/recordings/${id.toUpperCase()}/`), { page: 'player', recording: id.toUpperCase() });
  assert.equal(recordingPath(id), `/web/recordings/${id}`);
  assert.equal(safeRedirect(`/web/recordings/${id}`, origin), `/web/recordings/${id}`, 'a login comes back to the player');
});

test('a recording address whose id is not a session id is unknown', () => {
  const id = '0b5a1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d';
  for (const path of [
    '/web/recordings/latest',
    '/web/recordings/0b5a1c2d3e4f4a5b8c6d7e8f9a0b1c2d',
    `/web/recordings/${id}x`,
    `/web/recordings/${id.slice(1)}`,
    '/web/recordings/0b5a1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2g',
    `/web/recordings/%20${id}`,
    `/web/recordings/${id}/data`,
    `/web/recording/${id}`,
  ]) {
    assert.deepEqual(at(path), { page: 'unknown' }, path);
  }
});

test('the account page, and a login that comes back to it', () => {
  assert.deepEqual(at('/web/account'), { page: 'account' });
  assert.deepEqual(at('/web/account/'), { page: 'account' });
  assert.equal(safeRedirect('/web/account', origin), '/web/account');
  assert.equal(loginAddress({ pathname: '/web/account', search: '', origin }), '/web/login?redirect=%2Fweb%2Faccount');
});

test('addresses that name no page are unknown', () => {
  for (const path of ['/web/audit/x', '/web/audits', '/audit', '/web/%E0%A4%A', '/web/login/x', '/web/account/devices', '/account']) {
    assert.deepEqual(at(path), { page: 'unknown' }, path);
  }
});

test('a login comes back to the audit log, and never leaves the origin', () => {
  assert.equal(safeRedirect('/web/audit', origin), '/web/audit');
  assert.equal(loginAddress({ pathname: '/web/audit', search: '', origin }), '/web/login?redirect=%2Fweb%2Faudit');
  assert.equal(loginAddress({ pathname: '/web', search: '', origin }), '/web/login');
  for (const wanted of ['//evil.example', '/\\evil.example', 'https://evil.example/web', '/web/login', '/api/me']) {
    assert.equal(safeRedirect(wanted, origin), null, wanted);
  }
});
