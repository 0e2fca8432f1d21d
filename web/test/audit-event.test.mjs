// How the audit page shows an event (src/audit-event.ts): a one-line summary
// per type from the fields it has, the labels of the known types, and the
// event's JSON for its details.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { transformSync } from 'rolldown/experimental';

const source = join(import.meta.dirname, '../src/audit-event.ts');
const { code, errors } = transformSync(source, readFileSync(source, 'utf8'), { lang: 'ts' });
assert.deepEqual(errors, []);
const dir = mkdtempSync(join(tmpdir(), 'oriel-web-test-'));
writeFileSync(join(dir, 'audit-event.mjs'), code);
const { summary, eventJson, eventLabel, EVENT_TYPES, MAX_SUMMARY } = await import(pathToFileURL(join(dir, 'audit-event.mjs')));
rmSync(dir, { recursive: true });

const said = (event, fields) => summary({ event, fields });

test('desktop sessions: login@desktop, then why it failed or ended', () => {
  const desktop = { linux_user: 'ubuntu', desktop_name: 'web-1', proto: 'tdpb' };
  assert.equal(said('linux.desktop.session.start', desktop), 'ubuntu@web-1');
  assert.equal(said('linux.desktop.session.start', { ...desktop, error: 'access denied: no role allows login ubuntu', user_verified: true }), 'ubuntu@web-1 · access denied: no role allows login ubuntu');
  assert.equal(said('linux.desktop.session.end', { ...desktop, reason: 'idle for 3s', participants: ['alice'], recorded: false }), 'ubuntu@web-1 · idle for 3s');
  assert.equal(said('linux.desktop.session.end', desktop), 'ubuntu@web-1', 'the client left: no reason');
  assert.equal(said('client.disconnect', { ...desktop, reason: 'the session is locked' }), 'ubuntu@web-1 · the session is locked');
  assert.equal(said('linux.desktop.session.start', { desktop_name: 'web-1', error: 'bad certificate' }), 'web-1 · bad certificate', 'no login yet');
  assert.equal(said('linux.desktop.session.start', { linux_user: 'ubuntu' }), 'ubuntu');
  assert.equal(said('windows.desktop.session.end', { windows_user: 'Administrator', desktop_name: 'win-dev', reason: 'locked' }), 'Administrator@win-dev · locked');
});

test('clipboard and shared directories: how much, where', () => {
  assert.equal(said('desktop.clipboard.send', { desktop_name: 'web-1', length: 42 }), '42 bytes to web-1');
  assert.equal(said('desktop.clipboard.receive', { desktop_name: 'web-1', length: 1 }), '1 byte from web-1');
  assert.equal(said('desktop.clipboard.receive', { desktop_addr: '10.0.0.5:3389', length: 7 }), '7 bytes from 10.0.0.5:3389');
  assert.equal(said('desktop.clipboard.send', { length: 42 }), '42 bytes');
  assert.equal(said('desktop.clipboard.send', { length: '42' }), '', 'a length that is not a number is not shown');
  assert.equal(said('desktop.directory.share', { directory_name: 'Documents' }), 'Documents');
  assert.equal(said('desktop.directory.write', { file_path: 'notes/a.txt', length: 4096, offset: 0 }), 'notes/a.txt · 4096 bytes');
  assert.equal(said('desktop.directory.read', { file_path: 'a.txt', error: 'not found' }), 'a.txt · not found');
});

test('logins, users, roles, locks, tokens and hosts', () => {
  assert.equal(said('user.login', { method: 'local', remote_addr: '192.0.2.7' }), 'local from 192.0.2.7');
  assert.equal(said('user.login', { method: 'local', remote_addr: '192.0.2.7', error: 'invalid credentials' }), 'local from 192.0.2.7 · invalid credentials');
  assert.equal(said('user.login', { method: 'invite' }), 'invite');
  assert.equal(said('user.create', { name: 'bob', roles: ['access', 'auditor'] }), 'bob · roles: access, auditor');
  assert.equal(said('user.update', { name: 'bob', change: 'credentials reset' }), 'bob · credentials reset');
  assert.equal(said('user.delete', { name: 'bob' }), 'bob');
  assert.equal(said('role.created', { name: 'auditor' }), 'auditor');
  assert.equal(said('lock.created', { name: '5f0c', target: { user: 'bob', login: 'root' }, message: 'left the company' }), 'user=bob, login=root · left the company');
  assert.equal(said('lock.created', { name: '5f0c', target: {} }), '5f0c', 'a lock without a target shows its name');
  assert.equal(said('lock.deleted', { name: '5f0c' }), '5f0c');
  assert.equal(said('join_token.create', { name: 'ab12', roles: ['node'], one_time: true, expires: '2026-12-07T10:00:00.000Z' }), 'roles: node · one-time');
  assert.equal(said('instance.join', { host_id: 'h-1', role: 'node' }), 'h-1 as node');
  assert.equal(said('instance.join', { host_id: 'h-1', role: 'node', error: 'the token expired' }), 'h-1 as node · the token expired');
});

test('a type this page does not know shows its name, error or reason', () => {
  assert.equal(said('session.upload', { name: 'x', reason: 'because', other: 1 }), 'x · because');
  assert.equal(said('session.upload', {}), '');
  assert.equal(eventLabel('session.upload'), 'session.upload');
});

test('a long summary is cut, and every known type has a label', () => {
  const long = said('client.disconnect', { reason: 'x'.repeat(1000) });
  assert.equal(long.length, MAX_SUMMARY);
  assert.ok(long.endsWith('…'));
  assert.equal(EVENT_TYPES.length, 20);
  assert.equal(new Set(EVENT_TYPES.map((type) => type.name)).size, 20);
  for (const { name, label, group } of EVENT_TYPES) {
    assert.ok(label !== '' && label !== name && group !== '', name);
    assert.equal(eventLabel(name), label);
    assert.notEqual(said(name, { name: 'n', linux_user: 'u', desktop_name: 'd', length: 1, file_path: 'p', directory_name: 'dn', method: 'm', host_id: 'h', roles: ['r'], target: { user: 'u' } }), '', `${name} says something`);
  }
});

test('the details are the event’s JSON: common fields first, the rest by name', () => {
  const event = {
    uid: '0b5a8c1e-0000-4000-8000-000000000001',
    time: new Date('2026-12-06T10:00:00.123Z'),
    event: 'desktop.clipboard.send',
    code: 'TDP02I',
    success: true,
    user: 'alice',
    sid: 's-1',
    clusterName: 'main',
    fields: { length: 42, desktop_name: 'web-1', nested: { a: [1, 2] } },
  };
  const json = eventJson(event);
  assert.deepEqual(Object.keys(JSON.parse(json)), ['uid', 'time', 'event', 'code', 'success', 'user', 'sid', 'cluster_name', 'desktop_name', 'length', 'nested']);
  assert.deepEqual(JSON.parse(json), {
    uid: event.uid, time: '2026-12-06T10:00:00.123Z', event: 'desktop.clipboard.send', code: 'TDP02I', success: true,
    user: 'alice', sid: 's-1', cluster_name: 'main', desktop_name: 'web-1', length: 42, nested: { a: [1, 2] },
  });
  assert.match(json, /^\{\n  "uid": /, 'indented');
  const bare = JSON.parse(eventJson({ ...event, sid: null, clusterName: null, fields: {} }));
  assert.equal('sid' in bare || 'cluster_name' in bare, false, 'absent ones stay absent');
});
