// What an address means (src/route.ts): the pages, where a login may send
// the browser back to, and the addresses of a desktop session (the page, a
// join link, the websocket).
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
const { readRoute, safeRedirect, loginAddress, recordingPath, sessionPath, joinLink, socketUrl } = await import(pathToFileURL(join(dir, 'route.mjs')));
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
    join: null,
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

const SID = '0190f0a0-1234-7000-8000-00000000abcd';
const TARGET = { cluster: 'main', kind: 'linux', name: 'web-1', login: 'ubuntu' };

test('a join link names the session to join and how; the page is the session’s own', () => {
  assert.deepEqual(at('/web/cluster/main/linux_desktops/web-1/ubuntu/Xfce%20Session', `?join=${SID}&mode=peer`), {
    page: 'session',
    target: TARGET,
    xsession: 'Xfce Session',
    join: { sessionId: SID, mode: 'peer' },
  });
  assert.deepEqual(at('/web/cluster/main/windows_desktops/w/Administrator', `?mode=observer&join=${SID.toUpperCase()}`).join, {
    sessionId: SID.toUpperCase(),
    mode: 'observer',
  });
});

test('a join whose session id or mode is not one joins nothing', () => {
  for (const search of [
    '',
    `?join=${SID}`,
    `?mode=peer`,
    `?join=${SID}&mode=owner`,
    `?join=${SID}&mode=PEER`,
    `?join=${SID}&mode=`,
    `?join=${SID}x&mode=peer`,
    `?join=${SID.replaceAll('-', '')}&mode=peer`,
    `?join=%20${SID}&mode=observer`,
    `?resume=${SID}&mode=peer`,
  ]) {
    const route = at('/web/cluster/main/linux_desktops/web-1/ubuntu', search);
    assert.equal(route.page, 'session', search);
    assert.equal(route.join, null, search);
  }
});

test('join links: the session’s path with the join, read back as the same join', () => {
  const link = joinLink(TARGET, 'Xfce Session', SID, 'observer');
  assert.equal(link, `/web/cluster/main/linux_desktops/web-1/ubuntu/Xfce%20Session?join=${SID}&mode=observer`);
  assert.ok(link.startsWith(sessionPath(TARGET, 'Xfce Session')));
  assert.equal(joinLink(TARGET, null, SID, 'peer'), `/web/cluster/main/linux_desktops/web-1/ubuntu?join=${SID}&mode=peer`);
  const url = new URL(link, origin);
  assert.deepEqual(at(url.pathname, url.search), { page: 'session', target: TARGET, xsession: 'Xfce Session', join: { sessionId: SID, mode: 'observer' } });
  assert.equal(safeRedirect(link, origin), link, 'a login comes back to the join link');
  assert.equal(
    loginAddress({ pathname: url.pathname, search: url.search, origin }),
    `/web/login?${new URLSearchParams({ redirect: link }).toString()}`,
  );
});

test('the websocket starts, resumes, or joins as the owner’s login', () => {
  const https = { protocol: 'https:', host: 'oriel.example' };
  assert.equal(socketUrl(https, TARGET), 'wss://oriel.example/api/desktop/ws?kind=linux&desktop=web-1&login=ubuntu');
  assert.equal(socketUrl({ protocol: 'http:', host: 'localhost:3080' }, TARGET, SID), `ws://localhost:3080/api/desktop/ws?kind=linux&desktop=web-1&login=ubuntu&resume=${SID}`);
  assert.equal(
    socketUrl(https, TARGET, null, { sessionId: SID, mode: 'peer' }),
    `wss://oriel.example/api/desktop/ws?kind=linux&desktop=web-1&login=ubuntu&join=${SID}&mode=peer`,
  );
  assert.equal(socketUrl(https, TARGET, null, { sessionId: SID, mode: 'observer' }).endsWith(`&join=${SID}&mode=observer`), true);
});
