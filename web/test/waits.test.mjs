// Waits on a condition (src/waits.ts): what the player's clock and the
// recorded screen's decoder backpressure are built on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { transformSync } from 'rolldown/experimental';

const source = join(import.meta.dirname, '../src/waits.ts');
const { code, errors } = transformSync(source, readFileSync(source, 'utf8'), { lang: 'ts' });
assert.deepEqual(errors, []);
const dir = mkdtempSync(join(tmpdir(), 'oriel-web-test-'));
writeFileSync(join(dir, 'waits.mjs'), code);
const { Waits } = await import(pathToFileURL(join(dir, 'waits.mjs')));
rmSync(dir, { recursive: true });

const settled = (promise) => Promise.race([promise.then(() => 'resolved', () => 'rejected'), new Promise((r) => setTimeout(() => r('pending'), 20))]);

test('a condition that holds resolves at once', async () => {
  assert.equal(await settled(new Waits().until(new AbortController().signal, () => 0)), 'resolved');
});

test('Infinity waits for a wake, and is asked again then', async () => {
  const waits = new Waits();
  let left = 2;
  const done = waits.until(new AbortController().signal, () => (left === 0 ? 0 : Infinity));
  left = 1;
  waits.wake();
  assert.equal(await settled(done), 'pending');
  left = 0;
  waits.wake();
  assert.equal(await settled(done), 'resolved');
});

test('a time in ms is asked again once it has passed, without a wake', async () => {
  const until = Date.now() + 30;
  await new Waits().until(new AbortController().signal, () => Math.max(until - Date.now(), 0));
  assert.ok(Date.now() >= until);
});

test('an abort rejects with its reason', async () => {
  const run = new AbortController();
  const done = new Waits().until(run.signal, () => Infinity);
  run.abort(new Error('a newer seek'));
  await assert.rejects(done, /a newer seek/);
});
