// The reconnect policy (src/reconnect.ts): back off, then give up once the
// desktop service no longer keeps the session.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { transformSync } from 'rolldown/experimental';

const source = join(import.meta.dirname, '../src/reconnect.ts');
const { code, errors } = transformSync(source, readFileSync(source, 'utf8'), { lang: 'ts' });
assert.deepEqual(errors, []);
const dir = mkdtempSync(join(tmpdir(), 'oriel-web-test-'));
writeFileSync(join(dir, 'reconnect.mjs'), code);
const { Reconnect, GIVE_UP_AFTER_MS } = await import(pathToFileURL(join(dir, 'reconnect.mjs')));
rmSync(dir, { recursive: true });

test('waits grow from half a second to ten seconds', () => {
  const reconnect = new Reconnect();
  const waits = [];
  for (let i = 0; i < 8; i++) waits.push(reconnect.next(1000));
  assert.deepEqual(waits, [500, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000]);
  assert.equal(reconnect.attempts, 8);
});

test('it gives up once the grace period is surely over, counted from the first drop', () => {
  const reconnect = new Reconnect();
  assert.equal(reconnect.next(0), 500);
  assert.equal(reconnect.next(GIVE_UP_AFTER_MS - 1), 1000);
  assert.equal(reconnect.next(GIVE_UP_AFTER_MS), null);
});

test('a connection that comes back starts the count over', () => {
  const reconnect = new Reconnect();
  reconnect.next(0);
  reconnect.next(5000);
  reconnect.reset();
  assert.equal(reconnect.next(GIVE_UP_AFTER_MS * 2), 500);
  assert.equal(reconnect.attempts, 1);
});
